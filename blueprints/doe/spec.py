"""The DoE module's part of the OpenAPI document."""

from blueprints._openapi import post_json
from blueprints.sources.spec import SOURCE_FIELDS

LEVEL = {"type": ["string", "number"], "description": "A level name (text or a number)."}
NUMBER_OR_NULL = {
    "type": ["number", "null"],
    "description": "null when not defined or not finite (an interval at a tiny alpha).",
}

OPTIONS = {
    "factor_a": {
        "type": "string",
        "description": (
            "With rows: the name of factor A (default A). With a CSV: the column holding "
            "its levels (detected when left out)."
        ),
    },
    "factor_b": {"type": "string", "description": "As factor_a, for factor B (default B)."},
    "response": {
        "type": "string",
        "description": "With rows: the response's name (default y). With a CSV: its column.",
    },
    "anova_type": {
        "type": "integer",
        "enum": [2, 3],
        "default": 2,
        "description": "Type II (default) or Type III sums of squares (sum-to-zero contrasts).",
    },
    "alpha": {"type": "number", "exclusiveMinimum": 0, "maximum": 0.5, "default": 0.05},
}

REQUEST = {
    "type": "object",
    "description": (
        "One observation per row: the levels of factor A (a) and B (b) and the response (y). "
        "Each factor needs 2 to 5 levels and every combination at least one observation; "
        "more than one per cell lets the interaction be tested. Instead of rows, csv may "
        "hold the same long format as CSV text, or source and table name a configured "
        "source's table in that format (factor_a, factor_b and response naming its columns)."
    ),
    "properties": {
        "levels_a": {
            "type": "array",
            "items": LEVEL,
            "description": "Optional: the levels of A the grid has; every cell must then hold data.",
        },
        "levels_b": {
            "type": "array",
            "items": LEVEL,
            "description": "Optional: as levels_a, for B.",
        },
        "rows": {
            "type": "array",
            "maxItems": 100000,
            "items": {
                "type": "object",
                "required": ["a", "b", "y"],
                "properties": {"a": LEVEL, "b": LEVEL, "y": {"type": "number"}},
            },
        },
        "csv": {"type": "string", "description": "Long-format CSV text (instead of rows)."},
        **SOURCE_FIELDS,
        **OPTIONS,
    },
}

MULTIPART = {
    "type": "object",
    "description": "A long-format CSV as an uploaded file or pasted text, with the options.",
    "properties": {
        "file": {"type": "string", "format": "binary"},
        "csv": {"type": "string"},
        **OPTIONS,
    },
}

ANOVA_ROW = {
    "type": "object",
    "properties": {
        "term": {"type": "string", "enum": ["a", "b", "a:b", "residual"]},
        "source": {"type": "string", "description": "price, layout, price:layout or Residual."},
        "sum_sq": {"type": "number"},
        "df": {"type": "integer"},
        "mean_sq": {"type": "number"},
        "f": NUMBER_OR_NULL,
        "pvalue": NUMBER_OR_NULL,
        "partial_eta_sq": NUMBER_OR_NULL,
        "significant": {"type": ["boolean", "null"]},
    },
}

CELL_MEAN = {
    "type": "object",
    "properties": {
        "a": {"type": "string"},
        "b": {"type": "string"},
        "n": {"type": "integer"},
        "mean": {"type": "number"},
        "sd": NUMBER_OR_NULL,
        "ci_low": NUMBER_OR_NULL,
        "ci_high": NUMBER_OR_NULL,
    },
}

MARGINAL_MEAN = {
    "type": "object",
    "properties": {
        "level": {"type": "string"},
        "n": {"type": "integer"},
        "estimate": {"type": "number"},
        "se": {"type": "number"},
        "ci_low": NUMBER_OR_NULL,
        "ci_high": NUMBER_OR_NULL,
    },
}

RESULT = {
    "type": "object",
    "properties": {
        "factor_a": {"type": "string"},
        "factor_b": {"type": "string"},
        "response": {"type": "string"},
        "anova_type": {"type": "integer", "enum": [2, 3]},
        "alpha": {"type": "number"},
        "n": {"type": "integer"},
        "levels_a": {"type": "array", "items": {"type": "string"}},
        "levels_b": {"type": "array", "items": {"type": "string"}},
        "interaction_tested": {
            "type": "boolean",
            "description": "False with one observation per cell: the additive model is fitted.",
        },
        "balanced": {"type": "boolean"},
        "df_resid": {"type": "integer"},
        "ms_resid": {"type": "number"},
        "anova": {"type": "array", "items": ANOVA_ROW},
        "cell_means": {"type": "array", "items": CELL_MEAN},
        "marginal_means_a": {"type": "array", "items": MARGINAL_MEAN},
        "marginal_means_b": {"type": "array", "items": MARGINAL_MEAN},
        "fitted": {"type": "array", "items": NUMBER_OR_NULL},
        "residuals": {"type": "array", "items": NUMBER_OR_NULL},
        "ci_method": {"type": "string"},
    },
}

EXAMPLE = {
    "factor_a": "price",
    "factor_b": "layout",
    "response": "revenue",
    "anova_type": 2,
    "alpha": 0.05,
    "rows": [
        {"a": a, "b": b, "y": y}
        for a, b, ys in [
            ("low", "grid", [3.1, 3.4]),
            ("low", "list", [2.8, 2.6]),
            ("high", "grid", [3.9, 4.2]),
            ("high", "list", [2.7, 3.0]),
        ]
        for y in ys
    ],
}

OPENAPI = {
    "paths": {
        "/api/doe": post_json(
            "Two-way ANOVA of a two-factor experiment, with the interaction",
            REQUEST,
            RESULT,
            tag="doe",
            examples={"price × layout": EXAMPLE},
            multipart=MULTIPART,
        )
    }
}
