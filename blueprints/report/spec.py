"""The report endpoints' part of the OpenAPI document."""

from __future__ import annotations

from typing import Any

from blueprints._openapi import PROBLEM_RESPONSES
from blueprints.experiments.spec import ADMIN, ERRORS, ID_PARAM
from blueprints.report.document import PAGES

HTML = {
    "200": {
        "description": "A self-contained HTML file (an attachment) that works offline: inputs, "
        "results, readout, charts (Plotly.js inlined) and the decision if there is one.",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
}


def _number(description: str) -> dict[str, Any]:
    return {"in": "query", "required": False, "schema": {"type": "number"},
            "description": description}  # fmt: skip


OPENAPI: dict[str, Any] = {
    "paths": {
        "/api/report": {
            "post": {
                "summary": "The report of any page's analysis, from the body the page sends",
                "tags": ["report"],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["page", "request"],
                                "properties": {
                                    "page": {
                                        "type": "string",
                                        "enum": list(PAGES),
                                        "description": "The page's endpoint after /api/.",
                                    },
                                    "request": {
                                        "type": "object",
                                        "description": "The JSON body the page sends to "
                                        "POST /api/<page>; its errors are named request.<field>.",
                                    },
                                },
                            },
                            "examples": {
                                "power": {
                                    "value": {
                                        "page": "power",
                                        "request": {"baseline": 0.1, "mde": 0.02, "power": 0.8},
                                    }
                                }
                            },
                        }
                    },
                },
                "responses": {**HTML, **PROBLEM_RESPONSES},
            }
        },
        "/api/experiments/{experiment_id}/report": {
            "get": {
                "summary": "The report of an experiment: definition, analysis, decision records",
                "tags": ["report"],
                "security": ADMIN,
                "parameters": [
                    ID_PARAM,
                    {**_number("Significance level (default 0.05)."), "name": "alpha"},
                    {**_number("Users the always-valid test is tuned for."), "name": "planned_n"},
                    {
                        **_number("Tolerance of every guardrail event (default 0.01)."),
                        "name": "guardrail_tolerance",
                    },
                ],
                "responses": {**HTML, **ERRORS},
            }
        },
    }
}
