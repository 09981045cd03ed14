"""The segments' forest plot, as a plain Plotly dict: each segment's raw interval and its
interval after partial pooling, one row per segment, with the overall effect.

Every number drawn comes from :class:`stats.segments.SegmentAnalysis`; the only arithmetic
here is geometry (error-bar lengths from interval ends, small vertical offsets so that the
raw and shrunken intervals of a row do not overlap).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from blueprints._figures import MUTED, color, esc, layout, vline
from stats.segments import SegmentAnalysis

DODGE = 0.18


def _bars(mid: Sequence[float], low: Sequence[float], high: Sequence[float]) -> dict[str, Any]:
    return {
        "type": "data",
        "symmetric": False,
        "array": [h - m for m, h in zip(mid, high, strict=True)],
        "arrayminus": [m - lo for m, lo in zip(mid, low, strict=True)],
        "thickness": 1.5,
        "width": 3,
    }


def forest(
    comparisons: Sequence[tuple[str, SegmentAnalysis]],
    *,
    x_title: str = "Effect",
    x_format: str = "",
) -> dict[str, Any]:
    """One row per segment (top to bottom as given) and one for the overall effect; per
    comparison (a treatment against control) a raw interval (filled circle) and, where
    partial pooling ran, the shrunken one (open diamond)."""
    names = [s.name for s in comparisons[0][1].segments]
    rows = len(names) + 1  # the overall effect at the foot
    y_of = {name: rows - 1 - i for i, name in enumerate(names)}
    traces: list[dict[str, Any]] = []
    k = len(comparisons)
    for c, (label, a) in enumerate(comparisons):
        offset = (c - (k - 1) / 2) * 2 * DODGE / max(k, 1)
        prefix = f"{label}: " if label else ""
        segs = a.segments
        ys = [y_of[s.name] + offset + DODGE / 2 for s in segs]
        mids = [s.estimate for s in segs]
        raw = {
            "type": "scatter",
            "mode": "markers",
            "x": [*mids, a.overall.estimate],
            "y": [*ys, offset],
            "name": f"{prefix}observed",
            "legendgroup": label,
            "marker": {"color": color(c), "size": 8, "symbol": "circle"},
            "error_x": _bars(
                [*mids, a.overall.estimate],
                [*(s.ci_low for s in segs), a.overall.ci_low],
                [*(s.ci_high for s in segs), a.overall.ci_high],
            ),
            "customdata": [*(s.verdict for s in segs), a.overall.method],
            "hovertemplate": "%{x:.4g} (%{customdata})<extra>" + esc(prefix) + "observed</extra>",
        }
        traces.append(raw)
        if a.hierarchical is None or any(math.isnan(s.shrunk_estimate) for s in segs):
            continue
        shrunk = [s.shrunk_estimate for s in segs]
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [*shrunk, a.hierarchical.estimate],
                "y": [*(y - DODGE for y in ys), offset - DODGE / 2],
                "name": f"{prefix}partially pooled",
                "legendgroup": label,
                "marker": {
                    "color": color(c),
                    "size": 9,
                    "symbol": "diamond-open",
                    "line": {"width": 2},
                },
                "error_x": _bars(
                    [*shrunk, a.hierarchical.estimate],
                    [*(s.shrunk_ci_low for s in segs), a.hierarchical.ci_low],
                    [*(s.shrunk_ci_high for s in segs), a.hierarchical.ci_high],
                ),
                "customdata": [*(s.prob_positive for s in segs), math.nan],
                "hovertemplate": "%{x:.4g}, P(> 0) = %{customdata:.0%}<extra>"
                + esc(prefix)
                + "pooled</extra>",
            }
        )
    overall = comparisons[0][1]
    level = f"{100 * (1 - overall.alpha):.4g}%"
    return {
        "data": traces,
        "layout": layout(
            f"Effect by segment: observed and partially pooled ({level} intervals)",
            x_title,
            "",
            x_format=x_format,
            hovermode="closest",
            height=max(320, 60 + 34 * rows),
            yaxis_tickmode="array",
            yaxis_tickvals=list(range(rows)),
            yaxis_ticktext=["Overall", *reversed(names)],
            yaxis_range=[-0.6, rows - 0.4],
            yaxis_zeroline=False,
            shapes=[vline(0.0, color=MUTED)],
        ),
    }
