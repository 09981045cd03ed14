"""POST /api/sequential/* and GET /sequential: the issue's reference values, every error path."""

from __future__ import annotations

import math
from typing import Any

import pytest
from flask.testing import FlaskClient
from scipy import stats

from tests.web.problems import problem

SIMULATE = {"looks": 10, "n_per_arm": 10000, "baseline": 0.1, "effect": 0.0, "alpha": 0.05,
            "simulations": 20000, "seed": 1}  # fmt: skip
BOUNDS = {"looks": 5, "alpha": 0.05, "alternative": "two-sided", "spending": "obrien-fleming"}
LOOKS = [
    {"users": [2500, 2500], "conversions": [250, 272]},
    {"users": [5000, 5000], "conversions": [500, 560]},
]
MONITOR = {"planned_n_per_arm": 10000, "looks": LOOKS}
VARIANTS = [
    {"name": "A", "users": 5000, "conversions": 500},
    {"name": "B", "users": 5000, "conversions": 580},
]
MSPRT = {"metric": "proportion", "alpha": 0.05, "planned_n": 20000, "variants": VARIANTS}


def post(client: FlaskClient, action: str, base: dict[str, Any], **changes: Any) -> Any:
    body = {k: v for k, v in {**base, **changes}.items() if v is not ...}
    return client.post(f"/api/sequential/{action}", json=body)


def test_page_renders_three_forms(client: FlaskClient) -> None:
    html = client.get("/sequential").get_data(as_text=True)
    for action in ("simulate", "boundaries", "monitor", "msprt"):
        assert f'data-endpoint="/api/sequential/{action}"' in html
    assert "js/sequential.js" in html


# --------------------------------------------------------------------------- simulate


def test_simulate_issue_example(client: FlaskClient) -> None:
    response = post(client, "simulate", SIMULATE)
    assert response.status_code == 200
    data = response.json
    r = data["result"]
    # Armitage, McPherson & Rowe (1969) / J&T table 1.1: 10 looks at 0.05 -> 0.1934
    assert r["exact_naive_rate"] == pytest.approx(0.1934, abs=5e-5)
    methods = r["methods"]
    # 20,000 experiments: SE of a rate near 0.19 is 0.0028 and near 0.05 is 0.0015; 4 SE bands
    assert methods["naive"]["rejection_rate"] == pytest.approx(0.1934, abs=4 * 0.0028)
    for key in ("obrien_fleming", "pocock"):
        assert methods[key]["rejection_rate"] == pytest.approx(0.05, abs=4 * 0.0016)
        assert methods[key]["mean_sample_size"] <= 10000
    assert methods["msprt"]["rejection_rate"] <= 0.05 + 4 * 0.0016
    assert len(r["look_n"]) == 10 and r["look_n"][-1] == 10000
    assert len(r["exact_naive_curve"]["rates"]) == 100
    assert len(r["z_paths"]) == 30
    assert set(data["figures"]) == {"error_rates", "z_paths", "stopping"}
    assert data["readout"].startswith("With no real difference, a plain z-test at each of 10 looks")


def test_simulate_is_reproducible_with_a_seed(client: FlaskClient) -> None:
    small = {**SIMULATE, "simulations": 2000}
    one, two = post(client, "simulate", small).json, post(client, "simulate", small).json
    assert one["result"]["methods"] == two["result"]["methods"]


def test_simulate_power_at_a_real_effect_matches_the_fixed_design(client: FlaskClient) -> None:
    # One look is the fixed design: the power of a two-sided pooled z-test at 10% vs 12% with
    # 3,000 per arm is about statsmodels NormalIndPower at Cohen's h (0.8 within MC error).
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    h = proportion_effectsize(0.12, 0.10)
    expected = NormalIndPower().power(h, nobs1=3000, alpha=0.05)
    r = post(client, "simulate", SIMULATE, looks=1, n_per_arm=3000, effect=0.02,
             simulations=10000).json["result"]  # fmt: skip
    se = math.sqrt(expected * (1 - expected) / 10000)
    assert r["methods"]["naive"]["rejection_rate"] == pytest.approx(expected, abs=4 * se + 0.005)
    assert r["methods"]["obrien_fleming"]["rejection_rate"] == pytest.approx(
        r["methods"]["naive"]["rejection_rate"], abs=1e-9
    )


