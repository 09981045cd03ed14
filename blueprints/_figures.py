"""Plain Plotly figure dicts shared by every module's ``figures.py``.

Figures are built as dicts, not ``go.Figure``: validation costs ~30 ms a figure and the browser
validates anyway. SVG trace types only (``scattergl`` needs ``unsafe-eval`` under our CSP).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

# Okabe-Ito: distinguishable with every common colour-vision deficiency.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
GRID = "#e5e7eb"
MUTED = "#6b7280"


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def layout(
    title: str, x_title: str, y_title: str, *, x_format: str = "", y_format: str = "", **extra: Any
) -> dict[str, Any]:
    """A clean layout: titled axes, hover on x, legend below, small margins."""
    axis = {"gridcolor": GRID, "zerolinecolor": GRID, "automargin": True}
    return {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        "xaxis": {**axis, "title": {"text": x_title}, "tickformat": x_format},
        "yaxis": {**axis, "title": {"text": y_title}, "tickformat": y_format},
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": -0.22, "x": 0},
        "margin": {"l": 60, "r": 20, "t": 48, "b": 60},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "#ffffff",
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
        **extra,
    }


def line(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    name: str,
    i: int = 0,
    *,
    hover: str = "",
    dash: str = "solid",
    **extra: Any,
) -> dict[str, Any]:
    """A line trace with an optional hover template."""
    trace: dict[str, Any] = {
        "type": "scatter",
        "mode": "lines",
        "x": np.asarray(x),
        "y": np.asarray(y),
        "name": name,
        "line": {"color": color(i), "dash": dash, "width": 2},
        **extra,
    }
    if hover:
        trace["hovertemplate"] = hover + "<extra>" + name + "</extra>"
    return trace


def hline(y: float, text: str) -> dict[str, Any]:
    """A dotted horizontal reference line with a label, as a layout shape + annotation pair."""
    return {
        "type": "line",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "y0": y,
        "y1": y,
        "line": {"color": MUTED, "dash": "dot", "width": 1},
        "label": {"text": text, "textposition": "end", "font": {"size": 10, "color": MUTED}},
    }
