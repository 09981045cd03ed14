"""The power calculator's two charts, as plain Plotly dicts."""

from __future__ import annotations

from typing import Any

import numpy as np

from blueprints._figures import hline, layout, line
from stats import power as sp
from stats.power import PowerResult

TARGETS = (0.8, 0.9, 0.95)
MDE_FACTORS = (0.75, 1.0, 1.25)


def _options(r: PowerResult) -> dict[str, Any]:
    options: dict[str, Any] = {
        "alpha": r.alpha,
        "alternative": r.alternative,
        "ratio": r.ratio,
        "arms": r.arms,
        "bonferroni": r.bonferroni,
        "rho": r.rho,
    }
    if r.metric == "proportion":
        options["continuity_correction"] = r.method == "fleiss-cc"
    return options


def _mde_grid(r: PowerResult) -> np.ndarray:
    """Effects from 0 to 2.5× the chosen MDE, kept inside (0, 1) for rates."""
    top = 2.5 * r.mde
    if r.baseline is not None:
        limit = (1 - r.baseline if r.mde > 0 else -r.baseline) * 0.999
        top = top if abs(top) < abs(limit) else limit
    return np.linspace(top / 100, top, 60)


def _target_mdes(r: PowerResult) -> list[tuple[float, float]]:
    """(power target, the MDE reaching it at the chosen n), for targets the n can reach."""
    points = []
    for target in TARGETS:
        if target <= r.alpha_per_test:
            continue
        try:
            if r.baseline is not None:
                solved = sp.solve_power_proportions(
                    r.baseline, n_per_group=r.n_per_group, power=target, **_options(r)
                )
            else:
                assert r.sd is not None
                solved = sp.solve_power_means(
                    r.sd, n_per_group=r.n_per_group, power=target, **_options(r)
                )
        except ValueError:  # this n cannot reach the target for any effect in range
            continue
        points.append((target, solved.mde))
    return points


def power_vs_mde(r: PowerResult) -> dict[str, Any]:
    mdes = _mde_grid(r)
    if r.baseline is not None:
        powers = sp.power_curve_proportions(r.baseline, mdes, r.n_per_group, **_options(r))
        x, x_title, fmt = mdes * 100, "Minimum detectable effect (percentage points)", ".2f"
    else:
        assert r.sd is not None  # a mean metric always carries its sd
        powers = sp.power_curve_means(r.sd, mdes, r.n_per_group, **_options(r))
        x, x_title, fmt = mdes, "Minimum detectable effect (difference in means)", ".4g"
    trace = line(
        x,
        powers,
        f"n = {r.n_per_group:,} per group",
        0,
        hover=f"effect %{{x:{fmt}}}<br>power %{{y:.1%}}",
    )
    targets = _target_mdes(r)
    scale = 100 if r.baseline is not None else 1
    markers = {
        "type": "scatter",
        "mode": "markers+text",
        "x": [mde * scale for _, mde in targets],
        "y": [t for t, _ in targets],
        "text": [f"{t:.0%}" for t, _ in targets],
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
            shapes=[hline(t, f"{t:.0%}") for t in TARGETS],
            yaxis_range=[0, 1.02],
        ),
    }


def n_vs_power(r: PowerResult) -> dict[str, Any]:
    powers = np.linspace(max(0.5, r.alpha_per_test + 0.01), 0.99, 30)
    traces = []
    for i, factor in enumerate(MDE_FACTORS):
        mde = r.mde * factor
        if r.baseline is not None:
            if not 0 < r.baseline + mde < 1:
                continue
            n = sp.sample_size_curve_proportions(r.baseline, mde, powers, **_options(r))
            label = f"MDE {mde * 100:+.2f} pts"
        else:
            assert r.sd is not None
            n = sp.sample_size_curve_means(r.sd, mde, powers, **_options(r))
            label = f"MDE {mde:+.4g}"
        traces.append(
            line(powers, np.ceil(n), label, i, hover="power %{x:.0%}<br>n per group %{y:,.0f}")
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
