"""The OpenAPI pieces of specs, the audit trail and decision records (issue 15), merged into
the Experiments module's document by :func:`extend`."""

from __future__ import annotations

import json
from typing import Any

from blueprints.experiments.spec import ID_PARAM, _json, _op, _ref
from experiments.policy import CONDITIONS, DECISIONS
from experiments.specs import schema

YAML = ("application/yaml", "application/json")
SPEC_BODY = {
    "required": True,
    "description": "A spec (see GET /api/experiments/spec/schema) as YAML or JSON.",
    "content": {media: {"schema": _ref("ExperimentSpec")} for media in YAML},
}
UNSUPPORTED = {
    "415": {
        "description": "The body is neither YAML nor JSON.",
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
}
VERSION = {
    "type": "object",
    "required": ["version", "spec", "plan", "changed", "reason", "created_at", "after_launch"],
    "properties": {
        "version": {"type": "integer", "minimum": 1},
        "spec": {"type": "object"},
        "plan": _ref("SpecPlan"),
        "changed": {"type": "array", "items": {"type": "string"}},
        "reason": {"type": "string"},
        "created_at": {"type": "string"},
        "after_launch": {
            "type": "boolean",
            "description": "An amendment after launch: part of the audit trail.",
        },
    },
}
AMENDMENT = {
    "type": "object",
    "properties": {
        "version": {"type": "integer"},
        "at": {"type": "string"},
        "changed": {"type": "array", "items": {"type": "string"}},
        "reason": {"type": "string"},
    },
}
DECISION = {
    "type": "object",
    "required": ["id", "experiment_id", "decision", "owner", "rationale", "decided_at"],
    "properties": {
        "id": {"type": "integer"},
        "experiment_id": {"type": "integer"},
        "decision": {"type": "string", "enum": list(DECISIONS)},
        "owner": {"type": "string"},
        "rationale": {"type": "string"},
        "follow_up": {"type": "string"},
        "decided_at": {"type": "string"},
        "spec_version": {"type": ["integer", "null"]},
        "analysis": {
            "type": "object",
            "description": "Frozen snapshot of the analysis when the decision was recorded: "
            "result (with policy), readout, warnings.",
        },
    },
}
POLICY = {
    "type": ["object", "null"],
    "description": "The pre-registered policy evaluated on this analysis (null without a spec).",
    "properties": {
        "decision": {"type": "string", "enum": [*DECISIONS, "continue"]},
        "rule": {"type": ["string", "null"], "description": "The rule cited, e.g. rules[3]."},
        "condition": {"type": ["string", "null"], "enum": [*CONDITIONS, None]},
        "variant": {"type": ["string", "null"]},
        "reason": {"type": "string"},
        "horizon_reached": {"type": "boolean"},
        "mode": {"type": "string"},
        "deviations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "spec_version": {"type": "integer"},
        "owner": {"type": "string"},
        "planned_n": {"type": "integer"},
        "runtime_days": {"type": "integer"},
        "days": {"type": "number"},
        "peeks": {"type": "integer", "description": "Earlier looks before the horizon."},
        "looks": {
            "type": "array",
            "description": "Every analysis of the experiment (this one included); the "
            "figure 'looks' draws them against the plan.",
            "items": {
                "type": "object",
                "properties": {
                    "at": {"type": "string"},
                    "n": {"type": "integer"},
                    "before_horizon": {"type": "boolean"},
                },
            },
        },
        "planned_end": {"type": ["string", "null"], "description": "Launch + runtime (UTC)."},
        "amendments": {"type": "array", "items": AMENDMENT},
    },
}

SCHEMAS: dict[str, Any] = {
    # The published schema, its "#/$defs/..." references re-rooted inside the document.
    "ExperimentSpec": json.loads(
        json.dumps({k: v for k, v in schema().items() if k not in ("$schema", "$id")}).replace(
            '"#/$defs/', '"#/components/schemas/ExperimentSpec/$defs/'
        )
    ),
    "SpecPlan": {
        "type": "object",
        "description": "Computed by stats.power from the spec's baseline, MDE, α, power, "
        "allocation and daily traffic.",
        "properties": {
            "n_per_group": {"type": "integer"},
            "arm_sizes": {"type": "array", "items": {"type": "integer"}},
            "n_total": {"type": "integer"},
            "days": {"type": "integer"},
            "runtime_days": {"type": "integer"},
            "mde_absolute": {"type": "number"},
            "power": {"type": "number"},
            "achieved_power": {"type": "number"},
            "alpha": {"type": "number"},
            "method": {"type": "string"},
            "computed_by": {"type": "string"},
            "warnings": {"type": "array", "items": {"type": "string"}},
        },
    },
    "DecisionRecord": DECISION,
    "PolicyVerdict": POLICY,
}

PATHS: dict[str, Any] = {
    "/api/experiments/spec/schema": {
        "get": {
            "summary": "The JSON Schema (2020-12) of an experiment spec",
            "tags": ["experiments"],
            "security": [],
            "responses": {
                "200": {
                    "description": "The schema.",
                    "content": {"application/schema+json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
    "/api/experiments/spec": {
        "post": {
            **_op(
                "Create a draft experiment from a spec (YAML or JSON); 422 names each bad "
                "field's JSON path",
                {
                    "201": _json(
                        {
                            "type": "object",
                            "required": ["experiment", "plan"],
                            "properties": {
                                "experiment": _ref("Experiment"),
                                "plan": _ref("SpecPlan"),
                            },
                        },
                        "The new draft and its computed plan.",
                    ),
                    **UNSUPPORTED,
                },
            ),
            "requestBody": SPEC_BODY,
        }
    },
    "/api/experiments/{experiment_id}/spec": {
        "get": _op(
            "The experiment's spec with its computed plan (YAML with Accept: application/yaml)",
            {
                "200": {
                    "description": "The spec.",
                    "content": {
                        "application/json": {"schema": _ref("ExperimentSpec")},
                        "application/yaml": {"schema": {"type": "string"}},
                    },
                }
            },
            params=[
                ID_PARAM,
                {"name": "version", "in": "query", "schema": {"type": "integer", "minimum": 1}},
            ],
        ),
        "put": {
            **_op(
                "Append a new version of the spec; after launch an audited amendment that "
                "needs a reason (409 if it changes the guardrail events)",
                {
                    "200": _json(VERSION, "The version appended (or the latest, if unchanged)."),
                    **UNSUPPORTED,
                },
                params=[
                    ID_PARAM,
                    {
                        "name": "reason",
                        "in": "query",
                        "schema": {"type": "string", "maxLength": 1000},
                        "description": "Why it changed; required after launch.",
                    },
                ],
            ),
            "requestBody": SPEC_BODY,
        },
    },
    "/api/experiments/{experiment_id}/audit": {
        "get": _op(
            "Every version of the spec, amendments after launch listed apart (both empty for "
            "an experiment created without a spec)",
            {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "versions": {"type": "array", "items": VERSION},
                            "amendments": {"type": "array", "items": AMENDMENT},
                        },
                    },
                    "The audit trail.",
                )
            },
            params=[ID_PARAM],
        )
    },
    "/api/experiments/{experiment_id}/decisions": {
        "get": _op(
            "The experiment's decision records (append-only), searchable; JSON or Markdown",
            {
                "200": {
                    "description": "The records, oldest first.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "experiment_id": {"type": "integer"},
                                    "query": {"type": "string"},
                                    "decisions": {
                                        "type": "array",
                                        "items": _ref("DecisionRecord"),
                                    },
                                },
                            }
                        },
                        "text/markdown": {"schema": {"type": "string"}},
                    },
                }
            },
            params=[
                ID_PARAM,
                {
                    "name": "q",
                    "in": "query",
                    "schema": {"type": "string", "maxLength": 200},
                    "description": "Only records whose decision, owner, rationale or "
                    "follow-up contains this (case-insensitive).",
                },
                {
                    "name": "format",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["json", "markdown"], "default": "json"},
                },
            ],
        ),
        "post": _op(
            "Record a decision (ship, iterate, stop or re-run) with a frozen snapshot of the "
            "analysis; records are never updated or deleted",
            {"201": _json(_ref("DecisionRecord"), "The record.")},
            params=[ID_PARAM],
            body={
                "type": "object",
                "required": ["decision", "owner", "rationale"],
                "additionalProperties": False,
                "properties": {
                    "decision": {"type": "string", "enum": list(DECISIONS)},
                    "owner": {"type": "string", "minLength": 1, "maxLength": 200},
                    "rationale": {"type": "string", "minLength": 1, "maxLength": 5000},
                    "follow_up": {"type": "string", "maxLength": 2000},
                },
            },
            examples={
                "ship": {
                    "decision": "ship",
                    "owner": "ana.lopez@example.com",
                    "rationale": "Pay now wins by 2.1 points at the planned horizon.",
                    "follow_up": "Roll out to mobile next sprint.",
                }
            },
        ),
    },
}


def extend(openapi: dict[str, Any]) -> dict[str, Any]:
    """The Experiments document with these paths and schemas added."""
    return {
        **openapi,
        "schemas": {**openapi["schemas"], **SCHEMAS},
        "paths": {**openapi["paths"], **PATHS},
    }
