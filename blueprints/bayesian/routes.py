"""``GET /bayesian`` (the page), ``POST /api/bayesian`` (analysis) and
``POST /api/bayesian/stopping`` (the honest-stopping simulation).

The analysis takes per-variant records as JSON (``variants``, in the metric's shape) or a CSV
(multipart ``file``, pasted ``csv`` form text, or a JSON ``csv`` string) reduced by
:mod:`blueprints.bayesian.data`; with a date column it also answers the expected loss of each
choice day by day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any

from flask import Response, current_app, render_template
from pydantic import Field

from blueprints._api import bad_request, respond, stats_errors, unprocessable
from blueprints._contract import Body, Column, Range, Whole
from blueprints._source import SourceFields
from blueprints._upload import read_data
from blueprints.bayesian import bp, contract
from blueprints.bayesian.data import (
    Columns,
    CsvRecords,
    CsvSource,
    Ratio,
    Record,
    csv_ratio_records,
    csv_records,
    source_ratio_records,
    source_records,
)
from blueprints.bayesian.figures import analysis_figures, stopping_figures
from blueprints.bayesian.readout import analysis_readout, stopping_readout
from blueprints.bayesian.segments import by_segment as segment_analysis
from blueprints.bayesian.segments import pooled_outcome
from blueprints.segments.outcome import (
    HeterogeneityRows,
    SegmentAnalyses,
    SegmentRows,
    SegmentsOutcome,
)
from sources.reduce import MAX_SEGMENTS, Segment
from sources.tabular import MAX_VARIANTS, guess_control
from stats.bayes.engine import (
    BayesianAnalysis,
    LossOverTime,
    analyze_bayesian,
    guardrail_specs,
    loss_over_time,
    period_stats,
    variant_stats,
)
from stats.bayes.joint import EffectPrior
from stats.bayes.stopping import StoppingSimulation, simulate_loss_stopping
from stats.sufficient import RATIO_KEYS
from stats.vocabulary import METRICS, BayesMetric

FIELDS = {
    "proportion": ("users", "conversions"),
    "mean": ("users", "mean", "sd"),
    "count": ("users", "total"),
    "ratio": RATIO_KEYS[1:],
}
"""The numbers each metric's variant record holds (besides ``name``; revenue has ``amounts``)."""
SAMPLES = ("bayesian_daily.csv", "abtest_users.csv")


@bp.get("/bayesian")
def page() -> str:
    folder = Path(current_app.static_folder or "") / "samples"
    samples = [name for name in SAMPLES if (folder / name).is_file()]
    return render_template("bayesian.html", samples=samples)


Prior = Annotated[
    dict[str, float],
    Field(
        description="proportion and revenue: {alpha, beta} of the Beta prior (default 1, 1); "
        "count: {shape, rate} of the Gamma prior (default 0.5, 0: Jeffreys); mean: none."
    ),
]


class Variant(Body):
    """One variant in the metric's shape: proportion {name, users, conversions}; mean {name,
    users, mean, sd}; count {name, users, total}; revenue {name, amounts}; ratio {name,
    users, numerator_mean, denominator_mean, numerator_sd, denominator_sd, covariance}."""

    name: str
    users: float | None = None
    conversions: float | None = None
    mean: float | None = None
    sd: float | None = None
    total: float | None = None
    numerator_mean: float | None = Field(None, description="ratio: mean numerator per user.")
    denominator_mean: float | None = Field(
        None, description="ratio: mean denominator per user (> 0)."
    )
    numerator_sd: float | None = None
    denominator_sd: float | None = None
    covariance: float | None = Field(
        None, description="ratio: covariance of numerator and denominator per user."
    )
    amounts: list[float] | None = Field(
        None, description="Per-user amounts, zeros included (revenue)."
    )


Variants = Annotated[list[Variant], Field(max_length=MAX_VARIANTS)]


