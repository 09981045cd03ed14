"""Two-way ANOVA through the API beside statsmodels fitting the same model alone.

``python -m bench doe``. Montgomery's battery-life example (3 × 3, 4 replicates) and a 5 × 5
design with 10,000 rows: ``POST /api/doe`` (parse, ANOVA, cell and marginal means, three figures,
JSON) against ``ols(...).fit()`` + ``anova_lm`` on the same rows, the floor any answer pays.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from flask.testing import FlaskClient
from statsmodels.formula.api import ols

from app import create_app
from bench._timing import median_seconds, report

SAMPLE = "static/samples/doe_battery.csv"


def battery_rows() -> list[dict[str, Any]]:
    frame = pd.read_csv(SAMPLE)
    a, b, y = frame.columns[:3]
    return [{"a": str(r[a]), "b": str(r[b]), "y": float(r[y])} for _, r in frame.iterrows()]


def random_rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 5, n)
    b = rng.integers(0, 5, n)
    y = 10 + a + 0.5 * b + 0.3 * a * b + rng.normal(0, 3, n)
    return [{"a": f"a{i}", "b": f"b{j}", "y": float(v)} for i, j, v in zip(a, b, y, strict=True)]


def api(client: FlaskClient, rows: list[dict[str, Any]]) -> None:
    response = client.post("/api/doe", json={"factor_a": "A", "factor_b": "B", "rows": rows})
    assert response.status_code == 200, response.get_data(as_text=True)


def statsmodels_alone(rows: list[dict[str, Any]]) -> None:
    frame = pd.DataFrame(rows)
    sm.stats.anova_lm(ols("y ~ C(a) * C(b)", data=frame).fit(), typ=2)


def main() -> None:
    client = create_app({"TESTING": True}).test_client()
    cases = [
        ("battery example, 36 rows", battery_rows(), 30),
        ("5 × 5, 10,000 rows", random_rows(10_000), 10),
    ]
    report(
        "Two-way ANOVA (POST /api/doe, Type II)",
        [
            (
                f"POST /api/doe, {name}",
                median_seconds(partial(api, client, rows), repeat=repeat),
                "statsmodels fit alone",
                median_seconds(partial(statsmodels_alone, rows), repeat=repeat),
                "-",
            )
            for name, rows, repeat in cases
        ],
    )
