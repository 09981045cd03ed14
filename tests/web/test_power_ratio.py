"""Power for a ratio metric (issue 14): the delta-method sd per user into the t-test design,
against statsmodels ``TTestIndPower`` with that sd computed here by Deng et al. (2018), eq. 4."""

from __future__ import annotations

import math

import pytest
from flask.testing import FlaskClient
from statsmodels.stats.power import TTestIndPower

from tests.web.problems import problem

RATIO = {
    "metric": "ratio",
    "numerator_mean": 60.0,
    "denominator_mean": 2.0,
    "numerator_sd": 45.0,
    "denominator_sd": 1.2,
    "covariance": 40.0,
}


def test_ratio_sample_size_matches_statsmodels(client: FlaskClient) -> None:
    r = client.post("/api/power", json={**RATIO, "mde": 1.5, "power": 0.8})
    assert r.status_code == 200, r.get_data(as_text=True)
    ratio = 60.0 / 2.0
    sd = math.sqrt((45.0**2 - 2 * ratio * 40.0 + ratio**2 * 1.2**2) / 2.0**2)
    n = TTestIndPower().solve_power(effect_size=1.5 / sd, power=0.8, alpha=0.05)
    assert r.json["result"]["n_per_group"] == math.ceil(n)
    assert "delta-method standard deviation of 15.17 per user" in r.json["readout"]
    relative = client.post(
        "/api/power", json={**RATIO, "mde": 0.05, "mde_type": "relative", "power": 0.8}
    )
    assert relative.json["result"]["n_per_group"] == r.json["result"]["n_per_group"]


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"covariance": None}, 400, "covariance"),
        ({"denominator_mean": 0.0}, 422, "denominator_mean"),
        ({"covariance": 500.0}, 422, "covariance"),
    ],
)
def test_ratio_power_errors_name_the_field(client: FlaskClient, change, status, field) -> None:
    body = {k: v for k, v in {**RATIO, **change, "mde": 1.5, "power": 0.8}.items() if v is not None}
    problem(client.post("/api/power", json=body), status, field)
