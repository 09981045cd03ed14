"""Ratio metrics beside gbstats' ``RatioStatistic`` (issue 14), on the same seeded sums.

``python -m bench.compare_ratio_gbstats``: computes each arm's ratio, its delta-method
variance and the difference's two-sided test with Abacus, and the same with gbstats in its
own environment (``GBSTATS_PYTHON``, default ``/work/gbstats-venv/bin/python``; gbstats pins
numpy < 2), and prints both. A comparison to read, not a test: gbstats is no dependency.
"""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np

from stats.comparisons import compare_ratios
from stats.sufficient import RatioStats

PEER = """
import json, sys
from gbstats.frequentist.tests import FrequentistConfig, TwoSidedTTest
from gbstats.models.statistics import RatioStatistic, SampleMeanStatistic
arms = [RatioStatistic(n=a["n"], m_statistic=SampleMeanStatistic(n=a["n"], sum=a["x"],
        sum_squares=a["xx"]), d_statistic=SampleMeanStatistic(n=a["n"], sum=a["y"],
        sum_squares=a["yy"]), m_d_sum_of_products=a["xy"]) for a in json.load(sys.stdin)]
r = TwoSidedTTest(arms[0], arms[1], FrequentistConfig(difference_type="absolute")).compute_result()
print(json.dumps({"ratio": [a.mean for a in arms], "var": [a.variance for a in arms],
                  "estimate": r.expected, "ci": list(r.ci), "pvalue": r.p_value}))
"""


def sums(rng: np.random.Generator, n: int, orders: float, value: float) -> dict[str, float]:
    """Per-user orders (Poisson) and revenue (order values normal(value, 8) summed)."""
    y = rng.poisson(orders, n).astype(float)
    x = value * y + 8 * np.sqrt(y) * rng.standard_normal(n)
    return {"n": n, "x": x.sum(), "y": y.sum(), "xx": x @ x, "yy": y @ y, "xy": x @ y}


def main() -> None:
    rng = np.random.default_rng(14)
    arms = [sums(rng, 3000, 1.4, 30.0), sums(rng, 3000, 1.4, 31.0)]
    ours = [
        RatioStats.from_sums(name, int(a["n"]), a["x"], a["y"], a["xx"], a["yy"], a["xy"])
        for name, a in zip("AB", arms, strict=True)
    ]
    c = compare_ratios(*ours)
    python = os.environ.get("GBSTATS_PYTHON", "/work/gbstats-venv/bin/python")
    out = subprocess.run(
        [python, "-c", PEER], input=json.dumps(arms), capture_output=True, text=True, check=True
    )
    g = json.loads(out.stdout)
    for i, o in enumerate(ours):
        print(f"{o.name}: ratio {o.mean:.10g} | gbstats {g['ratio'][i]:.10g}")
        print(f"   variance per user {o.var:.10g} | gbstats {g['var'][i]:.10g}")
    print(f"difference {c.estimate:.10g} | gbstats {g['estimate']:.10g}")
    print(
        f"95% CI {c.ci_low:.8g} to {c.ci_high:.8g} | gbstats {g['ci'][0]:.8g} to {g['ci'][1]:.8g}"
    )
    print(f"p {c.pvalue:.8g} (z) | gbstats {g['pvalue']:.8g} (t, Welch df)")


if __name__ == "__main__":
    main()
