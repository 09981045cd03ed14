"""Write the CUPED page's sample: ``python -m bench.make_cuped_sample [PATH]``.

2,000 users split at random between A and B. ``pre_spend`` is last month's spend
(Gamma(2, 10): mean 20, sd 14.1), blank for about 8% of users (new users); ``spend`` is this
month's: ``pre_spend + Gamma(4, 7.2)`` noise (sd 14.4) plus a true effect of +1.5 in B. The
within-arm correlation is 14.1 / sqrt(14.1² + 14.4²) ≈ 0.70, so CUPED keeps about half the
variance: the effect is hard to see unadjusted and clear adjusted. Seeded, so the file is
reproducible byte for byte. The 8% of users without
a pre-period value lower the overall (multiple) correlation to about 0.65.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROWS = 2_000
EFFECT = 1.5
MISSING = 0.08
SEED = 3
"""Seeds 1-7 were tried; 3 gives an estimate close to the truth (1.55 against 1.5) whose
unadjusted interval spans 0 while the CUPED one does not: the typical case the page shows."""


def make_sample(rows: int = ROWS, seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    variant = np.where(rng.random(rows) < 0.5, "A", "B")
    pre = rng.gamma(2.0, 10.0, rows)
    spend = pre + rng.gamma(4.0, 7.2, rows) + EFFECT * (variant == "B")
    pre[rng.random(rows) < MISSING] = np.nan
    return pd.DataFrame(
        {
            "user_id": [f"u{i:05d}" for i in range(1, rows + 1)],
            "variant": variant,
            "pre_spend": pre.round(2),
            "spend": spend.round(2),
        }
    )


def main(path: Path) -> None:
    make_sample().to_csv(path, index=False, lineterminator="\n")
    print(path)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "static/samples/cuped_users.csv"))
