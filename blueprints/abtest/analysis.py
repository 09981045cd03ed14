"""The A/B analysis a request (or the ``flask analyze`` command) asks for: typed per-variant
numbers (JSON ``variants``), a CSV or Parquet upload with an optional column mapping, or a
configured source, turned into an :class:`Outcome` (the stats result with what the figures,
readout and JSON result need beside it).

The routes, the figures, the readout and the command line all import from here, so none of
them imports another's internals. For a CSV: for one row per user ``variant``, ``metric``,
``kind`` and ``user_id``; for one row per variant ``variant``, ``users``, ``metric`` (the
conversions or the mean column) and ``sd``. Columns left out are detected
(:func:`sources.tabular.infer_roles`), and the answer says what was detected
(``result.mapping``) so the page can show it and let the user change it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, cast

from blueprints._api import required, shown, stats_errors, unprocessable
from blueprints._source import Events, EventsSummary, SourceSummary
from blueprints._upload import csv_errors
from blueprints.abtest.figures import analysis_figures
from blueprints.abtest.models import AbtestAnswer, AbtestRequest, Stats, Variant
from blueprints.abtest.models import Guardrail as GuardrailRequest
from blueprints.abtest.readout import readout
from blueprints.abtest.segments import EMPTY as SEGMENTS_EMPTY
from blueprints.abtest.segments import (
    SegmentsOutcome,
    by_segment,
    typed_segments,
    upload_segments,
)
from sources.reduce import Segment
from sources.segments import aggregate_segments
from sources.tabular import (
    Roles,
    Summary,
    Table,
    guess_control,
    infer_roles,
    summarize_ratio,
    summarize_table,
    table_distribution,
    variant_values,
)
from stats.abtest import Analysis, Guardrail, analyze
from stats.distribution import Distribution
from stats.quantiles import (
    QuantileAnalysis,
    order_statistic_differences,
    quantile_differences,
    quantile_levels,
    quantile_ranks,
)
from stats.sufficient import (
    RATIO_KEYS,
    MeanStats,
    ProportionStats,
    RatioStats,
    mean_variants,
    proportion_variants,
    ratio_variants,
)
from stats.vocabulary import SUMMARY_METRICS
from stats.warnings import Code, ResultWarning, warning

MAX_USERS = 10**12
"""Typed user counts above this are refused (exact tests need 64-bit integer tables)."""
NEEDS = {
    "proportion": "users and conversions",
    "mean": "users, mean and sd",
    "ratio": "users, " + ", ".join(RATIO_KEYS[2:]),
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """An analysis with what the figures, readout and result need beside it."""

    analysis: Analysis
    inputs: Stats
    guardrail_inputs: Mapping[str, Stats]
    mapping: dict[str, Any] | None = None
    csv: dict[str, Any] | None = None
    distribution: Distribution | None = None
    warnings: tuple[ResultWarning, ...] = ()
    source: SourceSummary | EventsSummary | None = None
    quantiles: QuantileAnalysis | None = None
    segments: SegmentsOutcome | None = None

    def result(self) -> AbtestAnswer:
        return AbtestAnswer(
            **{f.name: getattr(self.analysis, f.name) for f in fields(Analysis)},
            inputs={"primary": self.inputs, "guardrails": dict(self.guardrail_inputs)},
            mapping=self.mapping,
            csv=self.csv,
            distribution=self.distribution,
            source=self.source,
            quantiles=self.quantiles,
            **(self.segments.result() if self.segments is not None else SEGMENTS_EMPTY),
        )

    def all_warnings(self) -> tuple[ResultWarning, ...]:
        more = self.quantiles.warnings if self.quantiles is not None else ()
        if self.segments is not None:
            more += self.segments.warnings
        return self.warnings + self.analysis.warnings + more


# ---------------------------------------------------------------------------------------------
# Typed numbers


def typed_variants(variants: Sequence[Variant] | None, field: str) -> Stats:
    """``[{name, users, conversions}]``, ``[{name, users, mean, sd}]`` or a ratio metric's
    ``[{name, users, numerator_mean, denominator_mean, numerator_sd, denominator_sd,
    covariance}]`` (``field``, e.g. ``guardrails[0].variants``): the model checked the types
    and the count, the metric's numbers are required here (400), ranges are checked by
    :mod:`stats.sufficient` (422)."""
    items = required(variants, field)
    if not items:
        unprocessable(field, f"{field} must hold at least 2 variants, got 0.")
    ratio = items[0].numerator_mean is not None
    means = not ratio and (items[0].mean is not None or items[0].sd is not None)
    keys = RATIO_KEYS[2:] if ratio else ("mean", "sd") if means else ("conversions",)
    for i, item in enumerate(items):
        if item.users > MAX_USERS:
            unprocessable(
                f"{field}[{i}].users",
                f"{field}[{i}].users must be <= {MAX_USERS:,}, got {item.users!r}.",
            )
        for key in keys:
            required(getattr(item, key), f"{field}[{i}].{key}")
    with stats_errors():
        records = [item.model_dump() for item in items]
        if ratio:
            return ratio_variants(records, field)
        if means:
            return mean_variants(records, field)
        return proportion_variants(records, field)


def analyse_typed(r: AbtestRequest, options: dict[str, Any]) -> Outcome:
    refuse_quantiles(r)
    metric = r.metric
    if metric is not None and metric not in SUMMARY_METRICS:
        unprocessable(
            "metric", f"metric must be one of {', '.join(SUMMARY_METRICS)}, got {shown(metric)}."
        )
    primary = typed_variants(r.variants, "variants")
    kind = (
        "mean"
        if isinstance(primary[0], MeanStats)
        else "ratio"
        if isinstance(primary[0], RatioStats)
        else "proportion"
    )
    if metric is not None and metric != kind:
        unprocessable("metric", f"metric is {metric!r}, so each variant needs {NEEDS[metric]}.")
    guardrails, inputs = [], {}
    for i, g in enumerate(r.guardrails or ()):
        variants = typed_variants(g.variants, f"guardrails[{i}].variants")
        guardrails.append(guardrail(g, g.metric, variants))
        inputs[g.metric] = variants
    analysis = run_analysis(
        r, primary, guardrails, options, "conversion rate" if kind == "proportion" else "metric"
    )
    segments = typed_segments(r.segments, typed_variants, primary, analysis, options)
    return Outcome(analysis, primary, inputs, segments=segments)


# ---------------------------------------------------------------------------------------------
# CSV


def csv_column(
    table: Table, field: str, name: str | None, default: str | None = None
) -> str | None:
    """The column a mapping ``field`` names (``default`` when it names none), checked against
    the table's columns (422)."""
    if name is None:
        return default
    if name not in table.columns:
        unprocessable(
            field,
            f"{field} column {name!r} not found; the columns are {', '.join(table.columns)}.",
        )
    return name