def test_simulate_mean_metric(client: FlaskClient) -> None:
    r = post(client, "simulate", SIMULATE, metric="mean", baseline=..., sd=2.0,
             simulations=4000).json["result"]  # fmt: skip
    assert r["metric"] == "mean" and r["sd"] == 2.0
    # 4,000 experiments: SE 0.0062 at 0.19
    assert r["methods"]["naive"]["rejection_rate"] == pytest.approx(0.1934, abs=4 * 0.0063)


@pytest.mark.parametrize(
    ("changes", "field", "status"),
    [
        ({"looks": 0}, "looks", 422),
        ({"looks": 101}, "looks", 422),
        ({"looks": 2.5}, "looks", 400),
        ({"n_per_arm": 5}, "n_per_arm", 422),
        ({"n_per_arm": 10**9}, "n_per_arm", 422),
        ({"simulations": 100_001}, "simulations", 422),
        ({"simulations": 0}, "simulations", 422),
        ({"paths": 101}, "paths", 422),
        ({"alpha": 0.5}, "alpha", 422),
        ({"alpha": 0.0}, "alpha", 422),
        ({"alpha": "0.05"}, "alpha", 400),
        ({"baseline": 1.2}, "baseline", 422),
        ({"baseline": ...}, "baseline", 400),
        ({"effect": 0.95}, "effect", 422),
        ({"metric": "ratio"}, "metric", 422),
        ({"metric": "mean", "sd": 0}, "sd", 422),
        ({"spending": "haybittle"}, "spending", 422),
        ({"seed": -1}, "seed", 422),
    ],
)
def test_simulate_bad_input(
    client: FlaskClient, changes: dict[str, Any], field: str, status: int
) -> None:
    response = post(client, "simulate", SIMULATE, **changes)
    problem(response, status, field)


# --------------------------------------------------------------------------- boundaries


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # the issue (gsDesign sfLDOF, two-sided 0.05)
        ({"looks": 3}, [3.7103, 2.5114, 1.9930]),
        ({"looks": 5}, [4.8769, 3.3570, 2.6803, 2.2898, 2.0310]),
        ({"looks": 5, "spending": "pocock"}, [2.4380, 2.4268, 2.4102, 2.3966, 2.3860]),
        # Jennison & Turnbull tables 2.3 and 2.1: C_B(5, 0.05) and C_P(5, 0.05)
        ({"looks": 5, "spending": "classical-obrien-fleming"},
         [2.040 * math.sqrt(5 / k) for k in range(1, 6)]),
        ({"looks": 5, "spending": "classical-pocock"}, [2.413] * 5),
    ],
)  # fmt: skip
def test_boundaries_reproduce_published_values(
    client: FlaskClient, body: dict[str, Any], expected: list[float]
) -> None:
    response = post(client, "boundaries", BOUNDS, **body)
    assert response.status_code == 200
    r = response.json["result"]
    tol = 5e-4 if "classical" in r["spending"] else 1e-4
    assert r["z_bounds"] == pytest.approx(expected, abs=tol * 5)
    assert r["cumulative_alpha"][-1] == pytest.approx(0.05, abs=1e-9)
    # the nominal two-sided p threshold is 2 (1 - Phi(b))
    assert r["nominal_p"] == pytest.approx([2 * stats.norm.sf(b) for b in r["z_bounds"]])
    assert r["max_n_inflation"] >= 1


def test_boundaries_issue_example_and_fractions(client: FlaskClient) -> None:
    data = post(client, "boundaries", BOUNDS).json
    assert set(data["result"]) >= {"fractions", "z_bounds", "nominal_p", "cumulative_alpha",
                                   "max_n_inflation"}  # fmt: skip
    assert "boundaries" in data["figures"]
    # Jennison & Turnbull table 2.5: classical O'Brien-Fleming, K = 5, alpha 0.05, power 0.8
    classical = post(client, "boundaries", BOUNDS, spending="classical-obrien-fleming").json
    assert classical["result"]["max_n_inflation"] == pytest.approx(1.028, abs=0.0006)
    r = post(client, "boundaries", BOUNDS, looks=..., fractions=[0.2, 0.45, 0.7, 1.0]).json[
        "result"
    ]
    assert r["fractions"] == [0.2, 0.45, 0.7, 1.0]
    one = post(client, "boundaries", BOUNDS, alternative="smaller").json["result"]
    assert all(b < 0 for b in one["z_bounds"])


