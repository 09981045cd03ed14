"""The peeking simulation (100,000 experiments x 100 looks) beside a per-observation reference.

Run: ``python -m bench.bench_sequential`` (or ``python -m bench sequential``). The reference
is how one would first write it: for each experiment draw every user's 0/1 outcome, take
cumulative counts at the looks and apply the four rules. It runs a subset of the experiments
and its time is scaled to 100,000 (stated in the table); both report their false positive
rates so the two can be seen to agree.
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy import special

from bench._timing import fmt_seconds, median_seconds, report
from stats.group_sequential import _naive_curve, critical_values, group_sequential_bounds
from stats.msprt import mixture_log_lr, tau_for_planned_n
from stats.peeking import simulate_peeking

LOOKS, N_PER_ARM, BASELINE, ALPHA = 100, 10_000, 0.10, 0.05
SIMULATIONS = 100_000
REFERENCE_SIMULATIONS = 500


def reference(simulations: int, seed: int) -> dict[str, float]:
    """Per-observation simulation: one experiment at a time, every user drawn."""
    looks, n, p, alpha = LOOKS, N_PER_ARM, BASELINE, ALPHA
    look_n = (2 * np.arange(1, looks + 1) * n + looks) // (2 * looks)
    t = look_n / n
    bounds = {
        "naive": np.full(looks, special.ndtri(1 - alpha / 2)),
        "obrien_fleming": critical_values(t, alpha, True, "obrien-fleming", 0.0),
        "pocock": critical_values(t, alpha, True, "pocock", 0.0),
    }
    tau = tau_for_planned_n(2 * p * (1 - p), 2 * n, alpha)
    rejections = dict.fromkeys([*bounds, "msprt"], 0)
    rng = np.random.default_rng(seed)
    for _ in range(simulations):
        a = np.cumsum(rng.random(n) < p)[look_n - 1]
        b = np.cumsum(rng.random(n) < p)[look_n - 1]
        pa, pb = a / look_n, b / look_n
        pooled = (a + b) / (2 * look_n)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (pb - pa) / np.sqrt(pooled * (1 - pooled) * 2 / look_n)
        for name, bound in bounds.items():
            rejections[name] += bool((np.abs(z) >= bound).any())
        var = (pa * (1 - pa) + pb * (1 - pb)) / look_n
        rejections["msprt"] += bool((mixture_log_lr(pb - pa, var, tau) >= -math.log(alpha)).any())
    return {name: count / simulations for name, count in rejections.items()}


def ours(metric: str) -> float:
    """Median time of simulate_peeking at 100,000 experiments x 100 looks."""
    baseline = BASELINE if metric == "proportion" else None
    return median_seconds(
        lambda: simulate_peeking(
            looks=LOOKS, n_per_arm=N_PER_ARM, metric=metric, baseline=baseline,
            alpha=ALPHA, simulations=SIMULATIONS, seed=1,
        ),
        repeat=5,
        warmup=1,
    )  # fmt: skip


def main() -> None:
    binary, mean = ours("proportion"), ours("mean")
    result = simulate_peeking(
        looks=LOOKS, n_per_arm=N_PER_ARM, baseline=BASELINE, alpha=ALPHA,
        simulations=SIMULATIONS, seed=1,
    )  # fmt: skip
    start = time.perf_counter()
    ref_rates = reference(REFERENCE_SIMULATIONS, seed=2)
    ref = (time.perf_counter() - start) * SIMULATIONS / REFERENCE_SIMULATIONS
    scaled = f"per-obs ref, {REFERENCE_SIMULATIONS} exps x{SIMULATIONS // REFERENCE_SIMULATIONS}"
    report(
        f"Sequential testing ({time.strftime('%Y-%m-%d')})",
        [
            ("simulate_peeking 100k x 100 looks, binary", binary, scaled, ref, "≤ 1 s"),
            ("simulate_peeking 100k x 100 looks, mean", mean, "same binary ref", ref, "-"),
        ],
    )
    bounds = median_seconds(lambda: group_sequential_bounds(looks=100), repeat=5, warmup=1)
    curve = median_seconds(lambda: _naive_curve.__wrapped__(ALPHA), repeat=20)
    print(f"group_sequential_bounds(looks=100), with max_n_inflation: {fmt_seconds(bounds)}")
    print(f"exact naive peeking curve, looks 1..100 in one recursion: {fmt_seconds(curve)}")
    print(f"\nFalse positive rates at {LOOKS} looks (Monte Carlo SE in brackets):")
    print(f"{'rule':16} {'simulate_peeking':>20} {'per-obs reference':>20}")
    for name in ("naive", "obrien_fleming", "pocock", "msprt"):
        m = getattr(result.methods, name)
        r = ref_rates[name]
        se = math.sqrt(r * (1 - r) / REFERENCE_SIMULATIONS)
        print(f"{name:16} {m.rejection_rate:>11.4f} ({m.rejection_se:.4f}) {r:>11.4f} ({se:.4f})")
    print(f"{'exact (naive)':16} {result.exact_naive_rate:>11.4f}")


if __name__ == "__main__":
    main()
