"""The Experiments API's part of the OpenAPI document, with its two bearer schemes."""

from __future__ import annotations

from typing import Any

from blueprints._openapi import PROBLEM_RESPONSES, envelope

TAG = "experiments"
ADMIN: list[dict[str, list[str]]] = [{"adminToken": []}]
INGEST: list[dict[str, list[str]]] = [{"ingestKey": []}, {"adminToken": []}]

SECURITY_SCHEMES = {
    "adminToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "The server's ABACUS_ADMIN_TOKEN; management calls need it.",
    },
    "ingestKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "The experiment's ingest_key (shown on its detail page).",
    },
}


def _problem(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
    if headers:
        response["headers"] = headers
    return response


ERRORS: dict[str, Any] = {
    **PROBLEM_RESPONSES,
    "401": _problem(
        "Missing or wrong credentials (or no admin token configured); nothing changed.",
        {"WWW-Authenticate": {"schema": {"type": "string"}}},
    ),
    "404": _problem("No experiment with this id."),
    "429": _problem(
        "Too many wrong tokens from this address lately (AUTH_MAX_FAILURES within "
        "AUTH_FAILURE_WINDOW seconds); retry after Retry-After seconds.",
        {"Retry-After": {"schema": {"type": "string"}}},
    ),
    "409": _problem("The experiment's status does not allow this (e.g. launching a running one)."),
}

ID_PARAM = {
    "name": "experiment_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _op(
    summary: str,
    responses: dict[str, Any],
    *,
    security: list[dict[str, list[str]]] = ADMIN,
    body: dict[str, Any] | None = None,
    body_required: bool = True,
    params: list[dict[str, Any]] | None = None,
    examples: dict[str, Any] | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "tags": [TAG],
        "security": security,
        "responses": {**responses, **ERRORS},
    }
    if params:
        op["parameters"] = params
    if body is not None:
        media: dict[str, Any] = {"schema": body}
        if examples:
            media["examples"] = {k: {"value": v} for k, v in examples.items()}
        op["requestBody"] = {"required": body_required, "content": {"application/json": media}}
    return op


TEXT = {"type": "string", "minLength": 1, "maxLength": 200}
VARIANT_IN = {
    "type": "object",
    "required": ["name", "weight"],
    "properties": {"name": TEXT, "weight": {"type": "number", "minimum": 0}},
}
CREATE_PROPERTIES = {
    "name": TEXT,
    "hypothesis": {"type": "string", "maxLength": 5000},
    "primary_event": {**TEXT, "description": "The conversion event; not 'exposure'."},
    "guardrail_events": {"type": "array", "items": TEXT, "maxItems": 20},
    "bandit": {"type": "boolean", "default": False},
    "variants": {
        "type": "array",
        "items": VARIANT_IN,
        "minItems": 2,
        "maxItems": 20,
        "description": "The first variant is the control; weights are normalised to sum to 1.",
    },
}
NULLABLE_TIME = {"type": ["string", "null"]}

SCHEMAS: dict[str, Any] = {
    "Experiment": {
        "type": "object",
        "required": ["id", "name", "status", "ingest_key", "variants"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "hypothesis": {"type": "string"},
            "status": {"type": "string", "enum": ["draft", "running", "stopped"]},
            "primary_event": {"type": "string"},
            "guardrail_events": {"type": "array", "items": {"type": "string"}},
            "bandit": {"type": "boolean"},
            "ingest_key": {"type": "string"},
            "created_at": {"type": "string"},
            "launched_at": NULLABLE_TIME,
            "stopped_at": NULLABLE_TIME,
            "weights_updated_at": NULLABLE_TIME,
            "variants": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "position": {"type": "integer"},
                        "name": {"type": "string"},
                        "weight": {"type": "number"},
                    },
                },
            },
            "events": {
                "type": "object",
                "description": "The experiment's stored events (answers about one experiment; "
                "not in the list).",
                "required": ["count", "last_ts", "last_received_at"],
                "properties": {
                    "count": {"type": "integer", "minimum": 0},
                    "last_ts": {
                        **NULLABLE_TIME,
                        "description": "The latest event time (ts) sent; null before any.",
                    },
                    "last_received_at": {
                        **NULLABLE_TIME,
                        "description": "When the latest event was stored (UTC); null before any.",
                    },
                },
            },
        },
    },
    "ExperimentCreate": {
        "type": "object",
        "required": ["name", "primary_event", "variants"],
        "properties": CREATE_PROPERTIES,
        "additionalProperties": False,
    },
    "ExperimentPatch": {
        "type": "object",
        "description": "A draft may change any field; a running or stopped experiment only "
        "name and hypothesis (else 409).",
        "properties": CREATE_PROPERTIES,
        "additionalProperties": False,
    },
    "Event": {
        "type": "object",
        "required": ["event_id", "unit", "variant", "name", "ts"],
        "properties": {
            "event_id": {**TEXT, "description": "Stored once per experiment: retries are safe."},
            "unit": TEXT,
            "variant": {"type": "string"},
            "name": {
                "type": "string",
                "description": "'exposure', the primary event, a guardrail event or "
                "'covariate' (the unit's pre-period covariate in value; needs the unit's "
                "exposure, any ts).",
            },
            "ts": {"type": "string", "description": "ISO-8601 with a timezone."},
            "covariate": {
                "type": "number",
                "description": "On an exposure: the unit's pre-period covariate (CUPED).",
            },
            "value": {"type": "number", "description": "On a 'covariate' event: the covariate."},
        },
    },
}

