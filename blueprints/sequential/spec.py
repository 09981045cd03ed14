"""The sequential module's part of the OpenAPI document."""

from typing import Any

from blueprints._openapi import post_json
from stats.group_sequential import SPENDING_FUNCTIONS as FUNCTIONS
from stats.peeking import MAX_N_PER_ARM, MAX_PATHS, MAX_SIMULATIONS
from stats.vocabulary import BOUNDARY_SPENDINGS, PEEKING_SPENDINGS

TAG = "sequential"
NUM: dict[str, Any] = {"type": ["number", "null"], "description": "null when not finite"}
NUMS: dict[str, Any] = {"type": "array", "items": NUM}
ALPHA = {"type": "number", "minimum": 1e-6, "exclusiveMaximum": 0.5, "default": 0.05}
SPENDING_FUNCTIONS = list(FUNCTIONS)
GAMMA = {
    "type": "number",
    "minimum": -40,
    "maximum": 40,
    "default": -4,
    "description": "Hwang-Shih-DeCani gamma (spending hsd only); -4 is O'Brien-Fleming-like.",
}
PAIR_INT = {
    "type": "array",
    "items": {"type": "integer", "minimum": 0},
    "minItems": 2,
    "maxItems": 2,
}
PAIR_NUM = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}

SIMULATE = {
    "type": "object",
    "properties": {
        "looks": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
        "n_per_arm": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_N_PER_ARM,
            "default": 10000,
            "description": "Users per arm at the final look (at least one per look).",
        },
        "metric": {"type": "string", "enum": ["proportion", "mean"], "default": "proportion"},
        "baseline": {
            "type": "number",
            "description": "Control's rate in (0, 1) (required for a proportion) or mean.",
        },
        "sd": {"type": "number", "exclusiveMinimum": 0, "default": 1},
        "effect": {
            "type": "number",
            "default": 0,
            "description": "True absolute difference B - A; 0 simulates the null.",
        },
        "alpha": ALPHA,
        "simulations": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_SIMULATIONS,
            "default": 20000,
        },
        "seed": {"type": "integer", "minimum": 0},
        "spending": {
            "type": "string",
            "enum": list(PEEKING_SPENDINGS),
            "default": "lan-demets",
        },
        "paths": {"type": "integer", "minimum": 0, "maximum": MAX_PATHS, "default": 30},
    },
}
METHOD = {
    "type": "object",
    "properties": {
        "rejection_rate": {"type": "number"},
        "rejection_se": {"type": "number"},
        "mean_sample_size": {"type": "number"},
        "stop_look_counts": {"type": "array", "items": {"type": "integer"}},
        "z_bounds": NUMS,
    },
}
SIMULATE_RESULT = {
    "type": "object",
    "properties": {
        "methods": {
            "type": "object",
            "properties": {k: METHOD for k in ("naive", "obrien_fleming", "pocock", "msprt")},
        },
        "exact_naive_rate": {"type": "number"},
        "exact_naive_curve": {
            "type": "object",
            "properties": {
                "looks": {"type": "array", "items": {"type": "integer"}},
                "rates": {"type": "array", "items": {"type": "number"}},
            },
        },
        "look_n": {"type": "array", "items": {"type": "integer"}},
        "z_paths": {"type": "array", "items": NUMS},
        "tau": {"type": "number"},
        "looks": {"type": "integer"},
        "n_per_arm": {"type": "integer"},
        "simulations": {"type": "integer"},
        "seed": {"type": ["integer", "null"]},
    },
}

BOUNDARIES = {
    "type": "object",
    "description": "Give looks (equally spaced) or fractions (or both, with matching lengths).",
    "properties": {
        "looks": {"type": "integer", "minimum": 1, "maximum": 100},
        "fractions": {
            "type": "array",
            "items": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            "minItems": 1,
            "maxItems": 100,
            "description": "Strictly increasing information fractions ending at 1.",
        },
        "alpha": ALPHA,
        "alternative": {"$ref": "#/components/schemas/Alternative"},
        "spending": {
            "type": "string",
            "enum": list(BOUNDARY_SPENDINGS),
            "default": "obrien-fleming",
        },
        "gamma": GAMMA,
        "power": {
            "type": "number",
            "exclusiveMinimum": 0,
            "exclusiveMaximum": 1,
            "default": 0.8,
            "description": "Power for the maximum sample size inflation.",
        },
    },
}
BOUNDARIES_RESULT = {
    "type": "object",
    "properties": {
        "fractions": {"type": "array", "items": {"type": "number"}},
        "z_bounds": NUMS,
        "nominal_p": {"type": "array", "items": {"type": "number"}},
        "alpha_spent": {"type": "array", "items": {"type": "number"}},
        "cumulative_alpha": {"type": "array", "items": {"type": "number"}},
        "max_n_inflation": {"type": "number"},
        "drift": {"type": "number"},
        "constant": NUM,
        "gamma": NUM,
    },
}

