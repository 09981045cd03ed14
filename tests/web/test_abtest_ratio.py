"""Ratio metrics on POST /api/abtest: typed per-variant moments, a CSV's two columns, errors.

References: the delta-method z-test computed here from numpy moments of the same rows
(Deng, Knoblich & Lu 2018, eq. 4) and scipy's normal distribution.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from scipy import stats as sps

from tests.web.answers import warehouse_app
from tests.web.problems import problem
from tests.web.ratio_data import orders_csv


def _variant(name: str, **over: float) -> dict[str, object]:
    base = {
        "name": name,
        "users": 1000,
        "numerator_mean": 60.0,
        "denominator_mean": 2.0,
        "numerator_sd": 45.0,
        "denominator_sd": 1.2,
        "covariance": 40.0,
    }
    return {**base, **over}


def _delta(mx: float, my: float, vx: float, vy: float, cxy: float, n: int) -> tuple[float, float]:
    """Ratio and the variance of its estimate, by the formula of Deng et al. (2018), eq. 4."""
    r = mx / my
    return r, (vx / my**2 - 2 * mx * cxy / my**3 + mx**2 * vy / my**4) / n


def test_typed_ratio_is_the_delta_method_z_test(client: FlaskClient) -> None:
    body = {
        "metric": "ratio",
        "control": "A",
        "variants": [_variant("A"), _variant("B", numerator_mean=64.0, covariance=41.0)],
    }
    r = client.post("/api/abtest", json=body)
    assert r.status_code == 200, r.get_data(as_text=True)
    data = r.json
    ra, va = _delta(60.0, 2.0, 45.0**2, 1.2**2, 40.0, 1000)
    rb, vb = _delta(64.0, 2.0, 45.0**2, 1.2**2, 41.0, 1000)
    c = data["result"]["comparisons"][0]
    z = (rb - ra) / math.sqrt(va + vb)
    assert c["estimate"] == pytest.approx(rb - ra)
    assert c["pvalue"] == pytest.approx(2 * sps.norm.sf(abs(z)), rel=1e-9)
    assert c["relative_method"] == "fieller"
    assert data["result"]["kind"] == "ratio"
    assert "The ratio on B was 32" in data["readout"]


def _orders_csv(seed: int = 5) -> tuple[str, dict[str, np.ndarray]]:
    return orders_csv(seed, (30.0, 31.5), rate=1.4, users=600, noise=6.0)


def test_csv_numerator_and_denominator_columns(client: FlaskClient) -> None:
    text, data = _orders_csv()
    r = client.post(
        "/api/abtest",
        json={"csv": text, "numerator": "revenue", "denominator": "orders", "control": "A"},
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    res = r.json["result"]
    assert res["kind"] == "ratio" and res["mapping"]["numerator"] == "revenue"
    want = {}
    for arm, (x, y) in data.items():
        cov = np.cov(x, y)
        want[arm] = _delta(x.mean(), y.mean(), cov[0, 0], cov[1, 1], cov[0, 1], x.size)
    by_name = {v["name"]: v for v in res["variants"]}
    assert by_name["B"]["estimate"] == pytest.approx(want["B"][0], rel=1e-9)
    c = res["comparisons"][0]
    se = math.sqrt(want["A"][1] + want["B"][1])
    assert c["estimate"] == pytest.approx(want["B"][0] - want["A"][0], rel=1e-9)
    assert c["ci_high"] - c["ci_low"] == pytest.approx(2 * sps.norm.ppf(0.975) * se, rel=1e-7)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"denominator": "orders"}, "numerator"),
        ({"numerator": "revenue", "denominator": "nope"}, "denominator"),
        ({"numerator": "revenue", "denominator": "revenue"}, "denominator"),
        ({"numerator": "revenue", "denominator": "orders", "segment": "variant"}, "segment"),
    ],
)
def test_csv_ratio_errors_name_the_field(client: FlaskClient, change, field) -> None:
    text, _ = _orders_csv()
    problem(client.post("/api/abtest", json={"csv": text, **change}), 422, field)


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"denominator_mean": -1.0}, "variants[1].denominator_mean"),
        ({"covariance": 1e6}, "variants[1].covariance"),
        ({"numerator_sd": "x"}, "variants[1].numerator_sd"),
    ],
)
def test_typed_ratio_errors_name_the_field(client: FlaskClient, over, field) -> None:
    body = {"metric": "ratio", "variants": [_variant("A"), _variant("B", **over)]}
    status = 400 if over.get("numerator_sd") == "x" else 422
    problem(client.post("/api/abtest", json=body), status, field)


def test_openapi_declares_the_ratio_fields(client: FlaskClient) -> None:
    doc = client.get("/api/openapi.json").get_data(as_text=True)
    for key in ("numerator_mean", "denominator_sd", "covariance", "relative_interval"):
        assert key in doc


def test_bayesian_takes_typed_ratio_variants(client: FlaskClient) -> None:
    body = {
        "metric": "ratio",
        "threshold": 0.1,
        "variants": [_variant("A"), _variant("B", numerator_mean=64.0, covariance=41.0)],
    }
    r = client.post("/api/bayesian", json=body)
    assert r.status_code == 200, r.get_data(as_text=True)
    ra, va = _delta(60.0, 2.0, 45.0**2, 1.2**2, 40.0, 1000)
    rb, vb = _delta(64.0, 2.0, 45.0**2, 1.2**2, 41.0, 1000)
    c = r.json["result"]["comparisons"][0]
    assert c["prob_better"] == pytest.approx(sps.norm.cdf((rb - ra) / math.sqrt(va + vb)), abs=1e-4)
    assert "normal approximation" in r.json["readout"]
    problem(
        client.post(
            "/api/bayesian", json={**body, "csv": "variant,x\nA,1\nB,2\n", "variants": None}
        ),
        400,
        "numerator",
    )


@pytest.fixture
def source_client(tmp_path: Path) -> FlaskClient:
    """A DuckDB source whose ``orders`` table holds the rows of :func:`_orders_csv`."""
    return warehouse_app(tmp_path, {"orders": _orders_csv()[0]}).test_client()


def test_source_ratio_equals_the_csv_upload(source_client: FlaskClient) -> None:
    text, _ = _orders_csv()
    roles = {"numerator": "revenue", "denominator": "orders", "control": "A"}
    upload = source_client.post("/api/abtest", json={"csv": text, "variant": "variant", **roles})
    source = source_client.post(
        "/api/abtest",
        json={"source": "warehouse", "table": "orders", "variant": "variant", **roles},
    )
    assert source.status_code == 200, source.get_data(as_text=True)
    a, b = upload.json["result"], source.json["result"]
    assert b["kind"] == "ratio" and b["source"]["rows"] == 1200
    for x, y in zip(a["comparisons"], b["comparisons"], strict=True):
        for key in ("estimate", "ci_low", "ci_high", "pvalue", "relative_ci_low"):
            assert y[key] == pytest.approx(x[key], rel=1e-9)
    assert source.json["readout"] == upload.json["readout"]
    bad = {"source": "warehouse", "table": "orders", "variant": "variant"}
    problem(
        source_client.post("/api/abtest", json={**bad, "numerator": "revenue"}), 400, "denominator"
    )
    for role in ("numerator", "denominator"):  # a text column, named by its role
        text_column = {**bad, **roles, role: "variant"}
        problem(source_client.post("/api/abtest", json=text_column), 422, role)
    problem(
        source_client.post("/api/abtest", json={**bad, **roles, "segment": "variant"}),
        422,
        "segment",
    )


def _cuped_csv(seed: int = 9) -> str:
    rng = np.random.default_rng(seed)
    rows = ["variant,revenue,orders,revenue_pre,orders_pre"]
    for arm, value in (("A", 30.0), ("B", 31.5)):
        rate = rng.gamma(2.0, 0.75, 400)
        basket = rng.lognormal(math.log(value), 0.3, 400)
        d, m = rng.poisson(rate), rng.poisson(rate)
        y = d * basket * rng.lognormal(0, 0.2, 400)
        x = m * basket * rng.lognormal(0, 0.2, 400)
        rows += [f"{arm},{a:.4f},{b},{c:.4f},{e}" for a, b, c, e in zip(y, d, x, m, strict=True)]
    return "\n".join(rows) + "\n"


def test_cuped_ratio_from_a_csv(client: FlaskClient) -> None:
    from stats.cuped_ratio import cuped_ratio_rows

    text = _cuped_csv()
    roles = {
        "variant": "variant",
        "outcome": "revenue",
        "denominator": "orders",
        "covariate": "revenue_pre",
        "denominator_pre": "orders_pre",
    }
    r = client.post("/api/cuped", json={"csv": text, **roles})
    assert r.status_code == 200, r.get_data(as_text=True)
    table = np.genfromtxt(io.StringIO(text), delimiter=",", names=True, dtype=None, encoding=None)
    codes = (table["variant"] == "B").astype(int)
    cols = [table[k].astype(float) for k in ("revenue", "orders", "revenue_pre", "orders_pre")]
    want = cuped_ratio_rows(codes, ["A", "B"], cols, control="A").comparisons[0].as_dict()
    got = r.json["result"]["comparisons"][0]
    assert got.pop("variant") == want.pop("variant") == "B"
    assert got == pytest.approx(want, rel=1e-9)
    assert r.json["readout"].startswith("Ratio CUPED: revenue per orders adjusted by")
    missing = {k: v for k, v in roles.items() if k != "denominator_pre"}
    problem(client.post("/api/cuped", json={"csv": text, **missing}), 400, "denominator_pre")
    problem(
        client.post("/api/cuped", json={"csv": text, **roles, "segment": "variant"}), 422, "segment"
    )


def test_cli_ratio_and_relative_interval(app: Flask, tmp_path: Path) -> None:
    text, _ = _orders_csv()
    path = tmp_path / "orders.csv"
    path.write_text(text)
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["analyze", str(path), "--numerator", "revenue", "--denominator", "orders"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("The ratio on B was")
    delta = runner.invoke(
        args=[
            "analyze",
            str(path),
            "--variant",
            "variant",
            "--metric",
            "revenue",
            "--relative-interval",
            "delta",
        ]
    )
    assert delta.exit_code == 0, delta.output
    assert "(the delta method)" in delta.output
