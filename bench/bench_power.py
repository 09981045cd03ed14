"""POST /api/power with both figures, beside statsmodels solving the same n alone."""

from __future__ import annotations

import time

from flask.testing import FlaskClient
from statsmodels.stats.proportion import samplesize_proportions_2indep_onetail

from app import create_app
from bench._timing import median_seconds, report

BODY = {"metric": "proportion", "baseline": 0.10, "mde": 0.02, "alpha": 0.05, "power": 0.80,
        "alternative": "two-sided", "daily_traffic": 500}  # fmt: skip
MEAN_BODY = {"metric": "mean", "sd": 10, "mde": 1, "alpha": 0.05, "power": 0.8}


def server_time(client: FlaskClient, body: dict[str, object]) -> float:
    """Median time inside the app (request in, JSON out) through the Flask test client."""

    def call() -> None:
        response = client.post("/api/power", json=body)
        assert response.status_code == 200

    return median_seconds(call, repeat=200)


def main() -> None:
    client = create_app({"TESTING": True}).test_client()
    ours = server_time(client, BODY)
    ours_mean = server_time(client, MEAN_BODY)
    statsmodels_n = median_seconds(
        lambda: samplesize_proportions_2indep_onetail(0.02, 0.10, 0.8, alpha=0.05), repeat=200
    )
    from statsmodels.stats.power import TTestIndPower

    statsmodels_t = median_seconds(
        lambda: TTestIndPower().solve_power(0.1, alpha=0.05, power=0.8), repeat=50
    )
    report(
        f"Power calculator ({time.strftime('%Y-%m-%d')})",
        [
            (
                "POST /api/power, proportion, 2 figures",
                ours,
                "statsmodels n alone",
                statsmodels_n,
                "≤ 5 ms",
            ),
            (
                "POST /api/power, mean, 2 figures",
                ours_mean,
                "statsmodels t-test n",
                statsmodels_t,
                "≤ 5 ms",
            ),
        ],
    )
