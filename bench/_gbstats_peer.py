"""gbstats on the same inputs as ``bench_core``, run in gbstats' own environment.

gbstats (GrowthBook's engine) pins numpy < 2, so it lives in its own virtualenv and
``bench_core`` runs this file there as a subprocess (``GBSTATS_PYTHON``, default
``/work/gbstats-venv/bin/python``). Prints one JSON object: median seconds per call. Uses
only the standard library, numpy, gbstats and the benchmarks' own timer (``bench/_timing.py``,
standard library only, found beside this file), so both sides are timed alike; nothing from
Abacus.
"""

from __future__ import annotations

import json

import numpy as np
from _timing import median_seconds  # run as a script: bench/ is on sys.path
from gbstats.bayesian.tests import EffectBayesianABTest
from gbstats.frequentist.tests import TwoSidedTTest
from gbstats.models.statistics import (
    ProportionStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
    compute_theta,
)
from gbstats.utils import check_srm


def cuped_from_arrays(codes: np.ndarray, y: np.ndarray, x: np.ndarray) -> float:
    """gbstats' CUPED: per-arm sums from arrays, RegressionAdjustedStatistic, t-test."""
    stats = []
    for arm in (0, 1):
        m = codes == arm
        ya, xa = y[m], x[m]
        n = int(m.sum())
        post = SampleMeanStatistic(n=n, sum=float(ya.sum()), sum_squares=float(ya @ ya))
        pre = SampleMeanStatistic(n=n, sum=float(xa.sum()), sum_squares=float(xa @ xa))
        stats.append((post, pre, float(xa @ ya)))
    a = RegressionAdjustedStatistic(n=stats[0][0].n, post_statistic=stats[0][0],
                                    pre_statistic=stats[0][1],
                                    post_pre_sum_of_products=stats[0][2], theta=0)  # fmt: skip
    b = RegressionAdjustedStatistic(n=stats[1][0].n, post_statistic=stats[1][0],
                                    pre_statistic=stats[1][1],
                                    post_pre_sum_of_products=stats[1][2], theta=0)  # fmt: skip
    theta = compute_theta(a, b)  # pooled over both arms, as gbstats does
    a.theta = b.theta = theta
    return float(TwoSidedTTest(a, b).compute_result().p_value)


def main() -> None:
    a = ProportionStatistic(n=10_000, sum=1000)
    b = ProportionStatistic(n=10_000, sum=1100)
    rng = np.random.default_rng(0)
    rows = 1_000_000
    codes = (rng.random(rows) < 0.5).astype(np.int64)
    x = rng.gamma(2.0, 10.0, rows)
    y = 5.0 + 0.8 * x + 0.5 * codes + rng.normal(0.0, 11.0, rows)
    out = {
        "proportion_test": median_seconds(lambda: TwoSidedTTest(a, b).compute_result(), 200),
        "srm": median_seconds(lambda: check_srm([10_000, 10_000], [0.5, 0.5]), 200),
        "bayesian_2": median_seconds(lambda: EffectBayesianABTest(a, b).compute_result(), 200),
        "cuped_arrays": median_seconds(lambda: cuped_from_arrays(codes, y, x), 7),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
