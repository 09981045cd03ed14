"""An upload's rows reduced to sufficient statistics per segment and variant.

The same :class:`sources.reduce.Segment` a configured source gives (:func:`sources.reduce.
metrics_statistics` with ``segment``), from an uploaded row-per-user table: one
``numpy.bincount`` pass over the (segment, variant) codes. Rows with a blank variant,
segment or metric cell are left out (the metric's own summary reports its blanks).
"""

from __future__ import annotations

import dataclasses
from typing import cast

import numpy as np
import pandas as pd

from sources.reduce import MAX_SEGMENTS, Moments, Segment
from sources.tabular import (
    Kind,
    Roles,
    Summary,
    Table,
    binary_values,
    factorize_labels,
    numeric_values,
    ratio_cells,
    summarize_aggregates,
    variant_labels,
)
from sources.upload import CSVError
from stats.sufficient import MeanStats, ProportionStats


def segment_statistics(
    table: Table, *, variant: str, metric: str, kind: Kind, segment: str
) -> tuple[Segment, ...]:
    """Per segment value (sorted), the per-variant statistics of ``metric``: users and
    conversions (binary) or n, mean and sd (continuous, from sums of values shifted by the
    overall mean, as :func:`sources.tabular.summarize` does). Raises :class:`CSVError`
    naming the segment column when it has more than :data:`MAX_SEGMENTS` values."""
    values = table.column(metric)
    x = binary_values(values, metric) if kind == "binary" else numeric_values(values, metric)
    cell, names, seg_uniques, (x,) = _cells(table, variant, segment, x)
    size = len(seg_uniques) * len(names)
    n = np.bincount(cell, minlength=size).reshape(-1, len(names))
    found = []
    if kind == "binary":
        conv = np.rint(np.bincount(cell, weights=x, minlength=size)).reshape(n.shape)
        for s, seg in enumerate(seg_uniques):
            arms = tuple(
                ProportionStats(name, int(n[s, v]), int(conv[s, v]))
                for v, name in enumerate(names)
                if n[s, v]
            )
            found.append(Segment(str(seg), arms))
        return tuple(found)
    shift = float(x.mean()) if x.size else 0.0
    d = x - shift
    s1 = np.bincount(cell, weights=d, minlength=size).reshape(n.shape)
    s2 = np.bincount(cell, weights=d * d, minlength=size).reshape(n.shape)
    for s, seg in enumerate(seg_uniques):
        arms_m = []
        for v, name in enumerate(names):
            if n[s, v]:
                m = MeanStats.from_sums(name, int(n[s, v]), s1[s, v], s2[s, v])
                arms_m.append(MeanStats(name, m.n, m.mean + shift, m.sd))
        found.append(Segment(str(seg), tuple(arms_m)))
    return tuple(found)


def ratio_segment_statistics(
    table: Table, *, variant: str, numerator: str, denominator: str, segment: str
) -> tuple[Segment, ...]:
    """Per segment value (sorted), each variant's ratio metric (``numerator`` over
    ``denominator``, one row per user) as :func:`sources.tabular.summarize_ratio` reduces
    it, from one ``numpy.bincount`` per sum over the (segment, variant) cells. An arm
    without a ratio in a segment (fewer than 2 users, or denominators averaging 0 or less)
    is left out of that segment. Raises :class:`CSVError` as :func:`segment_statistics`."""
    x = numeric_values(table.column(numerator), numerator)
    y = numeric_values(table.column(denominator), denominator)
    cell, names, seg_uniques, (x, y) = _cells(table, variant, segment, x, y)
    k = len(names)
    cells = ratio_cells(cell, x, y, len(seg_uniques) * k)
    return tuple(
        Segment(
            str(seg),
            tuple(
                cells.stats(s * k + v, name)
                for v, name in enumerate(names)
                if cells.defined(s * k + v)
            ),
        )
        for s, seg in enumerate(seg_uniques)
    )


