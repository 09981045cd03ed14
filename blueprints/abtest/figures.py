"""The analyzer's charts, as plain Plotly dicts: per-variant estimates with their intervals,
a forest plot of each variant's effect against the practical-significance band, and (row-level
continuous data) the distribution per variant from binned counts computed in ``stats``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from blueprints._figures import MUTED, color, esc, layout, vline
from stats._text import p_is
from stats.distribution import Distribution
from stats.quantiles import QuantileAnalysis

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
        label = f"{c.variant} − {c.control}" if a.comparison_set == "all" else c.variant
        traces.append(_interval_trace(label, i, low * scale, est * scale, high * scale, hover))
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
            "Effect of every pair, with the minimum worthwhile effect band"
            if a.comparison_set == "all"
            else f"Effect against {a.control}, with the minimum worthwhile effect band",
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


def quantile_label(p: float) -> str:
    """'median', 'p90', 'p99.5'."""
    return "median" if p == 0.5 else f"p{100 * p:g}"


def quantiles(q: QuantileAnalysis, metric: str) -> dict[str, Any]:
    """Each quantile difference with its interval, one row per quantile and variant."""
    traces = []
    for i, d in enumerate(q.differences):
        label = f"{quantile_label(d.quantile)}: {d.variant}"
        p = "" if d.pvalue is None else "<br>" + p_is(d.pvalue)
        hover = (
            f"%{{x:+.4g}}<br>{d.ci_level:.4g} CI {d.ci_low:+.4g} to {d.ci_high:+.4g}{p}"
            f"<br>{d.arms[1].estimate:.4g} against {d.arms[0].estimate:.4g} on {esc(d.control)}"
        )
        traces.append(_interval_trace(label, i, d.ci_low, d.estimate, d.ci_high, hover))
    how = "bootstrap" if q.method == "bootstrap" else "order-statistic"
    return {
        "data": traces,
        "layout": layout(
            f"Difference in quantiles of {metric} against {q.differences[0].control} ({how} intervals)",
            f"Difference in {metric}",
            "",
            hovermode="closest",
            shapes=[vline(0.0, dash="solid")],
            yaxis={"autorange": "reversed", "automargin": True, "type": "category"},
        ),
    }


def with_quantile_marks(figure: dict[str, Any], q: QuantileAnalysis, names: list[str]) -> None:
    """Dotted lines at each variant's compared quantiles on the distribution chart."""
    marks = {(a.name, a.quantile): a.estimate for d in q.differences for a in d.arms}
    figure["layout"]["shapes"] = [
        vline(x, quantile_label(p), color=color(names.index(name)))
        for (name, p), x in marks.items()
        if name in names
    ]


def analysis_figures(o: Outcome) -> dict[str, Any]:
    figures = {"estimates": estimates(o), "forest": forest(o)}
    if o.distribution is not None:
        figures["distribution"] = distribution(o.distribution)
        if o.quantiles is not None and o.distribution.metric == o.analysis.metric:
            names = [v.name for v in o.distribution.variants]
            with_quantile_marks(figures["distribution"], o.quantiles, names)
    if o.quantiles is not None:
        figures["quantiles"] = quantiles(o.quantiles, o.analysis.metric)
    if o.segments is not None and o.segments.comparisons:
        figures["segments"] = o.segments.figure(o.analysis.metric)
    return figures
