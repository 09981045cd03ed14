"""``GET /power`` (the page) and ``POST /api/power`` (validate → stats → figures → JSON)."""

from __future__ import annotations

from typing import Annotated, Literal

from flask import Response, render_template
from pydantic import Field

from blueprints._api import ApiError, bad_request, respond, stats_errors
from blueprints._contract import Body, Range, Whole
from blueprints.power import bp, contract
from blueprints.power.figures import power_figures
from blueprints.power.readout import ratio_words, readout
from stats.power import PowerResult, solve_power_means, solve_power_proportions
from stats.sufficient import RATIO_KEYS, RatioStats
from stats.vocabulary import Alternative, SummaryMetric

UNKNOWNS = ("n_per_group", "power", "mde")
DESIGN = {
    *UNKNOWNS,
    *("alpha", "alternative", "ratio", "arms", "bonferroni", "rho", "daily_traffic", "mde_type"),
}
"""The request's fields that both solvers take as they are."""
Positive = Annotated[float, Range(gt=0)]
Fraction = Annotated[float, Range(gt=0, lt=1)]


class PowerRequest(Body):
    """Give all but one of n_per_group, power and mde: the one left out is solved for. A
    proportion metric needs baseline; a mean metric needs sd, and baseline_mean when its mde
    is relative; a ratio metric needs the control's per-user numerator_mean,
    denominator_mean, numerator_sd, denominator_sd and covariance (its mde is in units of the
    ratio, or relative to it)."""

    metric: SummaryMetric = "proportion"
    baseline: Fraction | None = Field(None, description="Control conversion rate.")
    sd: Positive | None = Field(None, description="Standard deviation of a mean metric.")
    baseline_mean: float | None = Field(
        None,
        description="Control mean of a mean metric; needed (and positive) when mde_type is "
        "relative, so that mde 0.1 means +10% of it.",
    )
    mde: float | None = Field(None, description="Absolute difference (or relative, see mde_type).")
    mde_type: Literal["absolute", "relative"] = Field(
        "absolute", description="relative: mde is a fraction of baseline (or of baseline_mean)."
    )
    n_per_group: Positive | None = Field(None, description="Control arm size.")
    power: Fraction | None = None
    alpha: Annotated[float, Range(gt=0, le=0.5)] = 0.05
    alternative: Alternative = "two-sided"
    ratio: Positive = Field(1.0, description="Treatment arm size / control arm size.")
    arms: Annotated[Whole, Range(ge=1, le=20)] = Field(
        1, description="Number of treatment arms, each compared with control."
    )
    bonferroni: bool = False
    continuity_correction: bool = False
    rho: Annotated[float, Range(ge=0, lt=1)] = Field(
        0.0, description="Correlation with a pre-experiment covariate (CUPED)."
    )
    daily_traffic: Positive | None = Field(
        None, description="Eligible users a day, for the runtime in days."
    )
    numerator_mean: float | None = Field(
        None, description="Ratio metric: control's mean numerator per user (revenue)."
    )
    denominator_mean: float | None = Field(
        None, description="Ratio metric: control's mean denominator per user (orders), > 0."
    )
    numerator_sd: float | None = Field(None, description="Ratio metric: sd of the numerator.")
    denominator_sd: float | None = Field(None, description="Ratio metric: sd of the denominator.")
    covariance: float | None = Field(
        None, description="Ratio metric: covariance of numerator and denominator per user."
    )


def ratio_metric(r: PowerRequest) -> RatioStats:
    """The control's ratio metric from the request's per-user moments (400 when one is
    missing, 422 when out of range)."""
    values = {k: getattr(r, k) for k in RATIO_KEYS[2:]}
    for key, value in values.items():
        if value is None:
            bad_request(key, f"{key} is required for a ratio metric.")
    with stats_errors():
        return RatioStats("control", 2, **values)


@bp.get("/power")
def page() -> str:
    return render_template("power.html")


def solve(r: PowerRequest) -> PowerResult:
    """Call the matching solver; the unknown is left out."""
    common = r.model_dump(include=DESIGN)
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
    with stats_errors():
        if r.metric == "proportion":
            if r.baseline is None:
                bad_request("baseline", "baseline is required.")
            return solve_power_proportions(
                r.baseline, continuity_correction=r.continuity_correction, **common
            )
        if r.metric == "ratio":
            ratio = ratio_metric(r)
            return solve_power_means(ratio.sd, baseline_mean=ratio.mean, **common)
        if r.sd is None:
            bad_request("sd", "sd is required.")
        return solve_power_means(r.sd, baseline_mean=r.baseline_mean, **common)


@contract.post(
    "/api/power",
    summary="Sample size, power or minimum detectable effect",
    request=PowerRequest,
    result=PowerResult,
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
def api(r: PowerRequest) -> Response:
    result = solve(r)
    words = readout(result)
    if r.metric == "ratio":
        words += " " + ratio_words(ratio_metric(r))
    return respond(result, power_figures(result), words, result.warnings)
