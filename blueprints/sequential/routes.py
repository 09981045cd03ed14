"""``GET /sequential`` and ``POST /api/sequential/<simulate|boundaries|monitor|msprt>``."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Annotated, Any

from flask import Response, render_template
from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from blueprints._api import ApiError, bad_request, respond, stats_errors
from blueprints._contract import MEANINGLESS, Body, Range, Whole, WorkCap
from blueprints.sequential import bp, contract, figures, readout
from stats.group_sequential import (
    MAX_LOOKS,
    Boundaries,
    MonitorResult,
    group_sequential_bounds,
    monitor,
)
from stats.msprt import MAX_TAU, MIN_TAU, MSPRTResult, msprt, msprt_projection
from stats.peeking import (
    MAX_N_PER_ARM,
    MAX_PATHS,
    MAX_SIMULATIONS,
    PeekingResult,
    simulate_peeking,
)
from stats.sufficient import mean_variants, proportion_variants
from stats.vocabulary import (
    Alternative,
    BoundarySpending,
    Metric,
    PeekingSpending,
    SpendingFunction,
)

# The mSPRT chart runs to the planned size (or twice the observed one), at most this many users.
MAX_PROJECTED_N = 10**12
_LOOK = re.compile(r"looks\[(\d+)\](?:\.(\w+)(?:\[(\d+)\])?)?")
"""A look's field path (``looks[2].conversions[1]``): the error's ``field``, not its message."""


def look_words(field: str | None, detail: str) -> str:
    """An error about a look in words a person can map to the table: field
    ``looks[2].conversions[1]`` turns "looks[2].conversions[1] must be <= users" into "Look 3:
    conversions in B must be ≤ users" (``field`` stays the path)."""
    m = _LOOK.fullmatch(field or "")
    if m is None:
        return detail
    text = f"Look {int(m.group(1)) + 1}"
    if m.group(2):
        arm = m.group(3)
        where = "" if arm is None else " in " + ("AB"[int(arm)] if int(arm) < 2 else arm)
        text += f": {m.group(2)}{where}"
    assert field is not None
    return detail.replace(field, text, 1).replace(" <= ", " ≤ ").replace(" >= ", " ≥ ")


@contextmanager
def looks_in_words() -> Iterator[None]:
    try:
        yield
    except ApiError as exc:
        for error in exc.errors:
            if error.get("detail") == exc.detail:
                exc.detail = look_words(error.get("field"), exc.detail)
            error["detail"] = look_words(error.get("field"), str(error.get("detail", "")))
        raise


@bp.get("/sequential")
def page() -> str:
    return render_template("sequential.html")


Alpha = Annotated[float, Range(ge=1e-6, lt=0.5)]
Gamma = Annotated[float, Range(ge=-40, le=40)]
GAMMA = "Hwang-Shih-DeCani gamma (spending hsd only); -4 is O'Brien-Fleming-like."
Count = Annotated[Whole, Range(ge=0)]


class SimulateRequest(Body):
    """Simulated experiments judged by naive peeking, O'Brien-Fleming, Pocock and mSPRT."""

    looks: Annotated[Whole, Range(ge=1, le=MAX_LOOKS)] = 10
    n_per_arm: Annotated[Whole, Range(ge=1, le=MAX_N_PER_ARM)] = Field(
        10_000, description="Users per arm at the final look (at least one per look)."
    )
    metric: Metric = "proportion"
    baseline: float | None = Field(
        None, description="Control's rate in (0, 1) (required for a proportion) or mean."
    )
    sd: Annotated[float, Range(gt=0)] = 1.0
    effect: float = Field(0.0, description="True absolute difference B - A; 0 simulates the null.")
    alpha: Alpha = 0.05
    simulations: Annotated[Whole, Range(ge=1), WorkCap(le=MAX_SIMULATIONS)] = 20_000
    seed: Count | None = None
    spending: PeekingSpending = "lan-demets"
    paths: Annotated[Whole, Range(ge=0, le=MAX_PATHS)] = 30


class BoundariesRequest(Body):
    """Give looks (equally spaced) or fractions (or both, with matching lengths)."""

    looks: Annotated[Whole, Range(ge=1, le=MAX_LOOKS)] | None = None
    fractions: (
        Annotated[
            list[Annotated[float, Range(gt=0, le=1)]], Field(min_length=1, max_length=MAX_LOOKS)
        ]
        | None
    ) = Field(None, description="Strictly increasing information fractions ending at 1.")
    alpha: Alpha = 0.05
    alternative: Alternative = "two-sided"
    spending: BoundarySpending = "obrien-fleming"
    gamma: Gamma = Field(-4.0, description=GAMMA)
    power: Annotated[float, Range(gt=0, lt=1)] = Field(
        0.8, description="Power for the maximum sample size inflation."
    )


Pair = Field(min_length=2, max_length=2)


class Look(Body):
    """Cumulative data at one look, control (A) first in each pair."""

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            detail = "must be an object with users and conversions (or mean and sd)"
            raise PydanticCustomError(MEANINGLESS, detail)
        return data

    users: Annotated[list[Count], Pair]
    conversions: Annotated[list[Count], Pair] | None = None
    mean: Annotated[list[float], Pair] | None = None
    sd: Annotated[list[Annotated[float, Range(ge=0)]], Pair] | None = None


