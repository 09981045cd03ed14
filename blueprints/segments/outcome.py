"""What a segment analysis adds to a module's answer, shared by the A/B analyzer and CUPED:
``result.segments`` (one row per treatment and segment, the fields of ``/api/segments`` with
``variant`` and ``control``), ``result.heterogeneity`` (one per treatment) and
``result.segment_analyses`` (per treatment: the stratified, pooled and hierarchical overall
effects and τ); a ``segments`` forest plot; a sentence per treatment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from pydantic import Field

from blueprints._api import stats_errors, unprocessable
from blueprints.segments.figures import forest
from blueprints.segments.readout import readout as segment_readout
from sources.reduce import Segment
from stats._text import points, sig
from stats.comparisons import Correction
from stats.segments import Direction, SegmentComparison, compare_segments
from stats.sufficient import MeanStats, ProportionStats, RatioStats
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
                        "left out of the segment analysis (an arm with fewer than 2 users, "
                        "no variation in either arm, or a ratio's denominators averaging 0).",
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


SegmentRows = Annotated[
    list[dict[str, Any]] | None,
    Field(
        description="With a segment column: one row per treatment and segment with variant, "
        "control and the fields of /api/segments' result.segments (name, estimate, se, ci_low, "
        "ci_high, pvalue, pvalue_adjusted, shrunk_estimate, shrunk_sd, shrunk_ci_low, "
        "shrunk_ci_high, prob_positive, verdict)."
    ),
]
HeterogeneityRows = Annotated[
    list[dict[str, Any]] | None,
    Field(description="Per treatment: variant, control, Cochran's q, df, pvalue, i2, tau2."),
]
SegmentAnalyses = Annotated[
    list[dict[str, Any]] | None,
    Field(
        description="Per treatment: variant, control, column, overall (stratified), pooled, "
        "hierarchical, tau, tau_median, tau_ci_low, tau_ci_high, correction, left_out."
    ),
]
"""The answer's segment fields, for a module's declared result type."""

EMPTY: dict[str, Any] = {"segments": None, "heterogeneity": None, "segment_analyses": None}
"""The answer's segment fields when no segment column is mapped."""


def require_segments(column: str, count: int) -> None:
    """A segment analysis needs 2 segment values: fewer is a 422 naming ``segment``."""
    if count < 2:
        unprocessable(
            "segment",
            f"segment column {column!r} has {count} value(s); a segment analysis needs at least 2.",
        )


def segments_outcome(
    column: str,
    segments: Sequence[Segment],
    pooled: Sequence[Any],
    *,
    control: str,
    alpha: float,
    correction: Correction = "holm",
    direction: Direction = "higher",
) -> SegmentsOutcome:
    """Each treatment against ``control`` within each segment value (a missing value is
    left out) from per-segment sufficient statistics (:func:`stats.segments.
    compare_segments`); another metric (a count) or fewer than 2 segment values is a 422
    naming ``segment``."""
    if not isinstance(pooled[0], ProportionStats | MeanStats | RatioStats):
        unprocessable("segment", "Segments are analysed for conversion, mean and ratio metrics.")
    named = [(s.name, s.variants) for s in segments if s.name is not None]
    require_segments(column, len(named))
    with stats_errors():
        comparisons = compare_segments(
            named,  # type: ignore[arg-type]
            pooled,
            control=control,
            alpha=alpha,
            correction=correction,
            direction=direction,
        )
    return SegmentsOutcome(column, comparisons, isinstance(pooled[0], ProportionStats))
