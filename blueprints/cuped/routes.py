"""``GET /cuped`` (the page), ``POST /api/cuped`` (analysis) and ``POST /api/cuped/plan``.

The analysis takes row-level data as a CSV (multipart ``file``, pasted ``csv`` form text, or
a JSON ``csv`` string) with ``variant``, ``outcome`` and ``covariate`` (or ``covariates`` for
Lin's regression adjustment) naming its columns, or JSON per-variant summaries in
``variants``. The planning what-if evaluates :func:`stats.cuped.cuped_planning` on a grid of ρ.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import partial
from typing import Annotated, Any

from flask import Response, render_template
from pydantic import Field, create_model
from typing_extensions import TypedDict  # pydantic reads TypedDicts from here on 3.11

from blueprints._api import bad_request, respond, stats_errors, unprocessable
from blueprints._contract import Body, Column, Range, records, serialized_as
from blueprints._source import Events, SourceFields
from blueprints._upload import read_data
from blueprints.cuped import bp, contract
from blueprints.cuped.figures import analysis_figures, planning_figures
from blueprints.cuped.readout import analysis_readout, planning_readout
from blueprints.cuped.segments import adjusted_segments
from blueprints.cuped.segments import by_segment as segment_analysis
from blueprints.segments.outcome import (
    HeterogeneityRows,
    SegmentAnalyses,
    SegmentRows,
    SegmentsOutcome,
)
from sources.cuped import Scatter, covariate_names, scatter, upload_rows
from sources.reduce import MAX_SEGMENTS
from sources.tabular import Table, guess_control, infer_roles
from stats.cuped import (
    MAX_ARMS,
    MAX_COVARIATES,
    MAX_N_PER_GROUP,
    RHO_GRID,
    AdjustedComparison,
    CupedPlanning,
    CupedResult,
    RegressionAdjustmentResult,
    covariate_variants,
    cuped,
    cuped_from_moments,
    cuped_planning,
    cuped_rows,
    regression_adjustment,
)
from stats.cuped_ratio import cuped_ratio, cuped_ratio_rows


@dataclass(frozen=True, slots=True, kw_only=True)
class CupedAnswer(CupedResult):
    """CUPED's answer; with a segment column also the answer by segment (as /api/abtest's)."""

    segments: SegmentRows = None
    heterogeneity: HeterogeneityRows = None
    segment_analyses: SegmentAnalyses = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RegressionAnswer(RegressionAdjustmentResult):
    """The regression adjustment's answer; with a segment column also the answer by segment."""

    segments: SegmentRows = None
    heterogeneity: HeterogeneityRows = None
    segment_analyses: SegmentAnalyses = None


@dataclass(frozen=True, slots=True)
class Analysis:
    """A result and, for row-level data, the users the scatter chart draws."""

    result: CupedResult | RegressionAdjustmentResult
    scatter: Scatter | None = None
    outcome: str = ""
    covariate: str = ""
    segments: SegmentsOutcome | None = None
    note: str = ""
    """A sentence the readout starts with (what a ratio CUPED adjusted by what)."""


Alpha = Annotated[float, Range(gt=0, le=0.5)]


class CovariateSummary(TypedDict):
    """One arm's sufficient statistics: users and the outcome's (y) and the pre-experiment
    covariate's (x) means, sample variances (n − 1) and sample covariance."""

    name: str
    users: int
    mean_y: float
    mean_x: float
    var_y: float
    var_x: float
    cov_xy: float


class CovariateSegment(Body):
    """One segment's per-variant summaries, as in ``variants``."""

    name: str
    variants: records(CovariateSummary)  # type: ignore[valid-type]


