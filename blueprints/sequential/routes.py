"""``GET /sequential`` and ``POST /api/sequential/<simulate|boundaries|monitor|msprt>``."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict

from flask import Response, render_template

from blueprints._api import ApiError, Fields, json_body, respond, stats_errors, unprocessable
from blueprints.sequential import bp, figures, readout
from stats.group_sequential import (
    MAX_LOOKS,
    SPENDING_FUNCTIONS,
    group_sequential_bounds,
    monitor,
)
from stats.msprt import msprt, msprt_projection
from stats.peeking import simulate_peeking
from stats.sufficient import mean_variants, proportion_variants
from stats.vocabulary import ALTERNATIVES, BOUNDARY_SPENDINGS, METRICS, PEEKING_SPENDINGS

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


@bp.post("/api/sequential/simulate")
def simulate() -> Response:
    f = Fields(json_body())
    metric = f.choice("metric", METRICS, "proportion")
    baseline = f.number("baseline") if metric == "proportion" else f.number("baseline", None)
    with stats_errors():
        result = simulate_peeking(
            looks=f.integer("looks", 10),
            n_per_arm=f.integer("n_per_arm", 10_000),
            metric=metric,
            baseline=baseline,
            sd=f.number("sd", 1.0),
            effect=f.number("effect", 0.0),
            alpha=f.number("alpha", 0.05),
            simulations=f.integer("simulations", 20_000),
            seed=f.integer("seed", None),
            spending=f.choice("spending", PEEKING_SPENDINGS, "lan-demets"),
            paths=f.integer("paths", 30),
        )
    return respond(
        result, figures.simulation_figures(result), readout.simulation(result), result.warnings
    )


@bp.post("/api/sequential/boundaries")
def boundaries() -> Response:
    f = Fields(json_body())
    with stats_errors():
        result = group_sequential_bounds(
            looks=f.integer("looks", None),
            fractions=f.numbers("fractions", None),
            alpha=f.number("alpha", 0.05),
            alternative=f.choice("alternative", ALTERNATIVES, "two-sided"),
            spending=f.choice("spending", BOUNDARY_SPENDINGS, "obrien-fleming"),
            gamma=f.number("gamma", -4.0),
            power=f.number("power", 0.8),
        )
    return respond(
        result, figures.boundary_figures(result), readout.boundaries(result), result.warnings
    )


@bp.post("/api/sequential/monitor")
def monitor_looks() -> Response:
    f = Fields(json_body())
    metric = f.choice("metric", METRICS, "proportion")
    if len(f.array("looks")) > MAX_LOOKS:  # before reading each look
        unprocessable(
            "looks", f"looks must hold at most {MAX_LOOKS} looks, got {len(f.data['looks']):,}."
        )
    with looks_in_words(), stats_errors():
        result = monitor(
            f.array("looks"),
            planned_n_per_arm=f.integer("planned_n_per_arm"),
            alpha=f.number("alpha", 0.05),
            alternative=f.choice("alternative", ALTERNATIVES, "two-sided"),
            spending=f.choice("spending", SPENDING_FUNCTIONS, "obrien-fleming"),
            gamma=f.number("gamma", -4.0),
            metric=metric,
        )
    return respond(
        result, figures.monitor_figures(result), readout.monitor(result, metric), result.warnings
    )


@bp.post("/api/sequential/msprt")
def msprt_snapshot() -> Response:
    f = Fields(json_body())
    metric = f.choice("metric", METRICS, "proportion")
    records = f.array("variants")
    planned_n = f.integer("planned_n", None)
    with stats_errors():
        variants = (
            proportion_variants(records) if metric == "proportion" else mean_variants(records)
        )
    if len(variants) != 2:
        unprocessable(
            "variants",
            f"variants must hold exactly two arms (control first), got {len(variants)}.",
        )
    a, b = variants
    with stats_errors():
        result = msprt(
            a, b, alpha=f.number("alpha", 0.05), tau=f.number("tau", None), planned_n=planned_n
        )
        projection = None
        if math.isfinite(result.tau):  # tau is NaN while both arms have zero variance
            n_max = min(max(planned_n or 0, 2 * result.n), MAX_PROJECTED_N)
            projection = msprt_projection(a, b, tau=result.tau, alpha=result.alpha, n_max=n_max)
    names = (a.name, b.name)
    return respond(
        {**asdict(result), "names": names, "planned_n": planned_n},
        figures.msprt_figures(result, projection, names, metric),
        readout.msprt(result, names, planned_n, metric),
        result.warnings,
    )
