"""POST /api/bayesian, POST /api/bayesian/stopping and GET /bayesian: the issue's reference
values, every metric from JSON and from a CSV, and every error path."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient
from scipy import stats

from blueprints.bayesian import contract
from tests.web.answers import example
from tests.web.problems import problem

SAMPLE = Path(__file__).resolve().parents[2] / "static" / "samples" / "bayesian_daily.csv"
ISSUE = example(contract, "/api/bayesian", "conversion")


def post(client: FlaskClient, url: str = "/api/bayesian", **changes: Any) -> Any:
    body = {k: v for k, v in {**ISSUE, **changes}.items() if v is not ...}
    return client.post(url, json=body)


def two(a: tuple[int, int], b: tuple[int, int]) -> list[dict[str, Any]]:
    return [
        {"name": "A", "users": a[0], "conversions": a[1]},
        {"name": "B", "users": b[0], "conversions": b[1]},
    ]


def test_page_renders(client: FlaskClient) -> None:
    html = client.get("/bayesian").get_data(as_text=True)
    assert 'data-endpoint="/api/bayesian"' in html
    assert 'data-endpoint="/api/bayesian/stopping"' in html
    assert "js/bayesian.js" in html
    assert "samples/bayesian_daily.csv" in html


def test_issue_example(client: FlaskClient) -> None:
    response = post(client)
    assert response.status_code == 200
    data = response.json
    r = data["result"]
    a, b = r["variants"]
    (c,) = r["comparisons"]
    # The issue's reference values (Evan Miller's sum; Stucchio's expected loss).
    assert c["variant"] == "B"
    assert c["prob_better"] == pytest.approx(0.923183, abs=1e-6)
    assert b["prob_best"] == pytest.approx(0.923183, abs=1e-6)
    assert b["expected_loss"] == pytest.approx(0.00048461, rel=1e-4)
    # Posterior Beta(121, 881) for B: scipy's mean and central 95% interval.
    post_b = stats.beta(121, 881)
    assert b["mean"] == pytest.approx(post_b.mean(), rel=1e-12)
    assert (b["ci_low"], b["ci_high"]) == pytest.approx(post_b.interval(0.95), rel=1e-9)
    # E[max(θB, θA)] − E[θA] − (E[max] − E[θB]) = E[θB] − E[θA]: the two losses differ by the lift.
    assert a["expected_loss"] - b["expected_loss"] == pytest.approx(c["lift_mean"], rel=1e-6)
    rope = c["prob_rope_below"] + c["prob_rope_inside"] + c["prob_rope_above"]
    assert rope == pytest.approx(1.0, abs=1e-9)
    assert c["hdi_low"] < 0 < c["hdi_high"]
    assert (r["decision"], r["best"], r["method"]) == ("ship", "B", "closed-form")
    assert data["readout"].startswith(
        "B is best with probability 92%. Shipping B risks an expected loss of 0.048 points; "
        "your threshold is 0.1 points, so ship B."
    )
    assert set(data["figures"]) == {"posteriors", "lift", "prob_best", "expected_loss"}
    for figure in data["figures"].values():
        assert figure["data"] and figure["layout"]["title"]["text"]
    assert r["loss_over_time"] is None and r["source"] is None


@pytest.mark.parametrize(
    ("variants", "prob"),
    [
        (two((1000, 100), (1000, 120)), 0.923183),  # the issue's reference values
        (two((100, 10), (100, 15)), 0.853284),
        (two((500, 50), (500, 50)), 0.5),
    ],
)
def test_issue_reference_probabilities(
    client: FlaskClient, variants: list[dict[str, Any]], prob: float
) -> None:
    r = post(client, variants=variants).json["result"]
    assert r["comparisons"][0]["prob_better"] == pytest.approx(prob, abs=1e-6)


def test_equal_arms_have_equal_losses_and_keep_collecting(client: FlaskClient) -> None:
    data = post(client, variants=two((500, 50), (500, 50))).json
    a, b = data["result"]["variants"]
    assert a["expected_loss"] == pytest.approx(b["expected_loss"], rel=1e-12)
    assert data["result"]["decision"] == "keep-collecting"
    assert "keep collecting data" in data["readout"]


def test_keep_control_when_control_is_clearly_better(client: FlaskClient) -> None:
    data = post(client, variants=two((5000, 600), (5000, 450))).json
    assert data["result"]["decision"] == "keep-control"
    assert "so keep A." in data["readout"]


def test_three_arms_use_joint_draws(client: FlaskClient) -> None:
    variants = [*two((1000, 100), (1000, 120)), {"name": "C", "users": 1000, "conversions": 105}]
    r = post(client, variants=variants).json["result"]
    assert r["method"] == "draws" and r["draws"] == 100000
    assert sum(v["prob_best"] for v in r["variants"]) == pytest.approx(1.0)
    assert [c["variant"] for c in r["comparisons"]] == ["B", "C"]


def test_mean_metric_matches_student_t_posterior(client: FlaskClient) -> None:
    variants = [
        {"name": "A", "users": 500, "mean": 61.2, "sd": 40.1},
        {"name": "B", "users": 400, "mean": 66.0, "sd": 42.3},
    ]
    data = post(client, metric="mean", prior=..., threshold=0.5, rope=[-1, 1], variants=variants)
    assert data.status_code == 200
    b = data.json["result"]["variants"][1]
    # Reference prior: μ | data ~ mean + sd/√n · t(n − 1) (Gelman et al., BDA3 §3.2).
    t = stats.t(399, loc=66.0, scale=42.3 / np.sqrt(400))
    assert b["mean"] == pytest.approx(66.0)
    assert (b["ci_low"], b["ci_high"]) == pytest.approx(t.interval(0.95), rel=1e-6)
    assert "in the metric's units" in data.json["readout"]


def test_count_metric_matches_gamma_posterior(client: FlaskClient) -> None:
    variants = [
        {"name": "A", "users": 1000, "total": 420},
        {"name": "B", "users": 1000, "total": 475},
    ]
    data = post(
        client, metric="count", prior=..., threshold=0.01, rope=[-0.02, 0.02], variants=variants
    )
    assert data.status_code == 200
    b = data.json["result"]["variants"][1]
    gamma = stats.gamma(475.5, scale=1 / 1000)  # Jeffreys prior Gamma(1/2, 0) + data
    assert b["mean"] == pytest.approx(gamma.mean())
    assert (b["ci_low"], b["ci_high"]) == pytest.approx(gamma.interval(0.95), rel=1e-6)
    assert "events per user" in data.json["readout"]


def revenue(seed: int, n: int, buy: float, scale: float) -> list[float]:
    rng = np.random.default_rng(seed)
    amounts = np.where(rng.random(n) < buy, rng.gamma(2.0, scale, n), 0.0)
    return [round(float(x), 2) for x in amounts]


def test_revenue_from_amounts(client: FlaskClient) -> None:
    variants = [
        {"name": "A", "amounts": revenue(1, 2000, 0.10, 20.0)},
        {"name": "B", "amounts": revenue(2, 2000, 0.12, 20.0)},
    ]
    data = post(client, metric="revenue", threshold=0.5, rope=[-0.5, 0.5], variants=variants)
    assert data.status_code == 200
    r = data.json["result"]
    assert r["method"] == "draws"
    # Mean revenue per user: the posterior mean is near the sample mean (n = 2000 each).
    for v, rec in zip(r["variants"], variants, strict=True):
        sample = np.mean(rec["amounts"])
        assert v["ci_low"] < sample < v["ci_high"]
    assert "of revenue per user" in data.json["readout"]


def test_revenue_with_few_buyers_warns(client: FlaskClient) -> None:
    variants = [
        {"name": "A", "amounts": revenue(3, 100, 0.15, 20.0)},
        {"name": "B", "amounts": revenue(4, 100, 0.15, 20.0)},
    ]
    data = post(client, metric="revenue", threshold=0.5, variants=variants, draws=10000).json
    assert any(w["code"] == "few_buyers" and "buyers" in w["message"] for w in data["warnings"])


def test_guardrail_conflict_is_named(client: FlaskClient) -> None:
    refunds = {
        "name": "refunds",
        "metric": "proportion",
        "tolerance": 0.005,
        "higher_is_better": False,
        "variants": two((1000, 20), (1000, 60)),
    }
    data = post(client, guardrails=[refunds]).json
    r = data["result"]
    (g,) = r["guardrails"]
    assert (g["guardrail"], g["variant"], g["fails"]) == ("refunds", "B", True)
    assert r["conflicts"] and "refunds" in r["conflicts"][0]
    assert "Conflict:" in data["readout"]
    assert r["comparisons"][0]["prob_better_and_safe"] < r["comparisons"][0]["prob_better"]


def test_control_defaults_to_a_guess(client: FlaskClient) -> None:
    variants = [
        {"name": "treatment", "users": 1000, "conversions": 120},
        {"name": "control", "users": 1000, "conversions": 100},
    ]
    assert post(client, control=..., variants=variants).json["result"]["control"] == "control"


# ---------------------------------------------------------------------------------- CSV input


def csv_body(metric: str, threshold: float, **extra: Any) -> dict[str, Any]:
    return {"metric": metric, "threshold": threshold, "seed": 1, "csv": SAMPLE.read_text(), **extra}


def test_csv_rows_with_dates_give_loss_over_time(client: FlaskClient) -> None:
    data = client.post("/api/bayesian", json=csv_body("proportion", 0.001)).json
    r = data["result"]
    assert r["source"] == {
        "layout": "users",
        "variant": "variant",
        "value": "converted",
        "date": "date",
        "rows": 4201,
    }
    loss = r["loss_over_time"]
    assert loss["periods"][0] == "2024-03-04" and len(loss["periods"]) == 14
    # The last day holds all the data: its losses are the analysis's (closed form both times).
    last = [series[-1] for series in loss["expected_loss"]]
    assert last == pytest.approx([v["expected_loss"] for v in r["variants"]], rel=1e-9)
    assert "loss_over_time" in data["figures"]


def test_csv_counts_match_pandas(client: FlaskClient) -> None:
    import pandas as pd

    frame = pd.read_csv(SAMPLE)
    data = client.post(
        "/api/bayesian", json=csv_body("proportion", 0.001, prior={"alpha": 1, "beta": 1})
    ).json
    for v in data["result"]["variants"]:
        rows = frame[frame.variant == v["name"]]
        alpha, beta = 1 + rows.converted.sum(), 1 + len(rows) - rows.converted.sum()
        assert v["mean"] == pytest.approx(alpha / (alpha + beta))


def test_csv_multipart_upload_equals_json_csv(client: FlaskClient) -> None:
    as_json = client.post("/api/bayesian", json=csv_body("count", 0.01)).json
    form = {
        "metric": "count",
        "threshold": "0.01",
        "seed": "1",
        "file": (io.BytesIO(SAMPLE.read_bytes()), "daily.csv"),
    }
    as_form = client.post("/api/bayesian", data=form, content_type="multipart/form-data").json
    assert as_form["result"] == as_json["result"]
    assert as_json["result"]["source"]["value"] == "purchases"


def test_csv_revenue_equals_json_amounts(client: FlaskClient) -> None:
    import pandas as pd

    frame = pd.read_csv(SAMPLE)
    variants = [
        {"name": name, "amounts": frame.revenue[frame.variant == name].tolist()} for name in "AB"
    ]
    from_json = post(
        client, metric="revenue", prior=..., rope=[0, 0], threshold=0.5, variants=variants
    )
    from_csv = client.post("/api/bayesian", json=csv_body("revenue", 0.5, draws=100000))
    a, b = from_json.json["result"], from_csv.json["result"]
    assert a["variants"] == b["variants"]
    assert from_csv.json["result"]["source"]["value"] == "revenue"


def test_csv_aggregates(client: FlaskClient) -> None:
    text = "variant,users,conversions\nA,1000,100\nB,1000,120\n"
    r = client.post("/api/bayesian", json={"csv": text, "threshold": 0.001}).json["result"]
    assert r["source"]["layout"] == "variants"
    assert r["comparisons"][0]["prob_better"] == pytest.approx(0.923183, abs=1e-6)


def test_csv_named_columns_and_no_date(client: FlaskClient) -> None:
    text = "arm,t\nA,1.5\nA,2.5\nA,3.0\nB,2.0\nB,3.5\nB,4.0\n"
    body = {"csv": text, "metric": "mean", "threshold": 0.1, "variant": "arm", "value": "t"}
    r = client.post("/api/bayesian", json=body).json["result"]
    assert r["source"]["date"] is None and r["loss_over_time"] is None
    assert r["variants"][0]["mean"] == pytest.approx(7 / 3)


# ---------------------------------------------------------------------------------- stopping


def test_stopping_simulation(client: FlaskClient) -> None:
    body = {"baseline": 0.1, "daily_users": 500, "days": 30, "threshold": 0.001,
            "simulations": 2000, "seed": 1}  # fmt: skip
    data = client.post("/api/bayesian/stopping", json=body).json
    r = data["result"]
    assert len(r["ship_rate_by_day"]) == 30
    # Shipping by the last day under daily checks is the daily ship rate.
    assert r["ship_rate_by_day"][-1] == pytest.approx(r["ship_rate_daily"])
    # Binomial standard errors of a share of 2,000 simulations.
    for rate, se in (
        (r["ship_rate_daily"], r["ship_rate_daily_se"]),
        (r["ship_rate_end"], r["ship_rate_end_se"]),
    ):
        assert se == pytest.approx(np.sqrt(rate * (1 - rate) / 2000))
    assert r["ship_rate_daily"] > r["ship_rate_end"]
    assert f"{r['ship_rate_daily']:.1%}" in data["readout"]
    assert f"{r['ship_rate_end']:.1%}" in data["readout"]
    assert "checked every day" in data["readout"] and "once at the end" in data["readout"]
    assert len(data["figures"]["stopping"]["data"]) == 2


def test_stopping_defaults(client: FlaskClient) -> None:
    r = client.post("/api/bayesian/stopping", json={"seed": 3}).json["result"]
    assert (r["days"], r["daily_users"], r["simulations"]) == (30, 500, 2000)


# ---------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"variants": two((-5, 0), (1000, 120))}, "variants[0].users"),
        ({"variants": two((1000, -1), (1000, 120))}, "variants[0].conversions"),
        ({"variants": two((1000, 100), (1000, 1200))}, "variants[1].conversions"),
        ({"prior": {"alpha": 0, "beta": 1}}, "prior.alpha"),
        ({"prior": {"alpha": 1, "beta": -2}}, "prior.beta"),
        ({"prior": {"shape": 1}}, "prior.shape"),
        ({"threshold": -0.001}, "threshold"),
        ({"draws": 2_000_000}, "draws"),
        ({"draws": 10}, "draws"),
        ({"seed": -1}, "seed"),
        ({"rope": [0.01, -0.01]}, "rope"),
        ({"rope": [0.01]}, "rope"),
        ({"metric": "rate"}, "metric"),
        ({"control": "Z"}, "control"),
        ({"variants": two((1000, 100), (1000, 120))[:1]}, "variants"),
        ({"variants": [{"name": "A", "users": 10, "conversions": 1}] * 2}, "variants[1].name"),
        ({"variants": [{"name": "A", "users": 10, "conversions": 1}] * 51}, "variants"),
        ({"metric": "mean", "prior": ..., "variants": [
            {"name": "A", "users": 10, "mean": 1, "sd": -1},
            {"name": "B", "users": 10, "mean": 1, "sd": 1}]}, "variants[0].sd"),
        ({"metric": "count", "prior": ..., "variants": [
            {"name": "A", "users": 10, "total": -3},
            {"name": "B", "users": 10, "total": 4}]}, "variants[0].total"),
        ({"metric": "revenue", "variants": [
            {"name": "A", "amounts": [1, -2, 3]},
            {"name": "B", "amounts": [1, 2, 3]}]}, "variants[0].amounts"),
        ({"guardrails": [{"name": "g", "metric": "proportion", "tolerance": -1,
                          "variants": two((10, 1), (10, 2))}]}, "guardrails[0].tolerance"),
        ({"guardrails": [{"name": "g", "metric": "proportion", "tolerance": 0.01,
                          "variants": [{"name": "A", "users": 10, "conversions": 1},
                                       {"name": "Z", "users": 10, "conversions": 1}]}]},
         "guardrails[0].variants"),
        ({"guardrails": [{"name": "g", "metric": "proportion", "tolerance": 0.01, "max_risk": 1.5,
                          "variants": two((10, 1), (10, 2))}]}, "guardrails[0].max_risk"),
    ],
)  # fmt: skip
def test_unprocessable_values_name_the_field(
    client: FlaskClient, changes: dict[str, Any], field: str
) -> None:
    response = post(client, **changes)
    problem(response, 422, field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"csv": "variant,converted\nA,1\nA,0\nB,2\nB,0\n", "value": "converted"}, "converted"),
        ({"csv": "variant,converted\nA,1\nA,0\nB,2\nB,0\n"}, "value"),
        ({"csv": "variant,converted\nA,1\nA,0\nB,1\nB,0\n", "date": "day"}, "date"),
        ({"csv": "variant,day,converted\nA,2024-01-01,1\nB,soon,0\n", "date": "day"}, "date"),
        ({"csv": "variant,converted\nA,1\nA,0\nB,1\nB,0\n", "value": "spend"}, "spend"),
        ({"csv": "variant,x\nA,1\nB,0\n", "variant": "arm"}, "arm"),
        ({"csv": "variant,purchases\nA,1\nA,0.5\nB,1\nB,0\n", "metric": "count"}, "purchases"),
        ({"csv": "variant,users,conversions\nA,100,10\nB,100,12\n", "metric": "count"}, "metric"),
        ({"csv": "variant,users,conversions\nA,100,10\nB,100,12\n", "metric": "mean"}, "metric"),
        ({"csv": "variant,label\nA,x\nB,y\n"}, "value"),
    ],
)
def test_csv_errors_name_the_column(client: FlaskClient, body: dict[str, Any], field: str) -> None:
    response = client.post("/api/bayesian", json={"threshold": 0.001, **body})
    assert response.status_code == 422, response.json
    assert response.json["errors"][0]["field"] == field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"threshold": ...}, "threshold"),
        ({"threshold": "0.001"}, "threshold"),
        ({"variants": ...}, "variants"),
        ({"variants": {"A": 1}}, "variants"),
        ({"variants": [[1000, 100], [1000, 120]]}, "variants[0]"),
        ({"variants": [{"name": "A", "users": "1000", "conversions": 100}]}, "variants[0].users"),
        ({"variants": [{"name": 1, "users": 1000, "conversions": 100}]}, "variants[0].name"),
        ({"variants": [{"name": "A", "users": 1000}]}, "variants[0].conversions"),
        ({"prior": [1, 1]}, "prior"),
        ({"prior": {"alpha": "1"}}, "prior.alpha"),
        ({"rope": "narrow"}, "rope"),
        ({"draws": 1000.5}, "draws"),
        ({"draws": True}, "draws"),
        ({"metric": 3}, "metric"),
        ({"csv": "variant,converted\nA,1\nB,0\n"}, "variants"),
        (
            {"guardrails": [{"name": "g", "metric": "proportion", "variants": []}]},
            "guardrails[0].tolerance",
        ),
    ],
)
def test_malformed_requests_are_400(
    client: FlaskClient, changes: dict[str, Any], field: str
) -> None:
    response = post(client, **changes)
    assert response.status_code == 400, response.json
    assert response.json["errors"][0]["field"] == field


@pytest.mark.parametrize("url", ["/api/bayesian", "/api/bayesian/stopping"])
def test_not_json_is_400(client: FlaskClient, url: str) -> None:
    response = client.post(url, data="threshold=1", content_type="text/plain")
    assert response.status_code == 400
    assert response.json["errors"][0]["field"] == "body"
    assert client.post(url, data="[1, 2]", content_type="application/json").status_code == 400


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"baseline": 1.5}, 422, "baseline"),
        ({"baseline": 0}, 422, "baseline"),
        ({"daily_users": 0}, 422, "daily_users"),
        ({"days": 400}, 422, "days"),
        ({"threshold": -1}, 422, "threshold"),
        ({"simulations": 50}, 422, "simulations"),
        ({"simulations": 100_000, "days": 365}, 422, "simulations"),
        ({"prior": {"alpha": 0}}, 422, "prior.alpha"),
        ({"prior": {"shape": 1}}, 422, "prior.shape"),
        ({"days": 1.5}, 400, "days"),
        ({"baseline": "10%"}, 400, "baseline"),
    ],
)
def test_stopping_errors(
    client: FlaskClient, body: dict[str, Any], status: int, field: str
) -> None:
    response = client.post("/api/bayesian/stopping", json=body)
    assert response.status_code == status, response.json
    assert response.json["errors"][0]["field"] == field