class CupedRequest(SourceFields):
    """Row-level data as csv text (one row per user) with the variant, outcome and covariate
    column names; covariates (a list of columns) instead of covariate runs Lin's regression
    adjustment. Or per-variant summaries in variants. Or a configured source and table with
    variant, outcome and covariate naming columns, or a source with events (the event schema;
    the covariate is the metric's pre-period sum)."""

    csv: str | None = Field(None, description="CSV text, one row per user.")
    variants: records(CovariateSummary) | None = Field(  # type: ignore[valid-type]
        None, description="Per-variant summaries instead of rows (at least 2 arms)."
    )
    segments: Annotated[list[CovariateSegment], Field(max_length=MAX_SEGMENTS)] | None = Field(
        None,
        description="Per-segment summaries beside the totals in variants: each segment "
        "adjusted on its own (θ within it), answered as with a segment column.",
    )
    events: Events | None = None
    variant: Column | None = Field(
        None, description="Column holding each user's variant (detected when left out)."
    )
    outcome: Column | None = Field(None, description="Column holding the in-experiment metric.")
    covariate: Column | None = Field(
        None,
        description="Column holding the same user's pre-experiment value (CUPED). Blank cells "
        "are users without one (new users): kept, mean-filled with a missing-value indicator.",
    )
    covariates: Annotated[list[Column], Field(min_length=1, fail_fast=True)] | None = Field(
        None,
        description=f"Several pre-experiment columns (at most {MAX_COVARIATES}): Lin's "
        "regression adjustment (HC2 errors) instead of CUPED.",
    )
    denominator: Column | None = Field(
        None,
        description="Ratio CUPED (row-level CSV): the in-experiment denominator column (orders), "
        "outcome being the numerator (revenue); with denominator_pre.",
    )
    denominator_pre: Column | None = Field(
        None,
        description="Ratio CUPED: the pre-experiment denominator column, covariate being the "
        "pre-experiment numerator. The ratio is adjusted by the pre-period ratio (delta method).",
    )
    control: str | None = Field(
        None, description="The control variant (guessed from the names when left out)."
    )
    segment: Column | None = Field(
        None,
        description="Row-level CSV or source table: a column of segments (device, country …). "
        "Each segment's rows are adjusted on their own and the adjusted differences compared "
        "across segments as /api/segments does: the answer adds result.segments, "
        "result.heterogeneity and result.segment_analyses (as /api/abtest's), a segments "
        "figure and readout sentences.",
    )
    alpha: Alpha = 0.05


class PlanRequest(Body):
    """What a correlation ρ with the pre-period buys at the planned size."""

    rho: Annotated[float, Range(ge=0, lt=1)] = Field(
        description="Correlation of the metric with its pre-period value (its size)."
    )
    n_per_group: Annotated[float, Range(ge=2, le=MAX_N_PER_GROUP)] = 5000
    sd: Annotated[float, Range(gt=0)] = Field(
        1.0, description="Standard deviation of the metric per user."
    )
    alpha: Alpha = 0.05
    power: Annotated[float, Range(gt=0, lt=1)] = 0.8


class Plan(TypedDict):
    """The chosen ρ beside ρ = 0 (no CUPED), and ``grid``: the same quantities on ρ = 0,
    0.01, …, 0.95 (for the charts)."""

    rho: float
    half_width: float
    unadjusted_half_width: float
    mde: float
    unadjusted_mde: float
    n_per_group_required: int
    effective_multiplier: float
    n_per_group: int
    sd: float
    alpha: float
    power: float
    grid: CupedPlanning


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


FLAT_KEYS = (
    "estimate",
    "statistic",
    "pvalue",
    "ci_low",
    "ci_high",
    "relative_lift",
    "relative_ci_low",
    "relative_ci_high",
)
"""The keys of :meth:`AdjustedComparison.as_dict`, adjusted and ``unadjusted_``."""
_FLAT: dict[str, Any] = {
    "variant": (str, ...),
    **{f"{p}{k}": (float, ...) for p in ("", "unadjusted_") for k in FLAT_KEYS},
}
serialized_as(
    AdjustedComparison,
    create_model("AdjustedComparison", __doc__=AdjustedComparison.__doc__, **_FLAT),
)


@bp.get("/cuped")
def page() -> str:
    return render_template("cuped.html")


def _variant_column(r: CupedRequest, table: Table) -> str:
    """The ``variant`` field, or the column that looks like the variant when it is left out."""
    variant = r.variant
    if variant is None:
        variant = infer_roles(table).variant
        if variant is None:
            unprocessable(
                "variant",
                "variant is required: no column looks like the variant (a text column with "
                f"2 to a few distinct values); the columns are {', '.join(table.columns)}.",
            )
    return variant


