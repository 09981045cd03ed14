"""The CUPED module's part of the OpenAPI document."""

from blueprints._openapi import post_json
from blueprints.sources.spec import EVENTS, SOURCE_FIELDS

NUMBER_OR_NULL = {"type": ["number", "null"]}
ALPHA = {"type": "number", "exclusiveMinimum": 0, "maximum": 0.5, "default": 0.05}

COLUMNS = {
    "variant": {
        "type": "string",
        "description": "Column holding each user's variant (detected when left out).",
    },
    "outcome": {"type": "string", "description": "Column holding the in-experiment metric."},
    "covariate": {
        "type": "string",
        "description": (
            "Column holding the same user's pre-experiment value (CUPED). Blank cells are "
            "users without one (new users): kept, mean-filled with a missing-value indicator."
        ),
    },
    "control": {
        "type": "string",
        "description": "The control variant (guessed from the names when left out).",
    },
    "alpha": ALPHA,
}

SUMMARY = {
    "type": "object",
    "required": ["name", "users", "mean_y", "mean_x", "var_y", "var_x", "cov_xy"],
    "properties": {
        "name": {"type": "string"},
        "users": {"type": "integer", "minimum": 2},
        "mean_y": {"type": "number", "description": "Mean of the outcome."},
        "mean_x": {"type": "number", "description": "Mean of the pre-experiment covariate."},
        "var_y": {"type": "number", "minimum": 0, "description": "Sample variance (n − 1)."},
        "var_x": {"type": "number", "minimum": 0},
        "cov_xy": {"type": "number", "description": "Sample covariance of outcome and covariate."},
    },
}

REQUEST = {
    "type": "object",
    "description": (
        "Row-level data as csv text (one row per user) with the variant, outcome and "
        "covariate column names; covariates (a list of columns) instead of covariate runs "
        "Lin's regression adjustment. Or per-variant summaries in variants. Or a configured "
        "source and table with variant, outcome and covariate naming columns, or a source with "
        "events (the event schema; the covariate is the metric's pre-period sum)."
    ),
    "properties": {
        "csv": {"type": "string", "description": "CSV text, one row per user."},
        **SOURCE_FIELDS,
        "events": EVENTS,
        **COLUMNS,
        "covariates": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "description": "Several pre-experiment columns: regression adjustment (Lin 2013).",
        },
        "variants": {"type": "array", "minItems": 2, "items": SUMMARY},
    },
}

MULTIPART = {
    "type": "object",
    "description": "A CSV (one row per user) as an uploaded file or pasted text, with the options.",
    "properties": {
        "file": {"type": "string", "format": "binary"},
        "csv": {"type": "string"},
        **COLUMNS,
        "covariates": {
            "type": "string",
            "description": 'A JSON list, e.g. ["pre_spend", "visits"].',
        },
    },
}

COMPARISON = {
    "type": "object",
    "properties": {
        "variant": {"type": "string"},
        **{
            f"{prefix}{name}": NUMBER_OR_NULL
            for prefix in ("", "unadjusted_")
            for name in ("estimate", "statistic", "pvalue", "ci_low", "ci_high")
        },
    },
}

BALANCE = {
    "type": "object",
    "description": "One-way ANOVA F of the covariate's mean across arms; flagged below p 0.001.",
    "properties": {
        "statistic": NUMBER_OR_NULL,
        "pvalue": NUMBER_OR_NULL,
        "flagged": {"type": "boolean"},
    },
}