EXPERIMENT = _json(_ref("Experiment"), "The experiment.")
VARIANT_ROW = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "exposures": {"type": "integer"},
        "conversions": {"type": "integer"},
        "rate": {"type": ["number", "null"]},
        "ci_low": {"type": ["number", "null"]},
        "ci_high": {"type": ["number", "null"]},
        "weight": {"type": "number"},
        "expected_exposures": {"type": "number"},
    },
}
ANALYSIS = {
    "type": "object",
    "required": ["variants", "srm", "pvalue", "msprt", "relative_lift", "recommendation"],
    "properties": {
        "variants": {"type": "array", "items": VARIANT_ROW},
        "comparisons": {"type": "array", "items": {"type": "object"}},
        "srm": {
            "type": "object",
            "properties": {
                "pvalue": {"type": ["number", "null"]},
                "flagged": {"type": "boolean"},
            },
            "description": "Fixed-horizon chi-square (valid at one look fixed in advance).",
        },
        "guardrail_tests": {
            "type": "array",
            "description": "Each guardrail event's non-inferiority test per treatment: status "
            "pass (within tolerance), fail (significantly worse beyond it) or inconclusive.",
            "items": {"type": "object"},
        },
        "cuped": {
            "type": ["object", "null"],
            "description": "CUPED on the units' pre-period covariates (null while no unit sent "
            "one): theta, rho, variance_reduction, n_missing_covariate, balance_pvalue and per "
            "treatment the adjusted difference (estimate, ci_low, ci_high, pvalue; "
            "unadjusted_estimate) with the always-valid mSPRT on it (msprt_log_lr, "
            "msprt_pvalue, msprt_pvalue_adjusted, msprt_ci_low, msprt_ci_high, rejects).",
            "properties": {
                "theta": {"type": ["number", "null"]},
                "rho": {"type": ["number", "null"]},
                "variance_reduction": {"type": ["number", "null"]},
                "n_missing_covariate": {"type": "integer"},
                "comparisons": {"type": "array", "items": {"type": "object"}},
            },
        },
        "srm_sequential": {
            "type": "object",
            "description": "Anytime-valid SRM: the Dirichlet-multinomial e-process (Lindon & "
            "Malek 2022) over the weight periods; the SRM alarm uses it.",
            "properties": {
                "log_e": {"type": ["number", "null"], "description": "log E (null: infinite)."},
                "pvalue": {"type": "number", "description": "min(1, 1/E), valid at every look."},
                "flagged": {"type": "boolean", "description": "pvalue < threshold."},
                "threshold": {"type": "number"},
                "n": {"type": "integer"},
                "concentration": {"type": "number", "description": "Dirichlet prior K."},
            },
        },
        "pvalue": {"type": ["number", "null"], "description": "Fixed-horizon test, best variant."},
        "msprt": {
            "type": ["object", "null"],
            "properties": {
                "log_lr": {"type": "number"},
                "pvalue": {"type": "number", "description": "Always-valid p-value."},
            },
        },
        "relative_lift": {"type": ["object", "null"]},
        "recommendation": {"type": "string"},
        "decision": {
            "type": "string",
            "enum": ["collecting", "srm", "guardrail", "winner", "worse", "continue"],
        },
        "winner": {"type": ["string", "null"]},
        "bandit": {"type": ["object", "null"], "description": "Thompson weights, alpha, beta."},
        "policy": _ref("PolicyVerdict"),
    },
}

LISTED = {
    "allOf": [
        _ref("Experiment"),
        {
            "type": "object",
            "required": ["winner"],
            "properties": {
                "winner": {
                    "type": ["string", "null"],
                    "description": "The winner named by the latest analysis (POST "
                    ".../analyze); null if it named none or none ran. The list analyses "
                    "nothing.",
                }
            },
        },
    ]
}

