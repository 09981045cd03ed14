"""Write the A/B analyzer's samples: ``python -m bench.make_samples [DIR]``.

``abtest_users.csv`` has one row per user (``user_id``, ``variant``, ``converted``,
``revenue``): 6,000 users split at random between ``control``, ``B`` and ``C``. Conversion
is 10% in control, 13.5% in B (+3.5 points, +35%) and 10.5% in C (+0.5 points, too small
to see at this size); a converting user spends Gamma(2, 20) (mean 40, sd 28), others 0.
``abtest_summary.csv`` has one row per variant with the same experiment's aggregates
(``users``, ``conversions``, ``revenue_mean``, ``revenue_sd``), the layout a warehouse
query gives. Seeded, so both files are reproducible byte for byte.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROWS = 6_000
RATES = {"control": 0.10, "B": 0.135, "C": 0.105}
SEED = 7
"""Seeds 1-8 were tried; 7 gives estimates close to the truth (B 13.6%, C 10.3%, control
10.8%): B significant at the Holm-adjusted 5% level, C not, the case the verdict card shows."""


def make_users(rows: int = ROWS, seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = np.array(list(RATES))
    variant = names[rng.integers(0, len(names), rows)]
    rate = pd.Series(variant).map(RATES).to_numpy()
    converted = (rng.random(rows) < rate).astype(int)
    revenue = np.where(converted == 1, rng.gamma(2.0, 20.0, rows), 0.0).round(2)
    return pd.DataFrame(
        {
            "user_id": [f"u{i:05d}" for i in range(1, rows + 1)],
            "variant": variant,
            "converted": converted,
            "revenue": revenue,
        }
    )


def summarize_users(users: pd.DataFrame) -> pd.DataFrame:
    g = users.groupby("variant", sort=False)
    out = pd.DataFrame(
        {
            "users": g.size(),
            "conversions": g["converted"].sum(),
            "revenue_mean": g["revenue"].mean().round(4),
            "revenue_sd": g["revenue"].std(ddof=1).round(4),
        }
    )
    return out.loc[list(RATES)].rename_axis("variant").reset_index()


def main(folder: Path) -> None:
    users = make_users()
    for name, frame in (
        ("abtest_users.csv", users),
        ("abtest_summary.csv", summarize_users(users)),
    ):
        frame.to_csv(folder / name, index=False, lineterminator="\n")
        print(folder / name)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "static/samples"))
