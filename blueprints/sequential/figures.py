"""The sequential module's charts, as plain Plotly dicts (numbers come from ``stats``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from blueprints._figures import MUTED, color, hline, layout, line
from stats.group_sequential import Boundaries, MonitorResult
from stats.msprt import MSPRTProjection, MSPRTResult
from stats.peeking import MethodSummary, PeekingResult

METHODS = (
    ("naive", "Naive z-test at every look"),
    ("obrien_fleming", "O'Brien-Fleming-type"),
    ("pocock", "Pocock-type"),
    ("msprt", "mSPRT"),
)
SHORT = ("Naive", "O'Brien-Fleming", "Pocock", "mSPRT")  # legend entries of the simulated points
# Markers of the four methods sit side by side around the chosen number of looks (log axis).
_OFFSETS = (0.93, 0.975, 1.025, 1.07)
_PATH = "rgba(107,114,128,0.35)"


def _methods(r: PeekingResult) -> list[tuple[str, str, MethodSummary]]:
    return [(key, label, getattr(r.methods, key)) for key, label in METHODS]


def error_rates(r: PeekingResult) -> dict[str, Any]:
    null = r.effect == 0
    curve = r.exact_naive_curve
    data: list[dict[str, Any]] = [
        line(
            curve.looks,
            curve.rates,
            "Naive, no effect (exact)",
            7,
            hover="%{x} looks: %{y:.2%}",
            dash="dot" if not null else "solid",
        )
    ]
    for i, (_, label, m) in enumerate(_methods(r)):
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [r.looks * _OFFSETS[i]],
                "y": [m.rejection_rate],
                "name": SHORT[i],
                "marker": {
                    "color": color(i),
                    "size": 10,
                    "symbol": ("circle", "diamond", "square", "triangle-up")[i],
                },
                "error_y": {
                    "type": "data",
                    "array": [2 * m.rejection_se],
                    "visible": True,
                    "color": color(i),
                },
                "hovertemplate": f"{label}<br>%{{y:.2%}} ± 2 SE<extra></extra>",
            }
        )
    y_title = "False positive rate" if null else "Rejection rate (power)"
    return {
        "data": data,
        "layout": layout(
            "Rejection rate against the number of looks",
            "Number of looks (log scale)",
            y_title,
            y_format=".0%",
            shapes=[hline(r.alpha, f"nominal α = {r.alpha:g}")],
            xaxis_type="log",
            hovermode="closest",
        ),
    }


def z_paths(r: PeekingResult) -> dict[str, Any]:
    mode = "lines+markers" if r.looks <= 20 else "lines"
    data: list[dict[str, Any]] = []
    for j, path in enumerate(r.z_paths):
        data.append(
            {
                "type": "scatter",
                "mode": mode,
                "x": r.look_n,
                "y": path,
                "name": "Simulated z paths",
                "legendgroup": "paths",
                "showlegend": j == 0,
                "line": {"color": _PATH, "width": 1},
                "marker": {"size": 3, "color": _PATH},
                "hoverinfo": "skip",
            }
        )
    for i, (_, label, m) in enumerate(_methods(r)):
        for sign in (1, -1):
            data.append(
                line(
                    r.look_n,
                    [sign * b for b in m.z_bounds],
                    label,
                    i,
                    hover="%{x:,} users per arm: z = %{y:.2f}",
                    dash="dash" if i == 3 else "solid",
                    legendgroup=label,
                    showlegend=sign == 1,
                    mode=mode,
                )
            )
    return {
        "data": data,
        "layout": layout(
            "z statistics of simulated experiments and each method's boundaries",
            "Users per arm at the look",
            "z statistic",
            x_format=",.0f",
            hovermode="closest",
        ),
    }


def stopping_times(r: PeekingResult) -> dict[str, Any]:
    looks = list(range(1, r.looks + 1))
    data = [
        {
            "type": "bar",
            "x": looks,
            "y": m.stop_look_counts,
            "name": label,
            "marker": {"color": color(i)},
            "hovertemplate": f"{label}<br>look %{{x}}: %{{y:,}} stopped<extra></extra>",
        }
        for i, (_, label, m) in enumerate(_methods(r))
    ]
    return {
        "data": data,
        "layout": layout(
            f"When the {r.simulations:,} experiments stopped (rejections per look)",
            "Look",
            "Experiments stopped",
            y_format=",.0f",
            barmode="group",
            bargap=0.15,
        ),
    }


def simulation_figures(r: PeekingResult) -> dict[str, Any]:
    return {"error_rates": error_rates(r), "z_paths": z_paths(r), "stopping": stopping_times(r)}


def _bounds_traces(
    fractions: tuple[float, ...], bounds: tuple[float, ...], two_sided: bool
) -> list[dict[str, Any]]:
    mode = "lines+markers"
    traces = [
        line(fractions, bounds, "Efficacy bound", 5, hover="t = %{x:.3f}: z = %{y:.3f}", mode=mode)
    ]
    if two_sided:
        traces.append(
            line(
                fractions,
                [-b for b in bounds],
                "Lower bound",
                5,
                hover="t = %{x:.3f}: z = %{y:.3f}",
                mode=mode,
                showlegend=False,
            )
        )
    return traces


def boundary_figures(r: Boundaries) -> dict[str, Any]:
    data = _bounds_traces(r.fractions, r.z_bounds, r.alternative == "two-sided")
    return {
        "boundaries": {
            "data": data,
            "layout": layout(
                "Critical z values at each look",
                "Information fraction (share of the planned users)",
                "z statistic",
                x_format=".0%",
                xaxis_range=[0, 1.04],
                hovermode="closest",
            ),
        }
    }


def monitor_figures(r: MonitorResult) -> dict[str, Any]:
    data = _bounds_traces(r.fractions, r.z_bounds, r.alternative == "two-sided")
    data.append(
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": r.fractions,
            "y": r.z_statistics,
            "name": "Observed z",
            "line": {"color": color(0), "width": 3},
            "marker": {"size": 9, "color": color(0)},
            "hovertemplate": "t = %{x:.3f}: z = %{y:.3f}<extra>observed</extra>",
        }
    )
    return {
        "monitor": {
            "data": data,
            "layout": layout(
                "Observed z statistic against the recomputed boundaries",
                "Information fraction (share of the planned users)",
                "z statistic",
                x_format=".0%",
                xaxis_range=[0, 1.04],
                hovermode="closest",
            ),
        }
    }


def _empty(title: str, text: str) -> dict[str, Any]:
    return {
        "data": [],
        "layout": layout(
            title,
            "",
            "",
            annotations=[{"text": text, "showarrow": False, "font": {"color": MUTED}}],
        ),
    }


def msprt_figures(
    r: MSPRTResult, p: MSPRTProjection | None, names: tuple[str, str], metric: str = "proportion"
) -> dict[str, Any]:
    """The log-likelihood ratio and the confidence sequence; a difference of conversion rates
    is drawn in percentage points, as every page shows it."""
    if p is None:
        text = "No spread in either arm yet: nothing to draw."
        return {
            "log_lr": _empty("Log-likelihood ratio", text),
            "confidence": _empty("Confidence sequence", text),
        }
    now = {
        "type": "scatter",
        "mode": "markers",
        "x": [r.n],
        "y": [r.log_lr],
        "name": "Now",
        "marker": {"size": 11, "color": color(5)},
        "hovertemplate": "now, %{x:,} users: log Λ = %{y:.2f}<extra></extra>",
    }
    log_lr = {
        "data": [
            line(
                p.n,
                p.log_lr,
                "log Λ if the observed difference held",
                0,
                hover="%{x:,} users: log Λ = %{y:.2f}",
            ),
            now,
        ],
        "layout": layout(
            "Log-likelihood ratio against the rejection threshold",
            "Users in both arms (log scale)",
            "log Λ",
            shapes=[hline(p.threshold, f"log(1/α) = {p.threshold:.2f}")],
            xaxis_type="log",
            hovermode="closest",
        ),
    }
    diff = f"{names[1]} − {names[0]}"
    k = 100.0 if metric == "proportion" else 1.0

    def scaled(values: Any) -> np.ndarray:
        return np.asarray(values, dtype=float) * k

    band = {"type": "scatter", "mode": "lines", "hoverinfo": "skip"}
    confidence = {
        "data": [
            {
                **band,
                "x": p.n,
                "y": scaled(p.ci_high),
                "line": {"width": 0, "color": color(0)},
                "showlegend": False,
                "legendgroup": "cs",
            },
            {
                **band,
                "x": p.n,
                "y": scaled(p.ci_low),
                "fill": "tonexty",
                "fillcolor": "rgba(0,114,178,0.18)",
                "line": {"width": 1, "color": color(0)},
                "name": "Always-valid confidence sequence",
                "legendgroup": "cs",
            },
            {
                **band,
                "x": p.n,
                "y": scaled(p.fixed_high),
                "line": {"width": 1.5, "color": color(1), "dash": "dash"},
                "showlegend": False,
                "legendgroup": "fixed",
            },
            {
                **band,
                "x": p.n,
                "y": scaled(p.fixed_low),
                "line": {"width": 1.5, "color": color(1), "dash": "dash"},
                "name": f"Fixed-horizon {1 - r.alpha:.0%} interval (valid at one planned look only)",
                "legendgroup": "fixed",
            },
            line(
                [p.n[0], p.n[-1]],
                [p.estimate * k, p.estimate * k],
                f"Observed {diff}",
                7,
                hover="%{y:.4g}",
            ),
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": [r.n, r.n],
                "y": [r.ci_low * k, r.ci_high * k],
                "name": "Now",
                "line": {"color": color(5), "width": 3},
                "marker": {"size": 8, "color": color(5)},
                "hovertemplate": "now: %{y:.4g}<extra></extra>",
            },
        ],
        "layout": layout(
            f"Confidence sequence for {diff} if the observed difference held",
            "Users in both arms (log scale)",
            f"Difference {diff}" + (" (percentage points)" if metric == "proportion" else ""),
            shapes=[hline(0.0, "no difference")],
            xaxis_type="log",
            hovermode="closest",
        ),
    }
    return {"log_lr": log_lr, "confidence": confidence}