class MonitorRequest(Body):
    """The looks so far against boundaries recomputed for the observed information."""

    looks: Annotated[list[Look], Field(min_length=1, max_length=MAX_LOOKS)]
    planned_n_per_arm: Annotated[Whole, Range(ge=1)]
    metric: Metric = "proportion"
    alpha: Alpha = 0.05
    alternative: Alternative = "two-sided"
    spending: SpendingFunction = "obrien-fleming"
    gamma: Gamma = Field(-4.0, description=GAMMA)


class Variant(Body):
    """One arm: ``{name, users, conversions}`` or ``{name, users, mean, sd}``."""

    name: str
    users: Count
    conversions: Count | None = None
    mean: float | None = None
    sd: Annotated[float, Range(ge=0)] | None = None


class MsprtRequest(Body):
    """Give planned_n (tau is tuned to it) or tau, not both."""

    metric: Metric = "proportion"
    alpha: Annotated[float, Range(gt=0, le=0.5)] = 0.05
    planned_n: Annotated[Whole, Range(ge=2)] | None = Field(
        None, description="Total users (both arms) the mixture is tuned for."
    )
    tau: Annotated[float, Range(ge=MIN_TAU, le=MAX_TAU)] | None = Field(
        None, description="Mixing sd on the scale of the difference."
    )
    variants: Annotated[list[Variant], Pair] = Field(description="Control first.")


@dataclass(frozen=True, slots=True, kw_only=True)
class MsprtSnapshot(MSPRTResult):
    """The mSPRT at one look, with the arms' names and the planned size it was tuned for."""

    names: tuple[str, str]
    planned_n: int | None


@contract.post(
    "/api/sequential/simulate",
    summary="Simulate peeking: naive looks, O'Brien-Fleming, Pocock and mSPRT on the same "
    "experiments",
    request=SimulateRequest,
    result=PeekingResult,
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
)
def simulate(r: SimulateRequest) -> Response:
    if r.metric == "proportion" and r.baseline is None:
        bad_request("baseline", "baseline is required.")
    with stats_errors():
        result = simulate_peeking(**r.model_dump())  # the model's fields are its arguments
    return respond(
        result, figures.simulation_figures(result), readout.simulation(result), result.warnings
    )


@contract.post(
    "/api/sequential/boundaries",
    summary="Exact group-sequential boundaries (Lan-DeMets spending or classical constants)",
    request=BoundariesRequest,
    result=Boundaries,
    examples={
        "equal looks": {
            "looks": 5,
            "alpha": 0.05,
            "alternative": "two-sided",
            "spending": "obrien-fleming",
        },
        "fractions": {"fractions": [0.2, 0.45, 0.7, 1.0], "spending": "hsd", "gamma": -4},
    },
)
def boundaries(r: BoundariesRequest) -> Response:
    with stats_errors():
        result = group_sequential_bounds(**r.model_dump())
    return respond(
        result, figures.boundary_figures(result), readout.boundaries(result), result.warnings
    )


@contract.post(
    "/api/sequential/monitor",
    summary="Monitor a running experiment against boundaries recomputed for the observed looks",
    request=MonitorRequest,
    result=MonitorResult,
    examples={
        "two looks": {
            "planned_n_per_arm": 10000,
            "looks": [
                {"users": [2500, 2500], "conversions": [250, 290]},
                {"users": [5000, 5000], "conversions": [500, 590]},
            ],
        }
    },
    errors=looks_in_words,
)
def monitor_looks(r: MonitorRequest) -> Response:
    with stats_errors():
        result = monitor(**r.model_dump(exclude_none=True))
    return respond(
        result, figures.monitor_figures(result), readout.monitor(result, r.metric), result.warnings
    )


@contract.post(
    "/api/sequential/msprt",
    summary="Mixture SPRT at one look: always-valid p-value and confidence sequence",
    request=MsprtRequest,
    result=MsprtSnapshot,
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
)
def msprt_snapshot(r: MsprtRequest) -> Response:
    records = [v.model_dump(exclude_none=True) for v in r.variants]
    with stats_errors():
        a, b = proportion_variants(records) if r.metric == "proportion" else mean_variants(records)
        result = msprt(a, b, alpha=r.alpha, tau=r.tau, planned_n=r.planned_n)
        projection = None
        if math.isfinite(result.tau):  # tau is NaN while both arms have zero variance
            n_max = min(max(r.planned_n or 0, 2 * result.n), MAX_PROJECTED_N)
            projection = msprt_projection(a, b, tau=result.tau, alpha=result.alpha, n_max=n_max)
    names = (a.name, b.name)
    snapshot = MsprtSnapshot(
        **{f.name: getattr(result, f.name) for f in fields(result)},
        names=names,
        planned_n=r.planned_n,
    )
    return respond(
        snapshot,
        figures.msprt_figures(result, projection, names, r.metric),
        readout.msprt(result, names, r.planned_n, r.metric),
        result.warnings,
    )
