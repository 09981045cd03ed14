"""CUPED by segment: with a ``segment`` column on row-level data (or typed per-segment
summaries), each segment is adjusted on its own (CUPED, or Lin's regression with several
covariates: θ within the segment) and each treatment's adjusted difference across segments
goes through
:func:`stats.segments.compare_adjusted` — per-segment results, heterogeneity, partial pooling
and the Simpson check, answered as the A/B analyzer does
(:class:`blueprints.segments.outcome.SegmentsOutcome`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np

from blueprints._api import stats_errors
from blueprints._upload import csv_errors
from blueprints.segments.outcome import SegmentsOutcome, require_segments
from sources.segments import segment_codes
from sources.tabular import Table
from stats.comparisons import Comparison
from stats.cuped import CupedResult, RegressionAdjustmentResult
from stats.segments import compare_adjusted

Fit = Callable[[np.ndarray], CupedResult | RegressionAdjustmentResult]
"""The adjustment of the rows a boolean mask selects."""


def by_segment(
    table: Table,
    column: str,
    whole: CupedResult | RegressionAdjustmentResult,
    fit: Fit,
    alpha: float,
) -> SegmentsOutcome:
    """``fit`` on each segment's rows; a segment whose rows cannot be adjusted (an arm with
    too few users there, no variation) is left out and named. Fewer than 2 segment values is
    a 422 naming ``segment``."""
    with stats_errors(), csv_errors():
        codes, names = segment_codes(table, column)
    fits = [(name, partial(fit, codes == s)) for s, name in enumerate(names)]
    return adjusted_segments(column, fits, whole, alpha)


def adjusted_segments(
    column: str,
    fits: Sequence[tuple[str, Callable[[], CupedResult | RegressionAdjustmentResult]]],
    whole: CupedResult | RegressionAdjustmentResult,
    alpha: float,
) -> SegmentsOutcome:
    """Each segment's adjustment (``fits``: its name and the call that adjusts it; one that
    raises is left out and named) compared across segments
    (:func:`stats.segments.compare_adjusted`). Fewer than 2 segments is a 422 naming
    ``segment``."""
    require_segments(column, len(fits))
    per_segment: list[tuple[str, tuple[Comparison, ...]]] = []
    for name, adjust in fits:
        try:
            adjusted = adjust()
        except ValueError:  # stats' InvalidInput: this segment alone cannot be adjusted
            per_segment.append((name, ()))
            continue
        per_segment.append((name, tuple(c.adjusted for c in adjusted.comparisons)))
    with stats_errors():
        comparisons = compare_adjusted(
            per_segment, [c.adjusted for c in whole.comparisons], alpha=alpha
        )
    return SegmentsOutcome(column, comparisons, proportions=False)
