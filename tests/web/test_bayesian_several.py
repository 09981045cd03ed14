"""POST /api/bayesian with several metrics: joint draws, correlation, composite weights, a
lower-is-better primary and the informative effect prior.

References: scipy ``multivariate_normal.cdf`` (the bivariate orthant of two correlated
normal lifts), the normal–normal conjugate update written out, and Miller's P(B > A) via
``stats.bayes.decision.prob_beta_greater`` for the direction flip.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from flask.testing import FlaskClient
from scipy import stats as st

from stats.bayes.decision import prob_beta_greater
from tests.web.problems import problem

N = 5_000
BODY: dict[str, Any] = {
    "metric": "mean",
    "threshold": 0.01,
    "seed": 3,
    "draws": 200_000,
    "variants": [
        {"name": "A", "users": N, "mean": 50.0, "sd": 20.0},
        {"name": "B", "users": N, "mean": 50.6, "sd": 20.0},
    ],
    "guardrails": [
        {
            "name": "cost",
            "metric": "mean",
            "tolerance": 0.5,
            "higher_is_better": False,
            "variants": [
                {"name": "A", "users": N, "mean": 30.0, "sd": 10.0},
                {"name": "B", "users": N, "mean": 30.5, "sd": 10.0},
            ],
        }
    ],
}


def post(client: FlaskClient, **changes: Any) -> Any:
    return client.post("/api/bayesian", json={**BODY, **changes})


def test_correlated_guardrail_matches_the_orthant_probability(client: FlaskClient) -> None:
    rho = 0.6
    r = post(client, correlation=[[1, rho], [rho, 1]], weights=[1, 1])
    assert r.status_code == 200, r.json
    res = r.json["result"]
    var1, var2, cov = 2 * 400 / N, 2 * 100 / N, 2 * rho * 200 / N
    ref = st.multivariate_normal([-0.6, 0.5], [[var1, -cov], [-cov, var2]]).cdf([0.0, 0.5])
    (j,) = res["joint"]
    assert j["prob_win_and_safe"] == pytest.approx(
        ref, abs=4 * math.sqrt(ref * (1 - ref) / 200_000)
    )
    assert res["dependence"] == "correlated" and res["weights"] == [1, 1]
    assert j["composite_low"] < j["composite_mean"] < j["composite_high"]
    assert "drawn jointly with the metrics' correlation" in r.json["readout"]
    assert "composite score of B" in r.json["readout"]
    assert len(r.json["figures"]["joint"]["data"]) == 3


def test_independent_by_default_says_so(client: FlaskClient) -> None:
    r = post(client)
    assert r.json["result"]["dependence"] == "independent"
    assert "metrics assumed independent" in r.json["readout"]


def test_effect_prior_is_the_conjugate_update(client: FlaskClient) -> None:
    r = post(client, guardrails=[], effect_prior={"mean": 0.0, "sd": 0.2})
    (p,) = r.json["result"]["prior_influence"]
    precision = 1 / 0.2**2 + 1 / p["data_sd"] ** 2
    assert p["posterior_mean"] == pytest.approx(p["data_mean"] / p["data_sd"] ** 2 / precision)
    assert p["posterior_sd"] == pytest.approx(precision**-0.5)
    assert "effect_prior" in r.json["figures"]
    assert "The effect prior N(0, 0.2²) moves the lift of B" in r.json["readout"]


def test_lower_is_better_flips_the_probability(client: FlaskClient) -> None:
    body = {
        "metric": "proportion",
        "threshold": 0.001,
        "higher_is_better": False,
        "variants": [
            {"name": "A", "users": 1000, "conversions": 100},
            {"name": "B", "users": 1000, "conversions": 120},
        ],
    }
    r = client.post("/api/bayesian", json=body).json
    assert r["result"]["higher_is_better"] is False
    ref = 1 - prob_beta_greater(121, 881, 101, 901)
    assert r["result"]["comparisons"][0]["prob_better"] == pytest.approx(ref)
    assert r["result"]["best"] == "A"
    assert "Lower is better" in r["readout"]


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"correlation": [[1, 0.5]]}, 422, "correlation"),
        ({"correlation": [1, 0.5]}, 400, "correlation[0]"),
        ({"correlation": [[1, "x"], [0.1, 1]]}, 400, "correlation[0][1]"),
        ({"weights": [1]}, 422, "weights"),
        ({"weights": ["a", 1]}, 400, "weights[0]"),
        ({"effect_prior": {"sd": 0}}, 422, "effect_prior.sd"),
        ({"effect_prior": {"mean": 0}}, 400, "effect_prior.sd"),
        ({"effect_prior": [0.1]}, 400, "effect_prior"),
        ({"higher_is_better": "no"}, 400, "higher_is_better"),
    ],
)
def test_bad_options_are_4xx(
    client: FlaskClient, changes: dict[str, Any], status: int, field: str
) -> None:
    problem(post(client, draws=1_000, **changes), status, field)
