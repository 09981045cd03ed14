"""A continuous metric's distribution per variant, binned for a chart.

A million rows must not travel to the browser: :func:`binned_distribution` turns them into
shared histogram bins (counts and within-variant shares) and a few quantiles per variant for
a box summary, in one vectorised pass (``numpy.bincount`` over variant × bin codes).
:func:`sources.tabular.table_distribution` reads the columns of an uploaded table first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from stats.errors import InvalidInput
from stats.warnings import Code, ResultWarning, warning

QUANTILE_LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)
MAX_BINS = 200
_BLOCK = 1 << 18
"""Values binned at a time (bounds the index arrays to ~2 MB whatever the row count)."""


@dataclass(frozen=True, slots=True)
class VariantDistribution:
    """One variant's binned counts, their shares of its ``n`` values, mean and quantiles
    (at :data:`QUANTILE_LEVELS`, numpy's default linear interpolation, Hyndman & Fan 1996
    type 7)."""

    name: str
    n: int
    mean: float
    counts: tuple[int, ...]
    shares: tuple[float, ...]
    quantiles: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Distribution:
    """Shared bins (``edges``, ``centers``) and one :class:`VariantDistribution` per variant.

    With a long tail (the values above the ``upper_quantile`` span more than those below
    it) the top edge is that quantile, so a few extreme values do not squeeze every other
    bar into the first bin; ``clipped`` values above it are counted in the last bin (a
    warning says how many). Otherwise the top edge is the maximum.
    """

    metric: str
    edges: tuple[float, ...]
    centers: tuple[float, ...]
    quantile_levels: tuple[float, ...]
    variants: tuple[VariantDistribution, ...]
    clipped: int
    warnings: tuple[ResultWarning, ...] = ()


def binned_distribution(
    values: ArrayLike,
    codes: ArrayLike,
    names: Sequence[str],
    *,
    metric: str = "metric",
    bins: int = 30,
    upper_quantile: float = 0.995,
) -> Distribution:
    """Histogram of ``values`` per variant (``codes`` index ``names``) on shared bins.

    Bins are equal-width from the minimum to the ``upper_quantile`` of all values when the
    data has a long tail, else to the maximum (see :class:`Distribution`); a constant metric gets one unit-wide bin range
    around its value, as ``numpy.histogram`` does. NaN values must be removed beforehand.
    """
    x = np.asarray(values, dtype=float)
    g = np.asarray(codes)
    if g.dtype.kind not in "iu":  # integer codes are kept as they come (int8 for 2M rows: 2 MB)
        g = g.astype(np.intp)
    if x.shape != g.shape or x.ndim != 1:
        raise InvalidInput(
            f"codes must have the same length as values ({x.size}), got {g.size}", field="codes"
        )
    if not 1 <= bins <= MAX_BINS:
        raise InvalidInput(f"bins must be in [1, {MAX_BINS}], got {bins!r}", field="bins")
    if not 0.5 < upper_quantile <= 1:
        raise InvalidInput(
            f"upper_quantile must be in (0.5, 1], got {upper_quantile!r}", field="upper_quantile"
        )
    if x.size == 0:
        raise InvalidInput("values must hold at least one number, got none", field="values")
    if not np.all(np.isfinite(x)):
        raise InvalidInput("values must be finite numbers (drop blanks first)", field="values")
    k = len(names)
    if g.min() < 0 or g.max() >= k:
        raise InvalidInput(f"codes must be in [0, {k - 1}] (one per name)", field="codes")
    low, top = float(x.min()), float(x.max())
    high = float(np.quantile(x, upper_quantile)) if upper_quantile < 1 else top
    if not low < high or top - high <= high - low:
        high = top  # no long tail: the quantile would only cut off ordinary values
    if high <= low:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, bins + 1)
    flat = np.zeros(k * bins, dtype=np.intp)
    for start in range(0, x.size, _BLOCK):  # a block at a time: no row-sized index arrays
        idx = np.searchsorted(edges, x[start : start + _BLOCK], side="right")
        idx -= 1  # in place: one array, not four
        np.clip(idx, 0, bins - 1, out=idx)
        idx += g[start : start + _BLOCK].astype(np.intp) * bins
        flat += np.bincount(idx, minlength=k * bins)
    counts = flat.reshape(k, bins)
    n = counts.sum(axis=1)
    clipped = int((x > high).sum())
    variants = []
    for j, name in enumerate(names):
        own = x[g == j]
        shares = counts[j] / n[j] if n[j] else np.zeros(bins)
        quantiles = (
            np.quantile(own, QUANTILE_LEVELS) if own.size else np.full(len(QUANTILE_LEVELS), np.nan)
        )
        variants.append(
            VariantDistribution(
                name=str(name),
                n=int(n[j]),
                mean=float(own.mean()) if own.size else float("nan"),
                counts=tuple(int(c) for c in counts[j]),
                shares=tuple(float(s) for s in shares),
                quantiles=tuple(float(q) for q in quantiles),
            )
        )
    warnings: tuple[ResultWarning, ...] = ()
    if clipped:
        warnings = (
            warning(
                Code.VALUES_CLIPPED,
                f"{clipped:,} {'value' if clipped == 1 else 'values'} of {metric!r} above {high:.4g} (the top "
                f"{1 - upper_quantile:.1%}) are counted in the last bar of the distribution chart",
            ),
        )
    return Distribution(
        metric=metric,
        edges=tuple(float(e) for e in edges),
        centers=tuple(float(c) for c in (edges[:-1] + edges[1:]) / 2),
        quantile_levels=QUANTILE_LEVELS,
        variants=tuple(variants),
        clipped=clipped,
        warnings=warnings,
    )