MONITOR = {
    "type": "object",
    "required": ["looks", "planned_n_per_arm"],
    "properties": {
        "looks": {
            "type": "array",
            "minItems": 1,
            "maxItems": 100,
            "description": "Cumulative data per look, control (A) first in each pair.",
            "items": {
                "type": "object",
                "required": ["users"],
                "properties": {
                    "users": PAIR_INT,
                    "conversions": PAIR_INT,
                    "mean": PAIR_NUM,
                    "sd": PAIR_NUM,
                },
            },
        },
        "planned_n_per_arm": {"type": "integer", "minimum": 1},
        "metric": {"type": "string", "enum": ["proportion", "mean"], "default": "proportion"},
        "alpha": ALPHA,
        "alternative": {"$ref": "#/components/schemas/Alternative"},
        "spending": {"type": "string", "enum": SPENDING_FUNCTIONS, "default": "obrien-fleming"},
        "gamma": GAMMA,
    },
}
MONITOR_RESULT = {
    "type": "object",
    "properties": {
        "fractions": {"type": "array", "items": {"type": "number"}},
        "estimates": NUMS,
        "z_statistics": NUMS,
        "z_bounds": NUMS,
        "nominal_p": {"type": "array", "items": {"type": "number"}},
        "cumulative_alpha": {"type": "array", "items": {"type": "number"}},
        "decision": {"type": "string", "enum": ["continue", "stop-efficacy", "stop-final"]},
        "stop_look": {"type": ["integer", "null"]},
        "statistic": NUM,
        "pvalue": NUM,
    },
}

MSPRT = {
    "type": "object",
    "required": ["variants"],
    "description": "Give planned_n (tau is tuned to it) or tau, not both.",
    "properties": {
        "metric": {"type": "string", "enum": ["proportion", "mean"], "default": "proportion"},
        "alpha": {"type": "number", "exclusiveMinimum": 0, "maximum": 0.5, "default": 0.05},
        "planned_n": {
            "type": "integer",
            "minimum": 2,
            "description": "Total users (both arms) the mixture is tuned for.",
        },
        "tau": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "Mixing sd on the scale of the difference.",
        },
        "variants": {
            "type": "array",
            "minItems": 2,
            "maxItems": 2,
            "description": "Control first: {name, users, conversions} or {name, users, mean, sd}.",
            "items": {
                "type": "object",
                "required": ["name", "users"],
                "properties": {
                    "name": {"type": "string"},
                    "users": {"type": "integer", "minimum": 0},
                    "conversions": {"type": "integer", "minimum": 0},
                    "mean": {"type": "number"},
                    "sd": {"type": "number", "minimum": 0},
                },
            },
        },
    },
}
MSPRT_RESULT = {
    "type": "object",
    "properties": {
        "estimate": {"type": "number"},
        "se": {"type": "number"},
        "statistic": NUM,
        "log_lr": {"type": "number"},
        "threshold": {"type": "number"},
        "pvalue": {"type": "number"},
        "ci_low": NUM,
        "ci_high": NUM,
        "decision": {"type": "string", "enum": ["reject", "continue"]},
        "tau": NUM,
        "n": {"type": "integer"},
        "names": {"type": "array", "items": {"type": "string"}},
        "planned_n": {"type": ["integer", "null"]},
    },
}

OPENAPI = {
    "paths": {
        "/api/sequential/simulate": post_json(
            "Simulate peeking: naive looks, O'Brien-Fleming, Pocock and mSPRT on the same experiments",
            SIMULATE,
            SIMULATE_RESULT,
            tag=TAG,
            examples={
                "null": {
                    "looks": 10,
                    "n_per_arm": 10000,
                    "baseline": 0.1,
                    "effect": 0.0,
                    "alpha": 0.05,
                    "simulations": 20000,
                    "seed": 1,
                },
            },
        ),
        "/api/sequential/boundaries": post_json(
            "Exact group-sequential boundaries (Lan-DeMets spending or classical constants)",
            BOUNDARIES,
            BOUNDARIES_RESULT,
            tag=TAG,
            examples={
                "equal looks": {
                    "looks": 5,
                    "alpha": 0.05,
                    "alternative": "two-sided",
                    "spending": "obrien-fleming",
                },
                "fractions": {"fractions": [0.2, 0.45, 0.7, 1.0], "spending": "hsd", "gamma": -4},
            },
        ),
        "/api/sequential/monitor": post_json(
            "Monitor a running experiment against boundaries recomputed for the observed looks",
            MONITOR,
            MONITOR_RESULT,
            tag=TAG,
            examples={
                "two looks": {
                    "planned_n_per_arm": 10000,
                    "looks": [
                        {"users": [2500, 2500], "conversions": [250, 290]},
                        {"users": [5000, 5000], "conversions": [500, 590]},
                    ],
                }
            },
        ),
        "/api/sequential/msprt": post_json(
            "Mixture SPRT at one look: always-valid p-value and confidence sequence",
            MSPRT,
            MSPRT_RESULT,
            tag=TAG,
            examples={
                "proportion": {
                    "metric": "proportion",
                    "alpha": 0.05,
                    "planned_n": 20000,
                    "variants": [
                        {"name": "A", "users": 5000, "conversions": 500},
                        {"name": "B", "users": 5000, "conversions": 580},
                    ],
                }
            },
        ),
    }
}
