"""Segments with partial pooling beside statsmodels' random-effects meta-analysis.

``python -m bench segments``. The issue's target: 20 segments × 3 variants (two treatments
against control, each with heterogeneity, the stratified effect and the hierarchical model
with τ integrated by quadrature) in ≤ 50 ms; argonx's PyMC model needs about 18 s. Baselines
in the same run: statsmodels ``combine_effects`` (DerSimonian–Laird; no shrunken intervals,
no P(effect > 0)) on the same effects, and a direct simulation of the same posterior
(importance sampling, 100,000 draws), which is what quadrature replaces.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from statsmodels.stats.meta_analysis import combine_effects

from app import create_app
from bench._timing import median_seconds, report
from stats.segments import compare_segments, partial_pooling, wald_difference
from stats.sufficient import ProportionStats
from tests.stats.test_segments import SE, Y, posterior_draws

SEGMENTS, VARIANTS = 20, 3


def segment_stats(
    seed: int = 0,
) -> tuple[list[tuple[str, list[ProportionStats]]], list[ProportionStats]]:
    """20 segments of 500 to 20,000 users per arm, 3 arms, rates 5-15% with small lifts."""
    rng = np.random.default_rng(seed)
    segments = []
    totals = {name: [0, 0] for name in "ABC"}
    for s in range(SEGMENTS):
        n = int(rng.integers(500, 20_000))
        base = rng.uniform(0.05, 0.15)
        arms = []
        for i, name in enumerate("ABC"):
            conv = int(rng.binomial(n, base + 0.005 * i + rng.normal(0, 0.003)))
            arms.append(ProportionStats(name, n, conv))
            totals[name][0] += n
            totals[name][1] += conv
        segments.append((f"segment {s}", arms))
    return segments, [ProportionStats(k, u, c) for k, (u, c) in totals.items()]


def ours(segments: list[tuple[str, list[ProportionStats]]], pooled: list[ProportionStats]) -> None:
    compare_segments(segments, pooled, control="A")


def statsmodels_baseline(segments: list[tuple[str, list[ProportionStats]]]) -> None:
    for variant in (1, 2):
        effects = [wald_difference(arms[variant], arms[0]) for _, arms in segments]
        y = np.array([e[0] for e in effects if e is not None])
        se = np.array([e[1] for e in effects if e is not None])
        combine_effects(y, se**2, method_re="dl")


def simulation(draws: int = 100_000) -> np.ndarray:
    """The eight schools' posterior by importance sampling (the test's reference,
    :func:`tests.stats.test_segments.posterior_draws`): each school's mean and 95% interval
    from the weighted draws."""
    sim = posterior_draws(draws, seed=1)
    w, theta = sim["w"], sim["theta"]
    order = np.argsort(theta, axis=0)
    cdf = np.cumsum(w[order], axis=0)
    ordered = np.take_along_axis(theta, order, axis=0)
    ends = [[np.interp(p, cdf[:, j], ordered[:, j]) for j in range(len(Y))] for p in (0.025, 0.975)]
    return np.vstack([w @ theta, *ends])


def main() -> None:
    segments, pooled = segment_stats()
    client = create_app({"TESTING": True}).test_client()
    body = {
        "segments": [
            {"name": n, "estimate": y, "se": s} for n, y, s in zip("ABCDEFGH", Y, SE, strict=True)
        ]
    }

    def api() -> None:
        response = client.post("/api/segments", json=body)
        assert response.status_code == 200, response.get_data(as_text=True)

    report(
        "Segments: per-segment effects, heterogeneity and partial pooling",
        [
            (
                f"{SEGMENTS} segments × {VARIANTS} variants (stats)",
                median_seconds(partial(ours, segments, pooled), repeat=30),
                "statsmodels combine_effects (DL)",
                median_seconds(partial(statsmodels_baseline, segments), repeat=30),
                "≤ 50 ms",
            ),
            (
                "eight schools, partial pooling (quadrature)",
                median_seconds(partial(partial_pooling, Y, SE), repeat=50),
                "direct simulation, 100k draws",
                median_seconds(simulation, repeat=5),
                "-",
            ),
            (
                "POST /api/segments, eight schools",
                median_seconds(api, repeat=30),
                "statsmodels combine_effects (DL)",
                median_seconds(partial(combine_effects, Y, SE**2, method_re="dl"), repeat=50),
                "-",
            ),
        ],
    )