RESULT = {
    "type": "object",
    "description": (
        "CUPED (one covariate) or, with covariates, Lin's regression adjustment (which has "
        "covariates and r_squared instead of theta, rho and the variance reduction, and one "
        "balance test per covariate)."
    ),
    "properties": {
        "control": {"type": "string"},
        "alpha": {"type": "number"},
        "theta": NUMBER_OR_NULL,
        "rho": NUMBER_OR_NULL,
        "variance_reduction": {
            **NUMBER_OR_NULL,
            "description": "1 − ρ²: the share of the variance that REMAINS after adjustment.",
        },
        "effective_multiplier": {
            **NUMBER_OR_NULL,
            "description": "1 / (1 − ρ²): 'as if you had this many times as many users'.",
        },
        "comparisons": {"type": "array", "items": COMPARISON},
        "arms": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "n": {"type": "integer"},
                    "mean_y": NUMBER_OR_NULL,
                    "adjusted_mean": NUMBER_OR_NULL,
                    "mean_x": NUMBER_OR_NULL,
                },
            },
        },
        "balance": {"oneOf": [BALANCE, {"type": "array", "items": BALANCE}]},
        "covariates": {"type": "array", "items": {"type": "string"}},
        "r_squared": NUMBER_OR_NULL,
        "n": {"type": "integer"},
        "n_missing_covariate": {"type": "integer"},
    },
}

PLAN_REQUEST = {
    "type": "object",
    "required": ["rho"],
    "properties": {
        "rho": {
            "type": "number",
            "minimum": 0,
            "exclusiveMaximum": 1,
            "description": "Correlation of the metric with its pre-period value (its size).",
        },
        "n_per_group": {"type": "number", "minimum": 2, "maximum": 1e12, "default": 5000},
        "sd": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": 1,
            "description": "Standard deviation of the metric per user.",
        },
        "alpha": ALPHA,
        "power": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1, "default": 0.8},
    },
}

CURVE = {"type": "array", "items": NUMBER_OR_NULL}

PLAN_RESULT = {
    "type": "object",
    "properties": {
        "rho": {"type": "number"},
        "half_width": NUMBER_OR_NULL,
        "unadjusted_half_width": NUMBER_OR_NULL,
        "mde": NUMBER_OR_NULL,
        "unadjusted_mde": NUMBER_OR_NULL,
        "n_per_group_required": {"type": "integer"},
        "effective_multiplier": {"type": "number"},
        "n_per_group": {"type": "integer"},
        "sd": {"type": "number"},
        "alpha": {"type": "number"},
        "power": {"type": "number"},
        "grid": {
            "type": "object",
            "description": "The same quantities on ρ = 0, 0.01, …, 0.95 (for the charts).",
            "properties": {
                "rho": CURVE,
                "half_width": CURVE,
                "mde": CURVE,
                "n_per_group_required": {"type": "array", "items": {"type": "integer"}},
                "effective_multiplier": CURVE,
            },
        },
    },
}

EXAMPLE_SUMMARIES = {
    "control": "A",
    "alpha": 0.05,
    "variants": [
        {"name": "A", "users": 1000, "mean_y": 40.0, "mean_x": 20.0,
         "var_y": 400.0, "var_x": 200.0, "cov_xy": 196.0},
        {"name": "B", "users": 1000, "mean_y": 41.5, "mean_x": 20.1,
         "var_y": 410.0, "var_x": 205.0, "cov_xy": 200.0},
    ],
}  # fmt: skip

EXAMPLE_CSV = {
    "csv": "user_id,variant,pre_spend,spend\n"
    + "".join(
        f"u{i},{'AB'[i % 2]},{10 + i % 7}.5,{20 + i % 7 + i % 2 + (i * 7) % 5}.25\n"
        for i in range(40)
    ),
    "variant": "variant",
    "outcome": "spend",
    "covariate": "pre_spend",
    "control": "A",
}

OPENAPI = {
    "paths": {
        "/api/cuped": post_json(
            "CUPED-adjusted differences in means beside the unadjusted ones",
            REQUEST,
            RESULT,
            tag="cuped",
            examples={"per-variant summaries": EXAMPLE_SUMMARIES, "row-level CSV": EXAMPLE_CSV},
            multipart=MULTIPART,
        ),
        "/api/cuped/plan": post_json(
            "Planning what-if: interval width and users needed against ρ",
            PLAN_REQUEST,
            PLAN_RESULT,
            tag="cuped",
            examples={
                "plan": {"rho": 0.6, "n_per_group": 5000, "sd": 10, "alpha": 0.05, "power": 0.8}
            },
        ),
    }
}