def _cells(
    table: Table, variant: str, segment: str, *values: np.ndarray
) -> tuple[np.ndarray, list[str], list[str], tuple[np.ndarray, ...]]:
    """The rows with a variant, a segment and every one of ``values``: each row's cell code
    (segment × variants + variant), the variant names, the segment names and ``values`` of
    those rows."""
    labels = variant_labels(table.column(variant))
    groups, seg_uniques = segment_codes(table, segment)
    keep = labels.notna().to_numpy() & (groups >= 0)
    for v in values:
        keep &= ~np.isnan(v)
    codes, names = factorize_labels(labels[keep], variant)
    return groups[keep] * len(names) + codes, names, seg_uniques, tuple(v[keep] for v in values)


def segment_codes(table: Table, segment: str) -> tuple[np.ndarray, list[str]]:
    """Each row's segment as a code into the sorted segment names (−1 for a blank cell).
    Raises :class:`CSVError` naming ``segment`` for more than :data:`MAX_SEGMENTS` values."""
    if segment not in table.columns:
        raise CSVError(
            f"segment column {segment!r} not found; the columns are {', '.join(table.columns)}",
            field="segment",
        )
    codes, uniques = pd.factorize(variant_labels(table.column(segment)), sort=True)
    if len(uniques) > MAX_SEGMENTS:
        raise CSVError(
            f"segment column {segment!r} has {len(uniques):,} distinct values; at most "
            f"{MAX_SEGMENTS} segments are supported (is it an id column?)",
            field="segment",
        )
    return np.asarray(codes), [str(u) for u in uniques]


def aggregate_segments(
    table: Table, roles: Roles, segment: str
) -> tuple[Summary, tuple[Segment, ...]]:
    """A table of aggregates with one row per variant and segment (``users`` with
    ``conversions``, or ``users``, ``mean`` and ``sd``): each segment's rows read by
    :func:`sources.tabular.summarize_aggregates` (errors keep the table's row numbers), and
    the per-variant totals over the segments (sorted by name, as a row-level summary):
    summed users and conversions, or the pooled n, mean and sd of
    :meth:`sources.reduce.Moments.combine` (Chan, Golub & LeVeque 1979), which is what the
    row-level data of every segment together would give."""
    groups, names = segment_codes(table, segment)
    if not names:
        raise CSVError(f"segment column {segment!r} has no values", field=segment)
    if (groups < 0).any():
        row = int(np.flatnonzero(groups < 0)[0]) + 1
        raise CSVError(
            f"row {row}, column {segment!r}: the segment cell is blank", field=segment, row=row
        )
    found = []
    for s, name in enumerate(names):
        rows = np.flatnonzero(groups == s)
        part = dataclasses.replace(table, arrow=table.arrow.take(rows), _pandas={}, cache={})
        try:
            summary = summarize_aggregates(part, roles)
        except CSVError as exc:
            at = None if exc.row is None else int(rows[exc.row - 1]) + 1
            message = str(exc).replace(f"row {exc.row},", f"row {at},", 1)
            raise CSVError(f"{message} (segment {name!r})", field=exc.field, row=at) from None
        found.append(
            Segment(name, cast("tuple[ProportionStats | MeanStats, ...]", summary.variants))
        )
    totals: dict[str, Moments] = {}
    for seg in found:
        for v in seg.variants:
            if isinstance(v, ProportionStats):
                m = Moments(v.users, v.conversions / v.users if v.users else 0.0, 0.0)
            else:
                m = Moments(v.n, v.mean, v.sd * v.sd * max(v.n - 1, 0))
            totals[v.name] = totals.get(v.name, Moments(0, 0.0, 0.0)).combine(m)
    kind = summary.kind
    variants = tuple(totals[k].variant(k, cast(Kind, kind)) for k in sorted(totals))
    pooled = Summary(metric=summary.metric, kind=kind, variants=variants, n_rows=table.n_rows)  # type: ignore[arg-type]
    return pooled, tuple(found)