class Guardrail(Body):
    """A metric that must not degrade, over the same variants."""

    name: str
    metric: BayesMetric
    tolerance: float = Field(
        description="Degradation beyond this absolute amount counts as a failure."
    )
    higher_is_better: bool = True
    max_risk: float = Field(0.1, description="The guardrail fails when P(degrades) is above this.")
    prior: Prior | None = None
    variants: Variants


class EffectPriorRequest(Body):
    """An informative normal prior N(mean, sd²) on each variant's absolute lift over control
    (gbstats' proper prior), updated by the normal–normal conjugate rule."""

    mean: float = 0.0
    sd: float


class SegmentVariants(Body):
    """One segment's typed numbers, its variants as in ``variants``."""

    name: str
    variants: Variants


class BayesianRequest(SourceFields):
    """Give variants (JSON records) or csv (CSV text, one row per user or per variant), or a
    configured source and table (one row per user) with variant, value and optional date
    naming columns."""

    threshold: float = Field(
        description="Threshold of caring: the expected loss you accept, in metric units."
    )
    metric: BayesMetric = "proportion"
    control: str | None = Field(None, description="Defaults to a variant named control or A.")
    prior: Prior | None = None
    rope: list[float] = Field(
        [0.0, 0.0],
        description="Region of practical equivalence [low, high] for the absolute lift.",
    )
    draws: Whole = 100_000
    seed: Whole | None = None
    guardrails: list[Guardrail] = Field(default_factory=list)
    higher_is_better: bool = Field(
        True, description="False when a lower primary metric is better (latency, bounce rate)."
    )
    effect_prior: EffectPriorRequest | None = None
    correlation: list[list[float]] | None = Field(
        None,
        description="Correlation matrix of the metrics (primary, then each guardrail) over the "
        "same users; left out, the metrics are drawn independently.",
    )
    weights: list[float] | None = Field(
        None, description="Composite-score weights, one per metric (primary, then each guardrail)."
    )
    variants: Variants | None = None
    segments: Annotated[list[SegmentVariants], Field(max_length=MAX_SEGMENTS)] | None = Field(
        None,
        description="Typed numbers by segment (conversion or mean metric): each segment's "
        "variants as in variants (which stay the totals); answered as with a segment column.",
    )
    csv: str | None = None
    variant: Column | None = Field(
        None, description="CSV column of the variant (detected if absent)."
    )
    value: Column | None = Field(
        None, description="CSV column of the metric per user (detected if absent)."
    )
    date: Column | None = Field(
        None, description="CSV column of dates (detected if absent); adds the loss over time."
    )
    numerator: Column | None = Field(
        None,
        description="metric ratio, CSV or source with one row per user: the numerator column "
        "(revenue of revenue per order); with denominator.",
    )
    denominator: Column | None = Field(
        None,
        description="metric ratio, CSV or source: the denominator column (orders, impressions).",
    )
    segment: Column | None = Field(
        None,
        description="CSV or source column of segments (one row per user, conversion or mean "
        "metric): each variant against control within each segment with partial pooling "
        "across segments, answered in segments, heterogeneity and segment_analyses as "
        "/api/abtest does.",
    )


class StoppingRequest(Body):
    """Simulated A/A tests stopped once the expected loss falls below the threshold."""

    baseline: Annotated[float, Range(gt=0, lt=1)] = Field(
        0.1, description="The conversion rate of both arms (no true difference)."
    )
    daily_users: Annotated[Whole, Range(ge=1)] = 500
    days: Annotated[Whole, Range(ge=1, le=365)] = 30
    threshold: Annotated[float, Range(ge=0)] = 0.001
    simulations: Annotated[Whole, Range(ge=100, le=100_000)] = 2000
    seed: Whole | None = None
    prior: dict[str, float] | None = Field(None, description="{alpha, beta} of the Beta prior.")


@dataclass(frozen=True, slots=True, kw_only=True)
class BayesianAnswer(BayesianAnalysis):
    """The analysis, with the expected loss over time (CSV or source with dates) and the
    columns used (null for JSON variants)."""

    loss_over_time: LossOverTime | None
    source: CsvSource | None
    segments: SegmentRows = None
    heterogeneity: HeterogeneityRows = None
    segment_analyses: SegmentAnalyses = None


