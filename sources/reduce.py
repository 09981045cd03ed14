"""Reduce any Ibis table to the per-variant sufficient statistics :mod:`stats` consumes.

The expressions are written once with Ibis and run where the data lives (DuckDB in-process,
Spark, PostgreSQL, or any other Ibis backend); only O(variants × segments) rows come back.
This is what GrowthBook does in the warehouse (growthbook/growthbook,
``packages/back-end/src/integrations/SqlIntegration.ts``): aggregate per variation, move the
aggregates, do the statistics locally.

Variances and covariances come from the engine's ``var_samp`` / ``covar_samp`` (Ibis
``var(how="sample")`` / ``cov(how="sample")``), which DuckDB, Spark and PostgreSQL compute with
single-pass updating algorithms (Welford 1962; Youngs & Cramer 1971), never as
``Σx² − n·x̄²``: that textbook formula loses every digit when the mean is 1e9 and the spread 1
(Chan, Golub & LeVeque 1983, "Algorithms for computing the sample variance: analysis and
recommendations", The American Statistician 37(3)). Groups are combined here (segments into
variants, days into cumulative totals) with the pairwise update of Chan, Golub & LeVeque
(1979) and its co-moment form (Bennett, Grout, Pébay, Roe & Thompson 2009), see
:meth:`Moments.combine`.

Shapes returned: :class:`stats.sufficient.ProportionStats` (0/1 metric) or
:class:`stats.sufficient.MeanStats` per variant, :class:`stats.cuped.CovariateStats` per
variant with a covariate, :class:`CellMoments` per DoE cell, and :class:`Daily` (cumulative
per-day statistics for the Bayesian loss-over-time chart).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import ibis
import ibis.expr.types as ir

from sources.errors import SourceError
from sources.tabular import Kind
from stats.cuped import CovariateStats
from stats.cuped_ratio import RatioCovariateStats
from stats.sufficient import MeanStats, ProportionStats, RatioStats

VariantStats = ProportionStats | MeanStats

MAX_VARIANTS = 50
"""More distinct values than this is not a variant column (as :mod:`sources.tabular`)."""
MAX_SEGMENTS = 100
"""Most distinct segment values one reduction returns."""
MAX_DAYS = 1_000
"""Most distinct dates of a per-day reduction (as :data:`stats.bayes.engine.MAX_PERIODS`)."""
MAX_LEVELS = 5
"""Most levels of a DoE factor (as :data:`stats.doe.MAX_LEVELS`)."""


# --------------------------------------------------------------------------- moments


@dataclass(frozen=True, slots=True)
class Moments:
    """Count, means and centred second moments of ``y`` (and a covariate ``x``) in one group.

    ``m2_y = Σ(y − ȳ)²``, ``m2_x = Σ(x − x̄)²`` and ``c_xy = Σ(x − x̄)(y − ȳ)``: the engine's
    sample variance and covariance times ``n − 1``.
    """

    n: int
    mean_y: float
    m2_y: float
    mean_x: float = 0.0
    m2_x: float = 0.0
    c_xy: float = 0.0

    @classmethod
    def from_row(cls, row: Mapping[str, Any], suffix: str = "") -> Moments:
        """From one aggregate row (``n``, ``mean_y``, ``var_y`` [, ``mean_x``, ``var_x``,
        ``cov_xy``], each name + ``suffix``); a NULL variance (n < 2) reads as 0."""
        n = int(row["n" + suffix] or 0)
        dof = max(n - 1, 0)

        def get(key: str) -> float:
            value = row.get(key + suffix)
            return 0.0 if value is None or n == 0 else float(value)

        return cls(
            n=n,
            mean_y=get("mean_y"),
            m2_y=get("var_y") * dof,
            mean_x=get("mean_x"),
            m2_x=get("var_x") * dof,
            c_xy=get("cov_xy") * dof,
        )

    def combine(self, other: Moments) -> Moments:
        """Moments of the union of two disjoint groups.

        ``δ = ȳ_b − ȳ_a``, ``ȳ = ȳ_a + δ·n_b/n``, ``M2 = M2_a + M2_b + δ²·n_a·n_b/n``
        (Chan, Golub & LeVeque 1979, "Updating formulae and a pairwise algorithm for
        computing sample variances", Stanford CS report STAN-CS-79-773, eq. 2.1), and for
        the co-moment ``C = C_a + C_b + δ_x·δ_y·n_a·n_b/n`` (Bennett, Grout, Pébay, Roe &
        Thompson 2009, "Numerically stable, single-pass, parallel statistics algorithms",
        IEEE Cluster 2009: the pairwise co-moment update). Only differences of means enter,
        so no digits are lost.
        """
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        dy = other.mean_y - self.mean_y
        dx = other.mean_x - self.mean_x
        w = self.n * other.n / n
        return Moments(
            n=n,
            mean_y=self.mean_y + dy * other.n / n,
            m2_y=self.m2_y + other.m2_y + dy * dy * w,
            mean_x=self.mean_x + dx * other.n / n,
            m2_x=self.m2_x + other.m2_x + dx * dx * w,
            c_xy=self.c_xy + other.c_xy + dx * dy * w,
        )

    def _var(self, m2: float) -> float:
        return max(m2, 0.0) / (self.n - 1) if self.n > 1 else 0.0

    @property
    def var_y(self) -> float:
        """Sample variance of ``y`` (ddof = 1); 0 with fewer than two values."""
        return self._var(self.m2_y)

    @property
    def var_x(self) -> float:
        """Sample variance of the covariate (ddof = 1)."""
        return self._var(self.m2_x)

    @property
    def cov_xy(self) -> float:
        """Sample covariance of ``y`` and the covariate (ddof = 1)."""
        return self.c_xy / (self.n - 1) if self.n > 1 else 0.0

    def variant(self, name: str, kind: Kind) -> VariantStats:
        """The :mod:`stats.sufficient` record of this group for a metric of ``kind``."""
        if kind == "binary":
            return ProportionStats(name, self.n, round(self.mean_y * self.n))
        return MeanStats(name, self.n, self.mean_y, math.sqrt(self.var_y))

    def covariate(self, name: str) -> CovariateStats:
        """The :class:`stats.cuped.CovariateStats` of this group."""
        return CovariateStats(
            name, self.n, self.mean_y, self.mean_x, self.var_y, self.var_x, self.cov_xy
        )


def combine_all(moments: Iterable[Moments]) -> Moments:
    """Pairwise combination (:meth:`Moments.combine`) of any number of groups."""
    total = Moments(0, 0.0, 0.0)
    for m in moments:
        total = total.combine(m)
    return total


# --------------------------------------------------------------------------- columns


def label(value: object) -> str | None:
    """A group key as text, as :func:`sources.tabular.variant_labels` reads it: whole floats
    as integers (``1.0`` → ``"1"``), text stripped, blanks and NULL as None."""
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            value = int(value)
    text = str(value).strip()
    return text or None


def column(table: ir.Table, name: object, role: str) -> ir.Column:
    """The column ``name`` of ``table``, checked against its schema (never pasted into SQL).

    Raises :class:`SourceError` with ``field=role`` for a name that is not a column.
    """
    if not isinstance(name, str) or name not in table.schema():
        listed = ", ".join(table.columns[:20])
        raise SourceError(
            f"{role}: {name!r} is not a column of the table; the columns are {listed}",
            field=role,
        )
    return table[name]


def numeric(table: ir.Table, name: object, role: str) -> ir.FloatingColumn:
    """Column ``name`` as float64; booleans read as 0/1; other types are refused."""
    col = column(table, name, role)
    dtype = col.type()
    if dtype.is_boolean():
        col = col.cast("int8")
    elif not dtype.is_numeric():
        raise SourceError(f"{role}: column {name!r} holds {dtype}, not numbers", field=role)
    return col.cast("float64")


def _nonbinary(y: ir.FloatingColumn) -> ir.IntegerScalar:
    """How many values are neither 0 nor 1 (``y(y − 1) ≠ 0`` exactly when y ∉ {0, 1})."""
    return (y * (y - 1) != 0).ifelse(1, 0).sum()


def binary_from_moments(moments: Iterable[Moments], integer: bool) -> bool | None:
    """Whether every value is 0 or 1, when the groups' moments decide it; None when only a
    scan can tell (:func:`_nonbinary`), so that most reductions need no per-row test.

    ``D = Σ y(y − 1) = Σ_g [M2_g − n_g·ȳ_g(1 − ȳ_g)]`` (from ``M2 = Σy² − n·ȳ²``). For whole
    numbers every ``y(y − 1)`` is a non-negative even integer, so ``D`` is 0 (all 0/1) or at
    least 2. For real numbers a ``D`` clearly away from 0 proves some value is not 0/1; a
    ``D`` within rounding of 0 needs the scan (values inside and outside [0, 1] can cancel).
    Rounding is bounded by ``1e-9`` of ``Σ y² + Σ |y|``, far above float64's error in the
    engine's sums.
    """
    d = scale = 0.0
    for m in moments:
        if m.n:
            d += m.m2_y - m.n * m.mean_y * (1.0 - m.mean_y)
            scale += m.m2_y + m.n * (m.mean_y * m.mean_y + abs(m.mean_y))
    tol = 1e-9 * scale + 1e-12
    if integer and tol < 0.5:
        return d < 1.0
    return False if abs(d) > tol else None


# --------------------------------------------------------------------------- expressions


def metrics_expr(
    table: ir.Table,
    *,
    variant: str,
    metrics: Mapping[str, str | None],
    segment: str | None = None,
    suffixes: Sequence[str] | None = None,
) -> ir.Table:
    """Per variant (× segment), in one scan: ``rows`` and, for each metric (→ its covariate
    or None) with suffix ``s`` (default ``_0``, ``_1`` …): ``n{s}``, ``mean_y{s}``,
    ``var_y{s}`` and, with a covariate, ``mean_x{s}``, ``var_x{s}``, ``cov_xy{s}``.

    Rows with no variant are left out; ``rows`` counts the others and ``n`` those with a
    metric (and covariate) value. With a covariate, a row missing either value is left
    out of every moment of that metric, so all of them describe the same users.
    """
    suffixes = _suffixes(metrics, suffixes)
    t = _selected(table, variant=variant, metrics=metrics, segment=segment, suffixes=suffixes)
    aggs: dict[str, ir.Scalar] = {"rows": t.count()}
    for sfx, covariate in zip(suffixes, metrics.values(), strict=True):
        y = t["y" + sfx]
        aggs |= {"n" + sfx: y.count(), "mean_y" + sfx: y.mean(), "var_y" + sfx: y.var(how="sample")}
        if covariate is not None:
            x = t["x" + sfx]
            aggs |= {
                "mean_x" + sfx: x.mean(),
                "var_x" + sfx: x.var(how="sample"),
                "cov_xy" + sfx: y.cov(x, how="sample"),
            }
    keys = ["variant", "segment"] if segment is not None else ["variant"]
    return t.group_by(keys).aggregate(**aggs)


def _suffixes(metrics: Mapping[str, str | None], suffixes: Sequence[str] | None) -> list[str]:
    return [f"_{i}" for i in range(len(metrics))] if suffixes is None else list(suffixes)


def _selected(
    table: ir.Table,
    *,
    variant: str,
    metrics: Mapping[str, str | None],
    segment: str | None,
    suffixes: Sequence[str],
) -> ir.Table:
    """``variant`` [, ``segment``], ``y{s}`` [, ``x{s}``] of the rows with a variant."""
    cols: dict[str, ir.Value] = {"variant": column(table, variant, "variant")}
    if segment is not None:
        cols["segment"] = column(table, segment, "segment")
    for sfx, (metric, covariate) in zip(suffixes, metrics.items(), strict=True):
        y = numeric(table, metric, "metric")
        if covariate is not None:
            x = numeric(table, covariate, "covariate")
            null = ibis.null().cast("float64")
            cols["y" + sfx] = x.notnull().ifelse(y, null)
            cols["x" + sfx] = y.notnull().ifelse(x, null)
        else:
            cols["y" + sfx] = y
    t = table.select(**cols)
    return t.filter(t.variant.notnull())


def moments_expr(
    table: ir.Table,
    *,
    variant: str,
    metric: str,
    covariate: str | None = None,
    segment: str | None = None,
) -> ir.Table:
    """:func:`metrics_expr` of one metric, unsuffixed: ``rows``, ``n``, ``mean_y``,
    ``var_y`` [, ``mean_x``, ``var_x``, ``cov_xy``] per variant (× segment)."""
    return metrics_expr(
        table, variant=variant, metrics={metric: covariate}, segment=segment, suffixes=[""]
    )


def cells_expr(table: ir.Table, *, factor_a: str, factor_b: str, response: str) -> ir.Table:
    """Per cell of two factors: ``a``, ``b``, ``n``, ``mean_y``, ``var_y`` (DoE cell moments)."""
    t = table.select(
        a=column(table, factor_a, "factor_a"),
        b=column(table, factor_b, "factor_b"),
        y=numeric(table, response, "response"),
    )
    t = t.filter(t.a.notnull() & t.b.notnull() & t.y.notnull())
    return t.group_by(["a", "b"]).aggregate(
        n=t.count(), mean_y=t.y.mean(), var_y=t.y.var(how="sample")
    )


def _daily_selected(table: ir.Table, *, variant: str, metric: str, date: str) -> ir.Table:
    """``variant``, ``day``, ``y`` of the rows with all three."""
    d = column(table, date, "date")
    dtype = d.type()
    if not (dtype.is_temporal() or dtype.is_string()):
        raise SourceError(f"date: column {date!r} holds {dtype}, not dates", field="date")
    t = table.select(
        variant=column(table, variant, "variant"),
        day=d.cast("date") if not dtype.is_date() else d,
        y=numeric(table, metric, "metric"),
    )
    return t.filter(t.variant.notnull() & t.day.notnull() & t.y.notnull())


def daily_expr(table: ir.Table, *, variant: str, metric: str, date: str) -> ir.Table:
    """Per variant × day: ``variant``, ``day``, ``n``, ``mean_y``, ``var_y``.

    ``date`` is a date or timestamp column (its calendar day is used) or ISO date text.
    """
    t = _daily_selected(table, variant=variant, metric=metric, date=date)
    return t.group_by(["variant", "day"]).aggregate(
        n=t.count(), mean_y=t.y.mean(), var_y=t.y.var(how="sample")
    )


def fetch(expr: ir.Table, limit: int, what: str, field: str) -> list[dict[str, Any]]:
    """Run ``expr`` and return its rows as dicts; more than ``limit`` rows is an error."""
    rows: list[dict[str, Any]] = expr.limit(limit + 1).to_pyarrow().to_pylist()
    if len(rows) > limit:
        raise SourceError(
            f"{field}: more than {limit:,} {what}; is it the right column?", field=field
        )
    return rows


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Segment:
    """The per-variant statistics of one segment value (``name`` None for a missing one)."""

    name: str | None
    variants: tuple[VariantStats, ...] | tuple[RatioStats, ...]
    covariates: tuple[CovariateStats, ...] = ()


@dataclass(frozen=True, slots=True)
class SufficientStatistics:
    """Per-variant statistics of one metric, sorted by variant name.

    ``variants`` are :class:`ProportionStats` when ``kind`` is ``"binary"`` (every value 0 or
    1), else :class:`MeanStats`; ``covariates`` (with a covariate) feed :func:`stats.cuped.cuped`;
    ``segments`` (with a segment column) hold the same per segment value. ``rows`` counts the
    rows with a variant, ``dropped`` those of them left out for a missing value.
    """

    kind: Kind
    variants: tuple[VariantStats, ...]
    covariates: tuple[CovariateStats, ...]
    segments: tuple[Segment, ...]
    rows: int
    dropped: int
    warnings: tuple[str, ...] = ()


def _kind(
    kind: Kind | None,
    moments: Iterable[Moments],
    integer: bool,
    scan: Callable[[], int],
) -> Kind:
    """The metric's kind: ``kind`` if given (``"binary"`` is checked), else binary when
    every value is 0 or 1 (:func:`binary_from_moments`, then ``scan()`` if undecided)."""
    if kind not in (None, "binary", "continuous"):
        raise SourceError(f"kind must be 'binary' or 'continuous', got {kind!r}", field="kind")
    if kind == "continuous":
        return kind
    binary = binary_from_moments(moments, integer)
    nonbinary = 0 if binary else (scan() if binary is None or kind == "binary" else 1)
    if kind == "binary" and nonbinary:
        raise SourceError(
            f"metric: {nonbinary:,} values are neither 0 nor 1; a binary metric needs 0/1",
            field="metric",
        )
    return "continuous" if nonbinary else "binary"


def _scalar(expr: ir.Scalar) -> int:
    return int(expr.to_pyarrow().as_py() or 0)


def _is_integer(table: ir.Table, metric: str) -> bool:
    dtype = table.schema()[metric]
    return bool(dtype.is_integer() or dtype.is_boolean())


def _assemble(
    rows: Sequence[Mapping[str, Any]],
    suffix: str,
    *,
    covariate: bool,
    segment: bool,
    kind: Kind | None,
    integer: bool,
    scan: Callable[[], int],
) -> SufficientStatistics:
    """One metric's :class:`SufficientStatistics` from the grouped rows of a query."""
    by_variant: dict[str, list[Moments]] = {}
    cells: dict[str | None, dict[str, Moments]] = {}
    n_rows = 0
    for row in rows:
        name = label(row["variant"])
        if name is None:
            continue
        m = Moments.from_row(row, suffix)
        n_rows += int(row["rows"])
        by_variant.setdefault(name, []).append(m)
        if segment:
            cell = cells.setdefault(label(row["segment"]), {})
            cell[name] = cell.get(name, Moments(0, 0.0, 0.0)).combine(m)
    if len(by_variant) > MAX_VARIANTS:
        raise SourceError(f"variant: more than {MAX_VARIANTS} distinct values", field="variant")
    if len(cells) > MAX_SEGMENTS:
        raise SourceError(f"segment: more than {MAX_SEGMENTS} distinct values", field="segment")
    totals = {name: combine_all(by_variant[name]) for name in sorted(by_variant)}
    kind = _kind(kind, totals.values(), integer, scan)
    used = sum(m.n for m in totals.values())
    warnings: list[str] = []
    if n_rows > used:
        what = "metric or covariate" if covariate else "metric"
        warnings.append(f"{n_rows - used:,} rows without a {what} value are left out.")

    def covs(moments: Mapping[str, Moments]) -> tuple[CovariateStats, ...]:
        if not covariate:
            return ()
        return tuple(m.covariate(k) for k, m in moments.items() if m.n >= 2)

    segments = []
    for seg in sorted(cells, key=lambda s: (s is None, s or "")):
        ms = dict(sorted(cells[seg].items()))
        segments.append(Segment(seg, tuple(m.variant(k, kind) for k, m in ms.items()), covs(ms)))
    return SufficientStatistics(
        kind=kind,
        variants=tuple(m.variant(k, kind) for k, m in totals.items()),
        covariates=covs(totals),
        segments=tuple(segments),
        rows=n_rows,
        dropped=n_rows - used,
        warnings=tuple(warnings),
    )


def _reduce(
    table: ir.Table,
    *,
    variant: str,
    metrics: Mapping[str, str | None],
    segment: str | None,
    kinds: Mapping[str, Kind | None],
    suffixes: Sequence[str],
) -> dict[str, SufficientStatistics]:
    expr = metrics_expr(table, variant=variant, metrics=metrics, segment=segment, suffixes=suffixes)
    limit = MAX_VARIANTS * (MAX_SEGMENTS if segment is not None else 1)
    rows = fetch(expr, limit, "groups", "segment" if segment is not None else "variant")

    def scan(sfx: str) -> Callable[[], int]:
        def count() -> int:
            t = _selected(
                table, variant=variant, metrics=metrics, segment=segment, suffixes=suffixes
            )
            return _scalar(_nonbinary(t["y" + sfx]))

        return count

    return {
        metric: _assemble(
            rows,
            sfx,
            covariate=covariate is not None,
            segment=segment is not None,
            kind=kinds.get(metric),
            integer=_is_integer(table, metric),
            scan=scan(sfx),
        )
        for sfx, (metric, covariate) in zip(suffixes, metrics.items(), strict=True)
    }


def metrics_statistics(
    table: ir.Table,
    *,
    variant: str,
    metrics: Mapping[str, str | None] | Sequence[str],
    segment: str | None = None,
    kinds: Mapping[str, Kind | None] | None = None,
) -> dict[str, SufficientStatistics]:
    """:func:`sufficient_statistics` of several metrics in one scan of the table.

    ``metrics`` lists metric columns, or maps each to its covariate column (or None);
    ``kinds`` optionally forces a metric's kind. Returns one result per metric, in order.
    """
    if not isinstance(metrics, Mapping):
        metrics = dict.fromkeys(metrics)
    if not metrics:
        raise SourceError("metric: name at least one metric column", field="metric")
    return _reduce(
        table,
        variant=variant,
        metrics=metrics,
        segment=segment,
        kinds=kinds or {},
        suffixes=_suffixes(metrics, None),
    )


def sufficient_statistics(
    table: ir.Table,
    *,
    variant: str,
    metric: str,
    covariate: str | None = None,
    segment: str | None = None,
    kind: Kind | None = None,
) -> SufficientStatistics:
    """Reduce any Ibis table to per-variant (× segment) sufficient statistics, in one query.

    ``variant``, ``metric`` and optional ``covariate``/``segment`` name columns of
    ``table``; ``kind`` forces ``"binary"`` or ``"continuous"`` (default: binary when every
    value is 0 or 1; a second query checks that only when the moments cannot tell, see
    :func:`binary_from_moments`). From a notebook::

        con = ibis.duckdb.connect()          # or ibis.bigquery.connect(...), ...
        t = con.read_parquet("users.parquet")
        s = sufficient_statistics(t, variant="variant", metric="revenue", covariate="pre")
        stats.cuped.cuped(s.covariates, control="A")

    Raises :class:`SourceError` (``field`` = the role) for an unknown or non-numeric column,
    more than :data:`MAX_VARIANTS` variants or :data:`MAX_SEGMENTS` segments.
    """
    return _reduce(
        table,
        variant=variant,
        metrics={metric: covariate},
        segment=segment,
        kinds={metric: kind},
        suffixes=[""],
    )[metric]


# --------------------------------------------------------------------------- CUPED


def ratio_statistics(
    table: ir.Table, *, variant: str, numerator: str, denominator: str, segment: str | None = None
) -> tuple[tuple[RatioStats, ...], SufficientStatistics]:
    """A ratio metric per variant (revenue per order: ``numerator`` and ``denominator``
    columns, one row per user), in one query: the moments :func:`sufficient_statistics`
    takes of a metric and its covariate are exactly a ratio's (means, variances and the
    covariance of numerator and denominator), so each variant's become a
    :class:`stats.sufficient.RatioStats`. Variants with fewer than 2 complete rows are left
    out; also returns the reduction (rows, rows dropped, warnings). With ``segment`` the
    reduction's ``segments`` hold each segment's ratios, from the same query (an arm with
    denominators averaging 0 or less has no ratio and is left out of its segment, as
    :func:`sources.segments.ratio_segment_statistics` leaves it out of an upload's)."""
    s = sufficient_statistics(
        table,
        variant=variant,
        metric=numerator,
        covariate=denominator,
        segment=segment,
        kind="continuous",
    )
    segments = tuple(
        Segment(g.name, tuple(_ratio(c) for c in g.covariates if c.mean_x > 0)) for g in s.segments
    )
    return tuple(_ratio(c) for c in s.covariates), replace(s, segments=segments)


def _ratio(c: CovariateStats) -> RatioStats:
    """A group's metric and covariate moments as the ratio of the metric over the covariate."""
    return RatioStats(
        c.name, c.n, c.mean_y, c.mean_x, math.sqrt(c.var_y), math.sqrt(c.var_x), c.cov_xy
    )


def covariate_strata_expr(
    table: ir.Table, *, variant: str, metric: str, covariate: str, segment: str | None = None
) -> ir.Table:
    """Per variant × ``missing`` (the covariate is NULL) [× ``segment``]: ``rows``, ``n``
    (rows with a metric value), ``mean_y``, ``var_y`` and, over the users with both values,
    ``mean_x``, ``var_x``, ``cov_xy`` (NULL in the ``missing`` stratum). Rows with no variant
    (or, by segment, no segment) are left out.
    """
    columns = {
        "variant": column(table, variant, "variant"),
        "y": numeric(table, metric, "metric"),
        "x": numeric(table, covariate, "covariate"),
    }
    if segment is not None:
        columns["segment"] = column(table, segment, "segment")
    t = table.select(**columns)
    t = t.filter(t.variant.notnull())
    if segment is not None:
        t = t.filter(t.segment.notnull())
    t = t.mutate(missing=t.x.isnull(), x=t.y.notnull().ifelse(t.x, ibis.null().cast("float64")))
    keys = ["variant", "missing", *(["segment"] if segment is not None else [])]
    return t.group_by(keys).aggregate(
        rows=t.count(),
        n=t.y.count(),
        mean_y=t.y.mean(),
        var_y=t.y.var(how="sample"),
        mean_x=t.x.mean(),
        var_x=t.x.var(how="sample"),
        cov_xy=t.y.cov(t.x, how="sample"),
    )


@dataclass(frozen=True, slots=True)
class CupedMoments:
    """Per-arm moments :func:`stats.cuped.cuped_from_moments` takes, arms sorted by name.

    ``n``, ``mean_y``, ``var_y``; the covariate vector ``Z`` (``mean_z``, ``cov_zz``,
    ``cov_zy``): the covariate alone when no user lacks one, else ``[x_filled, missing]``
    with ``x_filled`` the covariate filled with its mean over the users who have one, as
    :func:`stats.cuped.cuped_rows` builds it; ``n_x``, ``mean_x``, ``var_x`` over the users
    who have a covariate (``mean_x`` NaN for an arm with none). ``rows`` counts the rows with
    a variant, ``dropped`` those of them without an outcome value (left out).
    """

    names: tuple[str, ...]
    n: tuple[int, ...]
    mean_y: tuple[float, ...]
    var_y: tuple[float, ...]
    mean_z: tuple[tuple[float, ...], ...]
    cov_zz: tuple[tuple[tuple[float, ...], ...], ...]
    cov_zy: tuple[tuple[float, ...], ...]
    n_x: tuple[int, ...]
    mean_x: tuple[float, ...]
    var_x: tuple[float, ...]
    rows: int
    dropped: int

    def arrays(self) -> dict[str, Any]:
        """The keyword arguments of :func:`stats.cuped.cuped_from_moments` but the control."""
        return {
            "names": self.names,
            "n": self.n,
            "mean_y": self.mean_y,
            "var_y": self.var_y,
            "mean_z": self.mean_z,
            "cov_zz": self.cov_zz,
            "cov_zy": self.cov_zy,
            "n_x": self.n_x,
            "mean_x": self.mean_x,
            "var_x": self.var_x,
        }


def cuped_moments(table: ir.Table, *, variant: str, metric: str, covariate: str) -> CupedMoments:
    """The moments :func:`stats.cuped.cuped_rows` computes from the rows, reduced in the
    engine: one query grouped by variant and by whether the covariate is missing
    (:func:`covariate_strata_expr`, ``var_samp``/``covar_samp`` only), then each arm's two
    strata combined here into the moments of ``Z = [x_filled, missing]``.

    Deng 2013 section 4.2 keeps users without pre-period data by stratifying on a
    missing-value indicator; :func:`stats.cuped.cuped_rows` does it as a regression on
    ``[x_filled, missing]`` with the covariate filled with its mean ``c``. Within an arm the
    missing stratum has ``x_filled = c`` and ``missing = 1`` (both constant), the other
    ``missing = 0``, so the pairwise update (:meth:`Moments.combine`: Chan, Golub & LeVeque
    1979; Bennett et al. 2009) gives every entry from the strata, with ``w = n_o·n_m / n``:
    ``M2_missing = w``, ``C(missing, y) = (ȳ_m − ȳ_o)·w``, ``C(x_filled, missing) =
    (c − x̄_o)·w``, and ``x_filled``'s own moments as the combination of the observed
    stratum with ``n_m`` copies of ``c``. Filling with the mean (rather than 0) keeps the
    two columns of ``Z`` far from collinear when the covariate's mean is large against its
    spread. Raises :class:`SourceError` as :func:`sufficient_statistics` does.
    """
    expr = covariate_strata_expr(table, variant=variant, metric=metric, covariate=covariate)
    return _cuped_arms(fetch(expr, 2 * MAX_VARIANTS, "groups", "variant"))


def segment_cuped_moments(
    table: ir.Table, *, variant: str, metric: str, covariate: str, segment: str
) -> dict[str, CupedMoments]:
    """:func:`cuped_moments` of each ``segment`` value's rows on their own (the covariate
    filled with the segment's mean, as the upload's segment adjusts its own rows), sorted by
    segment, in one query; rows without a segment are left out. At most
    :data:`MAX_SEGMENTS` segments."""
    expr = covariate_strata_expr(
        table, variant=variant, metric=metric, covariate=covariate, segment=segment
    )
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in fetch(expr, 2 * MAX_VARIANTS * MAX_SEGMENTS, "groups", "segment"):
        name = label(row["segment"])
        if name is not None:
            groups.setdefault(name, []).append(row)
    if len(groups) > MAX_SEGMENTS:
        raise SourceError(f"segment: more than {MAX_SEGMENTS} distinct values", field="segment")
    return {name: _cuped_arms(groups[name]) for name in sorted(groups)}


def _cuped_arms(rows: Iterable[Mapping[str, Any]]) -> CupedMoments:
    """Each arm's two strata (:func:`covariate_strata_expr`'s rows) combined into the
    moments of ``Z`` (:func:`cuped_moments`)."""
    observed: dict[str, Moments] = {}
    missing: dict[str, Moments] = {}
    n_rows = 0
    for row in rows:
        name = label(row["variant"])
        if name is None:
            continue
        n_rows += int(row["rows"])
        stratum = missing if row["missing"] else observed
        stratum[name] = stratum.get(name, Moments(0, 0.0, 0.0)).combine(Moments.from_row(row))
    names = sorted(observed.keys() | missing.keys())
    if len(names) > MAX_VARIANTS:
        raise SourceError(f"variant: more than {MAX_VARIANTS} distinct values", field="variant")
    empty = Moments(0, 0.0, 0.0)
    fill = combine_all(observed.values()).mean_x
    indicator = any(m.n for m in missing.values())
    n: list[int] = []
    n_x: list[int] = []
    mean_y: list[float] = []
    var_y: list[float] = []
    mean_x: list[float] = []
    var_x: list[float] = []
    mean_z: list[tuple[float, ...]] = []
    cov_zz: list[tuple[tuple[float, ...], ...]] = []
    cov_zy: list[tuple[float, ...]] = []
    for name in names:
        o, m = observed.get(name, empty), missing.get(name, empty)
        both = o.combine(Moments(m.n, m.mean_y, m.m2_y, mean_x=fill))
        dof = both.n - 1 if both.n > 1 else math.inf  # (co)variances 0 below two users
        n.append(both.n)
        mean_y.append(both.mean_y)
        var_y.append(both.var_y)
        n_x.append(o.n)
        mean_x.append(o.mean_x if o.n else math.nan)
        var_x.append(o.var_x)
        if not indicator:
            mean_z.append((both.mean_x,))
            cov_zz.append(((both.var_x,),))
            cov_zy.append((both.cov_xy,))
            continue
        w = o.n * m.n / both.n if both.n else 0.0
        c_xm = (fill - o.mean_x) * w if o.n else 0.0
        mean_z.append((both.mean_x, m.n / both.n if both.n else 0.0))
        cov_zz.append(((both.var_x, c_xm / dof), (c_xm / dof, w / dof)))
        cov_zy.append((both.cov_xy, (m.mean_y - o.mean_y) * w / dof))
    used = sum(n)
    return CupedMoments(
        tuple(names),
        tuple(n),
        tuple(mean_y),
        tuple(var_y),
        tuple(mean_z),
        tuple(cov_zz),
        tuple(cov_zy),
        tuple(n_x),
        tuple(mean_x),
        tuple(var_x),
        rows=n_rows,
        dropped=n_rows - used,
    )


def ratio_cuped_moments(
    table: ir.Table, *, variant: str, columns: Sequence[str], roles: Sequence[str]
) -> tuple[RatioCovariateStats, ...]:
    """Per arm (sorted by name) the ``n``, means and 4 × 4 sample covariance (ddof = 1) of a
    ratio CUPED's four per-user ``columns`` (:data:`stats.cuped_ratio.COLUMNS`: numerator,
    denominator, pre-period numerator and denominator), in one query of ``avg``,
    ``var_samp`` and ``covar_samp`` (stable single-pass updates, module docstring): what
    :meth:`stats.cuped_ratio.RatioCovariateStats.from_rows` computes from the rows. Rows
    without a variant are left out; as the upload refuses a missing value (every user needs
    all four), a NULL in any column raises :class:`SourceError` naming its role in ``roles``,
    as does an arm with fewer than 2 users."""
    values = [numeric(table, c, r) for c, r in zip(columns, roles, strict=True)]
    t = table.select(
        variant=column(table, variant, "variant"), **{f"v{i}": v for i, v in enumerate(values)}
    )
    t = t.filter(t.variant.notnull())
    k = len(values)
    stats: dict[str, Any] = {"n": t.count()}
    for i in range(k):
        stats[f"null{i}"] = t[f"v{i}"].isnull().sum()
        stats[f"mean{i}"] = t[f"v{i}"].mean()
        for j in range(i, k):
            a, b = t[f"v{i}"], t[f"v{j}"]
            stats[f"c{i}{j}"] = a.var(how="sample") if i == j else a.cov(b, how="sample")
    rows = fetch(t.group_by("variant").aggregate(**stats), MAX_VARIANTS, "variants", "variant")
    for i, role in enumerate(roles):
        nulls = sum(int(row[f"null{i}"] or 0) for row in rows)
        if nulls:
            raise SourceError(
                f"{role}: {nulls:,} rows have no value; every user needs all four values of a "
                "ratio CUPED (leave them out of the table, or fill them in)",
                field=role,
            )
    arms: dict[str, RatioCovariateStats] = {}
    for row in rows:
        name = label(row["variant"])
        if name is None:
            continue
        if name in arms:
            raise SourceError(f"variant: {name!r} is spelt two ways", field="variant")
        n = int(row["n"])
        if n < 2:
            raise SourceError(f"variant: {name!r} has {n} user; at least 2", field="variant")
        cov = tuple(
            tuple(float(row[f"c{min(i, j)}{max(i, j)}"]) for j in range(k)) for i in range(k)
        )
        y, d, x, m = (float(row[f"mean{i}"]) for i in range(k))
        arms[name] = RatioCovariateStats(name, n, (y, d, x, m), cov)
    return tuple(arms[name] for name in sorted(arms))


# --------------------------------------------------------------------------- DoE


@dataclass(frozen=True, slots=True)
class CellMoments:
    """Observations, mean and sample variance (ddof = 1; 0 for one observation) of one cell
    of a two-factor design: what a cell-means two-way ANOVA needs (Montgomery, *Design and
    Analysis of Experiments*, 8th ed., §5.3: ``SS_E = Σ_ij (n_ij − 1)·s²_ij``)."""

    a: str
    b: str
    n: int
    mean: float
    var: float


def cell_moments(
    table: ir.Table, *, factor_a: str, factor_b: str, response: str
) -> tuple[CellMoments, ...]:
    """Per-cell moments of ``response`` by the levels of ``factor_a`` × ``factor_b``,
    sorted by level text. At most :data:`MAX_LEVELS` levels per factor."""
    expr = cells_expr(table, factor_a=factor_a, factor_b=factor_b, response=response)
    rows = fetch(expr, MAX_LEVELS * MAX_LEVELS, "cells", "factor_a")
    cells: dict[tuple[str, str], Moments] = {}
    for row in rows:
        a, b = label(row["a"]), label(row["b"])
        if a is not None and b is not None:
            m = cells.get((a, b), Moments(0, 0.0, 0.0))
            cells[a, b] = m.combine(Moments.from_row(row))
    for i, role in enumerate(("factor_a", "factor_b")):
        levels = {key[i] for key in cells}
        if len(levels) > MAX_LEVELS:
            raise SourceError(f"{role}: more than {MAX_LEVELS} levels", field=role)
    return tuple(CellMoments(a, b, m.n, m.mean_y, m.var_y) for (a, b), m in sorted(cells.items()))


# --------------------------------------------------------------------------- per day


@dataclass(frozen=True, slots=True)
class Daily:
    """Cumulative per-variant statistics at the end of each day (``periods`` as
    ``YYYY-MM-DD``; ``by_period[t]`` holds every row dated on or before ``periods[t]``).
    Days before every variant has two users are left out."""

    kind: Kind
    periods: tuple[str, ...]
    by_period: tuple[tuple[VariantStats, ...], ...]


def daily_statistics(
    table: ir.Table, *, variant: str, metric: str, date: str, kind: Kind | None = None
) -> Daily:
    """Per-day counts per variant in the engine, accumulated here (:meth:`Moments.combine`)
    into the cumulative statistics the Bayesian expected-loss-over-time chart needs."""
    expr = daily_expr(table, variant=variant, metric=metric, date=date)
    rows = fetch(expr, MAX_VARIANTS * MAX_DAYS, "variant-days", "date")
    days: dict[str, dict[str, Moments]] = {}
    for row in rows:
        name = label(row["variant"])
        if name is not None:
            on_day = days.setdefault(str(row["day"])[:10], {})
            on_day[name] = on_day.get(name, Moments(0, 0.0, 0.0)).combine(Moments.from_row(row))
    if len(days) > MAX_DAYS:
        raise SourceError(f"date: more than {MAX_DAYS:,} distinct days", field="date")

    def scan() -> int:
        t = _daily_selected(table, variant=variant, metric=metric, date=date)
        return _scalar(_nonbinary(t.y))

    moments = [m for d in days.values() for m in d.values()]
    kind = _kind(kind, moments, _is_integer(table, metric), scan)
    running: dict[str, Moments] = {}
    periods: list[str] = []
    by_period: list[tuple[VariantStats, ...]] = []
    for day in sorted(days):
        for name, m in days[day].items():
            running[name] = running.get(name, Moments(0, 0.0, 0.0)).combine(m)
        if len(running) >= 2 and all(m.n >= 2 for m in running.values()):
            periods.append(day)
            by_period.append(tuple(running[k].variant(k, kind) for k in sorted(running)))
    return Daily(kind, tuple(periods), tuple(by_period))


def first_rows(table: ir.Table, columns: Sequence[str], limit: int) -> Any:
    """The ``columns`` of at most ``limit + 1`` rows as an Arrow table, so a caller that
    reads rows (not moments) can tell a table over its ``limit`` without reading all of it."""
    return table.select(*dict.fromkeys(columns)).limit(limit + 1).to_pyarrow()