@pytest.mark.parametrize(
    ("changes", "field", "status"),
    [
        ({"looks": ...}, "looks", 422),
        ({"looks": 0}, "looks", 422),
        ({"looks": 101}, "looks", 422),
        ({"looks": "5"}, "looks", 400),
        ({"looks": ..., "fractions": [0.5, 0.4, 1.0]}, "fractions[1]", 422),
        ({"looks": ..., "fractions": [0.0, 1.0]}, "fractions[0]", 422),
        ({"looks": ..., "fractions": [0.5, 1.2]}, "fractions[1]", 422),
        ({"looks": ..., "fractions": [0.3, 0.6]}, "fractions", 422),
        ({"looks": ..., "fractions": []}, "fractions", 422),
        ({"looks": ..., "fractions": [0.5, "1"]}, "fractions[1]", 400),
        ({"looks": 3, "fractions": [0.5, 1.0]}, "fractions", 422),
        ({"alpha": 0.5}, "alpha", 422),
        ({"alpha": 0}, "alpha", 422),
        ({"alpha": 1e-9}, "alpha", 422),
        ({"alternative": "both"}, "alternative", 422),
        ({"spending": "haybittle"}, "spending", 422),
        ({"spending": "hsd", "gamma": 41}, "gamma", 422),
        ({"power": 1.0}, "power", 422),
    ],
)
def test_boundaries_bad_input(
    client: FlaskClient, changes: dict[str, Any], field: str, status: int
) -> None:
    response = post(client, "boundaries", BOUNDS, **changes)
    assert response.status_code == status, response.json
    assert response.json["errors"][0]["field"] == field


# --------------------------------------------------------------------------- monitor


def test_monitor_continues_and_recomputes_bounds(client: FlaskClient) -> None:
    data = post(client, "monitor", MONITOR).json
    r = data["result"]
    assert r["decision"] == "continue" and r["stop_look"] is None
    assert r["fractions"] == [0.25, 0.5]
    # pooled two-proportion z at look 2, as statsmodels proportions_ztest
    from statsmodels.stats.proportion import proportions_ztest

    z, _ = proportions_ztest([560, 500], [5000, 5000])
    assert r["z_statistics"][1] == pytest.approx(z)
    bounds = post(client, "boundaries", BOUNDS, looks=..., fractions=[0.25, 0.5, 1.0]).json
    assert r["z_bounds"] == pytest.approx(bounds["result"]["z_bounds"][:2], abs=1e-6)
    assert data["readout"].startswith("Continue.")
    assert "monitor" in data["figures"]


def test_monitor_stops_for_efficacy_and_at_the_final_look(client: FlaskClient) -> None:
    looks = [*LOOKS, {"users": [7500, 7500], "conversions": [750, 900]}]
    r = post(client, "monitor", MONITOR, looks=looks).json["result"]
    assert r["decision"] == "stop-efficacy" and r["stop_look"] == 3
    final = [*LOOKS, {"users": [10000, 10000], "conversions": [1000, 1010]}]
    r = post(client, "monitor", MONITOR, looks=final).json["result"]
    assert r["decision"] == "stop-final" and r["fractions"][-1] == 1.0


def test_monitor_means(client: FlaskClient) -> None:
    looks = [{"users": [400, 400], "mean": [10.0, 10.9], "sd": [3.0, 3.0]}]
    r = post(client, "monitor", MONITOR, metric="mean", looks=looks).json["result"]
    # Welch z = 0.9 / sqrt(2 * 9 / 400)
    assert r["z_statistics"][0] == pytest.approx(0.9 / math.sqrt(18 / 400))


@pytest.mark.parametrize(
    ("changes", "field", "status"),
    [
        ({"looks": ...}, "looks", 400),
        ({"looks": []}, "looks", 422),
        ({"looks": "x"}, "looks", 400),
        ({"looks": [{"users": [100, 100]}]}, "looks[0].conversions", 422),
        ({"looks": [{"users": [100], "conversions": [1, 2]}]}, "looks[0].users", 422),
        (
            {"looks": [{"users": [100, 100], "conversions": [10, 200]}]},
            "looks[0].conversions[1]",
            422,
        ),
        ({"looks": [{"users": [100, -1], "conversions": [10, 0]}]}, "looks[0].users[1]", 422),
        ({"looks": [LOOKS[1], LOOKS[0]]}, "looks[1].users", 422),
        ({"looks": [5]}, "looks[0]", 422),
        ({"planned_n_per_arm": ...}, "planned_n_per_arm", 400),
        ({"planned_n_per_arm": 0}, "planned_n_per_arm", 422),
        ({"alpha": 0.7}, "alpha", 422),
        ({"spending": "classical-pocock"}, "spending", 422),
        ({"metric": "ratio"}, "metric", 422),
    ],
)
def test_monitor_bad_input(
    client: FlaskClient, changes: dict[str, Any], field: str, status: int
) -> None:
    response = post(client, "monitor", MONITOR, **changes)
    assert response.status_code == status, response.json
    assert response.json["errors"][0]["field"] == field