OPENAPI: dict[str, Any] = {
    "schemas": SCHEMAS,
    "securitySchemes": SECURITY_SCHEMES,
    "paths": {
        "/api/experiments": {
            "get": _op(
                "Every experiment with the winner of its latest analysis, and summary counts",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["experiments", "summary"],
                            "properties": {
                                "experiments": {"type": "array", "items": LISTED},
                                "summary": {
                                    "type": "object",
                                    "properties": {
                                        "total": {"type": "integer"},
                                        "running": {"type": "integer"},
                                        "winners": {
                                            "type": "integer",
                                            "description": "Experiments whose latest "
                                            "analysis named a winner.",
                                        },
                                    },
                                },
                            },
                        },
                        "The experiments, newest first.",
                    )
                },
            ),
            "post": _op(
                "Create a draft experiment",
                {"201": _json(_ref("Experiment"), "The new draft, with its ingest_key.")},
                body=_ref("ExperimentCreate"),
                examples={
                    "checkout": {
                        "name": "Checkout copy",
                        "hypothesis": "Clearer copy lifts purchases.",
                        "primary_event": "purchase",
                        "guardrail_events": [],
                        "bandit": False,
                        "variants": [
                            {"name": "control", "weight": 0.5},
                            {"name": "B", "weight": 0.5},
                        ],
                    }
                },
            ),
        },
        "/api/experiments/{experiment_id}": {
            "get": _op("One experiment", {"200": EXPERIMENT}, params=[ID_PARAM]),
            "patch": _op(
                "Change an experiment",
                {"200": EXPERIMENT},
                params=[ID_PARAM],
                body=_ref("ExperimentPatch"),
            ),
            "delete": _op(
                "Delete a draft or stopped experiment and its data",
                {"204": {"description": "Deleted."}},
                params=[ID_PARAM],
            ),
        },
        "/api/experiments/{experiment_id}/variants": {
            "post": _op(
                "Add a variant to a draft (weights normalised again); 409 once it has 20, "
                "422 naming `name` for a duplicate",
                {"201": EXPERIMENT},
                params=[ID_PARAM],
                body=VARIANT_IN,
            ),
        },
        "/api/experiments/{experiment_id}/launch": {
            "post": _op("Launch a draft", {"200": EXPERIMENT}, params=[ID_PARAM]),
        },
        "/api/experiments/{experiment_id}/stop": {
            "post": _op("Stop a running experiment", {"200": EXPERIMENT}, params=[ID_PARAM]),
        },
        "/api/experiments/{experiment_id}/analyze": {
            "post": _op(
                "Analyse: rates, SRM, fixed-horizon and always-valid tests, lift, winner",
                {"200": _json(envelope(ANALYSIS), "The analysis, figures and readout.")},
                params=[ID_PARAM],
                body={
                    "type": "object",
                    "properties": {
                        "alpha": {
                            "type": "number",
                            "exclusiveMinimum": 0,
                            "maximum": 0.5,
                            "default": 0.05,
                        },
                        "planned_n": {
                            "type": "integer",
                            "minimum": 2,
                            "default": 10000,
                            "description": "Total users the always-valid test is tuned for.",
                        },
                        "guardrails": {
                            "type": "array",
                            "maxItems": 20,
                            "description": "Non-inferiority rule per guardrail event (default: "
                            "lower is better, tolerance 0.01 absolute).",
                            "items": {
                                "type": "object",
                                "required": ["event"],
                                "properties": {
                                    "event": {"type": "string"},
                                    "direction": {
                                        "type": "string",
                                        "enum": ["higher", "lower"],
                                        "default": "lower",
                                    },
                                    "tolerance": {
                                        "type": "number",
                                        "minimum": 0,
                                        "exclusiveMaximum": 1,
                                        "default": 0.01,
                                    },
                                    "tolerance_type": {
                                        "type": "string",
                                        "enum": ["absolute", "relative"],
                                        "default": "absolute",
                                    },
                                },
                            },
                        },
                    },
                },
                body_required=False,
            ),
        },
        "/api/experiments/{experiment_id}/assign": {
            "get": _op(
                "The variant of a unit (sticky; the control once stopped)",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["variant"],
                            "properties": {"variant": {"type": "string"}},
                        },
                        "The unit's variant.",
                    )
                },
                security=INGEST,
                params=[
                    ID_PARAM,
                    {"name": "unit", "in": "query", "required": True, "schema": TEXT},
                ],
            ),
        },
        "/api/experiments/{experiment_id}/events": {
            "post": _op(
                "Ingest a batch of exposure and conversion events (all or nothing)",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["accepted", "duplicates"],
                            "properties": {
                                "accepted": {"type": "integer"},
                                "duplicates": {"type": "integer"},
                            },
                        },
                        "Events stored, and events already stored (by event_id).",
                    )
                },
                security=INGEST,
                params=[ID_PARAM],
                body={
                    "type": "object",
                    "required": ["events"],
                    "properties": {
                        "events": {"type": "array", "items": _ref("Event"), "maxItems": 10000}
                    },
                },
                examples={
                    "exposure then purchase": {
                        "events": [
                            {
                                "event_id": "e1",
                                "unit": "u123",
                                "variant": "B",
                                "name": "exposure",
                                "ts": "2026-11-20T10:00:00Z",
                            },
                            {
                                "event_id": "e2",
                                "unit": "u123",
                                "variant": "B",
                                "name": "purchase",
                                "ts": "2026-11-20T10:05:00Z",
                            },
                        ]
                    }
                },
            ),
        },
    },
}
