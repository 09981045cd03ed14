"""CUPED on 1,000,000 rows beside a plain unadjusted analysis of the same rows.

``python -m bench.bench_cuped`` from the repository root (or ``python -m bench cuped``). The
rows are written as a CSV and parsed once, before timing, by the upload reader
(:func:`sources.upload.read_upload`, as the endpoint reads them: text arm labels
dictionary-encoded by the parser, each numeric column in one chunk), so the arm codes come
from the parser; the time starts after parsing: reading the columns
(:func:`sources.cuped.upload_rows`, its per-upload cache emptied every run) and CUPED
(:func:`stats.cuped.cuped_rows`). The baseline is what an unadjusted analysis needs: per-arm
count, mean and sd (pandas groupby) and Welch's t test from them (scipy). Targets: CUPED
<= 15 ms on 1,000,000 rows (issue 16), <= 1 s with missing covariates.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
from scipy import stats as sps

from bench._timing import median_seconds, report
from sources.cuped import upload_rows
from sources.upload import Upload, read_upload
from stats.cuped import cuped_rows

ROWS = 1_000_000
REPEAT = 7


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


def parsed(df: pd.DataFrame) -> Upload:
    """The rows as a CSV read by the upload reader, as a user's upload is."""
    return read_upload(df.to_csv(index=False).encode())


def adjusted(table: Upload) -> float:
    """CUPED on the same rows, from the parsed table: the adjusted p-value."""
    table.cache.clear()
    rows = upload_rows(
        table, variant="variant", outcome="revenue", covariates=[("covariate", "revenue_pre")]
    )
    res = cuped_rows(
        rows.codes, rows.names, rows.y, rows.covariates["revenue_pre"], control="control"
    )
    return res.comparisons[0].pvalue


def main() -> None:
    rows = []
    for missing, target in ((0.0, "<= 15 ms"), (0.1, "<= 1 s")):
        df = make_rows(ROWS, missing=missing)
        table = parsed(df)
        rows.append(
            (
                f"CUPED, {ROWS:,} rows, {missing:.0%} missing covariate",
                median_seconds(partial(adjusted, table), repeat=REPEAT, warmup=1),
                "groupby + Welch t",
                median_seconds(partial(unadjusted, df), repeat=REPEAT, warmup=1),
                target,
            )
        )
    report("CUPED after parsing (sources.cuped.upload_rows + stats.cuped.cuped_rows)", rows)


if __name__ == "__main__":
    main()
