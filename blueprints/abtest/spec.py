"""The A/B analyzer's part of the OpenAPI document."""

from typing import Any

from blueprints._openapi import post_json
from blueprints.sources.spec import EVENTS, SOURCE_FIELDS, SOURCE_RESULT
from stats.comparisons import CORRECTIONS, PAIR_MODES
from stats.quantiles import QUANTILE_METHODS
from stats.relative import RELATIVE_INTERVALS
from stats.vocabulary import ALTERNATIVES

NUMBER_OR_NULL = {"type": ["number", "null"]}

VARIANT = {
    "type": "object",
    "description": (
        "{name, users, conversions} for a conversion metric, {name, users, mean, sd} for a "
        "mean, {name, users, numerator_mean, denominator_mean, numerator_sd, denominator_sd, "
        "covariance} for a ratio metric (per-user moments of numerator and denominator)."
    ),
    "required": ["name", "users"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "users": {"type": "integer", "minimum": 0},
        "conversions": {"type": "integer", "minimum": 0},
        "mean": {"type": "number"},
        "sd": {"type": "number", "minimum": 0},
        "numerator_mean": {"type": "number", "description": "Ratio: mean numerator per user."},
        "denominator_mean": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "Ratio: mean denominator per user (orders, impressions).",
        },
        "numerator_sd": {"type": "number", "minimum": 0},
        "denominator_sd": {"type": "number", "minimum": 0},
        "covariance": {
            "type": "number",
            "description": "Ratio: sample covariance of numerator and denominator per user.",
        },
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
    "correction": {
        "type": "string",
        "enum": list(CORRECTIONS),
        "default": "holm",
        "description": (
            "Multiplicity correction across comparisons: Holm or Bonferroni (family-wise, "
            "Bonferroni intervals) or Benjamini–Hochberg (false discovery rate, with "
            "Benjamini–Yekutieli FCR-adjusted intervals at level 1 − R·α/m)."
        ),
    },
    "relative_interval": {
        "type": "string",
        "enum": list(RELATIVE_INTERVALS),
        "default": "dual",
        "description": (
            "The relative lift's interval: dual to the test (the score interval for the risk "
            "ratio for conversions, Fieller's for means; excludes 0 exactly when the test "
            "rejects) or the delta method."
        ),
    },
    "comparisons": {
        "type": "string",
        "enum": list(PAIR_MODES),
        "default": "control",
        "description": "Each variant against control, or every pair of variants (all).",
    },
}

QUANTILE_OPTIONS: dict[str, Any] = {
    "quantiles": {
        "type": "array",
        "items": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "maxItems": 5,
        "default": [0.5, 0.9],
        "description": (
            "One row per user with a continuous metric: the quantile levels whose difference "
            "between each variant and control is estimated ([] for none)."
        ),
    },
    "quantile_method": {
        "type": "string",
        "enum": list(QUANTILE_METHODS),
        "default": "order-statistic",
        "description": (
            "order-statistic: each arm's distribution-free binomial-rank interval gives its "
            "standard error, combined for independent users (as gbstats' QuantileStatistic); "
            "bootstrap: a seeded percentile bootstrap (no p-value; uploads only)."
        ),
    },
    "bootstrap_resamples": {
        "type": "integer",
        "minimum": 1000,
        "maximum": 20000,
        "default": 2000,
        "description": "Resamples of the bootstrap; values × quantiles × resamples is capped at 25 million.",
    },
    "seed": {"type": "integer", "minimum": 0, "description": "Seed of the bootstrap."},
}

