"""The sources API's part of the OpenAPI document."""

from __future__ import annotations

from typing import Any

TAG = "sources"


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


NAME = {"type": "string", "minLength": 1, "maxLength": 256}

SCHEMAS: dict[str, Any] = {
    "SourceList": {
        "type": "object",
        "required": ["sources"],
        "properties": {
            "sources": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "tables"],
                    "properties": {
                        "name": {"type": "string", "description": "As configured."},
                        "tables": {
                            "type": ["array", "null"],
                            "items": {"type": "string"},
                            "description": "Tables and views it lists; null when unreachable.",
                        },
                    },
                },
            }
        },
    },
    "SourceTable": {
        "type": "object",
        "required": ["source", "table", "columns"],
        "properties": {
            "source": {"type": "string"},
            "table": {"type": "string"},
            "columns": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "type", "nullable"],
                    "properties": {
                        "name": {"type": "string"},
                        "type": {
                            "type": "string",
                            "description": "Ibis type: string, int64, float64, boolean, date, "
                            "timestamp …",
                        },
                        "nullable": {"type": "boolean"},
                    },
                },
            },
        },
    },
}

OPENAPI: dict[str, Any] = {
    "schemas": SCHEMAS,
    "paths": {
        "/api/sources": {
            "get": {
                "summary": "The configured data sources and their tables",
                "description": (
                    "Sources are named in configuration (SOURCES, or ABACUS_SOURCES in the "
                    "environment); a request can use only these, and only their listed tables."
                ),
                "tags": [TAG],
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/SourceList"}, "Sources."),
                },
            }
        },
        "/api/sources/{name}/tables/{table}": {
            "get": {
                "summary": "The columns of one table of a configured source",
                "tags": [TAG],
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": NAME},
                    {"name": "table", "in": "path", "required": True, "schema": NAME},
                ],
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/SourceTable"}, "Columns."),
                    "404": _problem(
                        "No such configured source (errors name 'source') or no such table "
                        "in it (errors name 'table')."
                    ),
                    "503": _problem("The source is configured but cannot be reached now."),
                },
            }
        },
    },
}


# The request forms the data endpoints (/api/abtest, /api/bayesian, /api/cuped, /api/doe)
# share: a configured source and a listed table instead of a file, the column roles beside.

SOURCE_FIELDS: dict[str, Any] = {
    "source": {
        **NAME,
        "description": (
            "A configured source (GET /api/sources) instead of a file: the table's rows are "
            "reduced where they live, and the answer is the one an upload of the same rows "
            "gets. The other fields name columns as in CSV mode."
        ),
    },
    "table": {**NAME, "description": "A table the source lists (with source)."},
}

EVENTS: dict[str, Any] = {
    "type": "object",
    "description": (
        "The event schema (with source): exposures(experiment, unit, variant, ts) and "
        "metric_events(unit, name, value, ts). A unit's value is the sum of its metric events "
        "in [first exposure, + window_days); its pre-period covariate the same sum in "
        "[first exposure − pre_window_days, first exposure). Units that saw two variants are "
        "left out, with a warning."
    ),
    "required": ["exposures", "metric_events", "experiment", "metric"],
    "properties": {
        "exposures": {**NAME, "description": "The exposures table."},
        "metric_events": {**NAME, "description": "The metric events table."},
        "experiment": {"type": "string", "description": "The experiment's key in exposures."},
        "metric": {"type": "string", "description": "The metric's name in metric_events."},
        "window_days": {"type": "integer", "minimum": 1, "maximum": 3650, "default": 14},
        "pre_window_days": {
            "type": "integer",
            "minimum": 1,
            "maximum": 3650,
            "description": "The pre-period of the covariate (CUPED; default 14 there).",
        },
    },
}

SOURCE_RESULT: dict[str, Any] = {
    "type": ["object", "null"],
    "description": (
        "With a source: the source and table (or events), rows read, used and left out."
    ),
}
