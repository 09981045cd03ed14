"""The analysis charts as plain Plotly dicts: rates with intervals, exposures against the
SRM expectation, and (bandit mode) the traffic weights over time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from blueprints._figures import MUTED, color, esc, hline, layout, vline
from experiments.store import Counts
from stats._text import p_is
from stats.experiment_analysis import ExperimentAnalysis


def rates(a: ExperimentAnalysis) -> dict[str, Any]:
    """Each variant's conversion rate with its Wilson interval (a vertical segment)."""
    traces = []
    for i, v in enumerate(a.variants):
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": [v.name, v.name],
                "y": [v.ci_low, v.ci_high],
                "name": f"{v.name} interval",
                "showlegend": False,
                "marker": {
                    "symbol": "line-ew",
                    "size": 14,
                    "line": {"width": 2, "color": color(i)},
                },
                "line": {"color": color(i), "width": 2},
                "hoverinfo": "skip",
            }
        )
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [v.name],
                "y": [v.rate],
                "name": v.name,
                "marker": {"size": 12, "color": color(i)},
                "customdata": [[v.conversions, v.exposures, v.ci_low, v.ci_high]],
                "hovertemplate": (
                    "%{y:.2%} (%{customdata[0]:,} of %{customdata[1]:,})<br>"
                    f"{1 - a.alpha:.0%} interval %{{customdata[2]:.2%}} – %{{customdata[3]:.2%}}"
                    f"<extra>{esc(v.name)}</extra>"
                ),
            }
        )
    return {
        "data": traces,
        "layout": layout(
            f"Conversion rate per variant ({1 - a.alpha:.0%} Wilson intervals)",
            "Variant",
            "Conversion rate",
            y_format=".1%",
            hovermode="closest",
            showlegend=False,
        ),
    }


def exposures(a: ExperimentAnalysis) -> dict[str, Any]:
    """Exposed units against the count the weights in force lead one to expect (SRM)."""
    names = [v.name for v in a.variants]
    return {
        "data": [
            {
                "type": "bar",
                "x": names,
                "y": [v.exposures for v in a.variants],
                "name": "Observed",
                "marker": {"color": color(0)},
                "hovertemplate": "%{y:,} exposed<extra>Observed</extra>",
            },
            {
                "type": "bar",
                "x": names,
                "y": [v.expected_exposures for v in a.variants],
                "name": "Expected from the weights",
                "marker": {"color": MUTED, "opacity": 0.55},
                "hovertemplate": "%{y:,.1f} expected<extra>Expected</extra>",
            },
        ],
        "layout": layout(
            "Exposures against the traffic weights "
            f"({p_is(a.srm_sequential.pvalue, 'always-valid SRM p')}, "
            f"{p_is(a.srm.pvalue, 'chi-square p')})",
            "Variant",
            "Exposed units",
            y_format=",.0f",
            barmode="group",
            hovermode="closest",
        ),
    }


STATUS_COLORS = {"pass": "#2e7d32", "fail": "#c62828", "inconclusive": MUTED}


def guardrails(a: ExperimentAnalysis) -> dict[str, Any]:
    """Each guardrail's difference (treatment − control) with its 1 − 2α interval, and the
    tolerance bound it must stay on the good side of (non-inferiority)."""
    traces = []
    for g in a.guardrail_tests:
        label = f"{g.metric} · {g.variant}"
        bound = -g.tolerance if g.test.direction == "higher" else g.tolerance
        colour = STATUS_COLORS[g.status]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": [g.test.ci_low, g.estimate, g.test.ci_high],
                "y": [label, label, label],
                "name": label,
                "showlegend": False,
                "line": {"color": colour, "width": 3},
                "marker": {"size": [0, 11, 0], "color": colour},
                "hovertemplate": (
                    f"{esc(label)}: %{{x:+.3%}} ({g.status})<extra>{1 - 2 * a.alpha:.0%} interval</extra>"
                ),
            }
        )
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [bound],
                "y": [label],
                "name": "Tolerance",
                "showlegend": False,
                "marker": {"symbol": "line-ns", "size": 22, "line": {"width": 2, "color": "#555"}},
                "hovertemplate": f"tolerance bound %{{x:+.3%}}<extra>{esc(label)}</extra>",
            }
        )
    return {
        "data": traces,
        "layout": layout(
            f"Guardrails: difference with {1 - 2 * a.alpha:.0%} interval against the tolerance",
            "Rate difference (treatment − control)",
            "",
            x_format=".1%",
            hovermode="closest",
            showlegend=False,
        ),
    }


