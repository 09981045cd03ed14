"""An upload's rows reduced to sufficient statistics per segment and variant.

The same :class:`sources.reduce.Segment` a configured source gives (:func:`sources.reduce.
metrics_statistics` with ``segment``), from an uploaded row-per-user table: one
``numpy.bincount`` pass over the (segment, variant) codes. Rows with a blank variant,
segment or metric cell are left out (the metric's own summary reports its blanks).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sources.reduce import MAX_SEGMENTS, Segment
from sources.tabular import (
    Kind,
    Table,
    binary_values,
    factorize_labels,
    numeric_values,
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
    labels = variant_labels(table.column(variant))
    groups, seg_uniques = segment_codes(table, segment)
    values = table.column(metric)
    x = binary_values(values, metric) if kind == "binary" else numeric_values(values, metric)
    keep = labels.notna().to_numpy() & (groups >= 0) & ~np.isnan(x)
    codes, names = factorize_labels(labels[keep], variant)
    seg_codes = groups[keep]
    x = x[keep]
    cell = seg_codes * len(names) + codes
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