def summarize_csv(table: Table, roles: Roles, metric: str | None, kind: str | None) -> Summary:
    with stats_errors(), csv_errors():
        return summarize_table(table, roles, metric=metric, kind=kind)  # type: ignore[arg-type]


def csv_roles(r: AbtestRequest, table: Table) -> tuple[Roles, str | None, str | None]:
    """The detected roles with the request's overrides; the metric column and its kind."""
    roles = infer_roles(table)
    roles = replace(roles, variant=csv_column(table, "variant", r.variant, roles.variant))
    metric = csv_column(table, "metric", r.metric)
    if roles.layout == "users":
        user_id = csv_column(table, "user_id", r.user_id, roles.user_id)
        return replace(roles, user_id=user_id), metric, r.kind
    roles = replace(
        roles,
        users=csv_column(table, "users", r.users, roles.users),
        sd=csv_column(table, "sd", r.sd, roles.sd),
    )
    if metric is not None:
        if r.sd is not None or metric == roles.mean:
            roles = replace(roles, conversions=None, mean=metric)
        else:
            roles = replace(roles, conversions=metric, mean=None)
    return roles, metric, r.kind


def ratio_columns(r: AbtestRequest, table: Table, roles: Roles) -> tuple[str, str] | None:
    """The ``numerator`` and ``denominator`` columns of a ratio metric (both or neither;
    row-per-user data only), checked against the table (422)."""
    numerator = csv_column(table, "numerator", r.numerator)
    denominator = csv_column(table, "denominator", r.denominator)
    if numerator is None and denominator is None:
        return None
    if numerator is None or denominator is None:
        missing = "numerator" if numerator is None else "denominator"
        unprocessable(
            missing, f"{missing} is required with a ratio metric: name both of its columns."
        )
    if roles.layout != "users" or roles.variant is None:
        unprocessable(
            "numerator",
            "numerator and denominator need one row per user (a variant column beside them); "
            "this table has one row per variant: send typed ratio variants instead.",
        )
    if numerator == denominator:
        unprocessable("denominator", f"denominator must be another column than {numerator!r}.")
    return numerator, denominator


