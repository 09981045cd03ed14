"""``GET /cuped`` (the page), ``POST /api/cuped`` (analysis) and ``POST /api/cuped/plan``.

The analysis takes row-level data as a CSV (multipart ``file``, pasted ``csv`` form text, or
a JSON ``csv`` string) with ``variant``, ``outcome`` and ``covariate`` (or ``covariates`` for
Lin's regression adjustment) naming its columns, or JSON per-variant summaries in
``variants``. The planning what-if evaluates :func:`stats.cuped.cuped_planning` on a grid of ρ.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from flask import Response, render_template

from blueprints._api import Fields, bad_request, json_body, respond, stats_errors, unprocessable
from blueprints._upload import request_fields, uploaded_csv
from blueprints.cuped import bp
from blueprints.cuped.figures import analysis_figures, planning_figures
from blueprints.cuped.readout import analysis_readout, planning_readout
from sources.cuped import Scatter, covariate_names, scatter, upload_rows
from sources.tabular import Table, guess_control, infer_roles
from stats.cuped import (
    MAX_ARMS,
    RHO_GRID,
    CupedResult,
    RegressionAdjustmentResult,
    covariate_variants,
    cuped,
    cuped_from_moments,
    cuped_planning,
    cuped_rows,
    regression_adjustment,
)


@dataclass(frozen=True, slots=True)
class Analysis:
    """A result and, for row-level data, the users the scatter chart draws."""

    result: CupedResult | RegressionAdjustmentResult
    scatter: Scatter | None = None
    outcome: str = ""
    covariate: str = ""


@bp.get("/cuped")
def page() -> str:
    return render_template("cuped.html")


def _variant_column(f: Fields, table: Table) -> str:
    """The ``variant`` field, or the column that looks like the variant when it is left out."""
    variant = f.string("variant", None)
    if variant is None:
        variant = infer_roles(table).variant
        if variant is None:
            unprocessable(
                "variant",
                "variant is required: no column looks like the variant (a text column with "
                f"2 to a few distinct values); the columns are {', '.join(table.columns)}.",
            )
    return variant


def _control(f: Fields, labels: list[str]) -> str:
    """The ``control`` field, or the label most likely to be the control."""
    control = f.string("control", None)
    if control is None:
        # Only guess among a plausible number of arms; stats names a wrong column itself.
        control = guess_control(sorted(labels)) if 0 < len(labels) <= MAX_ARMS else ""
    return control


def _covariate_columns(f: Fields) -> tuple[str | None, list[str] | None]:
    """``covariate`` (CUPED) or ``covariates`` (Lin adjustment): exactly one of them."""
    if f.has("covariates"):
        if f.has("covariate"):
            bad_request(
                "covariates",
                "Give covariate (one column, CUPED) or covariates (a list, regression "
                "adjustment), not both.",
            )
        columns = f.array("covariates")
        for j, column in enumerate(columns):
            if not isinstance(column, str):
                bad_request(
                    f"covariates[{j}]", f"covariates[{j}] must be a column name, got {column!r}."
                )
        return None, columns
    return f.string("covariate"), None


def analyse_rows(f: Fields, table: Table) -> Analysis:
    """CUPED (one covariate) or Lin's regression adjustment (several) on row-level data:
    :mod:`sources.cuped` reads the columns once (arm codes, numbers), :mod:`stats.cuped`
    computes, and the scatter's users come from the same arrays."""
    variant = _variant_column(f, table)
    outcome = f.string("outcome")
    covariate, covariates = _covariate_columns(f)
    alpha = f.number("alpha", 0.05)
    with stats_errors():
        if covariates is not None:
            names = covariate_names(covariates)
            pairs = [(f"covariates[{j}]", c) for j, c in enumerate(names)]
        else:
            assert covariate is not None
            pairs = [("covariate", covariate)]
        rows = upload_rows(table, variant=variant, outcome=outcome, covariates=pairs)
    control = _control(f, list(rows.names))
    with stats_errors():
        if covariates is not None:
            adjusted = regression_adjustment(
                rows.codes, rows.names, rows.y, rows.covariates, control=control, alpha=alpha
            )
            return Analysis(adjusted)
        assert covariate is not None
        result = cuped_rows(
            rows.codes,
            rows.names,
            rows.y,
            rows.covariates[covariate],
            control=control,
            alpha=alpha,
        )
    return Analysis(result, scatter(rows, covariate), outcome, covariate)


def analyse_summaries(f: Fields) -> Analysis:
    """CUPED from per-variant sufficient statistics (``variants``)."""
    records = f.array("variants")
    alpha = f.number("alpha", 0.05)
    with stats_errors():
        arms = covariate_variants(records)
    control = _control(f, [a.name for a in arms])
    with stats_errors():
        return Analysis(cuped(arms, control=control, alpha=alpha))


