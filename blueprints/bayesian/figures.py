"""The Bayesian module's charts, as plain Plotly dicts.

Conversion rates are drawn as percentages and their lifts and losses in percentage points;
the other metrics in their own units. Scaling by 100 is the only arithmetic here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from blueprints._figures import MUTED, color, esc, hline, layout, line, vline
from stats._text import sig
from stats.bayes.engine import BayesianAnalysis, LossOverTime
from stats.bayes.stopping import StoppingSimulation

LABELS = {
    "proportion": "Conversion rate",
    "mean": "Mean",
    "count": "Events per user",
    "revenue": "Revenue per user",
    "ratio": "Ratio",
}


def _scale(metric: str) -> float:
    """Lifts and losses of a conversion rate in percentage points."""
    return 100.0 if metric == "proportion" else 1.0


def _difference_unit(metric: str) -> str:
    return " (percentage points)" if metric == "proportion" else ""


def _with_axis(lay: dict[str, Any], axis: str, **settings: Any) -> dict[str, Any]:
    """``lay`` with ``settings`` merged into one axis (plotly.js has no ``yaxis_type`` keys)."""
    lay[axis] = {**lay[axis], **settings}
    return lay


def posteriors(r: BayesianAnalysis) -> dict[str, Any]:
    """Posterior density of each variant's metric (a dashed line for a point mass)."""
    names = [v.name for v in r.variants]
    traces, shapes = [], []
    for d in r.densities:
        i = names.index(d.name)
        if d.x:
            hover = "%{x:.3%}" if r.metric == "proportion" else "%{x:.4g}"
            traces.append(line(d.x, d.pdf, d.name, i, hover=f"{hover}<br>density %{{y:.3g}}"))
        else:
            shapes.append(vline(r.variants[i].mean, d.name, color=color(i), dash="dash", width=1.5))
    return {
        "data": traces,
        "layout": layout(
            "Posterior of each variant",
            LABELS[r.metric],
            "Density",
            x_format=".1%" if r.metric == "proportion" else "",
            shapes=shapes,
            hovermode="closest",
        ),
    }


def lift(r: BayesianAnalysis) -> dict[str, Any]:
    """Distribution of the absolute lift over control, the ROPE band shaded, HDIs marked."""
    k = _scale(r.metric)
    names = [v.name for v in r.variants]
    traces = []
    shapes: list[dict[str, Any]] = [vline(0.0, dash="solid", width=1.5)]
    if r.rope[0] < r.rope[1]:
        shapes.append(
            {
                "type": "rect",
                "yref": "paper",
                "x0": r.rope[0] * k,
                "x1": r.rope[1] * k,
                "y0": 0,
                "y1": 1,
                "fillcolor": "rgba(107,114,128,0.15)",
                "line": {"width": 0},
                "label": {
                    "text": "negligible",
                    "textposition": "top center",
                    "font": {"size": 10, "color": MUTED},
                },
            }
        )
    for h, c in zip(r.lift_histograms, r.comparisons, strict=True):
        i = names.index(h.variant)
        edges = np.asarray(h.edges) * k
        traces.append(
            {
                "type": "bar",
                "x": edges[:-1],
                "y": np.asarray(h.density) / k,
                "width": np.diff(edges),
                "offset": 0,
                "name": f"{h.variant} − {r.control}",
                "marker": {"color": color(i), "opacity": 0.55, "line": {"width": 0}},
                "hovertemplate": f"lift %{{x:.3g}}<br>density %{{y:.3g}}<extra>{esc(h.variant)}</extra>",
            }
        )
        label = f"95% HDI {h.variant}" if len(r.comparisons) > 1 else "95% HDI"
        shapes.append(vline(c.hdi_low * k, label, color=color(i), dash="dash", width=1.5))
        shapes.append(vline(c.hdi_high * k, color=color(i), dash="dash", width=1.5))
    return {
        "data": traces,
        "layout": layout(
            f"Lift over {r.control}: the grey band is negligible, dashed lines the 95% HDI",
            f"Absolute lift{_difference_unit(r.metric)}",
            "Density",
            shapes=shapes,
            barmode="overlay",
            bargap=0,
            hovermode="closest",
        ),
    }