def csv_primary(
    r: AbtestRequest, table: Table, roles: Roles, metric: str | None, kind: str | None
) -> tuple[Summary, dict[str, str | None]]:
    """The primary metric's summary: a ratio of two columns when ``numerator`` and
    ``denominator`` name them, else the ``metric`` column; and the ratio's columns."""
    ratio = ratio_columns(r, table, roles)
    if ratio is None:
        return summarize_csv(table, roles, metric, kind), {"numerator": None, "denominator": None}
    assert roles.variant is not None  # ratio_columns checked it
    with stats_errors(), csv_errors():
        summary = summarize_ratio(
            table,
            variant=roles.variant,
            numerator=ratio[0],
            denominator=ratio[1],
            user_id=roles.user_id,
        )
    return summary, {"numerator": ratio[0], "denominator": ratio[1]}


def csv_guardrail_summary(g: GuardrailRequest, field: str, table: Table, roles: Roles) -> Summary:
    """The guardrail's metric column (its request ``field``) summarised: one row per user, or
    one row per variant (a mean column with the table's sd column, else conversions)."""
    name = required(csv_column(table, field, g.metric), field)
    if roles.layout == "users":
        return summarize_csv(table, replace(roles, user_id=None), name, g.kind)
    if name == roles.mean and roles.sd is not None:
        return summarize_csv(table, replace(roles, conversions=None), name, None)
    return summarize_csv(table, replace(roles, conversions=name, mean=None), name, None)


def segmented_aggregates(
    r: AbtestRequest, table: Table, roles: Roles, metric: str | None, segment: str
) -> tuple[Summary, tuple[Segment, ...]]:
    """A table of aggregates with one row per variant and segment: the per-variant totals
    and each segment's variants (:func:`sources.segments.aggregate_segments`; errors name the
    table's row)."""
    for key, value in (
        ("guardrails", r.guardrails),
        ("numerator", r.numerator),
        ("denominator", r.denominator),
    ):
        if value is not None:
            unprocessable(key, f"{key} is not available with one row per variant and segment.")
    if segment in (roles.variant, roles.users, roles.conversions, roles.mean, roles.sd):
        unprocessable("segment", f"segment column {segment!r} holds another role's values.")
    if metric is not None and metric == roles.mean:
        roles = replace(roles, conversions=None)  # the mean/sd metric, as summarize_table
    with stats_errors(), csv_errors():
        return aggregate_segments(table, roles, segment)


