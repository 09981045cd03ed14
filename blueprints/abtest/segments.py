"""The A/B analysis by segment: when a ``segment`` column is mapped, each treatment against
control within each segment value (:func:`stats.segments.compare_segments`), for an upload
(:func:`sources.segments.segment_statistics`; a ratio metric's
:func:`sources.segments.ratio_segment_statistics`) or a configured source (the segment
grouping of :func:`sources.reduce.metrics_statistics`, or of
:func:`sources.reduce.ratio_statistics`).

The answer adds ``result.segments`` (one row per treatment and segment, the fields of
``/api/segments`` with ``variant`` and ``control``), ``result.heterogeneity`` (one per
treatment) and ``result.segment_analyses`` (per treatment: the stratified, pooled and
hierarchical overall effects and τ); a ``segments`` forest plot; a sentence per treatment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from blueprints._api import stats_errors, unprocessable
from blueprints._upload import csv_errors
from blueprints.abtest.models import Segment as TypedSegment
from blueprints.abtest.models import Variant
from blueprints.segments.outcome import EMPTY as EMPTY  # the answer's fields without segments
from blueprints.segments.outcome import SegmentsOutcome, segments_outcome
from sources.reduce import Segment
from sources.segments import ratio_segment_statistics, segment_statistics
from sources.tabular import Kind, Table
from stats.abtest import Analysis
from stats.segments import Arms


def by_segment(
    column: str,
    segments: Sequence[Segment],
    pooled: Arms,
    analysis: Analysis,
    correction: Any,
    direction: Any,
) -> SegmentsOutcome:
    """Each treatment of ``analysis`` against its control within each segment value
    (:func:`blueprints.segments.outcome.segments_outcome`)."""
    return segments_outcome(
        column,
        segments,
        pooled,
        control=analysis.control,
        alpha=analysis.alpha,
        correction=correction,
        direction=direction,
    )


def typed_segments(
    segments: Sequence[TypedSegment] | None,
    parse: Callable[[Sequence[Variant] | None, str], Sequence[Any]],
    pooled: Arms,
    analysis: Analysis,
    options: dict[str, Any],
) -> SegmentsOutcome | None:
    """Typed per-segment summaries: ``segments: [{name, variants: [...]}]``, each segment's
    variants as the top-level ``variants`` (which stay the totals the main analysis uses);
    ``None`` without them. The request model caps their number at
    :data:`sources.reduce.MAX_SEGMENTS`."""
    if segments is None:
        return None
    found = []
    for i, item in enumerate(segments):
        field = f"segments[{i}].variants"
        variants = parse(item.variants, field)
        if type(variants[0]) is not type(pooled[0]):
            unprocessable(
                field,
                f"{field} must describe the same metric as variants (users and "
                "conversions; users, mean and sd; or a ratio's users and moments).",
            )
        found.append(Segment(item.name, tuple(variants)))
    return by_segment(
        "segment", found, pooled, analysis, options["correction"], options["direction"]
    )


def upload_segments(
    table: Table,
    column: str,
    *,
    variant: str,
    metric: str,
    kind: Kind | None,
    pooled: Arms,
    analysis: Analysis,
    options: dict[str, Any],
    ratio: tuple[str, str] | None = None,
) -> SegmentsOutcome:
    """The segment analysis of an uploaded row-per-user table: of ``metric`` (of ``kind``),
    or of the ratio of the ``ratio`` columns (numerator, denominator)."""
    with stats_errors(), csv_errors():
        if ratio is not None:
            segments = ratio_segment_statistics(
                table, variant=variant, numerator=ratio[0], denominator=ratio[1], segment=column
            )
        else:
            assert kind is not None
            segments = segment_statistics(
                table, variant=variant, metric=metric, kind=kind, segment=column
            )
    return by_segment(
        column, segments, pooled, analysis, options["correction"], options["direction"]
    )
