"""The power calculator's two charts, as plain Plotly dicts: they draw ``PowerResult.curves``."""

from __future__ import annotations

from typing import Any

import numpy as np

from blueprints._figures import hline, layout, line
from stats.power import TARGETS, PowerCurves, PowerResult

TARGET_LINES = tuple(hline(t, f"{t:.0%}") for t in TARGETS)
"""The power targets' reference lines (the same on every chart; answers copy what they send)."""


def _curves(r: PowerResult) -> PowerCurves:
    assert r.curves is not None  # the route asks the solver for its curves
    return r.curves


def power_vs_mde(r: PowerResult) -> dict[str, Any]:
    c = _curves(r)
    scale = 100 if r.baseline is not None else 1
    if r.baseline is not None:
        x_title, fmt = "Minimum detectable effect (percentage points)", ".2f"
    else:
        x_title, fmt = "Minimum detectable effect (difference in means)", ".4g"
    trace = line(
        np.array(c.mde) * scale,
        c.power,
        f"n = {r.n_per_group:,} per group",
        0,
        hover=f"effect %{{x:{fmt}}}<br>power %{{y:.1%}}",
    )
    markers = {
        "type": "scatter",
        "mode": "markers+text",
        "x": [mde * scale for mde in c.target_mde],
        "y": list(c.target_power),
        "text": [f"{t:.0%}" for t in c.target_power],
        "textposition": "middle right",
        "name": "MDE at 80/90/95% power",
        "marker": {"size": 8, "color": "#111827"},
        "hovertemplate": f"power %{{y:.0%}} reached at effect %{{x:{fmt}}}<extra></extra>",
    }
    return {
        "data": [trace, markers],
        "layout": layout(
            "Power against the effect size",
            x_title,
            "Power",
            y_format=".0%",
            shapes=TARGET_LINES,
            yaxis_range=[0, 1.02],
        ),
    }


def n_vs_power(r: PowerResult) -> dict[str, Any]:
    c = _curves(r)
    powers = np.asarray(c.size_power)  # one array for every trace's x
    traces = []
    for i, (mde, n) in enumerate(zip(c.size_mde, c.size_n, strict=True)):
        label = f"MDE {mde * 100:+.2f} pts" if r.baseline is not None else f"MDE {mde:+.4g}"
        traces.append(
            line(
                powers,
                np.ceil(n),
                label,
                i,
                hover="power %{x:.0%}<br>n per group %{y:,.0f}",
            )
        )
    return {
        "data": traces,
        "layout": layout(
            "Sample size per group against the power target",
            "Power target",
            "Users per group",
            x_format=".0%",
            y_format=",.0f",
        ),
    }


def power_figures(r: PowerResult) -> dict[str, Any]:
    return {"power_vs_mde": power_vs_mde(r), "n_vs_power": n_vs_power(r)}