def analyse_csv(r: AbtestRequest, table: Table, options: dict[str, Any]) -> Outcome:
    roles, metric, kind = csv_roles(r, table)
    segment = csv_column(table, "segment", r.segment)
    by_segment_rows = None
    if segment is not None and roles.layout == "variants":
        summary, by_segment_rows = segmented_aggregates(r, table, roles, metric, segment)
        ratio: dict[str, str | None] = {"numerator": None, "denominator": None}
    else:
        summary, ratio = csv_primary(r, table, roles, metric, kind)
    guardrails, inputs, summaries = [], {}, []
    for i, g in enumerate(r.guardrails or ()):
        s = csv_guardrail_summary(g, f"guardrails[{i}].metric", table, roles)
        guardrails.append(guardrail(g, s.metric, s.variants))
        inputs[s.metric] = s.variants
        summaries.append(s)
    analysis = run_analysis(r, summary.variants, guardrails, options, summary.metric)
    continuous = [s.metric for s in (summary, *summaries) if s.kind == "continuous"]
    distribution = None
    if roles.layout == "users" and continuous and roles.variant is not None:
        with stats_errors(), csv_errors():
            distribution = table_distribution(table, variant=roles.variant, metric=continuous[0])
    warnings = tuple(dict.fromkeys(w for s in (summary, *summaries) for w in s.warnings))
    if distribution is not None:
        warnings += distribution.warnings
    quantiles = None
    if roles.layout == "users" and summary.kind == "continuous" and roles.variant is not None:
        quantiles = csv_quantiles(r, table, roles.variant, summary.metric, analysis)
    else:
        refuse_quantiles(r)
    segments: SegmentsOutcome | None
    if by_segment_rows is not None:
        assert segment is not None
        segments = by_segment(
            segment,
            by_segment_rows,
            cast("tuple[ProportionStats, ...] | tuple[MeanStats, ...]", summary.variants),
            analysis,
            options["correction"],
            options["direction"],
        )
    else:
        segments = csv_segments(segment, table, roles, summary, analysis, options, ratio)
    blanks = {k: v for k, v in table.blank_cells.items() if v}
    if blanks:
        listed = ", ".join(f"{v:,} in {k!r}" for k, v in blanks.items())
        warnings = (warning(Code.ROWS_LEFT_OUT, f"Blank cells: {listed}."), *warnings)
    return Outcome(
        analysis,
        summary.variants,
        inputs,
        mapping=mapping(table, roles, summary) | ratio,
        csv={
            "rows": table.n_rows,
            "columns": table.columns,
            "blank_cells": dict(table.blank_cells),
            "delimiter": table.delimiter,
            "had_bom": table.had_bom,
            "encoding": table.encoding,
            "has_header": table.has_header,
            "rows_used": summary.n_rows,
            "rows_excluded": summary.excluded_rows,
            "duplicate_ids": summary.duplicate_ids,
        },
        distribution=distribution,
        warnings=warnings,
        quantiles=quantiles,
        segments=segments,
    )


def csv_segments(
    segment: str | None,
    table: Table,
    roles: Roles,
    summary: Summary,
    analysis: Analysis,
    opts: dict[str, Any],
    ratio: Mapping[str, str | None],
) -> SegmentsOutcome | None:
    """The analysis by the ``segment`` column, when one is mapped (row-per-user data), of the
    metric column or of the ratio of the ``ratio`` columns (numerator, denominator)."""
    if segment is None:
        return None
    if roles.layout != "users" or roles.variant is None:
        unprocessable("segment", "segment needs a variant column beside it.")
    if segment in (roles.variant, summary.metric, *ratio.values()):
        unprocessable("segment", f"segment column {segment!r} is the variant or metric column.")
    numerator, denominator = ratio["numerator"], ratio["denominator"]
    return upload_segments(
        table,
        segment,
        variant=roles.variant,
        metric=summary.metric,
        kind=None if summary.kind == "ratio" else summary.kind,
        pooled=summary.variants,
        analysis=analysis,
        options=opts,
        ratio=None if numerator is None or denominator is None else (numerator, denominator),
    )