# --------------------------------------------------------------------------- msprt


def test_msprt_issue_example(client: FlaskClient) -> None:
    data = post(client, "msprt", MSPRT).json
    r = data["result"]
    assert r["estimate"] == pytest.approx(0.016)
    # the closed form of Johari et al. (2022), from the unpooled variance and tau by hand:
    # tau^2 = x* v_N with x* solving x = log(1 + x) + 2 log 20 and v_N = 2 (2 p q) / N at
    # the observed per-user variances (the q's differ), so compute v and Lambda here.
    v = 0.1 * 0.9 / 5000 + 0.116 * 0.884 / 5000
    unit = 0.1 * 0.9 + 0.116 * 0.884
    from scipy.optimize import brentq

    x = brentq(lambda x: x - math.log1p(x) - 2 * math.log(20), 1, 50)
    tau2 = x * 2 * unit / 20000
    log_lr = 0.5 * math.log(v / (v + tau2)) + tau2 * 0.016**2 / (2 * v * (v + tau2))
    assert r["tau"] == pytest.approx(math.sqrt(tau2))
    assert r["log_lr"] == pytest.approx(log_lr)
    assert r["pvalue"] == pytest.approx(min(1, math.exp(-log_lr)))
    assert r["decision"] == "continue" and r["ci_low"] < 0 < r["ci_high"]
    assert r["names"] == ["A", "B"] and r["planned_n"] == 20000
    assert set(data["figures"]) == {"log_lr", "confidence"}


def test_msprt_rejects_a_large_effect_and_takes_tau(client: FlaskClient) -> None:
    big = [VARIANTS[0], {"name": "B", "users": 5000, "conversions": 700}]
    r = post(client, "msprt", MSPRT, variants=big).json["result"]
    assert r["decision"] == "reject" and r["pvalue"] <= 0.05 and r["ci_low"] > 0
    r = post(client, "msprt", MSPRT, planned_n=..., tau=0.02).json["result"]
    assert r["tau"] == 0.02 and r["planned_n"] is None


def test_msprt_means_and_zero_variance(client: FlaskClient) -> None:
    means = [{"name": "A", "users": 1000, "mean": 10, "sd": 3},
             {"name": "B", "users": 1000, "mean": 10.5, "sd": 3}]  # fmt: skip
    r = post(client, "msprt", MSPRT, metric="mean", variants=means).json["result"]
    assert r["estimate"] == pytest.approx(0.5)
    assert r["se"] == pytest.approx(math.sqrt(18 / 1000))
    flat = [
        {"name": "A", "users": 100, "conversions": 0},
        {"name": "B", "users": 100, "conversions": 0},
    ]
    data = post(client, "msprt", MSPRT, variants=flat).json
    assert data["warnings"] and data["result"]["tau"] is None


@pytest.mark.parametrize(
    ("changes", "field", "status"),
    [
        ({"variants": ...}, "variants", 400),
        ({"variants": VARIANTS[:1]}, "variants", 422),
        ({"variants": [*VARIANTS, {"name": "C", "users": 1, "conversions": 0}]}, "variants", 422),
        ({"variants": [VARIANTS[0], {"name": "B", "users": 100, "conversions": 200}]},
         "variants[1].conversions", 422),
        ({"variants": [VARIANTS[0], {"name": "B", "users": 0, "conversions": 0}]}, "variants[1].users", 422),
        ({"variants": [VARIANTS[0], {"name": "A", "users": 10, "conversions": 1}]}, "variants[1].name", 422),
        ({"variants": [VARIANTS[0], {"name": "B", "users": 10}]}, "variants[1].conversions", 422),
        ({"planned_n": ...}, "tau", 422),
        ({"tau": 0.01}, "tau", 422),
        ({"planned_n": ..., "tau": -1.0}, "tau", 422),
        ({"planned_n": 1}, "planned_n", 422),
        ({"alpha": 0.7}, "alpha", 422),
        ({"metric": "ratio"}, "metric", 422),
    ],
)  # fmt: skip
def test_msprt_bad_input(
    client: FlaskClient, changes: dict[str, Any], field: str, status: int
) -> None:
    response = post(client, "msprt", MSPRT, **changes)
    assert response.status_code == status, response.json
    assert response.json["errors"][0]["field"] == field
