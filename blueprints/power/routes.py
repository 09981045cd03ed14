"""``GET /power`` (the page) and ``POST /api/power`` (parse → stats → figures → JSON)."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template

from blueprints._api import ApiError, Fields, json_body, respond, stats_errors
from blueprints.power import bp
from blueprints.power.figures import power_figures
from blueprints.power.readout import readout
from stats.power import PowerResult, solve_power_means, solve_power_proportions
from stats.vocabulary import ALTERNATIVES, METRICS

UNKNOWNS = ("n_per_group", "power", "mde")


@bp.get("/power")
def page() -> str:
    return render_template("power.html")


def solve(f: Fields) -> PowerResult:
    """Read the request's fields and call the matching solver; the unknown is left out."""
    metric = f.choice("metric", METRICS, "proportion")
    common: dict[str, Any] = {
        "mde": f.number("mde", None),
        "n_per_group": f.number("n_per_group", None),
        "power": f.number("power", None),
        "alpha": f.number("alpha", 0.05),
        "alternative": f.choice("alternative", ALTERNATIVES, "two-sided"),
        "ratio": f.number("ratio", 1.0),
        "arms": f.number("arms", 1),
        "bonferroni": f.boolean("bonferroni", False),
        "rho": f.number("rho", 0.0),
        "daily_traffic": f.number("daily_traffic", None),
    }
    left_out = [k for k in UNKNOWNS if common[k] is None]
    if len(left_out) != 1:
        if left_out:
            detail = (
                f"{' and '.join(left_out)} are both empty: give a number for all but the one "
                "you solve for."
            )
        else:
            detail = "n_per_group, power and mde are all given: leave out the one to solve for."
        errors = [{"field": k, "detail": f"{k} is empty: give a number."} for k in left_out]
        raise ApiError(400, detail, errors or [{"field": "n_per_group", "detail": detail}])
    mde_type = f.choice("mde_type", ("absolute", "relative"), "absolute")
    with stats_errors():
        if metric == "proportion":
            return solve_power_proportions(
                f.number("baseline"),
                mde_type=mde_type,
                continuity_correction=f.boolean("continuity_correction", False),
                **common,
            )
        return solve_power_means(
            f.number("sd"),
            baseline_mean=f.number("baseline_mean", None),
            mde_type=mde_type,
            **common,
        )


@bp.post("/api/power")
def api() -> Response:
    result = solve(Fields(json_body()))
    return respond(result, power_figures(result), readout(result), result.warnings)
