"""The core calls of issue 16 beside same-run baselines, and gbstats beside them.

``python -m bench core``. Each row is Abacus' median time beside a baseline measured in the
same process (scipy/statsmodels doing less: no interval, or a Wald one), so the ratio keeps
its meaning on a busy machine. gbstats (GrowthBook's engine), the peer the issue compares
with, pins numpy < 2: it runs in its own environment (``GBSTATS_PYTHON``, default
``/work/gbstats-venv/bin/python``) via :mod:`bench._gbstats_peer`, and its times are printed
beside ours when that environment exists.

The CUPED "text arm labels" row is what a user's upload costs after parsing: the rows are
written as a CSV and read by :func:`sources.upload.read_upload` before timing (text arm labels
dictionary-encoded by the parser), then the endpoint's pipeline from the parsed table is timed;
its baseline (groupby + Welch t) runs on the same parsed rows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from bench._timing import fmt_seconds, median_seconds, report
from bench.bench_cuped import adjusted, make_rows, unadjusted
from sources.cuped import cuped_from_frame
from sources.upload import read_upload
from stats.abtest import analyze
from stats.bayes.decision import (
    best_by_quadrature,
    grid_quantiles,
    joint_summary,
    prob_beta_greater,
)
from stats.bayes.engine import analyze_bayesian
from stats.bayes.models import BetaPosterior
from stats.comparisons import compare_proportions, sample_ratio_mismatch
from stats.sufficient import ProportionStats

GBSTATS_PYTHON = os.environ.get("GBSTATS_PYTHON", "/work/gbstats-venv/bin/python")
ROWS = 1_000_000
A, B = ProportionStats("A", 10_000, 1000), ProportionStats("B", 10_000, 1100)
TEN = [BetaPosterior(1 + 1000 + 7 * i, 1 + 9000 - 7 * i) for i in range(10)]


def gbstats_times() -> dict[str, float]:
    """gbstats' medians from its own environment, or {} when it is not installed."""
    if not Path(GBSTATS_PYTHON).exists():
        return {}
    peer = Path(__file__).with_name("_gbstats_peer.py")
    done = subprocess.run(
        [GBSTATS_PYTHON, str(peer)], capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        print(f"gbstats run failed: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return {}
    return {k: float(v) for k, v in json.loads(done.stdout).items()}


def statsmodels_score() -> object:
    """The same two numbers by statsmodels: pooled z-test and score interval."""
    proportions_ztest([1100, 1000], [10_000, 10_000])
    return confint_proportions_2indep(1100, 10_000, 1000, 10_000, method="score")


def monte_carlo_best(rng: np.random.Generator) -> object:
    """P(best) of the ten arms the old way: 100,000 joint draws, argmax per draw."""
    draws = np.vstack([rng.beta(p.alpha, p.beta, 100_000) for p in TEN])
    return joint_summary(draws)


def bayesian_two() -> object:
    """The Bayesian page's analysis of A and B (the inputs gbstats' effect test gets): exact
    P(B > A), expected losses, CVaR and both lift distributions with their intervals; the
    memo of P(X > Y) and of the grids' quantiles emptied every run, as for new data."""
    prob_beta_greater.cache_clear()
    grid_quantiles.cache_clear()
    return analyze_bayesian(
        "proportion", [A, B], control="A", threshold=0.001, rope=(-0.005, 0.005), seed=1
    )


def monte_carlo_two(rng: np.random.Generator) -> object:
    """P(best), expected loss and CVaR of A and B from 100,000 joint draws."""
    return joint_summary(np.vstack([rng.beta(1 + 1000, 1 + 9000, 100_000),
                                    rng.beta(1 + 1100, 1 + 8900, 100_000)]))  # fmt: skip


def cuped(df: pd.DataFrame) -> float:
    res = cuped_from_frame(
        df, variant="variant", outcome="revenue", covariate="revenue_pre", control="control"
    )
    return res.comparisons[0].pvalue


def main() -> None:
    peer = gbstats_times()
    text = make_rows(ROWS)
    categorical = text.assign(variant=text["variant"].astype("category"))
    upload = read_upload(text.to_csv(index=False).encode())  # parsed as a user's CSV, untimed
    parsed = upload.frame  # the same parsed rows for the baseline (text labels)
    rng = np.random.default_rng(0)
    rows = [
        (
            "compare_proportions, score interval",
            median_seconds(lambda: compare_proportions(A, B), repeat=300),
            "statsmodels z + score CI",
            median_seconds(statsmodels_score, repeat=100),
            "<= 150 us",
        ),
        (
            "analyze, 2 arms, verdict",
            median_seconds(lambda: analyze([A, B], control="A"), repeat=300),
            "statsmodels z-test alone",
            median_seconds(lambda: proportions_ztest([1100, 1000], [10_000] * 2), repeat=300),
            "<= 300 us",
        ),
        (
            "sample_ratio_mismatch, 2 arms",
            median_seconds(lambda: sample_ratio_mismatch([A, B]), repeat=300),
            "scipy chisquare",
            median_seconds(lambda: sps.chisquare([10_000, 10_000]), repeat=300),
            "<= 60 us",
        ),
        (
            f"CUPED, {ROWS:,} rows, text arm labels",
            median_seconds(partial(adjusted, upload), repeat=7, warmup=1),
            "groupby + Welch t",
            median_seconds(partial(unadjusted, parsed), repeat=7, warmup=1),
            "<= 15 ms",
        ),
        (
            f"CUPED, {ROWS:,} rows, categorical arms",
            median_seconds(partial(cuped, categorical), repeat=7, warmup=1),
            "groupby + Welch t",
            median_seconds(partial(unadjusted, categorical), repeat=7, warmup=1),
            "<= 15 ms",
        ),
        (
            "P(best) + loss, 10 Beta arms, quadrature",
            median_seconds(lambda: best_by_quadrature(TEN), repeat=30),
            "Monte Carlo, 100k draws",
            median_seconds(partial(monte_carlo_best, rng), repeat=7),
            "<= 20 ms",
        ),
        (
            "Bayesian analysis, 2 conversion arms",
            median_seconds(bayesian_two, repeat=300),
            "Monte Carlo, 100k draws",
            median_seconds(partial(monte_carlo_two, rng), repeat=15),
            "< gbstats",
        ),
    ]
    report(f"Core calls, issue 16 ({time.strftime('%Y-%m-%d')})", rows)
    if not peer:
        print("gbstats: not installed (set GBSTATS_PYTHON to its environment's python)")
        return
    print("\ngbstats in its own environment, same inputs, same machine, same run:")
    for what, ours, key in [
        ("two-proportion test (ours: with score CI)", rows[0][1], "proportion_test"),
        ("SRM", rows[2][1], "srm"),
        ("CUPED 1M rows (gbstats: from numpy arrays)", rows[4][1], "cuped_arrays"),
        ("Bayesian 2 arms (gbstats: effect test)", rows[6][1], "bayesian_2"),
    ]:
        theirs = peer[key]
        print(
            f"  {what:44} gbstats {fmt_seconds(theirs):>9}  ours {fmt_seconds(ours):>9}"
            f"  ours/gbstats {ours / theirs:.2f}x"
        )


if __name__ == "__main__":
    main()
