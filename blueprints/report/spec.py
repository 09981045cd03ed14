"""The experiment report's part of the OpenAPI document (``POST /api/report`` is declared
with its route)."""

from __future__ import annotations

from typing import Any

from blueprints.experiments.spec import ADMIN, ERRORS, ID_PARAM

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
