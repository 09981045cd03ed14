"""The Bayesian analysis by segment: with a ``segment`` column on row-level data (a CSV or a
configured source's table) and a conversion or mean metric, each variant against control within each segment, with the
hierarchical normal model across segments (:func:`stats.segments.compare_segments`: its
P(effect > 0) per segment is the posterior probability under partial pooling), answered as
the A/B analyzer does (:class:`blueprints.segments.outcome.SegmentsOutcome`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from blueprints._api import stats_errors, unprocessable
from blueprints._upload import csv_errors
from blueprints.bayesian.data import KIND, CsvRecords
from blueprints.segments.outcome import SegmentsOutcome, segments_outcome
from sources.reduce import Segment
from sources.segments import segment_statistics
from sources.tabular import Table
from stats.vocabulary import METRICS


def by_segment(
    column: str,
    data: CsvRecords,
    metric: str,
    pooled: Sequence[Any],
    control: str,
    higher_is_better: bool,
    table: Table | None = None,
) -> SegmentsOutcome:
    """Each treatment against ``control`` within each segment value of ``column``, at 95%:
    an upload's rows reduced per segment (``table``), or a source's segments reduced with its
    totals (``data.segments``, :func:`blueprints.bayesian.data.source_records`)."""
    if data.source.layout != "users" or metric not in METRICS:
        unprocessable(
            "segment",
            "segment needs one row per user and a conversion or mean metric (count and "
            "revenue are not analysed by segment).",
        )
    if column in (data.source.variant, data.source.value):
        unprocessable("segment", f"segment column {column!r} is the variant or metric column.")
    segments = data.segments
    if table is not None:
        with stats_errors(), csv_errors():
            segments = segment_statistics(
                table,
                variant=data.source.variant,
                metric=data.source.value,
                kind=KIND[metric],
                segment=column,
            )
    return pooled_outcome(column, segments, pooled, control, higher_is_better)


def pooled_outcome(
    column: str,
    segments: Sequence[Segment],
    pooled: Sequence[Any],
    control: str,
    higher_is_better: bool,
) -> SegmentsOutcome:
    """Each treatment against ``control`` within each of ``segments``, at 95%, pooled across
    them (:func:`blueprints.segments.outcome.segments_outcome`)."""
    return segments_outcome(
        column,
        segments,
        pooled,
        control=control,
        alpha=0.05,
        direction="higher" if higher_is_better else "lower",
    )