def variant_records(variants: Sequence[Variant], key: str, metric: str) -> list[Record]:
    """The variants as records in ``metric``'s shape (a missing number is a 400)."""
    out = []
    for i, v in enumerate(variants):
        record: Record = {"name": v.name}
        for name in ("amounts",) if metric == "revenue" else FIELDS[metric]:
            value = getattr(v, name)
            if value is None:
                bad_request(f"{key}[{i}].{name}", f"{key}[{i}].{name} is required.")
            record[name] = value
        out.append(record)
    return out


def ratio_columns(r: BayesianRequest) -> Ratio | None:
    """The ratio metric's ``numerator`` and ``denominator`` columns of a CSV or source (both
    with metric ratio, neither otherwise; 4xx naming the field)."""
    named = r.numerator is not None or r.denominator is not None
    if r.metric != "ratio":
        if named:
            unprocessable(
                "metric",
                "numerator and denominator name a ratio metric's columns: send metric ratio.",
            )
        return None
    if r.numerator is None or r.denominator is None:
        missing = "numerator" if r.numerator is None else "denominator"
        bad_request(
            missing,
            f"{missing} is required with metric ratio from a CSV or a source: "
            "name the numerator and denominator columns (one row per user).",
        )
    if r.numerator == r.denominator:
        unprocessable("denominator", f"denominator must be another column than {r.numerator!r}.")
    if r.date is not None:
        unprocessable("date", "date is not available with a ratio metric: leave it out.")
    return Ratio(r.numerator, r.denominator)


def analyse(
    r: BayesianRequest,
) -> tuple[BayesianAnalysis, LossOverTime | None, CsvRecords | None, SegmentsOutcome | None]:
    table = read_data(r.csv)
    rows = table is not None or r.source is not None
    if r.segment is not None and (not rows or r.metric not in METRICS):
        unprocessable(
            "segment",
            "segment needs row-level data (a CSV or a source's table, one row per user) and a "
            "conversion or mean metric.",
        )
    guardrails = [
        {
            **g.model_dump(exclude={"variants", "prior"}),
            "variants": variant_records(g.variants, f"guardrails[{i}].variants", g.metric),
            **({"prior": g.prior} if g.prior is not None else {}),
        }
        for i, g in enumerate(r.guardrails)
    ]
    effect_prior = None if r.effect_prior is None else EffectPrior(**r.effect_prior.model_dump())
    options: dict[str, Any] = {
        "threshold": r.threshold,
        "prior": r.prior,
        "rope": r.rope,
        "draws": r.draws,
        "seed": r.seed,
        "higher_is_better": r.higher_is_better,
        "effect_prior": effect_prior,
        "correlation": r.correlation,
        "weights": r.weights,
    }
    columns = Columns(r.variant, r.value, r.date)
    data = None
    ratio = ratio_columns(r) if r.source is not None or table is not None else None
    if r.source is not None:
        if table is not None or r.variants is not None:
            unprocessable("source", "Send a source, a CSV or variants: only one of them.")
        if ratio is not None:
            data = source_ratio_records(r, columns, ratio)
        else:
            data = source_records(r, columns, r.metric, r.segment)
        records = data.records
    elif table is not None:
        if r.variants is not None:
            bad_request("variants", "Send a CSV or variants (per-variant records), not both.")
        if ratio is not None:
            data = csv_ratio_records(columns, table, ratio)
        else:
            data = csv_records(columns, table, r.metric)
        records = data.records
    elif r.variants is None:
        bad_request("variants", "variants is required.")
    else:
        records = variant_records(r.variants, "variants", r.metric)
    control = r.control
    if control is None and records:
        control = guess_control([rec["name"] for rec in records])
    with stats_errors():
        stats = variant_stats(r.metric, records)
        options["guardrails"] = guardrail_specs(guardrails)
        analysis = analyze_bayesian(r.metric, stats, control=control or "", **options)
        loss = None
        if data is not None and data.periods:
            loss = loss_over_time(
                r.metric,
                data.periods,
                period_stats(r.metric, data.by_period),
                control=analysis.control,
                prior=r.prior,
                draws=r.draws,
                seed=r.seed,
                higher_is_better=r.higher_is_better,
            )
    segments = None
    if r.segment is not None and data is not None:
        segments = segment_analysis(
            r.segment, data, r.metric, stats, analysis.control, r.higher_is_better, table
        )
    elif r.segments is not None:
        segments = typed_segments(r, stats, analysis.control)
    return analysis, loss, data, segments


