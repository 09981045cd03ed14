"""CUPED by segment: with a ``segment`` column on row-level data, each segment's rows are
adjusted on their own (CUPED, or Lin's regression with several covariates: θ within the
segment) and each treatment's adjusted difference across segments goes through
:func:`stats.segments.compare_adjusted` — per-segment results, heterogeneity, partial pooling
and the Simpson check, answered as the A/B analyzer does
(:class:`blueprints.segments.outcome.SegmentsOutcome`)."""

from __future__ import annotations

from collections.abc import Callable

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
    require_segments(column, len(names))
    per_segment: list[tuple[str, tuple[Comparison, ...]]] = []
    for s, name in enumerate(names):
        try:
            adjusted = fit(codes == s)
        except ValueError:  # stats' InvalidInput: this segment alone cannot be adjusted
            per_segment.append((name, ()))
            continue
        per_segment.append((name, tuple(c.adjusted for c in adjusted.comparisons)))
    with stats_errors():
        comparisons = compare_adjusted(
            per_segment, [c.adjusted for c in whole.comparisons], alpha=alpha
        )
    return SegmentsOutcome(column, comparisons, proportions=False)
