"""``GET /segments`` (the page) and ``POST /api/segments`` (validate → stats → figures → JSON).

Per-segment estimates come from anywhere (another tool, a warehouse query, a paper): each
segment's effect ``estimate`` and its standard error ``se``, for one comparison.
"""

from __future__ import annotations

from typing import Annotated, Literal

from flask import Response, render_template
from pydantic import Field

from blueprints._api import respond, stats_errors
from blueprints._contract import Body, Range
from blueprints.segments import bp, contract
from blueprints.segments.figures import forest
from blueprints.segments.readout import readout
from stats.comparisons import Correction
from stats.segments import MAX_SEGMENTS, SegmentAnalysis, analyze_segments, normal_estimate

Positive = Annotated[float, Range(gt=0)]


class SegmentRow(Body):
    """One segment's effect (treatment − control) and its standard error."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    estimate: float
    se: Positive


class PooledEffect(Body):
    """The unstratified effect (every segment in one comparison), for the Simpson check."""

    estimate: float
    se: Positive


class SegmentsRequest(Body):
    """Per-segment effects of one comparison: per-segment results with p-values adjusted
    across segments, Cochran's Q, the inverse-variance overall effect and partial pooling
    (BDA3's hierarchical normal model, τ integrated by quadrature)."""

    segments: Annotated[list[SegmentRow], Field(min_length=2, max_length=MAX_SEGMENTS)]
    alpha: Annotated[float, Range(gt=0, le=0.5)] = 0.05
    correction: Correction = Field(
        "holm",
        description="Adjustment of the segments' p-values: holm (default), bh "
        "(Benjamini–Hochberg) or bonferroni.",
    )
    direction: Literal["higher", "lower"] = Field(
        "higher", description="Which way is better, for the verdicts (wins / loses)."
    )
    pooled: PooledEffect | None = Field(
        None,
        description="Optional: the pooled (unstratified) effect; a Simpson's-paradox warning "
        "is given when it points the other way from every segment or from the overall effect.",
    )


EIGHT_SCHOOLS = {
    "segments": [
        {"name": n, "estimate": y, "se": s}
        for n, y, s in zip(
            "ABCDEFGH",
            [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0],
            [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0],
            strict=True,
        )
    ],
    "alpha": 0.05,
}


@bp.get("/segments")
def page() -> str:
    return render_template("segments.html")


@contract.post(
    "/api/segments",
    summary="Per-segment effects, heterogeneity and partial pooling",
    request=SegmentsRequest,
    result=SegmentAnalysis,
    examples={
        "eight schools (BDA3 Table 5.2)": EIGHT_SCHOOLS,
        "devices, Benjamini–Hochberg": {
            "segments": [
                {"name": "iOS", "estimate": 0.021, "se": 0.006},
                {"name": "Android", "estimate": 0.001, "se": 0.004},
                {"name": "tablet", "estimate": 0.015, "se": 0.03},
            ],
            "correction": "bh",
            "pooled": {"estimate": 0.012, "se": 0.004},
        },
    },
)
def api(r: SegmentsRequest) -> Response:
    with stats_errors():
        pooled = (
            None
            if r.pooled is None
            else normal_estimate(r.pooled.estimate, r.pooled.se, r.alpha, "pooled")
        )
        result = analyze_segments(
            [s.name for s in r.segments],
            [s.estimate for s in r.segments],
            [s.se for s in r.segments],
            alpha=r.alpha,
            correction=r.correction,
            direction=r.direction,
            pooled=pooled,
        )
    return respond(result, {"forest": forest([("", result)])}, readout(result), result.warnings)
