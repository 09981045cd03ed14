"""The A/B analyzer's part of the OpenAPI document."""

from typing import Any

from blueprints._openapi import post_json
from blueprints.sources.spec import EVENTS, SOURCE_FIELDS, SOURCE_RESULT
from stats.vocabulary import ALTERNATIVES

NUMBER_OR_NULL = {"type": ["number", "null"]}

VARIANT = {
    "type": "object",
    "description": "{name, users, conversions} for a conversion metric, {name, users, mean, sd} for a mean.",
    "required": ["name", "users"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "users": {"type": "integer", "minimum": 0},
        "conversions": {"type": "integer", "minimum": 0},
        "mean": {"type": "number"},
        "sd": {"type": "number", "minimum": 0},
    },
}

GUARDRAIL_OPTIONS: dict[str, Any] = {
    "direction": {"type": "string", "enum": ["higher", "lower"], "default": "higher"},
    "tolerance": {
        "type": "number",
        "minimum": 0,
        "default": 0,
        "description": "The worsening tolerated (absolute units, or a fraction of control's value).",
    },
    "tolerance_type": {"type": "string", "enum": ["absolute", "relative"], "default": "absolute"},
}

OPTIONS: dict[str, Any] = {
    "control": {"type": "string", "description": "The control variant; guessed when left out."},
    "alpha": {"type": "number", "exclusiveMinimum": 0, "maximum": 0.5, "default": 0.05},
    "alternative": {"$ref": "#/components/schemas/Alternative"},
    "direction": {
        "type": "string",
        "enum": ["higher", "lower"],
        "default": "higher",
        "description": "Whether a higher or a lower primary metric is better.",
    },
    "min_effect": {
        "type": "number",
        "minimum": 0,
        "default": 0,
        "description": "The minimum worthwhile effect (the practical-significance gate).",
    },
    "min_effect_type": {"type": "string", "enum": ["absolute", "relative"], "default": "absolute"},
    "planned_split": {
        "type": "array",
        "items": {"type": "number", "exclusiveMinimum": 0},
        "description": "Planned traffic weights per variant (default equal), for the SRM check.",
    },
    "noninferiority_margin": {
        "type": "number",
        "minimum": 0,
        "description": "Test the primary metric for non-inferiority at this margin (absolute units).",
    },
}

MAPPING: dict[str, Any] = {
    "variant": {"type": "string", "description": "Column holding the variant."},
    "metric": {
        "type": "string",
        "description": "Column of the primary metric (row per user), or the conversions or mean column (row per variant).",
    },
    "kind": {"type": "string", "enum": ["binary", "continuous"]},
    "user_id": {"type": "string", "description": "Column of user ids (duplicates are warned)."},
    "users": {"type": "string", "description": "Row per variant: the column of users."},
    "sd": {"type": "string", "description": "Row per variant: the standard-deviation column."},
}

REQUEST = {
    "type": "object",
    "description": (
        "Typed numbers in variants, or a csv string with an optional column mapping "
        "(columns left out are detected), or a configured source and table with variant and "
        "metric (and guardrails) naming columns, or a source with events (the event schema)."
    ),
    "properties": {
        "metric": {
            "type": "string",
            "description": "Typed numbers: proportion or mean. With a CSV: the metric column.",
        },
        "variants": {"type": "array", "items": VARIANT, "minItems": 2},
        "guardrails": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["metric", "variants"],
                "properties": {
                    "metric": {"type": "string"},
                    "variants": {"type": "array", "items": VARIANT},
                    **GUARDRAIL_OPTIONS,
                },
            },
        },
        "csv": {"type": "string", "description": "CSV text (instead of variants)."},
        **SOURCE_FIELDS,
        "events": EVENTS,
        **OPTIONS,
        **{k: v for k, v in MAPPING.items() if k != "metric"},
    },
}