def _control(r: CupedRequest, labels: list[str]) -> str:
    """The ``control`` field, or the label most likely to be the control."""
    control = r.control
    if control is None:
        # Only guess among a plausible number of arms; stats names a wrong column itself.
        control = guess_control(sorted(labels)) if 0 < len(labels) <= MAX_ARMS else ""
    return control


def _covariate_columns(r: CupedRequest) -> tuple[str | None, list[str] | None]:
    """``covariate`` (CUPED) or ``covariates`` (Lin adjustment): exactly one of them."""
    if r.covariates is not None:
        if r.covariate is not None:
            bad_request(
                "covariates",
                "Give covariate (one column, CUPED) or covariates (a list, regression "
                "adjustment), not both.",
            )
        return None, r.covariates
    if r.covariate is None:
        bad_request("covariate", "covariate is required.")
    return r.covariate, None


def analyse_rows(r: CupedRequest, table: Table) -> Analysis:
    """CUPED (one covariate) or Lin's regression adjustment (several) on row-level data:
    :mod:`sources.cuped` reads the columns once (arm codes, numbers), :mod:`stats.cuped`
    computes, and the scatter's users come from the same arrays."""
    variant = _variant_column(r, table)
    if r.outcome is None:
        bad_request("outcome", "outcome is required.")
    outcome = r.outcome
    if r.denominator is not None or r.denominator_pre is not None:
        return analyse_ratio_rows(r, table, variant, outcome)
    covariate, covariates = _covariate_columns(r)
    alpha = r.alpha
    with stats_errors():
        if covariates is not None:
            names = covariate_names(covariates)
            pairs = [(f"covariates[{j}]", c) for j, c in enumerate(names)]
        else:
            assert covariate is not None
            pairs = [("covariate", covariate)]
        rows = upload_rows(table, variant=variant, outcome=outcome, covariates=pairs)
    control = _control(r, list(rows.names))

    def fit(mask: Any = slice(None)) -> CupedResult | RegressionAdjustmentResult:
        if covariates is not None:
            xs = {name: x[mask] for name, x in rows.covariates.items()}
            return regression_adjustment(
                rows.codes[mask], rows.names, rows.y[mask], xs, control=control, alpha=alpha
            )
        assert covariate is not None
        x = rows.covariates[covariate][mask]
        return cuped_rows(
            rows.codes[mask], rows.names, rows.y[mask], x, control=control, alpha=alpha
        )

    with stats_errors():
        result = fit()
    segments = None
    if r.segment is not None:
        segments = segment_analysis(table, r.segment, result, fit, alpha)
    if covariates is not None:
        return Analysis(result, segments=segments)
    assert covariate is not None
    return Analysis(result, scatter(rows, covariate), outcome, covariate, segments)


RATIO_ROLES = ("outcome", "denominator", "covariate", "denominator_pre")
"""The request fields naming a ratio CUPED's four columns (:data:`stats.cuped_ratio.COLUMNS`)."""


def _ratio_pairs(r: CupedRequest) -> list[tuple[str, str]]:
    """``(field, column)`` of the denominator, covariate and pre-period denominator of a ratio
    CUPED (400 for one left out; 422 for a field a ratio CUPED does not take)."""
    pairs: list[tuple[str, str]] = []
    for key in RATIO_ROLES[1:]:
        name = getattr(r, key)
        if name is None:
            bad_request(key, f"{key} is required for a ratio CUPED (with denominator).")
        pairs.append((key, name))
    for key in ("covariates", "segment", "events"):
        if getattr(r, key) is not None:
            unprocessable(key, f"{key} is not available for a ratio CUPED.")
    return pairs


def _ratio_analysis(r: CupedRequest, result: CupedResult) -> Analysis:
    note = (
        f"Ratio CUPED: {r.outcome} per {r.denominator} adjusted by the pre-period "
        f"{r.covariate} per {r.denominator_pre} (the delta method on both ratios, Deng, "
        "Knoblich & Lu 2018, as gbstats' regression-adjusted ratio)."
    )
    return Analysis(result, outcome=f"{r.outcome} / {r.denominator}", note=note)


