"""The power calculator's part of the OpenAPI document."""

from blueprints._openapi import post_json

REQUEST = {
    "type": "object",
    "description": (
        "Give all but one of n_per_group, power and mde: the one left out is solved for. "
        "A proportion metric needs baseline; a mean metric needs sd, and baseline_mean when "
        "its mde is relative."
    ),
    "properties": {
        "metric": {"type": "string", "enum": ["proportion", "mean"], "default": "proportion"},
        "baseline": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "sd": {"type": "number", "exclusiveMinimum": 0},
        "baseline_mean": {
            "type": "number",
            "description": (
                "Control mean of a mean metric; needed (and positive) when mde_type is "
                "relative, so that mde 0.1 means +10% of it."
            ),
        },
        "mde": {
            "type": "number",
            "description": "Absolute difference (or relative, see mde_type).",
        },
        "mde_type": {
            "type": "string",
            "enum": ["absolute", "relative"],
            "default": "absolute",
            "description": "relative: mde is a fraction of baseline (or of baseline_mean).",
        },
        "n_per_group": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "Control arm size.",
        },
        "power": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "alpha": {"type": "number", "exclusiveMinimum": 0, "maximum": 0.5, "default": 0.05},
        "alternative": {"$ref": "#/components/schemas/Alternative"},
        "ratio": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": 1,
            "description": "Treatment arm size / control arm size.",
        },
        "arms": {
            "type": "integer",
            "minimum": 1,
            "maximum": 20,
            "default": 1,
            "description": "Number of treatment arms, each compared with control.",
        },
        "bonferroni": {"type": "boolean", "default": False},
        "continuity_correction": {"type": "boolean", "default": False},
        "rho": {
            "type": "number",
            "minimum": 0,
            "exclusiveMaximum": 1,
            "default": 0,
            "description": "Correlation with a pre-experiment covariate (CUPED).",
        },
        "daily_traffic": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "Eligible users a day, for the runtime in days.",
        },
    },
}

_NUMBERS = {"type": "array", "items": {"type": "number"}}

RESULT = {
    "type": "object",
    "properties": {
        "metric": {"type": "string"},
        "solved_for": {"type": "string", "enum": ["n_per_group", "power", "mde"]},
        "n_per_group": {"type": "integer"},
        "n_treatment": {"type": "integer"},
        "n_total": {"type": "integer"},
        "n_exact": {"type": "number"},
        "power": {"type": "number"},
        "achieved_power": {"type": "number"},
        "mde": {"type": "number"},
        "mde_relative": {
            "type": ["number", "null"],
            "description": "mde / baseline, or mde / baseline_mean for a mean; else null.",
        },
        "baseline_mean": {"type": ["number", "null"]},
        "method": {"type": "string", "enum": ["fleiss", "fleiss-cc", "t-test"]},
        "days": {"type": ["integer", "null"]},
        "curves": {
            "type": "object",
            "description": (
                "The design as curves (the page's two charts). mde/power: power at "
                "n_per_group for effects from 1% to 2.5x mde. target_power/target_mde: the "
                "effect reaching 80/90/95% power at n_per_group (targets it can reach). "
                "size_power/size_mde/size_n: the exact users per group (unrounded; null beyond "
                "10^12) for each power target, one row per effect (0.75, 1 and 1.25 x mde)."
            ),
            "properties": {
                "mde": _NUMBERS,
                "power": _NUMBERS,
                "target_power": _NUMBERS,
                "target_mde": _NUMBERS,
                "size_power": _NUMBERS,
                "size_mde": _NUMBERS,
                "size_n": {
                    "type": "array",
                    "items": {"type": "array", "items": {"type": ["number", "null"]}},
                },
            },
        },
    },
}

OPENAPI = {
    "paths": {
        "/api/power": post_json(
            "Sample size, power or minimum detectable effect",
            REQUEST,
            RESULT,
            tag="power",
            examples={
                "sample size": {
                    "metric": "proportion",
                    "baseline": 0.10,
                    "mde": 0.02,
                    "mde_type": "absolute",
                    "alpha": 0.05,
                    "power": 0.80,
                    "alternative": "two-sided",
                    "daily_traffic": 500,
                },
                "power": {"metric": "mean", "sd": 10, "mde": 1, "n_per_group": 1000},
            },
        )
    }
}
