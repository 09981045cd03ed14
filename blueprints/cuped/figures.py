"""The CUPED charts, as plain Plotly dicts: outcome against covariate, the intervals side by
side, and the planning curves against ρ."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from blueprints._figures import MUTED, color, esc, hline, layout, line, vline
from sources.cuped import Scatter
from stats.cuped import CupedResult, RegressionAdjustmentResult


def outcome_vs_covariate(
    r: CupedResult, drawn: Scatter, outcome: str, covariate: str
) -> dict[str, Any]:
    """Users by arm (:func:`sources.cuped.scatter`), each arm's line of slope θ through its
    means (the CUPED adjustment)."""
    traces: list[dict[str, Any]] = []
    lo, hi = drawn.low, drawn.high
    empty: tuple[list[float], list[float]] = ([], [])
    for i, arm in enumerate(r.arms):
        xs, ys = drawn.points.get(arm.name, empty)
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": xs,
                "y": ys,
                "name": arm.name,
                "legendgroup": arm.name,
                "marker": {"color": color(i), "size": 5, "opacity": 0.45},
                "hovertemplate": f"{esc(covariate)} %{{x}}<br>{esc(outcome)} %{{y}}"
                f"<extra>{esc(arm.name)}</extra>",
            }
        )
        if math.isfinite(arm.mean_x):
            ends = [lo, hi]
            traces.append(
                line(
                    ends,
                    [arm.mean_y + r.theta * (end - arm.mean_x) for end in ends],
                    f"{arm.name}: slope θ = {r.theta:.3g}",
                    i,
                    legendgroup=arm.name,
                    showlegend=False,
                    hoverinfo="skip",
                )
            )
    shown = f"{drawn.shown:,} users" + (
        f"; {r.n_missing_covariate:,} without a pre-period value not drawn"
        if r.n_missing_covariate
        else ""
    )
    figure: dict[str, Any] = {
        "data": traces,
        "layout": layout(
            f"{outcome} against {covariate}, slope θ", f"{covariate} (pre-period)", outcome
        ),
    }
    figure["layout"]["hovermode"] = "closest"
    figure["layout"]["title"]["subtitle"] = {"text": shown, "font": {"size": 11, "color": MUTED}}
    figure["layout"]["margin"]["t"] = 64
    return figure


def _segments(pairs: list[tuple[float, float]], labels: list[str]) -> tuple[list[Any], list[Any]]:
    """x and y of horizontal segments, one per interval, separated by gaps (None)."""
    xs: list[Any] = []
    ys: list[Any] = []
    for (low, high), label in zip(pairs, labels, strict=True):
        xs += [low, high, None]
        ys += [label, label, None]
    return xs, ys


def intervals(r: CupedResult | RegressionAdjustmentResult) -> dict[str, Any]:
    """Forest plot: each comparison's unadjusted and adjusted interval, one above the other."""
    adjusted_name = "CUPED" if isinstance(r, CupedResult) else "Regression-adjusted"
    level = f"{1 - r.alpha:.0%}"
    traces = []
    series = [
        (
            "Unadjusted",
            MUTED,
            lambda c: (c.unadjusted_estimate, c.unadjusted_ci_low, c.unadjusted_ci_high),
        ),
        (adjusted_name, color(0), lambda c: (c.estimate, c.ci_low, c.ci_high)),
    ]
    for name, colour, pick in series:
        values = [pick(c) for c in r.comparisons]
        labels = [f"{c.variant} − {r.control} · {name}" for c in r.comparisons]
        xs, ys = _segments([(low, high) for _, low, high in values], labels)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": xs,
                "y": ys,
                "marker": {"symbol": "line-ns", "size": 12, "line": {"color": colour, "width": 2}},
                "name": name,
                "legendgroup": name,
                "showlegend": False,
                "line": {"color": colour, "width": 3},
                "hoverinfo": "skip",
            }
        )
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [v[0] for v in values],
                "y": labels,
                "customdata": [[v[1], v[2]] for v in values],
                "name": name,
                "legendgroup": name,
                "marker": {"color": colour, "size": 10},
                "hovertemplate": (
                    f"%{{x:.4g}} ({level} CI %{{customdata[0]:.4g}} to %{{customdata[1]:.4g}})"
                    f"<extra>{esc(name)}</extra>"
                ),
            }
        )
    return {
        "data": traces,
        "layout": layout(
            f"Difference with its {level} interval",
            "Difference (variant − control)",
            "",
            hovermode="closest",
            shapes=[vline(0.0)],
            yaxis={"autorange": "reversed", "automargin": True, "gridcolor": "#e5e7eb"},
        ),
    }


def analysis_figures(
    r: CupedResult | RegressionAdjustmentResult,
    drawn: Scatter | None,
    outcome: str,
    covariate: str,
) -> dict[str, Any]:
    """The intervals always; the scatter when there are rows and one covariate."""
    figures = {"intervals": intervals(r)}
    if isinstance(r, CupedResult) and drawn is not None:
        figures["scatter"] = outcome_vs_covariate(r, drawn, outcome, covariate)
    return figures


def planning_figures(p: Mapping[str, Any]) -> dict[str, Any]:
    """Users needed and interval half-width against ρ, the chosen ρ marked on both."""
    grid = p["grid"]
    mark = {"type": "scatter", "mode": "markers", "x": [p["rho"]], "showlegend": False}
    n_chart: dict[str, Any] = {
        "data": [
            line(
                grid.rho,
                grid.n_per_group_required,
                "with CUPED",
                0,
                hover="ρ %{x:.2f}<br>%{y:,.0f} users per group",
            ),
            {
                **mark,
                "y": [p["n_per_group_required"]],
                "name": f"ρ = {p['rho']:.2f}",
                "marker": {"color": color(1), "size": 11},
                "hovertemplate": "ρ %{x:.2f}<br>%{y:,.0f} users per group<extra>chosen</extra>",
            },
        ],
        "layout": layout(
            "Sample-size saving against ρ",
            "Correlation ρ with the pre-period value",
            "Users per group needed",
            y_format=",.0f",
            hovermode="closest",
            shapes=[
                {
                    **hline(p["n_per_group"], ""),
                    "label": {
                        "text": f"without CUPED: {p['n_per_group']:,}",
                        "textposition": "middle",
                        "yanchor": "top",
                        "font": {"size": 10, "color": MUTED},
                    },
                },
                vline(p["rho"]),
            ],
        ),
    }
    n_chart["layout"]["yaxis"]["rangemode"] = "tozero"
    level = f"{1 - p['alpha']:.0%}"
    width_chart: dict[str, Any] = {
        "data": [
            line(
                grid.rho,
                grid.half_width,
                f"with {p['n_per_group']:,} per group",
                2,
                hover=f"ρ %{{x:.2f}}<br>±%{{y:.4g}} ({level} interval)",
            ),
            {
                **mark,
                "y": [p["half_width"]],
                "name": f"ρ = {p['rho']:.2f}",
                "marker": {"color": color(1), "size": 11},
                "hovertemplate": "ρ %{x:.2f}<br>±%{y:.4g}<extra>chosen</extra>",
            },
        ],
        "layout": layout(
            f"Half-width of the {level} interval against ρ",
            "Correlation ρ with the pre-period value",
            "Interval half-width (± difference)",
            hovermode="closest",
            shapes=[vline(p["rho"])],
        ),
    }
    width_chart["layout"]["yaxis"]["rangemode"] = "tozero"
    return {"plan_n": n_chart, "plan_width": width_chart}
