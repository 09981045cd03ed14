"""The data-request pieces the A/B module's hand-written document still uses (until it is
declared as models, as :mod:`blueprints._source` declares these)."""

from __future__ import annotations

from typing import Any

NAME = {"type": "string", "minLength": 1, "maxLength": 256}


# The request forms the data endpoints (/api/abtest, /api/bayesian, /api/cuped, /api/doe)
# share: a configured source and a listed table instead of a file, the column roles beside.

SOURCE_FIELDS: dict[str, Any] = {
    "source": {
        **NAME,
        "description": (
            "A configured source (GET /api/sources) instead of a file: the table's rows are "
            "reduced where they live, and the answer is the one an upload of the same rows "
            "gets. The other fields name columns as in CSV mode."
        ),
    },
    "table": {**NAME, "description": "A table the source lists (with source)."},
}

EVENTS: dict[str, Any] = {
    "type": "object",
    "description": (
        "The event schema (with source): exposures(experiment, unit, variant, ts) and "
        "metric_events(unit, name, value, ts). A unit's value is the sum of its metric events "
        "in [first exposure, + window_days); its pre-period covariate the same sum in "
        "[first exposure − pre_window_days, first exposure). Units that saw two variants are "
        "left out, with a warning."
    ),
    "required": ["exposures", "metric_events", "experiment", "metric"],
    "properties": {
        "exposures": {**NAME, "description": "The exposures table."},
        "metric_events": {**NAME, "description": "The metric events table."},
        "experiment": {"type": "string", "description": "The experiment's key in exposures."},
        "metric": {"type": "string", "description": "The metric's name in metric_events."},
        "window_days": {"type": "integer", "minimum": 1, "maximum": 3650, "default": 14},
        "pre_window_days": {
            "type": "integer",
            "minimum": 1,
            "maximum": 3650,
            "description": "The pre-period of the covariate (CUPED; default 14 there).",
        },
    },
}

SOURCE_RESULT: dict[str, Any] = {
    "type": ["object", "null"],
    "description": (
        "With a source: the source and table (or events), rows read, used and left out."
    ),
}