def analyse_source(f: Fields) -> Analysis:
    """``source`` and ``table`` with ``variant``, ``outcome`` and ``covariate`` naming its
    columns, or ``source`` with ``events``: the event schema, the covariate being the same
    metric in the pre-period (:func:`sources.events.event_statistics`).

    A table's moments are reduced in the engine by :func:`sources.reduce.cuped_moments`:
    users without a covariate value are kept with a missing-value indicator, as the upload
    of the same rows is (:func:`stats.cuped.cuped_rows`), so both answer alike (issue 12).
    In the event schema every exposed unit has a covariate (0 without pre-period events,
    as :mod:`sources.events` defines it), so nothing is missing there."""
    from blueprints._source import column_name, event_request, open_table, reducing
    from sources.reduce import cuped_moments

    alpha = f.number("alpha", 0.05)
    if f.has("events"):
        stats, _ = event_request(f, pre_period=True)
    else:
        if f.has("covariates"):
            unprocessable(
                "covariates",
                "covariates (regression adjustment) needs the rows: with a source, name one "
                "covariate column (CUPED).",
            )
        st = open_table(f)
        variant = column_name(f, "variant", st)
        outcome = column_name(f, "outcome", st)
        covariate = column_name(f, "covariate", st)
        with reducing(st, {"metric": "outcome"}):
            moments = cuped_moments(st.table, variant=variant, metric=outcome, covariate=covariate)
        if moments.dropped:
            # The upload of the same rows is refused (stats.cuped: every user needs an outcome).
            unprocessable(
                "outcome",
                f"outcome has {moments.dropped} missing values; every user needs one (leave "
                "users without an outcome out of the table, or fill them in).",
            )
        control = _control(f, list(moments.names))
        with stats_errors():
            return Analysis(cuped_from_moments(**moments.arrays(), control=control, alpha=alpha))
    control = _control(f, [a.name for a in stats.covariates])
    with stats_errors():
        return Analysis(cuped(stats.covariates, control=control, alpha=alpha))


def analyse(f: Fields) -> Analysis:
    table = uploaded_csv(f)
    if f.has("source"):
        if table is not None or f.has("variants"):
            unprocessable("source", "Send a source, a CSV or variants: only one of them.")
        return analyse_source(f)
    if table is not None:
        if f.has("variants"):
            bad_request("variants", "Send a CSV or variants (per-variant summaries), not both.")
        return analyse_rows(f, table)
    if not f.has("variants"):
        bad_request(
            "csv",
            "Send the data: a CSV with one row per user (multipart file, or csv text) and the "
            "variant, outcome and covariate column names, or variants: per-variant summaries "
            "{name, users, mean_y, mean_x, var_y, var_x, cov_xy}.",
        )
    return analyse_summaries(f)


@bp.post("/api/cuped")
def api() -> Response:
    a = analyse(request_fields())
    figures = analysis_figures(a.result, a.scatter, a.outcome, a.covariate)
    return respond(as_json(a.result), figures, analysis_readout(a.result), a.result.warnings)


def as_json(result: CupedResult | RegressionAdjustmentResult) -> dict[str, Any]:
    """The result's fields, each comparison as its flat :meth:`AdjustedComparison.as_dict`
    (``variant``, then the adjusted and ``unadjusted_`` estimate, statistic, p-value and
    interval) rather than the two nested comparisons."""
    body = {f.name: getattr(result, f.name) for f in fields(result)}
    body["comparisons"] = [c.as_dict() for c in result.comparisons]
    return body


def plan(f: Fields) -> dict[str, Any]:
    """The chosen ρ beside ρ = 0 (no CUPED), and the curve over ``RHO_GRID``."""
    rho = f.number("rho")
    if not 0.0 <= rho < 1.0:
        unprocessable(
            "rho", f"rho must be in [0, 1) (only its size matters: give |ρ|), got {rho!r}."
        )
    options = {
        "n_per_group": f.number("n_per_group", 5000),
        "sd": f.number("sd", 1.0),
        "alpha": f.number("alpha", 0.05),
        "power": f.number("power", 0.8),
    }
    with stats_errors():
        pair = cuped_planning([0.0, rho], **options)
        grid = cuped_planning(RHO_GRID, **options)
    return {
        "rho": pair.rho[1],
        "half_width": pair.half_width[1],
        "unadjusted_half_width": pair.half_width[0],
        "mde": pair.mde[1],
        "unadjusted_mde": pair.mde[0],
        "n_per_group_required": pair.n_per_group_required[1],
        "effective_multiplier": pair.effective_multiplier[1],
        "n_per_group": pair.n_per_group,
        "sd": pair.sd,
        "alpha": pair.alpha,
        "power": pair.power,
        "grid": grid,
    }


@bp.post("/api/cuped/plan")
def api_plan() -> Response:
    result = plan(Fields(json_body()))
    return respond(result, planning_figures(result), planning_readout(result))
