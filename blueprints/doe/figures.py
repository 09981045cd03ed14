"""The DoE charts, as plain Plotly dicts: interaction plot, main effects, residuals.

Every number drawn comes from :class:`stats.doe.AnovaResult`; the only arithmetic here is
geometry (error-bar lengths from the interval ends, small horizontal offsets so that
intervals of different lines do not overlap).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from blueprints._figures import MUTED, color, esc, hline, layout
from blueprints.doe.readout import level_words
from stats.doe import AnovaResult, MarginalMean

MAX_POINTS = 5000
"""Most points drawn in the residual plot (SVG); above it every k-th observation is shown."""

DODGE = 0.06


def _error_bars(estimates: Sequence[float], lows: Sequence[float | None],
                highs: Sequence[float | None]) -> dict[str, Any] | None:  # fmt: skip
    """Asymmetric Plotly error bars reaching from each estimate to its interval ends."""
    if any(v is None for v in (*lows, *highs)):
        return None
    return {
        "type": "data",
        "symmetric": False,
        "array": [h - e for e, h in zip(estimates, highs, strict=True)],  # type: ignore[operator]
        "arrayminus": [e - lo for e, lo in zip(estimates, lows, strict=True)],  # type: ignore[operator]
        "thickness": 1.5,
        "width": 4,
    }


def _category_axis(levels: Sequence[str]) -> dict[str, Any]:
    return {"tickmode": "array", "tickvals": list(range(len(levels))), "ticktext": list(levels)}


def interaction_plot(r: AnovaResult) -> dict[str, Any]:
    """Cell means against the levels of A, one line per level of B, with their intervals."""
    nb = len(r.levels_b)
    traces = []
    for j, level_b in enumerate(r.levels_b):
        cells = r.cell_means[j::nb]  # A-major order: every nb-th cell is this level of B
        shift = (j - (nb - 1) / 2) * DODGE
        trace: dict[str, Any] = {
            "type": "scatter",
            "mode": "lines+markers",
            "name": f"{r.factor_b} = {level_b}",
            "x": [i + shift for i in range(len(cells))],
            "y": [c.mean for c in cells],
            "customdata": [[c.a, c.n, c.ci_low, c.ci_high] for c in cells],
            "line": {"color": color(j), "width": 2},
            "marker": {"color": color(j), "size": 8},
            "hovertemplate": (
                f"{esc(r.factor_a)} = %{{customdata[0]}}<br>mean %{{y:.4g}}"
                + (
                    "<br>CI %{customdata[2]:.4g} to %{customdata[3]:.4g}"
                    if r.interaction_tested
                    else ""
                )
                + f"<br>n = %{{customdata[1]}}<extra>{esc(r.factor_b)} = {esc(level_b)}</extra>"
            ),
        }
        bars = _error_bars([c.mean for c in cells], [c.ci_low for c in cells],
                           [c.ci_high for c in cells])  # fmt: skip
        if bars is not None:
            trace["error_y"] = {**bars, "color": color(j)}
        traces.append(trace)
    title = "Interaction plot: cell means"
    if r.interaction_tested:
        title += f" with {level_words(r.alpha)} intervals"
    fig_layout = layout(
        title,
        r.factor_a,
        f"Mean {r.response}",
        hovermode="closest",
    )
    fig_layout["xaxis"].update(_category_axis(r.levels_a))
    return {"data": traces, "layout": fig_layout}


def _marginal_trace(means: Sequence[MarginalMean], name: str, i: int, axis: str) -> dict[str, Any]:
    estimates = [m.estimate for m in means]
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "name": name,
        "x": [m.level for m in means],
        "y": estimates,
        "customdata": [[m.n, m.ci_low, m.ci_high] for m in means],
        "xaxis": f"x{axis}",
        "yaxis": f"y{axis}",
        "line": {"color": color(i), "width": 2},
        "marker": {"color": color(i), "size": 8},
        "error_y": {
            **(_error_bars(estimates, [m.ci_low for m in means], [m.ci_high for m in means]) or {}),
            "color": color(i),
        },
        "hovertemplate": (
            f"{esc(name)} = %{{x}}<br>marginal mean %{{y:.4g}}"
            "<br>CI %{customdata[1]:.4g} to %{customdata[2]:.4g}<br>n = %{customdata[0]}"
            "<extra></extra>"
        ),
    }


def main_effects(r: AnovaResult) -> dict[str, Any]:
    """Marginal means of A and of B with intervals, side by side on a shared y axis."""
    traces = [
        _marginal_trace(r.marginal_means_a, r.factor_a, 0, ""),
        _marginal_trace(r.marginal_means_b, r.factor_b, 1, "2"),
    ]
    fig_layout = layout(
        f"Main effects: marginal means with {level_words(r.alpha)} intervals",
        r.factor_a,
        f"Mean {r.response}",
        hovermode="closest",
        showlegend=False,
    )
    fig_layout["xaxis"].update({"type": "category", "domain": [0, 0.46]})
    fig_layout["xaxis2"] = {
        **fig_layout["xaxis"],
        "domain": [0.54, 1],
        "title": {"text": r.factor_b},
        "anchor": "y2",
    }
    fig_layout["yaxis2"] = {**fig_layout["yaxis"], "title": {"text": ""}, "matches": "y",
                            "anchor": "x2"}  # fmt: skip
    return {"data": traces, "layout": fig_layout}


def residuals_plot(r: AnovaResult) -> dict[str, Any]:
    """Residuals against fitted values: a funnel or a curve shows where the model fails."""
    step = -(-len(r.fitted) // MAX_POINTS)  # ceil: every step-th observation
    title = "Residuals against fitted values"
    if step > 1:
        title += f" (every {step}th of {len(r.fitted):,} observations)"
    trace = {
        "type": "scatter",
        "mode": "markers",
        "name": "observations",
        "x": r.fitted[::step],
        "y": r.residuals[::step],
        "marker": {"color": color(0), "size": 7, "opacity": 0.75},
        "hovertemplate": "fitted %{x:.4g}<br>residual %{y:.4g}<extra></extra>",
    }
    fig_layout = layout(
        title,
        f"Fitted {r.response}",
        "Residual",
        hovermode="closest",
        showlegend=False,
        shapes=[hline(0, "0")],
    )
    fig_layout["yaxis"]["zerolinecolor"] = MUTED
    return {"data": [trace], "layout": fig_layout}


def doe_figures(r: AnovaResult) -> dict[str, Any]:
    return {
        "interaction": interaction_plot(r),
        "main_effects": main_effects(r),
        "residuals": residuals_plot(r),
    }