MAPPING: dict[str, Any] = {
    "variant": {"type": "string", "description": "Column holding the variant."},
    "metric": {
        "type": "string",
        "description": "Column of the primary metric (row per user), or the conversions or mean column (row per variant).",
    },
    "kind": {"type": "string", "enum": ["binary", "continuous"]},
    "numerator": {
        "type": "string",
        "description": "Row per user: the numerator column of a ratio metric (revenue of revenue per order); with denominator.",
    },
    "denominator": {
        "type": "string",
        "description": "Row per user: the denominator column of a ratio metric (orders, impressions).",
    },
    "user_id": {"type": "string", "description": "Column of user ids (duplicates are warned)."},
    "users": {"type": "string", "description": "Row per variant: the column of users."},
    "sd": {"type": "string", "description": "Row per variant: the standard-deviation column."},
    "segment": {
        "type": "string",
        "description": (
            "Row per user (CSV or source): the column of segments (device, country …); each "
            "treatment is then compared with control within each segment, as /api/segments "
            "does: result.segments, result.heterogeneity and result.segment_analyses."
        ),
    },
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
            "description": (
                "Typed numbers: proportion, mean or ratio. With a CSV or a source: the metric "
                "column (with numerator and denominator columns instead, a ratio metric)."
            ),
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
        "segments": {
            "type": "array",
            "maxItems": 100,
            "description": (
                "Typed numbers by segment: [{name, variants: [...]}], each segment's variants "
                "as in variants (which stay the totals); answered as with a segment column."
            ),
            "items": {
                "type": "object",
                "required": ["name", "variants"],
                "properties": {
                    "name": {"type": "string"},
                    "variants": {"type": "array", "items": VARIANT, "minItems": 2},
                },
            },
        },
        "csv": {"type": "string", "description": "CSV text (instead of variants)."},
        **SOURCE_FIELDS,
        "events": EVENTS,
        **OPTIONS,
        **QUANTILE_OPTIONS,
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
        **{k: {**v, "type": "string"} for k, v in QUANTILE_OPTIONS.items() if k != "quantiles"},
        "quantiles": {
            "type": "string",
            "description": "JSON list of quantile levels, e.g. [0.5, 0.9].",
        },
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
        "relative_method": {
            "type": "string",
            "enum": ["score", "fieller", "delta"],
            "description": "How the relative interval was computed; null bounds with both open mean unbounded.",
        },
        "pvalue": {"type": "number"},
        "pvalue_adjusted": {
            "type": "number",
            "description": "Adjusted for the comparisons made, by the request's correction (Holm by default).",
        },
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
        "kind": {"type": "string", "enum": ["proportion", "mean", "ratio"]},
        "control": {"type": "string"},
        "verdict": {"type": "string", "enum": ["ship", "iterate", "hold", "stop", "rerun"]},
        "reasons": {"type": "array", "items": {"type": "string"}},
        "comparisons": {
            "type": "array",
            "items": COMPARISON,
            "description": "Each variant against control, or every pair (variant − its control).",
        },
        "correction": {"type": "string", "enum": list(CORRECTIONS)},
        "comparison_set": {"type": "string", "enum": list(PAIR_MODES)},
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
        "segments": {
            "type": ["array", "null"],
            "description": (
                "With a segment column: one row per treatment and segment with variant, control, "
                "name, estimate, se, ci_low, ci_high, pvalue, pvalue_adjusted (across segments, "
                "by the request's correction), shrunk_estimate, shrunk_sd, shrunk_ci_low, "
                "shrunk_ci_high, prob_positive (partial pooling; null with 2 segments) and "
                "verdict (wins, loses, no effect, too thin to tell)."
            ),
            "items": {"type": "object"},
        },
        "heterogeneity": {
            "type": ["array", "null"],
            "description": "Per treatment: variant, control, Cochran's q, df, pvalue, i2, tau2.",
            "items": {"type": "object"},
        },
        "segment_analyses": {
            "type": ["array", "null"],
            "description": (
                "Per treatment: variant, control, column, overall (the stratified effect: "
                "Mantel–Haenszel for conversions, inverse-variance for means), pooled (every "
                "segment together), hierarchical (posterior of the mean effect), tau (posterior "
                "mean of τ; null with 3 segments), tau_median, tau_ci_low, tau_ci_high, "
                "correction and left_out (segments without a defined effect)."
            ),
            "items": {"type": "object"},
        },
        "quantiles": {
            "type": ["object", "null"],
            "description": (
                "One row per user with a continuous metric: quantiles (levels), method, and "
                "differences[] with quantile, variant, control, estimate, ci_low, ci_high, "
                "ci_level, se, statistic, pvalue (null for the bootstrap), method, resamples and "
                "arms[] (each arm's quantile estimate and order-statistic interval)."
            ),
        },
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
