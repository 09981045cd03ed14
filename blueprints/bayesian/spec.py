"""The Bayesian module's part of the OpenAPI document."""

from typing import Any

from blueprints._openapi import post_json
from blueprints.sources.spec import SOURCE_FIELDS

NUMBER = {"type": "number"}
NULLABLE_NUMBER = {"type": ["number", "null"]}
STRINGS = {"type": "array", "items": {"type": "string"}}

VARIANT = {
    "type": "object",
    "description": (
        "One variant in the metric's shape: proportion {name, users, conversions}; "
        "mean {name, users, mean, sd}; count {name, users, total}; revenue {name, amounts}."
    ),
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "users": {"type": "number", "minimum": 0},
        "conversions": {"type": "number", "minimum": 0},
        "mean": NUMBER,
        "sd": {"type": "number", "minimum": 0},
        "total": {"type": "number", "minimum": 0},
        "amounts": {
            "type": "array",
            "items": {"type": "number", "minimum": 0},
            "description": "Per-user amounts, zeros included (revenue).",
        },
    },
}
METRIC = {"type": "string", "enum": ["proportion", "mean", "count", "revenue"]}
PRIOR = {
    "type": "object",
    "description": (
        "proportion and revenue: {alpha, beta} of the Beta prior (default 1, 1); count: "
        "{shape, rate} of the Gamma prior (default 0.5, 0: Jeffreys); mean: none."
    ),
    "additionalProperties": {"type": "number"},
}
GUARDRAIL = {
    "type": "object",
    "required": ["name", "metric", "tolerance", "variants"],
    "properties": {
        "name": {"type": "string"},
        "metric": METRIC,
        "tolerance": {
            "type": "number",
            "minimum": 0,
            "description": "Degradation beyond this absolute amount counts as a failure.",
        },
        "higher_is_better": {"type": "boolean", "default": True},
        "max_risk": {
            "type": "number",
            "exclusiveMinimum": 0,
            "exclusiveMaximum": 1,
            "default": 0.1,
            "description": "The guardrail fails when P(degrades) is above this.",
        },
        "prior": PRIOR,
        "variants": {"type": "array", "items": VARIANT},
    },
}
CSV_OPTIONS: dict[str, Any] = {
    "variant": {"type": "string", "description": "CSV column of the variant (detected if absent)."},
    "value": {
        "type": "string",
        "description": "CSV column of the metric per user (detected if absent).",
    },
    "date": {
        "type": "string",
        "description": "CSV column of dates (detected if absent); adds the loss over time.",
    },
}
OPTIONS: dict[str, Any] = {
    "metric": {**METRIC, "default": "proportion"},
    "control": {"type": "string", "description": "Defaults to a variant named control or A."},
    "prior": PRIOR,
    "threshold": {
        "type": "number",
        "minimum": 0,
        "description": "Threshold of caring: the expected loss you accept, in metric units.",
    },
    "rope": {
        "type": "array",
        "items": NUMBER,
        "minItems": 2,
        "maxItems": 2,
        "default": [0, 0],
        "description": "Region of practical equivalence [low, high] for the absolute lift.",
    },
    "draws": {"type": "integer", "minimum": 1000, "maximum": 1_000_000, "default": 100_000},
    "seed": {"type": "integer", "minimum": 0},
    "guardrails": {"type": "array", "items": GUARDRAIL},
    "higher_is_better": {
        "type": "boolean",
        "default": True,
        "description": "False when a lower primary metric is better (latency, bounce rate).",
    },
    "effect_prior": {
        "type": "object",
        "required": ["sd"],
        "properties": {
            "mean": {"type": "number", "default": 0},
            "sd": {"type": "number", "exclusiveMinimum": 0},
        },
        "description": (
            "An informative normal prior N(mean, sd²) on each variant's absolute lift over "
            "control (gbstats' proper prior), updated by the normal–normal conjugate rule."
        ),
    },
    "correlation": {
        "type": "array",
        "items": {"type": "array", "items": NUMBER},
        "description": (
            "Correlation matrix of the metrics (primary, then each guardrail) over the same "
            "users; left out, the metrics are drawn independently."
        ),
    },
    "weights": {
        "type": "array",
        "items": NUMBER,
        "description": "Composite-score weights, one per metric (primary, then each guardrail).",
    },
}
REQUEST = {
    "type": "object",
    "description": (
        "Give variants (JSON records) or csv (CSV text, one row per user or per variant), or a "
        "configured source and table (one row per user) with variant, value and optional date "
        "naming columns."
    ),
    "required": ["threshold"],
    "properties": {
        **OPTIONS,
        "variants": {"type": "array", "items": VARIANT},
        "csv": {"type": "string"},
        **SOURCE_FIELDS,
        **CSV_OPTIONS,
    },
}
MULTIPART = {
    "type": "object",
    "required": ["threshold"],
    "properties": {
        "file": {"type": "string", "format": "binary"},
        "csv": {"type": "string"},
        **{
            k: v
            for k, v in OPTIONS.items()
            if k
            not in (
                "prior",
                "rope",
                "guardrails",
                "effect_prior",
                "correlation",
                "weights",
                "higher_is_better",
            )
        },
        **CSV_OPTIONS,
        "higher_is_better": {"type": "string", "enum": ["true", "false"]},
        "effect_prior": {"type": "string", "description": 'JSON text: {"mean": 0, "sd": 0.01}.'},
        "prior": {"type": "string", "description": "JSON text of the prior object."},
        "rope": {"type": "string", "description": "JSON text: [low, high]."},
    },
}