QUANTILE_FIELDS = ("quantiles", "quantile_method", "bootstrap_resamples")


def refuse_quantiles(r: AbtestRequest) -> None:
    """Quantiles need every user's value: a 422 when the request sets a quantile field for
    anything else."""
    for key in QUANTILE_FIELDS:
        if key in r.model_fields_set:
            unprocessable(
                key,
                f"{key} needs one row per user with a continuous metric (an upload or a "
                "configured source's table): summaries carry no quantiles.",
            )


def source_quantiles(
    r: AbtestRequest,
    st: Any,
    variant: str,
    metric: str,
    variants: Sequence[Any],
    analysis: Analysis,
) -> QuantileAnalysis | None:
    """The primary metric's quantiles from a configured source (``st``, an open
    :class:`blueprints._source.SourceTable`): the few order statistics each variant needs,
    ranked in the engine (:mod:`sources.quantiles`)."""
    from blueprints._source import reducing
    from sources.quantiles import order_statistics

    if not r.quantiles:
        return None
    if r.quantile_method == "bootstrap":
        unprocessable(
            "quantile_method",
            "quantile_method bootstrap needs every row in memory: with a source, use "
            "order-statistic (the source hands over only the order statistics).",
        )
    counts = {v.name: v.n for v in variants}
    with stats_errors():
        levels = quantile_levels(r.quantiles)
    ranks = {name: {k for p in levels for k in quantile_ranks(n, p)} for name, n in counts.items()}
    with reducing(st):
        at = order_statistics(st.table, variant=variant, metric=metric, ranks=ranks)
    with stats_errors():
        return order_statistic_differences(
            {name: (n, at.get(name, {})) for name, n in counts.items()},
            analysis.control,
            levels,
            alpha=analysis.alpha,
        )


def csv_quantiles(
    r: AbtestRequest, table: Table, variant: str, metric: str, analysis: Analysis
) -> QuantileAnalysis | None:
    """The primary metric's quantiles of every variant against control (none when the
    request's ``quantiles`` is empty)."""
    if not r.quantiles:
        return None
    with stats_errors(), csv_errors():
        codes, values, names = variant_values(table, variant=variant, metric=metric)
        samples = {name: values[codes == j] for j, name in enumerate(names)}
        return quantile_differences(
            samples,
            analysis.control,
            alpha=analysis.alpha,
            quantiles=r.quantiles,
            method=r.quantile_method,
            resamples=r.bootstrap_resamples,
            seed=r.seed,
        )


def mapping(table: Table, roles: Roles, summary: Summary) -> dict[str, Any]:
    """What the page shows as the column mapping, with the choices for each role."""
    candidates = {k: list(v) for k, v in roles.candidates.items()}
    if roles.layout == "variants":
        candidates["metric"] = [c for c in candidates.get("mean", []) if c != roles.users]
    return {
        "layout": roles.layout,
        "variant": roles.variant,
        "metric": summary.metric,
        "kind": summary.kind,
        "user_id": roles.user_id,
        "users": roles.users,
        "sd": roles.sd if summary.kind == "continuous" else None,
        "metrics": [{"name": m.name, "kind": m.kind} for m in roles.metrics],
        "columns": list(table.columns),
        "candidates": candidates,
        "variants": [v.name for v in summary.variants],
    }


# ---------------------------------------------------------------------------------------------
# A configured source (one row per user), reduced in the engine