def prob_best(r: BayesianAnalysis) -> dict[str, Any]:
    names = [v.name for v in r.variants]
    p = [v.prob_best for v in r.variants]
    return {
        "data": [
            {
                "type": "bar",
                "x": names,
                "y": p,
                "marker": {"color": [color(i) for i in range(len(names))]},
                "text": [f"{x:.1%}" for x in p],
                "textposition": "auto",
                "hovertemplate": "%{x}: %{y:.2%}<extra>P(best)</extra>",
                "name": "P(best)",
            }
        ],
        "layout": _with_axis(
            layout(
                "Probability each variant is best",
                "Variant",
                "P(best)",
                y_format=".0%",
                showlegend=False,
                hovermode="closest",
            ),
            "yaxis",
            range=[0, 1.05],
        ),
    }


def _threshold_trace(x: list[str], threshold: float) -> dict[str, Any]:
    """The threshold of caring as a dotted line across categories (a shape would need log
    coordinates on a log axis)."""
    return {
        "type": "scatter",
        "mode": "lines",
        "x": x,
        "y": [threshold] * len(x),
        "name": "threshold of caring",
        "line": {"color": MUTED, "dash": "dot", "width": 1.5},
        "hovertemplate": "threshold %{y:.4g}<extra></extra>",
    }


def log_ticks(values: list[float]) -> dict[str, Any]:
    """Labelled ticks for a log axis over ``values``: powers of ten, or 1-2-5 steps when fewer
    than three powers fall in the range; plain numbers (0.05, not 5e-2), no unlabelled digit
    clutter."""
    positive = [v for v in values if v > 0 and math.isfinite(v)]
    if not positive:
        return {}
    lo, hi = min(positive) / 1.5, max(positive) * 1.5
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    for steps in ((1,), (1, 2, 5), (1, 1.5, 2, 3, 5, 7)):
        ticks = [m * 10.0**e for e in decades for m in steps if lo <= m * 10.0**e <= hi]
        if len(ticks) >= 3:
            break
    return {
        "tickmode": "array",
        "tickvals": ticks,
        "ticktext": [sig(t, 1) for t in ticks],
        "minor": {"showgrid": False, "ticks": ""},
    }


def expected_loss(r: BayesianAnalysis) -> dict[str, Any]:
    """Expected loss and its worst-5% average per choice, on a log axis: the loss of the
    best choice is often hundreds of times smaller than the others'."""
    k = _scale(r.metric)
    names = [v.name for v in r.variants]
    return {
        "data": [
            {
                "type": "bar",
                "x": names,
                "y": [v.expected_loss * k for v in r.variants],
                "marker": {"color": [color(i) for i in range(len(names))]},
                "hovertemplate": "%{x}: %{y:.4g}<extra>expected loss</extra>",
                "name": "expected loss",
            },
            {
                "type": "scatter",
                "mode": "markers",
                "x": names,
                "y": [v.cvar * k for v in r.variants],
                "marker": {"color": MUTED, "symbol": "line-ew-open", "size": 22},
                "hovertemplate": "%{x}: %{y:.4g}<extra>worst-5% average</extra>",
                "name": "worst-5% average (CVaR)",
            },
            _threshold_trace(names, r.threshold * k),
        ],
        "layout": _with_axis(
            layout(
                "Expected loss of choosing each variant (log scale)",
                "Variant",
                "Expected loss" + (" (points)" if r.metric == "proportion" else ""),
                hovermode="closest",
            ),
            "yaxis",
            type="log",
            **log_ticks(
                [v.expected_loss * k for v in r.variants]
                + [v.cvar * k for v in r.variants]
                + [r.threshold * k]
            ),
        ),
    }


def loss_over_time(r: BayesianAnalysis, loss: LossOverTime) -> dict[str, Any]:
    k = _scale(r.metric)
    names = [v.name for v in r.variants]
    traces = [
        line(
            [],
            np.asarray(series) * k,
            f"choose {name}",
            names.index(name) if name in names else j,
            hover="%{y:.4g}",
            mode="lines+markers",
        )
        for j, (name, series) in enumerate(zip(loss.names, loss.expected_loss, strict=True))
    ]
    for trace in traces:
        trace["x"] = list(loss.periods)  # dates as text: numpy would make an unserialisable array
    return {
        "data": traces,
        "layout": layout(
            "Expected loss of each choice over the course of the experiment",
            "Day (cumulative data)",
            f"Expected loss{_difference_unit(r.metric)}",
            shapes=[hline(r.threshold * k, "threshold")],
        ),
    }


