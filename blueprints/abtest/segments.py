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
from dataclasses import asdict, dataclass
from typing import Any

from blueprints._api import Fields, stats_errors, unprocessable
from blueprints._upload import csv_errors
from blueprints.segments.figures import forest
from blueprints.segments.readout import readout as segment_readout
from sources.reduce import MAX_SEGMENTS, Segment
from sources.segments import segment_statistics
from sources.tabular import Kind, Table
from stats._text import points, sig
from stats.abtest import Analysis
from stats.segments import SegmentComparison, compare_segments
from stats.sufficient import MeanStats, ProportionStats
from stats.warnings import Code, ResultWarning, warning


@dataclass(frozen=True, slots=True)
class SegmentsOutcome:
    """The segment column and each treatment's comparison by segment."""

    column: str
    comparisons: tuple[SegmentComparison, ...]
    proportions: bool

    @property
    def warnings(self) -> tuple[ResultWarning, ...]:
        found: list[ResultWarning] = []
        for c in self.comparisons:
            found.extend(c.analysis.warnings)
            if c.left_out:
                found.append(
                    warning(
                        Code.ZERO_VARIANCE,
                        f"{c.variant} vs {c.control}: segment(s) {', '.join(c.left_out[:10])} "
                        "left out of the segment analysis (an arm with fewer than 2 users, or "
                        "no variation in either arm).",
                    )
                )
        return tuple(dict.fromkeys(found))

    def result(self) -> dict[str, Any]:
        """``segments``, ``heterogeneity`` and ``segment_analyses`` of the answer."""
        rows: list[dict[str, Any]] = []
        het: list[dict[str, Any]] = []
        analyses: list[dict[str, Any]] = []
        for c in self.comparisons:
            a = c.analysis
            label = {"variant": c.variant, "control": c.control}
            rows.extend({**label, **asdict(s)} for s in a.segments)
            het.append({**label, **asdict(a.heterogeneity)})
            analyses.append(
                {
                    **label,
                    "column": self.column,
                    "overall": a.overall,
                    "pooled": a.pooled,
                    "hierarchical": a.hierarchical,
                    "tau": a.tau,
                    "tau_median": a.tau_median,
                    "tau_ci_low": a.tau_ci_low,
                    "tau_ci_high": a.tau_ci_high,
                    "correction": a.correction,
                    "left_out": c.left_out,
                }
            )
        return {"segments": rows, "heterogeneity": het, "segment_analyses": analyses}

    def figure(self, metric: str) -> dict[str, Any]:
        return forest(
            [(c.variant, c.analysis) for c in self.comparisons],
            x_title=f"{'Difference in ' + metric if metric else 'Difference'} (by {self.column})",
            x_format=".2%" if self.proportions else "",
        )

    def sentences(self) -> list[str]:
        number = points if self.proportions else (lambda x: sig(x, 3))
        return [
            segment_readout(c.analysis, f"{c.variant} vs {c.control}", number)
            for c in self.comparisons
        ]


EMPTY: dict[str, Any] = {"segments": None, "heterogeneity": None, "segment_analyses": None}
"""The answer's segment fields when no segment column is mapped."""


def by_segment(
    column: str,
    segments: Sequence[Segment],
    pooled: Sequence[ProportionStats] | Sequence[MeanStats],
    analysis: Analysis,
    correction: Any,
    direction: Any,
) -> SegmentsOutcome:
    """Each treatment of ``analysis`` against its control within each segment value (a
    missing value is left out); fewer than 2 segment values is a 422 naming ``segment``."""
    if not isinstance(pooled[0], ProportionStats | MeanStats):
        unprocessable(
            "segment", "Segments are analysed for conversion and mean metrics, not ratio metrics."
        )
    named = [(s.name, s.variants) for s in segments if s.name is not None]
    if len(named) < 2:
        unprocessable(
            "segment",
            f"segment column {column!r} has {len(named)} value(s); a segment analysis needs "
            "at least 2.",
        )
    with stats_errors():
        comparisons = compare_segments(
            named,  # type: ignore[arg-type]
            pooled,
            control=analysis.control,
            alpha=analysis.alpha,
            correction=correction,
            direction=direction,
        )
    proportions = isinstance(pooled[0], ProportionStats)
    return SegmentsOutcome(column, comparisons, proportions)


def typed_segments(
    f: Fields,
    parse: Callable[[Fields, str], Sequence[Any]],
    pooled: Sequence[ProportionStats] | Sequence[MeanStats],
    analysis: Analysis,
    options: dict[str, Any],
) -> SegmentsOutcome | None:
    """Typed per-segment summaries: ``segments: [{name, variants: [...]}]``, each segment's
    variants as the top-level ``variants`` (which stay the totals the main analysis uses);
    ``None`` without them."""
    if not f.has("segments"):
        return None
    if len(f.array("segments")) > MAX_SEGMENTS:
        unprocessable("segments", f"segments must hold at most {MAX_SEGMENTS} segments.")
    found = []
    for item in f.objects("segments"):
        name = item.string("name")
        variants = parse(item, "variants")
        if type(variants[0]) is not type(pooled[0]):
            unprocessable(
                item.name("variants"),
                f"{item.name('variants')} must describe the same metric as variants "
                "(users and conversions, or users, mean and sd).",
            )
        found.append(Segment(name, tuple(variants)))
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