def analyse_source(r: AbtestRequest, opts: dict[str, Any]) -> Outcome:
    """``source`` and ``table`` with ``variant``, ``metric`` (and ``kind``) naming columns,
    and guardrails naming theirs: every metric reduced in one query (:mod:`sources.reduce`);
    or ``events`` (the event schema, :func:`event_outcome`)."""
    from blueprints._source import column, open_table, reducing, required_column
    from sources.reduce import metrics_statistics

    if r.events is not None:
        refuse_quantiles(r)
        return event_outcome(r, r.events, opts)
    st = open_table(r)
    variant = required_column(st, "variant", r.variant)
    if r.numerator is not None or r.denominator is not None:
        return source_ratio(r, opts, st, variant)
    metric = required_column(st, "metric", r.metric)
    segment = column(st, "segment", r.segment)
    metrics: dict[str, Any] = {metric: r.kind}
    gs = r.guardrails or []
    for i, g in enumerate(gs):
        metrics.setdefault(required_column(st, f"guardrails[{i}].metric", g.metric), g.kind)
    with reducing(st):
        reduced = metrics_statistics(
            st.table, variant=variant, metrics=list(metrics), kinds=metrics, segment=segment
        )
    primary = reduced[metric]
    guardrails, inputs = [], {}
    for g in gs:
        guardrails.append(guardrail(g, g.metric, cast(Stats, reduced[g.metric].variants)))
        inputs[g.metric] = cast(Stats, reduced[g.metric].variants)
    analysis = run_analysis(r, cast(Stats, primary.variants), guardrails, opts, metric)
    quantiles = None
    if primary.kind == "continuous":
        quantiles = source_quantiles(r, st, variant, metric, primary.variants, analysis)
    else:
        refuse_quantiles(r)
    kinds = {m: reduced[m].kind for m in metrics}
    segments = None
    if segment is not None:
        segments = by_segment(
            segment,
            primary.segments,
            cast("tuple[ProportionStats, ...] | tuple[MeanStats, ...]", primary.variants),
            analysis,
            opts["correction"],
            opts["direction"],
        )
    return Outcome(
        analysis,
        cast(Stats, primary.variants),
        inputs,
        mapping={
            "layout": "users",
            "variant": variant,
            "metric": metric,
            "kind": primary.kind,
            "user_id": None,
            "users": None,
            "sd": None,
            "metrics": [{"name": m, "kind": k} for m, k in kinds.items()],
            "columns": list(st.columns),
            "candidates": {},
            "variants": [v.name for v in primary.variants],
        },
        warnings=source_warnings(r.warnings for r in reduced.values()),
        source=st.describe(primary.rows, primary.rows - primary.dropped),
        segments=segments,
        quantiles=quantiles,
    )


def source_ratio(r: AbtestRequest, opts: dict[str, Any], st: Any, variant: str) -> Outcome:
    """A ratio metric from a configured source's ``numerator`` and ``denominator`` columns
    (one row per user), reduced in one query (:func:`sources.reduce.ratio_statistics`), by
    ``segment`` when the request names one."""
    from blueprints._source import column, reducing, required_column
    from sources.reduce import ratio_statistics

    numerator = required_column(st, "numerator", r.numerator)
    denominator = required_column(st, "denominator", r.denominator)
    if numerator == denominator:
        unprocessable("denominator", f"denominator must be another column than {numerator!r}.")
    for key, value in (("metric", r.metric), ("guardrails", r.guardrails)):
        if value is not None:
            unprocessable(
                key, f"{key} is not available with a ratio metric from a source (numerator)."
            )
    segment = column(st, "segment", r.segment)
    if segment in (variant, numerator, denominator):
        unprocessable("segment", f"segment column {segment!r} is the variant or a ratio column.")
    refuse_quantiles(r)
    with reducing(st, {"metric": "numerator", "covariate": "denominator"}):
        variants, reduced = ratio_statistics(
            st.table,
            variant=variant,
            numerator=numerator,
            denominator=denominator,
            segment=segment,
        )
    metric = f"{numerator} / {denominator}"
    analysis = run_analysis(r, variants, [], opts, metric)
    segments = None
    if segment is not None:
        segments = by_segment(
            segment, reduced.segments, variants, analysis, opts["correction"], opts["direction"]
        )
    return Outcome(
        analysis,
        variants,
        {},
        mapping={
            "layout": "users",
            "variant": variant,
            "metric": metric,
            "kind": "ratio",
            "numerator": numerator,
            "denominator": denominator,
            "columns": list(st.columns),
            "variants": [v.name for v in variants],
        },
        warnings=source_warnings([reduced.warnings]),
        source=st.describe(reduced.rows, reduced.rows - reduced.dropped),
        segments=segments,
    )


