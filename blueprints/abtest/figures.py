"""The analyzer's charts, as plain Plotly dicts: per-variant estimates with their intervals,
a forest plot of each variant's effect against the practical-significance band, and (row-level
continuous data) the distribution per variant from binned counts computed in ``stats``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from blueprints._figures import MUTED, color, esc, layout, vline
from stats._text import p_is
from stats.distribution import Distribution

if TYPE_CHECKING:
    from blueprints.abtest.analysis import Outcome


def _interval_trace(
    name: str, i: int, low: float, est: float, high: float, hover: str
) -> dict[str, Any]:
    """One horizontal interval with its point estimate; an open (infinite) end is drawn as
    an arrow at the estimate (one-sided alternatives)."""
    lo = low if math.isfinite(low) else est
    hi = high if math.isfinite(high) else est
    symbols = ["line-ns", "circle", "line-ns"]
    if not math.isfinite(low):
        symbols[0] = "triangle-left"
    if not math.isfinite(high):
        symbols[2] = "triangle-right"
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "x": [lo, est, hi],
        "y": [name, name, name],
        "name": name,
        "showlegend": False,
        "line": {"color": color(i), "width": 3},
        "marker": {
            "color": color(i),
            "size": [14, 11, 14],
            "symbol": symbols,
            "line": {"color": color(i), "width": 2},
        },
        "hovertemplate": hover + f"<extra>{esc(name)}</extra>",
    }


def estimates(o: Outcome) -> dict[str, Any]:
    a = o.analysis
    proportion = a.kind == "proportion"
    fmt = ".2%" if proportion else ".4g"
    traces = [
        _interval_trace(
            v.name,
            i,
            v.ci_low,
            v.estimate,
            v.ci_high,
            f"%{{x:{fmt}}} (n = {v.n:,})<br>{v.ci_level:.0%} CI {v.ci_low:{fmt}} to {v.ci_high:{fmt}}",
        )
        for i, v in enumerate(a.variants)
    ]
    what = "Conversion rate" if proportion else f"Mean of {a.metric}"
    return {
        "data": traces,
        "layout": layout(
            f"{what} per variant ({a.variants[0].ci_level:.0%} intervals)",
            what,
            "",
            x_format=".1%" if proportion else "",
            hovermode="closest",
            yaxis={"autorange": "reversed", "automargin": True, "type": "category"},
        ),
    }


def forest(o: Outcome) -> dict[str, Any]:
    """Each variant's effect and interval; the grey band is smaller than the minimum
    worthwhile effect (on either side of zero)."""
    a = o.analysis
    relative = a.min_effect_type == "relative"
    points = a.kind == "proportion" and not relative
    scale = 100.0 if points else 1.0  # rates as percentage points
    unit = " pts" if points else ""
    if relative:
        x_title, fmt, x_format = "Relative lift", "+.1%", "+.0%"
    elif points:
        x_title, fmt, x_format = "Difference (percentage points)", "+.2f", "+.1f"
    else:
        x_title, fmt, x_format = f"Difference in mean {a.metric}", "+.4g", ""
    traces = []
    for i, c in enumerate(a.comparisons, start=1):
        est, low, high = (
            (c.relative_lift, c.relative_ci_low, c.relative_ci_high)
            if relative
            else (c.estimate, c.ci_low, c.ci_high)
        )
        if not math.isfinite(est):
            continue
        hover = (
            f"%{{x:{fmt}}}{unit}<br>{c.ci_level:.4g} CI {low * scale:{fmt}} to "
            f"{high * scale:{fmt}}{unit}<br>{p_is(c.pvalue_adjusted, 'adjusted p')}"
        )
        traces.append(_interval_trace(c.variant, i, low * scale, est * scale, high * scale, hover))
    band = a.min_effect * scale
    shapes: list[dict[str, Any]] = [vline(0.0, dash="solid")]
    if band > 0:
        shapes.append(
            {
                "type": "rect",
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "x0": -band,
                "x1": band,
                "fillcolor": "rgba(107,114,128,0.14)",
                "line": {"width": 0},
                "layer": "below",
                "label": {
                    "text": "smaller than worthwhile",
                    "textposition": "top center",
                    "font": {"size": 10, "color": MUTED},
                },
            }
        )
    return {
        "data": traces,
        "layout": layout(
            f"Effect against {a.control}, with the minimum worthwhile effect band",
            x_title,
            "",
            x_format=x_format,
            hovermode="closest",
            shapes=shapes,
            yaxis={"autorange": "reversed", "automargin": True, "type": "category"},
        ),
    }


def distribution(d: Distribution) -> dict[str, Any]:
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": d.centers,
            "y": v.shares,
            "name": f"{v.name} (median {v.quantiles[2]:.4g}, mean {v.mean:.4g})",
            "line": {"color": color(i), "width": 2, "shape": "hvh"},
            "hovertemplate": f"{esc(d.metric)} ≈ %{{x:.4g}}<br>%{{y:.1%}} of {esc(v.name)}"
            f"<extra>{esc(v.name)}</extra>",
        }
        for i, v in enumerate(d.variants)
    ]
    return {
        "data": traces,
        "layout": layout(
            f"Distribution of {d.metric} per variant",
            d.metric,
            "Share of the variant's users",
            y_format=".0%",
        ),
    }


def analysis_figures(o: Outcome) -> dict[str, Any]:
    figures = {"estimates": estimates(o), "forest": forest(o)}
    if o.distribution is not None:
        figures["distribution"] = distribution(o.distribution)
    return figures