def typed_segments(r: BayesianRequest, pooled: Sequence[Any], control: str) -> SegmentsOutcome:
    """``segments``: each segment's typed variants (in the metric's shape, errors naming
    ``segments[i].variants[j]``), analysed as a segment column's."""
    if r.variants is None or r.metric not in METRICS:
        unprocessable(
            "segments",
            "segments takes typed variants (the totals) of a conversion or mean metric.",
        )
    found = []
    for i, seg in enumerate(r.segments or ()):
        key = f"segments[{i}].variants"
        records = variant_records(seg.variants, key, r.metric)
        with stats_errors():
            found.append(Segment(seg.name, variant_stats(r.metric, records, key)))  # type: ignore[arg-type]
    return pooled_outcome("segment", found, pooled, control, r.higher_is_better)


@contract.post(
    "/api/bayesian",
    summary="Posteriors, P(best), expected loss and a decision",
    request=BayesianRequest,
    result=BayesianAnswer,
    examples={
        "conversion": {
            "metric": "proportion",
            "control": "A",
            "prior": {"alpha": 1, "beta": 1},
            "threshold": 0.001,
            "rope": [-0.005, 0.005],
            "draws": 100000,
            "seed": 1,
            "variants": [
                {"name": "A", "users": 1000, "conversions": 100},
                {"name": "B", "users": 1000, "conversions": 120},
            ],
        },
        "mean": {
            "metric": "mean",
            "threshold": 0.5,
            "variants": [
                {"name": "A", "users": 500, "mean": 61.2, "sd": 40.1},
                {"name": "B", "users": 500, "mean": 66.0, "sd": 42.3},
            ],
        },
    },
    form=True,
)
def api(r: BayesianRequest) -> Response:
    analysis, loss, data, segments = analyse(r)
    result = BayesianAnswer(
        **{f.name: getattr(analysis, f.name) for f in fields(analysis)},
        loss_over_time=loss,
        source=None if data is None else data.source,
        **(segments.result() if segments is not None else {}),
    )
    warnings = analysis.warnings + (data.warnings if data else ())
    figures, readout = analysis_figures(analysis, loss), analysis_readout(analysis)
    if segments is not None:
        if segments.comparisons:
            figures["segments"] = segments.figure(data.source.value if data else "")
        readout = " ".join([readout, *segments.sentences()])
        warnings += segments.warnings
    return respond(result, figures, readout, warnings)


@contract.post(
    "/api/bayesian/stopping",
    summary="How often expected-loss stopping ships a variant under no true difference",
    request=StoppingRequest,
    result=StoppingSimulation,
    examples={
        "daily checks": {
            "baseline": 0.1,
            "daily_users": 500,
            "days": 30,
            "threshold": 0.001,
            "simulations": 2000,
            "seed": 1,
        }
    },
    form=True,
)
def stopping(r: StoppingRequest) -> Response:
    p = r.prior or {}
    unknown = sorted(set(p) - {"alpha", "beta"})
    if unknown:
        unprocessable(
            f"prior.{unknown[0]}",
            f"prior.{unknown[0]} is not a prior parameter of the simulation (allowed: alpha, beta).",
        )
    with stats_errors():
        result = simulate_loss_stopping(
            r.baseline,
            r.daily_users,
            r.days,
            r.threshold,
            prior_alpha=p.get("alpha", 1.0),
            prior_beta=p.get("beta", 1.0),
            simulations=r.simulations,
            seed=r.seed,
        )
    return respond(result, stopping_figures(result), stopping_readout(result), result.warnings)