def event_outcome(r: AbtestRequest, events: Events, opts: dict[str, Any]) -> Outcome:
    """``source`` with ``events``: exposures and metric events reduced per unit within an
    attribution window (:func:`sources.events.event_statistics`)."""
    from blueprints._source import event_request

    if r.guardrails is not None:
        unprocessable("guardrails", "guardrails name columns of a table: not with events.")
    assert r.source is not None  # analyse chose the source
    stats, described = event_request(r.source, events)
    variants = cast(Stats, stats.variants)
    analysis = run_analysis(r, variants, [], opts, described["events"]["metric"])
    return Outcome(
        analysis,
        variants,
        {},
        warnings=source_warnings([stats.warnings]),
        source=described,
    )


def source_warnings(groups: Iterable[Iterable[str]]) -> tuple[ResultWarning, ...]:
    """A reduction's messages (rows left out, units exposed twice) as result warnings."""
    found = dict.fromkeys(w for group in groups for w in group)
    return tuple(warning(Code.ROWS_LEFT_OUT, w) for w in found)


# ---------------------------------------------------------------------------------------------
# Shared


def options(r: AbtestRequest) -> dict[str, Any]:
    """The request's options of :func:`stats.abtest.analyze`."""
    return {
        "alpha": r.alpha,
        "alternative": r.alternative,
        "direction": r.direction,
        "min_effect": r.min_effect,
        "min_effect_type": r.min_effect_type,
        "planned_split": r.planned_split,
        "noninferiority_margin": r.noninferiority_margin,
        "correction": r.correction,
        "comparisons": r.comparisons,
        "relative_interval": r.relative_interval,
    }


def guardrail(g: GuardrailRequest, metric: str, variants: Stats) -> Guardrail:
    return Guardrail(
        metric=metric,
        variants=variants,
        direction=g.direction,
        tolerance=g.tolerance,
        tolerance_type=g.tolerance_type,
    )


def run_analysis(
    r: AbtestRequest,
    primary: Stats,
    guardrails: Sequence[Guardrail],
    opts: dict[str, Any],
    metric: str,
) -> Analysis:
    names = [v.name for v in primary]
    control = r.control or guess_control(names)
    with stats_errors():
        try:
            return analyze(primary, control=control, metric=metric, guardrails=guardrails, **opts)
        except (OverflowError, ZeroDivisionError):
            # Means or sds near the float limits (1e308) overflow the variance arithmetic.
            unprocessable(
                "variants",
                "variants hold numbers too extreme to analyse (a mean or sd near 1e308 "
                "overflows the variance); rescale the metric, e.g. to thousands.",
            )


def analyse(r: AbtestRequest, table: Table | None) -> Outcome:
    """The analysis a validated request (``POST /api/abtest`` or the command line) asks for,
    on ``table`` (its CSV or file, read) when it sends one."""
    opts = options(r)
    if r.source is not None:
        if table is not None or r.variants is not None:
            unprocessable("source", "Send a source, a CSV or typed variants: only one of them.")
        return analyse_source(r, opts)
    if table is None:
        return analyse_typed(r, opts)
    if r.variants is not None:
        unprocessable("variants", "Send a CSV or typed variants, not both.")
    return analyse_csv(r, table, opts)


def body(
    outcome: Outcome,
) -> tuple[AbtestAnswer, dict[str, Any], str, tuple[ResultWarning, ...]]:
    """The response's four parts: result, figures, readout, warnings."""
    return (
        outcome.result(),
        analysis_figures(outcome),
        readout(outcome),
        outcome.all_warnings(),
    )