RESULT = {
    "type": "object",
    "required": ["variants", "comparisons", "decision", "reasons"],
    "properties": {
        "metric": {"type": "string"},
        "control": {"type": "string"},
        "threshold": NUMBER,
        "rope": {"type": "array", "items": NUMBER},
        "variants": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    **{
                        k: NULLABLE_NUMBER
                        for k in ("mean", "ci_low", "ci_high", "prob_best", "expected_loss", "cvar")
                    },
                },
            },
        },
        "comparisons": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "variant": {"type": "string"},
                    **{
                        k: NULLABLE_NUMBER
                        for k in (
                            "prob_better",
                            "lift_mean",
                            "relative_lift_mean",
                            "hdi_low",
                            "hdi_high",
                            "relative_hdi_low",
                            "relative_hdi_high",
                            "prob_rope_below",
                            "prob_rope_inside",
                            "prob_rope_above",
                            "prob_better_and_safe",
                        )
                    },
                },
            },
        },
        "decision": {"type": "string", "enum": ["ship", "keep-control", "keep-collecting"]},
        "best": {"type": "string"},
        "reasons": STRINGS,
        "conflicts": STRINGS,
        "guardrails": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "guardrail": {"type": "string"},
                    "variant": {"type": "string"},
                    "prob_degrade": NULLABLE_NUMBER,
                    "fails": {"type": "boolean"},
                },
            },
        },
        "method": {"type": "string", "enum": ["closed-form", "draws"]},
        "draws": {"type": "integer"},
        "higher_is_better": {"type": "boolean"},
        "dependence": {
            "type": "string",
            "enum": ["independent", "correlated"],
            "description": "How the metrics were drawn jointly.",
        },
        "weights": {"type": ["array", "null"], "items": NUMBER},
        "effect_prior": {"type": ["object", "null"]},
        "joint": {
            "type": "array",
            "description": (
                "Per variant, from joint draws: prob_win, prob_win_and_safe (primary better and "
                "every guardrail within tolerance), prob_independent (product of the marginals), "
                "composite_mean, composite_low, composite_high, composite_prob_positive."
            ),
            "items": {"type": "object"},
        },
        "prior_influence": {
            "type": "array",
            "description": (
                "Per variant: prior_mean, prior_sd, data_mean, data_sd, posterior_mean, "
                "posterior_sd and prior_weight (the prior's share of the posterior precision)."
            ),
            "items": {"type": "object"},
        },
        "loss_over_time": {
            "type": ["object", "null"],
            "description": "Expected loss of choosing each variant after each day (CSV with dates).",
            "properties": {
                "periods": STRINGS,
                "names": STRINGS,
                "expected_loss": {"type": "array", "items": {"type": "array"}},
            },
        },
        "source": {
            "type": ["object", "null"],
            "description": "The CSV columns used (null for JSON variants).",
        },
    },
}

STOPPING_REQUEST = {
    "type": "object",
    "properties": {
        "baseline": {
            "type": "number",
            "exclusiveMinimum": 0,
            "exclusiveMaximum": 1,
            "default": 0.1,
            "description": "The conversion rate of both arms (no true difference).",
        },
        "daily_users": {"type": "integer", "minimum": 1, "default": 500},
        "days": {"type": "integer", "minimum": 1, "maximum": 365, "default": 30},
        "threshold": {"type": "number", "minimum": 0, "default": 0.001},
        "simulations": {"type": "integer", "minimum": 100, "maximum": 100_000, "default": 2000},
        "seed": {"type": "integer", "minimum": 0},
        "prior": {
            "type": "object",
            "properties": {"alpha": NUMBER, "beta": NUMBER},
            "additionalProperties": False,
        },
    },
}
STOPPING_RESULT = {
    "type": "object",
    "required": ["ship_rate_daily", "ship_rate_daily_se", "ship_rate_end", "ship_rate_end_se"],
    "properties": {
        "baseline": NUMBER,
        "daily_users": {"type": "integer"},
        "days": {"type": "integer"},
        "threshold": NUMBER,
        "simulations": {"type": "integer"},
        "ship_rate_daily": NUMBER,
        "ship_rate_daily_se": NUMBER,
        "ship_rate_end": NUMBER,
        "ship_rate_end_se": NUMBER,
        "ship_rate_by_day": {"type": "array", "items": NUMBER},
    },
}

OPENAPI = {
    "paths": {
        "/api/bayesian": post_json(
            "Posteriors, P(best), expected loss and a decision",
            REQUEST,
            RESULT,
            tag="bayesian",
            examples={
                "conversion": {
                    "metric": "proportion",
                    "control": "A",
                    "prior": {"alpha": 1, "beta": 1},
                    "threshold": 0.001,
                    "rope": [-0.005, 0.005],
                    "draws": 100000,
                    "seed": 1,
                    "variants": [
                        {"name": "A", "users": 1000, "conversions": 100},
                        {"name": "B", "users": 1000, "conversions": 120},
                    ],
                },
                "mean": {
                    "metric": "mean",
                    "threshold": 0.5,
                    "variants": [
                        {"name": "A", "users": 500, "mean": 61.2, "sd": 40.1},
                        {"name": "B", "users": 500, "mean": 66.0, "sd": 42.3},
                    ],
                },
            },
            multipart=MULTIPART,
        ),
        "/api/bayesian/stopping": post_json(
            "How often expected-loss stopping ships a variant under no true difference",
            STOPPING_REQUEST,
            STOPPING_RESULT,
            tag="bayesian",
            examples={
                "daily checks": {
                    "baseline": 0.1,
                    "daily_users": 500,
                    "days": 30,
                    "threshold": 0.001,
                    "simulations": 2000,
                    "seed": 1,
                }
            },
        ),
    }
}
