"""Bayesian analysis (stats layer) beside the same quantities drawn in a Python loop.

Run ``python -m bench.bench_bayesian`` from the repository root. The baseline draws one
posterior value per variant per iteration in a plain loop and accumulates P(best) and the
expected loss; it runs on a subset of the draws and is scaled to 100,000 draws.
"""

from __future__ import annotations

import time

import numpy as np

from bench._timing import median_seconds, report
from stats.bayes.decision import grid_quantiles, prob_beta_greater
from stats.bayes.engine import analyze_bayesian, variant_stats

DRAWS = 100_000
TWO = [
    {"name": "A", "users": 1000, "conversions": 100},
    {"name": "B", "users": 1000, "conversions": 120},
]
TEN = [{"name": f"V{i}", "users": 10_000, "conversions": 1000 + 7 * i} for i in range(10)]


def loop_reference(variants: list[dict[str, object]], draws: int) -> float:
    """Seconds for P(best) and expected loss by a Python loop over ``draws`` joint draws."""
    rng = np.random.default_rng(0)
    params = [(1 + int(v["conversions"]), 1 + int(v["users"]) - int(v["conversions"]))  # type: ignore[call-overload]
              for v in variants]  # fmt: skip
    wins = [0] * len(params)
    loss = [0.0] * len(params)
    start = time.perf_counter()
    for _ in range(draws):
        theta = [rng.beta(a, b) for a, b in params]
        best = max(theta)
        wins[theta.index(best)] += 1
        for i, t in enumerate(theta):
            loss[i] += best - t
    return time.perf_counter() - start


def fresh() -> None:
    """Empty the memo of P(X > Y) and of the grids' quantiles: every run as for new data."""
    prob_beta_greater.cache_clear()
    grid_quantiles.cache_clear()


def main() -> None:
    def two() -> None:
        fresh()
        analyze_bayesian("proportion", variant_stats("proportion", TWO), control="A",
                         threshold=0.001, rope=(-0.005, 0.005), draws=DRAWS, seed=1)  # fmt: skip

    def ten() -> None:
        fresh()
        analyze_bayesian("proportion", variant_stats("proportion", TEN), control="V0",
                         threshold=0.001, rope=(-0.005, 0.005), draws=DRAWS, seed=1)  # fmt: skip

    subset = 5_000
    report(
        f"Bayesian analysis, stats layer ({time.strftime('%Y-%m-%d')})",
        [
            (
                "2 variants, proportion (closed form)",
                median_seconds(two, repeat=100),
                "loop, 100k draws",
                loop_reference(TWO, subset) * DRAWS / subset,
                "≤ 5 ms",
            ),
            (
                "10 variants, proportion, 100k joint draws",
                median_seconds(ten, repeat=15),
                "loop, 100k draws",
                loop_reference(TEN, subset) * DRAWS / subset,
                "≤ 100 ms",
            ),
        ],
    )


if __name__ == "__main__":
    main()
