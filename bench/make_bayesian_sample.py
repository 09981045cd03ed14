"""Write the Bayesian module's sample: ``python -m bench.make_bayesian_sample [DIR]``.

``bayesian_daily.csv`` has one row per user (``user_id``, ``date``, ``variant``,
``converted``, ``purchases``, ``revenue``, ``time_on_page``): 14 days of about 300 new users
a day split at random between ``A`` and ``B``. Conversion is 10% in A and 12% in B; a
converting user makes 1 + Poisson(0.4) purchases and spends Gamma(2, 20) per purchase;
time on page is log-normal (median 60 s in A, 63 s in B). The ``date`` column lets the page
draw the expected loss of each choice day by day. Seeded, so the file is reproducible.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

DAYS = 14
DAILY_USERS = 300
RATES = {"A": 0.10, "B": 0.12}
MEDIAN_TIME = {"A": 60.0, "B": 63.0}
SEED = 7


def make_daily(seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    per_day = rng.poisson(DAILY_USERS, DAYS)
    dates = np.repeat(pd.date_range("2024-03-04", periods=DAYS).strftime("%Y-%m-%d"), per_day)
    rows = len(dates)
    variant = np.array(list(RATES))[rng.integers(0, len(RATES), rows)]
    converted = (rng.random(rows) < pd.Series(variant).map(RATES).to_numpy()).astype(int)
    purchases = np.where(converted == 1, 1 + rng.poisson(0.4, rows), 0)
    revenue = np.array([rng.gamma(2.0, 20.0, k).sum() for k in purchases]).round(2)
    median = pd.Series(variant).map(MEDIAN_TIME).to_numpy()
    time_on_page = (median * np.exp(rng.normal(0.0, 0.8, rows))).round(1)
    return pd.DataFrame(
        {
            "user_id": [f"u{i:05d}" for i in range(1, rows + 1)],
            "date": dates,
            "variant": variant,
            "converted": converted,
            "purchases": purchases,
            "revenue": revenue,
            "time_on_page": time_on_page,
        }
    )


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    make_daily().to_csv(out / "bayesian_daily.csv", index=False, lineterminator="\n")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "static/samples"))