def analyse_ratio_rows(r: CupedRequest, table: Table, variant: str, numerator: str) -> Analysis:
    """Ratio CUPED (:func:`stats.cuped_ratio.cuped_ratio_rows`): ``outcome`` over
    ``denominator`` adjusted by ``covariate`` over ``denominator_pre``."""
    pairs = _ratio_pairs(r)
    with stats_errors():
        rows = upload_rows(table, variant=variant, outcome=numerator, covariates=pairs)
    control = _control(r, list(rows.names))
    values = [rows.y, *(rows.covariates[c] for _, c in pairs)]
    with stats_errors():
        result = cuped_ratio_rows(rows.codes, rows.names, values, control=control, alpha=r.alpha)
    return _ratio_analysis(r, result)


def analyse_ratio_source(r: CupedRequest) -> Analysis:
    """Ratio CUPED from a configured source's table: the four columns' per-arm means and
    covariance reduced in one engine query (:func:`sources.reduce.ratio_cuped_moments`), then
    :func:`stats.cuped_ratio.cuped_ratio`, as the upload of the same rows."""
    from blueprints._source import open_table, reducing, required_column
    from sources.reduce import ratio_cuped_moments

    pairs = _ratio_pairs(r)
    st = open_table(r)
    variant = required_column(st, "variant", r.variant)
    outcome = required_column(st, "outcome", r.outcome)
    columns = [outcome, *(required_column(st, key, name) for key, name in pairs)]
    with reducing(st):
        arms = ratio_cuped_moments(st.table, variant=variant, columns=columns, roles=RATIO_ROLES)
    control = _control(r, [a.name for a in arms])
    with stats_errors():
        return _ratio_analysis(r, cuped_ratio(arms, control=control, alpha=r.alpha))


def analyse_summaries(r: CupedRequest, summaries: list[Any]) -> Analysis:
    """CUPED from per-variant sufficient statistics (``variants``), and each segment's
    (``segments``) adjusted on its own."""
    with stats_errors():
        arms = covariate_variants(summaries)
    control = _control(r, [a.name for a in arms])
    with stats_errors():
        result = cuped(arms, control=control, alpha=r.alpha)
    if r.segments is None:
        return Analysis(result)
    fits = []
    for i, seg in enumerate(r.segments):
        with stats_errors(f"segments[{i}]."):
            parts = covariate_variants(seg.variants)
        fits.append((seg.name, partial(cuped, parts, control=control, alpha=r.alpha)))
    return Analysis(result, segments=adjusted_segments("segment", fits, result, r.alpha))


def analyse_source(r: CupedRequest, source: str) -> Analysis:
    """``source`` and ``table`` with ``variant``, ``outcome`` and ``covariate`` naming its
    columns, or ``source`` with ``events``: the event schema, the covariate being the same
    metric in the pre-period (:func:`sources.events.event_statistics`).

    A table's moments are reduced in the engine by :func:`sources.reduce.cuped_moments`:
    users without a covariate value are kept with a missing-value indicator, as the upload
    of the same rows is (:func:`stats.cuped.cuped_rows`), so both answer alike (issue 12).
    In the event schema every exposed unit has a covariate (0 without pre-period events,
    as :mod:`sources.events` defines it), so nothing is missing there. With ``segment``, each
    segment's moments come from one more grouped query
    (:func:`sources.reduce.segment_cuped_moments`) and are adjusted on their own."""
    from blueprints._source import event_request, open_table, reducing, required_column
    from sources.reduce import cuped_moments, segment_cuped_moments

    alpha = r.alpha
    if r.denominator is not None or r.denominator_pre is not None:
        return analyse_ratio_source(r)
    if r.events is not None:
        stats, _ = event_request(source, r.events, pre_period=True)
    else:
        if r.covariates is not None:
            unprocessable(
                "covariates",
                "covariates (regression adjustment) needs the rows: with a source, name one "
                "covariate column (CUPED).",
            )
        st = open_table(r)
        variant = required_column(st, "variant", r.variant)
        outcome = required_column(st, "outcome", r.outcome)
        covariate = required_column(st, "covariate", r.covariate)
        with reducing(st, {"metric": "outcome"}):
            moments = cuped_moments(st.table, variant=variant, metric=outcome, covariate=covariate)
        if moments.dropped:
            # The upload of the same rows is refused (stats.cuped: every user needs an outcome).
            unprocessable(
                "outcome",
                f"outcome has {moments.dropped} missing values; every user needs one (leave "
                "users without an outcome out of the table, or fill them in).",
            )
        control = _control(r, list(moments.names))
        with stats_errors():
            result = cuped_from_moments(**moments.arrays(), control=control, alpha=alpha)
        if r.segment is None:
            return Analysis(result)
        segment = required_column(st, "segment", r.segment)
        if segment in (variant, outcome, covariate):
            unprocessable("segment", f"segment column {segment!r} is a column of another role.")
        with reducing(st, {"metric": "outcome"}):
            by_segment = segment_cuped_moments(
                st.table, variant=variant, metric=outcome, covariate=covariate, segment=segment
            )
        fits = [
            (name, partial(cuped_from_moments, **m.arrays(), control=control, alpha=alpha))
            for name, m in by_segment.items()
        ]
        return Analysis(result, segments=adjusted_segments(segment, fits, result, alpha))
    control = _control(r, [a.name for a in stats.covariates])
    with stats_errors():
        return Analysis(cuped(stats.covariates, control=control, alpha=alpha))


