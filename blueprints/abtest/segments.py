"""The A/B analysis by segment: when a ``segment`` column is mapped, each treatment against
control within each segment value (:func:`stats.segments.compare_segments`), for an upload
(:func:`sources.segments.segment_statistics`) or a configured source (the segment grouping of
:func:`sources.reduce.metrics_statistics`).

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
from sources.segments import segment_statistics
from sources.tabular import Kind, Table
from stats.abtest import Analysis
from stats.sufficient import MeanStats, ProportionStats


def by_segment(
    column: str,
    segments: Sequence[Segment],
    pooled: Sequence[ProportionStats] | Sequence[MeanStats],
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
    pooled: Sequence[ProportionStats] | Sequence[MeanStats],
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
                f"{field} must describe the same metric as variants "
                "(users and conversions, or users, mean and sd).",
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
    kind: Kind,
    pooled: Sequence[ProportionStats] | Sequence[MeanStats],
    analysis: Analysis,
    options: dict[str, Any],
) -> SegmentsOutcome:
    """The segment analysis of an uploaded row-per-user table."""
    with stats_errors(), csv_errors():
        segments = segment_statistics(
            table, variant=variant, metric=metric, kind=kind, segment=column
        )
    return by_segment(
        column, segments, pooled, analysis, options["correction"], options["direction"]
    )
