"""CUPED on 1,000,000 rows beside a plain unadjusted analysis of the same rows.

``python -m bench.bench_cuped`` from the repository root (or ``python -m bench cuped``). The
rows are built in memory the way a parsed CSV arrives (text arm labels, float columns), so
the times start after parsing. The baseline is what an unadjusted analysis needs: per-arm
count, mean and sd (pandas groupby) and Welch's t test from them (scipy). Target: CUPED
<= 1 s on 1,000,000 rows.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
from scipy import stats as sps

from bench._timing import median_seconds, report
from stats.cuped import cuped_from_frame

ROWS = 1_000_000
REPEAT = 5


def make_rows(rows: int, seed: int = 0, missing: float = 0.0) -> pd.DataFrame:
    """Two arms; the covariate explains about half of the outcome's variance."""
    rng = np.random.default_rng(seed)
    arm = np.where(rng.random(rows) < 0.5, "control", "treatment")
    x = rng.gamma(2.0, 10.0, rows)
    y = 5.0 + 0.8 * x + 0.5 * (arm == "treatment") + rng.normal(0.0, 11.0, rows)
    x[rng.random(rows) < missing] = np.nan
    return pd.DataFrame({"variant": arm, "revenue": y, "revenue_pre": x})


def unadjusted(df: pd.DataFrame) -> float:
    """Welch's t test of treatment against control from per-arm summaries: the p-value."""
    s = df.groupby("variant")["revenue"].agg(["count", "mean", "std"])
    c, t = s.loc["control"], s.loc["treatment"]
    res = sps.ttest_ind_from_stats(
        t["mean"], t["std"], t["count"], c["mean"], c["std"], c["count"], equal_var=False
    )
    return float(res.pvalue)


def adjusted(df: pd.DataFrame) -> float:
    """CUPED on the same rows: the adjusted p-value."""
    res = cuped_from_frame(
        df, variant="variant", outcome="revenue", covariate="revenue_pre", control="control"
    )
    return res.comparisons[0].pvalue


def main() -> None:
    rows = []
    for missing in (0.0, 0.1):
        df = make_rows(ROWS, missing=missing)
        rows.append(
            (
                f"CUPED, {ROWS:,} rows, {missing:.0%} missing covariate",
                median_seconds(partial(adjusted, df), repeat=REPEAT, warmup=1),
                "groupby + Welch t",
                median_seconds(partial(unadjusted, df), repeat=REPEAT, warmup=1),
                "<= 1 s",
            )
        )
    report("CUPED (stats.cuped.cuped_from_frame)", rows)


if __name__ == "__main__":
    main()
