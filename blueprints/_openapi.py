"""The shared parts of the OpenAPI 3.1 document: problem answers, warnings, figures.

Modules declare their operations with :mod:`blueprints._contract`, which generates their
schemas and writes each ``POST /api/<module>`` operation with :func:`post_json`;
``blueprints.core`` merges them under the components below.
"""

from __future__ import annotations

from typing import Any

from stats.warnings import Code

PROBLEM_RESPONSES: dict[str, Any] = {
    "400": {"$ref": "#/components/responses/BadRequest"},
    "413": {"$ref": "#/components/responses/TooLarge"},
    "422": {"$ref": "#/components/responses/Unprocessable"},
}

COMPONENTS: dict[str, Any] = {
    "schemas": {
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details; errors names each bad field.",
            "required": ["type", "title", "status", "detail", "errors"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "instance": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "field": {"type": ["string", "null"]},
                            "detail": {"type": "string"},
                            "row": {"type": "integer", "description": "1-based data row."},
                        },
                    },
                },
            },
        },
        "Warning": {
            "type": "object",
            "description": "A warning about the data or the result: a stable code to key on "
            "and a plain-language message (whose wording may change).",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": [str(code) for code in Code]},
                "message": {"type": "string"},
            },
        },
        "Figures": {
            "type": "object",
            "description": "Plotly figures (data + layout) keyed by name.",
            "additionalProperties": {"type": "object"},
        },
    },
    "responses": {
        "BadRequest": {
            "description": "Malformed: not JSON, a missing field or a value of the wrong type.",
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        },
        "Unprocessable": {
            "description": "Well-formed but meaningless values; errors names the field and the range.",
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        },
        "TooLarge": {
            "description": "The body is larger than the upload limit.",
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        },
    },
}


def envelope(result_schema: dict[str, Any]) -> dict[str, Any]:
    """The response body every module returns: result, figures, readout, warnings."""
    return {
        "type": "object",
        "required": ["result", "figures", "readout", "warnings"],
        "properties": {
            "result": result_schema,
            "figures": {"$ref": "#/components/schemas/Figures"},
            "readout": {"type": "string"},
            "warnings": {"type": "array", "items": {"$ref": "#/components/schemas/Warning"}},
        },
    }


def post_json(
    summary: str,
    request_schema: dict[str, Any],
    result_schema: dict[str, Any],
    *,
    tag: str,
    examples: dict[str, Any] | None = None,
    multipart: dict[str, Any] | None = None,
    answer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``POST`` operation taking JSON (and optionally a multipart CSV upload), answering the
    envelope around ``result_schema`` (or ``answer``, another 200 response)."""
    ok = answer or {
        "description": "The result, figures, a plain-language readout and warnings.",
        "content": {"application/json": {"schema": envelope(result_schema)}},
    }
    media: dict[str, Any] = {"schema": request_schema}
    if examples:
        media["examples"] = {k: {"value": v} for k, v in examples.items()}
    content: dict[str, Any] = {"application/json": media}
    if multipart:
        content["multipart/form-data"] = {"schema": multipart}
    return {
        "post": {
            "summary": summary,
            "tags": [tag],
            "requestBody": {"required": True, "content": content},
            "responses": {"200": ok, **PROBLEM_RESPONSES},
        }
    }