def cuped(a: ExperimentAnalysis) -> dict[str, Any]:
    """Each treatment's difference with its always-valid confidence sequence, unadjusted
    and CUPED-adjusted: the adjusted one is narrower by about sqrt(1 − ρ²)."""
    assert a.cuped is not None
    plain = {c.name: c for c in a.comparisons}
    traces = []
    for label, colour, rows in (
        (
            "Unadjusted",
            MUTED,
            [(c.name, c.estimate, c.msprt_ci_low, c.msprt_ci_high) for c in plain.values()],
        ),
        (
            "CUPED",
            color(0),
            [
                (c.adjusted.variant, c.adjusted.estimate, c.msprt_ci_low, c.msprt_ci_high)
                for c in a.cuped.comparisons
            ],
        ),
    ):
        for name, estimate, low, high in rows:
            y = f"{name} · {label}"
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "x": [low, estimate, high],
                    "y": [y, y, y],
                    "name": label,
                    "legendgroup": label,
                    "showlegend": name == rows[0][0],
                    "line": {"color": colour, "width": 3},
                    "marker": {"size": [0, 11, 0], "color": colour},
                    "hovertemplate": f"%{{x:+.3%}}<extra>{esc(y)}</extra>",
                }
            )
    return {
        "data": traces,
        "layout": layout(
            f"Difference with its always-valid confidence sequence (CUPED: variance × "
            f"{a.cuped.variance_reduction:.2f})",
            "Conversion rate difference (treatment − control)",
            "",
            x_format=".1%",
            hovermode="closest",
        ),
    }


def weights(counts: Counts, names: list[str]) -> dict[str, Any]:
    """Traffic weights over time as steps: each weight vector from its start until the next."""
    starts = [p.effective_from for p in counts.periods]
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    traces = []
    for i, name in enumerate(names):
        ys = [p.weights[i] for p in counts.periods]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [*starts, now],
                "y": [*ys, ys[-1]],
                "name": name,
                "line": {"shape": "hv", "color": color(i), "width": 2},
                "hovertemplate": f"%{{y:.1%}}<extra>{esc(name)}</extra>",
            }
        )
    return {
        "data": traces,
        "layout": layout(
            "Traffic weights over time (Thompson sampling)",
            "Time (UTC)",
            "Share of new units",
            y_format=".0%",
            yaxis_range=[0, 1],
        ),
    }


def looks(policy: Mapping[str, Any]) -> dict[str, Any]:
    """The looks at an experiment against its pre-registered plan: exposed units at each
    analysis, the planned sample (dotted) and the planned end of the runtime (dashed). Under a
    fixed-horizon policy a look before the horizon is a peek, drawn in the warning colour."""
    fixed = policy["mode"] == "fixed-horizon"
    traces = []
    for before, name, i in ((True, "before the horizon", 5), (False, "at or after it", 2)):
        shown = [k for k in policy["looks"] if k["before_horizon"] == before]
        if not shown:
            continue
        label = f"look {name}" + (" (a peek)" if fixed and before else "")
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [k["at"] for k in shown],
                "y": [k["n"] for k in shown],
                "name": label,
                "marker": {"size": 10, "color": color(i)},
                "hovertemplate": f"%{{y:,}} units<extra>{esc(label)}</extra>",
            }
        )
    shapes = [hline(policy["planned_n"], f"planned {policy['planned_n']:,} units")]
    if policy["planned_end"]:
        shapes.append(vline(policy["planned_end"], "planned end", dash="dash"))
    return {
        "data": traces,
        "layout": layout(
            f"Looks against the plan ({policy['mode']} policy)",
            "Time of the look (UTC)",
            "Exposed units",
            y_format=",d",
            hovermode="closest",
            showlegend=True,
            shapes=shapes,
            yaxis_rangemode="tozero",
        ),
    }


def experiment_figures(a: ExperimentAnalysis, counts: Counts, bandit: bool) -> dict[str, Any]:
    figures = {"rates": rates(a), "exposures": exposures(a)}
    if a.guardrail_tests:
        figures["guardrails"] = guardrails(a)
    if a.cuped is not None and a.cuped.comparisons:
        figures["cuped"] = cuped(a)
    if bandit and counts.periods:
        figures["weights"] = weights(counts, [v.name for v in a.variants])
    return figures