def joint(r: BayesianAnalysis) -> dict[str, Any]:
    """P(primary better), P(better and every guardrail holds) from joint draws, and the product
    of marginals (what independence would give), per variant."""
    names = [j.variant for j in r.joint]
    bars = [
        ("P(better)", [j.prob_win for j in r.joint], 0),
        ("P(better and guardrails hold)", [j.prob_win_and_safe for j in r.joint], 1),
        ("…if the metrics were independent", [j.prob_independent for j in r.joint], 2),
    ]
    data = [
        {
            "type": "bar",
            "x": names,
            "y": y,
            "name": label,
            "marker": {"color": color(i)},
            "text": [f"{p:.1%}" for p in y],
            "textposition": "auto",
            "hovertemplate": f"%{{x}}: %{{y:.2%}}<extra>{esc(label)}</extra>",
        }
        for label, y, i in bars
    ]
    how = "correlated metrics (copula)" if r.dependence == "correlated" else "independent metrics"
    return {
        "data": data,
        "layout": _with_axis(
            layout(
                f"Winning without breaking a guardrail ({how})",
                "Variant",
                "Probability",
                y_format=".0%",
                hovermode="closest",
                barmode="group",
            ),
            "yaxis",
            range=[0, 1.05],
        ),
    }


def effect_prior(r: BayesianAnalysis) -> dict[str, Any]:
    """Prior, data (normal approximation) and posterior of each variant's lift."""
    scale = _scale(r.metric)
    data = []
    for k, p in enumerate(r.prior_influence):
        x = np.asarray(p.grid) * scale
        for label, pdf, dash in (
            ("prior", p.prior_pdf, "dot"),
            ("data", p.data_pdf, "dash"),
            ("posterior", p.posterior_pdf, "solid"),
        ):
            if pdf:
                density = np.asarray(pdf) / scale
                data.append(line(x, density, f"{p.variant}: {label}", k + 1, dash=dash))
    return {
        "data": data,
        "layout": layout(
            "The effect prior's pull: prior, data and posterior of each lift",
            f"Lift over {r.control}{_difference_unit(r.metric)}",
            "Density",
            hovermode="closest",
        ),
    }


def analysis_figures(r: BayesianAnalysis, loss: LossOverTime | None) -> dict[str, Any]:
    figures = {
        "posteriors": posteriors(r),
        "lift": lift(r),
        "prob_best": prob_best(r),
        "expected_loss": expected_loss(r),
    }
    if r.joint and r.guardrails:
        figures["joint"] = joint(r)
    if r.prior_influence:
        figures["effect_prior"] = effect_prior(r)
    if loss is not None:
        figures["loss_over_time"] = loss_over_time(r, loss)
    return figures


def stopping_figures(s: StoppingSimulation) -> dict[str, Any]:
    days = np.arange(1, s.days + 1)
    daily = line(
        days,
        s.ship_rate_by_day,
        "checked every day: shipped B by this day",
        5,
        hover="day %{x}<br>%{y:.1%}",
    )
    end = {
        "type": "scatter",
        "mode": "markers",
        "x": [s.days],
        "y": [s.ship_rate_end],
        "name": f"applied once after day {s.days}",
        "marker": {"color": color(0), "size": 10, "symbol": "diamond"},
        "error_y": {"type": "data", "array": [s.ship_rate_end_se], "color": color(0)},
        "hovertemplate": "%{y:.1%} ± 1 standard error<extra>once at the end</extra>",
    }
    return {
        "stopping": {
            "data": [daily, end],
            "layout": _with_axis(
                layout(
                    "Ship rate under no true difference",
                    "Day of checking",
                    "Share of experiments that shipped B",
                    y_format=".0%",
                    shapes=[hline(s.ship_rate_end, f"once at the end: {s.ship_rate_end:.1%}")],
                ),
                "yaxis",
                rangemode="tozero",
            ),
        }
    }