MULTIPART = {
    "type": "object",
    "description": "A CSV upload with the same options as form fields (lists and objects as JSON text).",
    "properties": {
        "file": {"type": "string", "format": "binary"},
        "csv": {"type": "string", "description": "Pasted CSV text (when no file is sent)."},
        **MAPPING,
        **{k: {**v, "type": "string"} for k, v in OPTIONS.items() if k not in ("alternative",)},
        "alternative": {"type": "string", "enum": list(ALTERNATIVES)},
        "guardrails": {
            "type": "string",
            "description": 'JSON list: [{"metric": "revenue", "direction": "higher", "tolerance": 0.5}].',
        },
    },
}

COMPARISON = {
    "type": "object",
    "properties": {
        "variant": {"type": "string"},
        "control": {"type": "string"},
        "estimate": {"type": "number", "description": "Absolute difference, treatment − control."},
        "ci_low": NUMBER_OR_NULL,
        "ci_high": NUMBER_OR_NULL,
        "relative_lift": NUMBER_OR_NULL,
        "relative_ci_low": NUMBER_OR_NULL,
        "relative_ci_high": NUMBER_OR_NULL,
        "pvalue": {"type": "number"},
        "pvalue_adjusted": {"type": "number", "description": "Holm-adjusted."},
        "test": {"type": "string", "enum": ["z", "fisher", "welch"]},
        "statistic": NUMBER_OR_NULL,
        "effect_size": NUMBER_OR_NULL,
        "significant": {"type": "boolean"},
        "ci_level": {"type": "number"},
        "noninferiority": {"type": ["object", "null"]},
    },
}

RESULT = {
    "type": "object",
    "properties": {
        "metric": {"type": "string"},
        "kind": {"type": "string", "enum": ["proportion", "mean"]},
        "control": {"type": "string"},
        "verdict": {"type": "string", "enum": ["ship", "iterate", "hold", "stop", "rerun"]},
        "reasons": {"type": "array", "items": {"type": "string"}},
        "comparisons": {"type": "array", "items": COMPARISON},
        "variants": {"type": "array", "items": {"type": "object"}},
        "srm": {
            "type": "object",
            "properties": {"pvalue": {"type": "number"}, "flagged": {"type": "boolean"}},
        },
        "guardrails": {"type": "array", "items": {"type": "object"}},
        "inputs": {"type": "object"},
        "mapping": {
            "type": ["object", "null"],
            "description": "With a CSV: the layout, column per role, candidates and variants.",
        },
        "csv": {
            "type": ["object", "null"],
            "description": "With a CSV: rows read, blank cells per column, delimiter, BOM, header.",
        },
        "distribution": {
            "type": ["object", "null"],
            "description": "Row-level continuous data: binned shares and quantiles per variant.",
        },
        "source": SOURCE_RESULT,
    },
}

OPENAPI = {
    "paths": {
        "/api/abtest": post_json(
            "Analyze an A/B test: comparisons, SRM, guardrails and a verdict",
            REQUEST,
            RESULT,
            tag="abtest",
            examples={
                "conversion": {
                    "metric": "proportion",
                    "control": "A",
                    "alpha": 0.05,
                    "min_effect": 0.01,
                    "variants": [
                        {"name": "A", "users": 1000, "conversions": 120},
                        {"name": "B", "users": 1000, "conversions": 160},
                    ],
                },
                "csv": {
                    "csv": "variant,converted\nA,0\nA,1\nA,0\nB,1\nB,1\nB,0\n",
                    "metric": "converted",
                    "control": "A",
                },
                "source": {
                    "source": "warehouse",
                    "table": "users",
                    "variant": "variant",
                    "metric": "converted",
                },
                "events": {
                    "source": "warehouse",
                    "events": {
                        "exposures": "exposures",
                        "metric_events": "metric_events",
                        "experiment": "checkout-2024",
                        "metric": "purchase",
                        "window_days": 14,
                    },
                },
            },
            multipart=MULTIPART,
        )
    }
}
