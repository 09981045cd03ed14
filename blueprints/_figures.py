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
    """A clean layout: titled axes, hover on x, legend at the foot, small margins.

    ``xaxis_<prop>=`` and ``yaxis_<prop>=`` keywords set one property of that axis (as
    plotly.py's "magic underscores" do; plotly.js itself ignores such top-level keys).
    """
    axis = {"gridcolor": GRID, "zerolinecolor": GRID, "automargin": True}
    xaxis: dict[str, Any] = {**axis, "title": {"text": x_title}, "tickformat": x_format}
    yaxis: dict[str, Any] = {**axis, "title": {"text": y_title}, "tickformat": y_format}
    for key in [k for k in extra if k.startswith(("xaxis_", "yaxis_"))]:
        target = xaxis if key.startswith("x") else yaxis
        target[key.split("_", 1)[1]] = extra.pop(key)
    return {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        "xaxis": xaxis,
        "yaxis": yaxis,
        "hovermode": "x unified",
        # At the foot of the figure (container coordinates push the margin), so the legend never
        # covers the title or the x-axis title, however many rows it wraps to on a phone.
        "legend": {"orientation": "h", "x": 0, "y": 0, "yref": "container", "yanchor": "bottom"},
        "margin": {"l": 60, "r": 20, "t": 48, "b": 50},
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
        trace["hovertemplate"] = hover + "<extra>" + esc(name) + "</extra>"
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


def vline(
    x: float, text: str = "", *, color: str = MUTED, dash: str = "dot", width: float = 1
) -> dict[str, Any]:
    """A vertical reference line across the plot (a layout shape), dotted unless told, with an
    optional label in the line's colour."""
    shape: dict[str, Any] = {
        "type": "line",
        "yref": "paper",
        "x0": x,
        "x1": x,
        "y0": 0,
        "y1": 1,
        "line": {"color": color, "dash": dash, "width": width},
    }
    if text:
        shape["label"] = {"text": text, "textposition": "end", "font": {"size": 10, "color": color}}
    return shape


def esc(text: Any) -> str:
    """User text (a variant name, a column, a factor level) as Plotly shows it literally.

    Plotly reads a subset of HTML (``<b>``, ``<br>``, ``<a>``, entities) in every label, hover
    text and title, while the pages' tables show names as typed; ``&``, ``<`` and ``>`` become
    entities, which Plotly displays as the characters themselves.
    """
    s = str(text)
    if "&" in s or "<" in s or ">" in s:  # most labels hold none: three scans, no copies
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return s


# Trace keys that hold data or labels (never markup of ours). Hover templates hold our markup
# (``<br>``, ``<extra>``): a name inside one is passed through :func:`esc` where it is built.
_TRACE_TEXT = frozenset(("name", "text", "hovertext", "x", "y", "customdata", "labels", "ids"))


_PLAIN = {float, int, bool, type(None)}
"""Types of values that hold no text: a list of only these (a series of numbers) is kept as
it is, without visiting each element."""


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return esc(value)
    if isinstance(value, np.ndarray):
        return _escaped(value.tolist()) if value.dtype.kind in "UO" else value
    if isinstance(value, list | tuple):
        if set(map(type, value)) <= _PLAIN:
            return value
        return [_escaped(v) for v in value]
    return value


def _escape_title(holder: Any) -> None:
    title = holder.get("title") if isinstance(holder, dict) else None
    if isinstance(title, dict) and isinstance(title.get("text"), str):
        holder["title"] = {**title, "text": esc(title["text"])}
    elif isinstance(title, str):
        holder["title"] = esc(title)


_AXES = ("xaxis", "yaxis")
_AXIS_TEXT = frozenset(("ticktext", "categoryarray"))


def _escaped_trace(trace: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``trace`` with its text keys escaped (only the keys it has are visited)."""
    out = dict(trace)
    for key in _TRACE_TEXT.intersection(trace):
        out[key] = _escaped(trace[key])
    _escape_title(out.get("legendgrouptitle"))
    return out


def escape_figure(figure: Any) -> Any:
    """A figure whose every label shows its text literally, as the tables do: trace names,
    category values, text and hover text, titles, axis titles and tick labels, annotations
    and shape labels. Called once for every figure a response carries (``_api.respond``);
    figures hold no markup of ours outside hover templates."""
    if not isinstance(figure, dict):
        return figure
    data = [
        _escaped_trace(trace) if isinstance(trace, dict) else trace
        for trace in figure.get("data", [])
    ]
    lay = dict(figure.get("layout", {}))
    _escape_title(lay)
    for key in [k for k in lay if k.startswith(_AXES)]:
        axis = lay[key]
        if isinstance(axis, dict):
            lay[key] = axis = dict(axis)
            _escape_title(axis)
            for k in _AXIS_TEXT.intersection(axis):
                axis[k] = _escaped(axis[k])
    if isinstance(lay.get("legend"), dict):
        lay["legend"] = dict(lay["legend"])
        _escape_title(lay["legend"])
    if "annotations" in lay:
        lay["annotations"] = [
            {**a, "text": esc(a["text"])} if isinstance(a, dict) and "text" in a else a
            for a in lay["annotations"]
        ]
    if "shapes" in lay:
        lay["shapes"] = [
            {**s, "label": {**s["label"], "text": esc(s["label"].get("text", ""))}}
            if isinstance(s, dict) and isinstance(s.get("label"), dict)
            else s
            for s in lay["shapes"]
        ]
    return {**figure, "data": data, "layout": lay}
