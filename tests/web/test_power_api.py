"""POST /api/power and GET /power: the issue's reference values and every error path."""

from __future__ import annotations

import math
from typing import Any

import pytest
from flask.testing import FlaskClient
from statsmodels.stats.power import TTestIndPower

from tests.web.problems import problem

BASE = {"metric": "proportion", "baseline": 0.10, "mde": 0.02, "mde_type": "absolute",
        "alpha": 0.05, "power": 0.80, "alternative": "two-sided"}  # fmt: skip


def post(client: FlaskClient, **changes: Any) -> Any:
    body = {k: v for k, v in {**BASE, **changes}.items() if v is not ...}
    return client.post("/api/power", json=body)


def test_page_renders(client: FlaskClient) -> None:
    html = client.get("/power").get_data(as_text=True)
    assert 'data-endpoint="/api/power"' in html
    assert "js/power.js" in html


def test_issue_example_answers_3841(client: FlaskClient) -> None:
    response = post(client, daily_traffic=500)
    assert response.status_code == 200
    data = response.json
    r = data["result"]
    assert (r["n_per_group"], r["n_total"], r["method"]) == (3841, 7682, "fleiss")
    assert r["power"] == 0.8 and r["mde"] == pytest.approx(0.02)
    assert r["days"] == 16  # ceil(7682 / 500)
    assert data["readout"].startswith("You need 3,841 users per group (7,682 in total)")
    assert "At 500 eligible users a day that is 16 days." in data["readout"]
    assert data["warnings"] == []
    for name in ("power_vs_mde", "n_vs_power"):
        figure = data["figures"][name]
        assert figure["data"] and figure["layout"]["title"]["text"]
    assert len(data["figures"]["n_vs_power"]["data"]) == 3  # three MDEs around the chosen one


def test_figures_draw_the_result_curves(client: FlaskClient) -> None:
    data = post(client).json
    curves = data["result"]["curves"]
    drawn = data["figures"]["power_vs_mde"]["data"]
    assert drawn[0]["x"] == pytest.approx([m * 100 for m in curves["mde"]])  # points
    assert drawn[0]["y"] == pytest.approx(curves["power"])
    assert drawn[1]["y"] == curves["target_power"] == [0.8, 0.9, 0.95]
    assert drawn[1]["x"][0] == pytest.approx(2.0, rel=1e-4)  # 80% power at the chosen n: +2 pts
    for trace, row in zip(data["figures"]["n_vs_power"]["data"], curves["size_n"], strict=True):
        assert trace["x"] == pytest.approx(curves["size_power"])
        assert trace["y"] == [math.ceil(n) for n in row]


@pytest.mark.parametrize(
    ("changes", "n"),
    [
        ({"continuity_correction": True}, 3941),
        ({"baseline": 0.20, "mde": 0.05}, 1094),
        ({"baseline": 0.50, "mde": 0.05}, 1565),
        ({"power": 0.90}, 5142),
        ({"baseline": 0.03, "mde": 0.006, "alternative": "larger"}, 10960),
        ({"mde": 0.2, "mde_type": "relative"}, 3841),
    ],
)
def test_reference_sample_sizes(client: FlaskClient, changes: dict[str, Any], n: int) -> None:
    assert post(client, **changes).json["result"]["n_per_group"] == n


def test_solve_power_by_leaving_it_out(client: FlaskClient) -> None:
    r = post(client, power=..., n_per_group=3841).json["result"]
    assert r["solved_for"] == "power"
    assert r["power"] == pytest.approx(0.80, abs=2e-4)


def test_solve_mde_by_leaving_it_out(client: FlaskClient) -> None:
    r = post(client, mde=..., n_per_group=3841).json["result"]
    assert r["solved_for"] == "mde"
    assert r["mde"] == pytest.approx(0.02, rel=1e-3)


def test_mean_metric_matches_statsmodels(client: FlaskClient) -> None:
    body = {"metric": "mean", "sd": 10, "mde": 1, "power": 0.8}
    r = client.post("/api/power", json=body).json["result"]
    expected = TTestIndPower().solve_power(effect_size=0.1, alpha=0.05, power=0.8)
    assert r["method"] == "t-test"
    assert r["n_exact"] == pytest.approx(expected, rel=1e-3)


def test_mean_metric_with_a_relative_mde_of_its_baseline_mean(client: FlaskClient) -> None:
    """Issue 11: a relative MDE of 0.1 on a mean metric is +10% of the baseline mean (here 50
    -> +5, effect size 0.5), never an absolute 0.1."""
    body = {"metric": "mean", "sd": 10, "baseline_mean": 50, "mde": 0.1, "mde_type": "relative",
            "power": 0.8}  # fmt: skip
    r = client.post("/api/power", json=body).json["result"]
    expected = TTestIndPower().solve_power(effect_size=0.5, alpha=0.05, power=0.8)
    assert r["n_exact"] == pytest.approx(expected, rel=1e-6)  # 63.77 per group
    assert r["mde"] == pytest.approx(5.0)
    assert r["mde_relative"] == pytest.approx(0.1)
    assert r["baseline_mean"] == 50
    # Solving for the MDE reports it both ways.
    body = {"metric": "mean", "sd": 10, "baseline_mean": 50, "n_per_group": 64, "power": 0.8,
            "mde_type": "relative"}  # fmt: skip
    response = client.post("/api/power", json=body).json
    effect = TTestIndPower().solve_power(nobs1=64, alpha=0.05, power=0.8)
    assert response["result"]["mde"] == pytest.approx(effect * 10, rel=1e-6)
    assert response["result"]["mde_relative"] == pytest.approx(effect * 10 / 50, rel=1e-6)
    assert "relative" in response["readout"]
    # An absolute mde with a baseline mean is unchanged by it.
    body = {"metric": "mean", "sd": 10, "baseline_mean": 50, "mde": 5, "power": 0.8}
    assert client.post("/api/power", json=body).json["result"]["n_exact"] == pytest.approx(
        expected, rel=1e-6
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"baseline": 1.2}, "baseline"),
        ({"baseline": 0}, "baseline"),
        ({"mde": 0.95}, "mde"),
        ({"mde": 0}, "mde"),
        ({"alpha": 0.7}, "alpha"),
        ({"alpha": 0}, "alpha"),
        ({"power": 0.04}, "power"),
        ({"power": 1}, "power"),
        ({"power": ..., "n_per_group": -5}, "n_per_group"),
        ({"ratio": 0}, "ratio"),
        ({"alternative": "sideways"}, "alternative"),
        ({"metric": "median"}, "metric"),
        ({"metric": "mean", "sd": 10, "mde_type": "relative"}, "baseline_mean"),
        ({"metric": "mean", "sd": 10, "mde_type": "relative", "baseline_mean": 0}, "baseline_mean"),
    ],
)
def test_meaningless_values_are_422(
    client: FlaskClient, changes: dict[str, Any], field: str
) -> None:
    response = post(client, **changes)
    assert field in problem(response, 422, field)["detail"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"baseline": ...}, "baseline"),
        ({"baseline": "ten percent"}, "baseline"),
        ({"alpha": True}, "alpha"),
        ({"mde": ..., "power": ...}, "n_per_group"),
        ({"n_per_group": 1000}, "n_per_group"),
    ],
)
def test_missing_or_wrong_type_is_400(
    client: FlaskClient, changes: dict[str, Any], field: str
) -> None:
    response = post(client, **changes)
    problem(response, 400, field)