def analyse(r: CupedRequest) -> Analysis:
    table = read_data(r.csv)
    if r.segment is not None and ((table is None and r.source is None) or r.events is not None):
        unprocessable(
            "segment",
            "segment needs row-level data: a CSV or a source's table, one row per user.",
        )
    if r.segments is not None and (table is not None or r.source is not None):
        unprocessable("segments", "segments takes per-segment summaries beside variants.")
    if r.source is not None:
        if table is not None or r.variants is not None:
            unprocessable("source", "Send a source, a CSV or variants: only one of them.")
        return analyse_source(r, r.source)
    if table is not None:
        if r.variants is not None:
            bad_request("variants", "Send a CSV or variants (per-variant summaries), not both.")
        return analyse_rows(r, table)
    if r.variants is None:
        bad_request(
            "csv",
            "Send the data: a CSV with one row per user (multipart file, or csv text) and the "
            "variant, outcome and covariate column names, or variants: per-variant summaries "
            "{name, users, mean_y, mean_x, var_y, var_x, cov_xy}.",
        )
    return analyse_summaries(r, r.variants)


@contract.post(
    "/api/cuped",
    summary="CUPED-adjusted differences in means beside the unadjusted ones",
    request=CupedRequest,
    result=CupedAnswer | RegressionAnswer,
    examples={"per-variant summaries": EXAMPLE_SUMMARIES, "row-level CSV": EXAMPLE_CSV},
    form=True,
)
def api(r: CupedRequest) -> Response:
    a = analyse(r)
    figures = analysis_figures(a.result, a.scatter, a.outcome, a.covariate)
    body, readout, warnings = as_json(a.result), analysis_readout(a.result), a.result.warnings
    if a.note:
        readout = f"{a.note} {readout}"
    if a.segments is not None:
        body.update(a.segments.result())
        if a.segments.comparisons:
            figures["segments"] = a.segments.figure(a.outcome)
        readout = " ".join([readout, *a.segments.sentences()])
        warnings += a.segments.warnings
    return respond(body, figures, readout, warnings)


def as_json(result: CupedResult | RegressionAdjustmentResult) -> dict[str, Any]:
    """The result's fields, each comparison as its flat :meth:`AdjustedComparison.as_dict`
    (``variant``, then the adjusted and ``unadjusted_`` estimate, statistic, p-value and
    interval) rather than the two nested comparisons."""
    body = {f.name: getattr(result, f.name) for f in fields(result)}
    body["comparisons"] = [c.as_dict() for c in result.comparisons]
    return body


def plan(r: PlanRequest) -> Plan:
    """The chosen ρ beside ρ = 0 (no CUPED), and the curve over ``RHO_GRID``."""
    options = r.model_dump(exclude={"rho"})  # cuped_planning's other arguments
    with stats_errors():
        pair = cuped_planning([0.0, r.rho], **options)
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


@contract.post(
    "/api/cuped/plan",
    summary="Planning what-if: interval width and users needed against ρ",
    request=PlanRequest,
    result=Plan,
    examples={"plan": {"rho": 0.6, "n_per_group": 5000, "sd": 10, "alpha": 0.05, "power": 0.8}},
)
def api_plan(r: PlanRequest) -> Response:
    result = plan(r)
    return respond(result, planning_figures(result), planning_readout(result))
