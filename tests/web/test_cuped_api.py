"""POST /api/cuped, POST /api/cuped/plan and GET /cuped: reference values and every error path.

References are independent of ``stats.cuped``: the CUPED estimate is the treatment
coefficient of the ANCOVA fit ``y ~ C(arm) + x`` (statsmodels), its interval is Welch's on
``y − θx`` (scipy), the unadjusted interval is scipy's Welch; Lin's estimate is the treatment
coefficient of statsmodels' ``y ~ arm * (centred covariates)`` with HC2 errors; planning
values come from the normal formula with scipy's quantiles.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from flask.testing import FlaskClient
from scipy import stats as sps
from statsmodels.stats.power import TTestIndPower

SAMPLE = Path(__file__).parents[2] / "static" / "samples" / "cuped_users.csv"


def make_rows(n: int = 400, seed: int = 1, effect: float = 1.0) -> pd.DataFrame:
    """Two arms, covariate correlated ~0.7 with the outcome within arms."""
    rng = np.random.default_rng(seed)
    arm = np.repeat(["A", "B"], n)
    x = rng.normal(20.0, 5.0, 2 * n)
    y = 10.0 + x + effect * (arm == "B") + rng.normal(0.0, 5.0, 2 * n)
    return pd.DataFrame({"user_id": np.arange(2 * n), "arm": arm, "pre": x, "post": y})


def csv_text(df: pd.DataFrame) -> str:
    return df.to_csv(index=False)


def rows_body(df: pd.DataFrame, **changes: Any) -> dict[str, Any]:
    body = {"csv": csv_text(df), "variant": "arm", "outcome": "post", "covariate": "pre"}
    return {k: v for k, v in {**body, **changes}.items() if v is not ...}


def summaries(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for name, g in df.groupby("arm"):
        out.append(
            {
                "name": name,
                "users": len(g),
                "mean_y": g["post"].mean(),
                "mean_x": g["pre"].mean(),
                "var_y": g["post"].var(),
                "var_x": g["pre"].var(),
                "cov_xy": g["post"].cov(g["pre"]),
            }
        )
    return out


def ancova_reference(df: pd.DataFrame) -> dict[str, float]:
    """Estimate from OLS y ~ arm + x; Welch intervals on y − θx and on y (scipy)."""
    fit = smf.ols("post ~ C(arm) + pre", data=df).fit()
    theta = fit.params["pre"]
    a, b = df[df.arm == "A"], df[df.arm == "B"]
    adj = sps.ttest_ind(b.post - theta * b.pre, a.post - theta * a.pre, equal_var=False)
    raw = sps.ttest_ind(b.post, a.post, equal_var=False)
    return {
        "estimate": fit.params["C(arm)[T.B]"],
        "theta": theta,
        "ci": tuple(adj.confidence_interval(0.95)),
        "pvalue": adj.pvalue,
        "raw_ci": tuple(raw.confidence_interval(0.95)),
        "raw_pvalue": raw.pvalue,
    }


# --------------------------------------------------------------------------- the page


def test_page_renders_both_parts(client: FlaskClient) -> None:
    html = client.get("/cuped").get_data(as_text=True)
    assert 'data-endpoint="/api/cuped"' in html
    assert 'data-endpoint="/api/cuped/plan"' in html
    assert "js/cuped.js" in html
    assert "/static/samples/cuped_users.csv" in html
    assert 'type="range"' in html


def test_sample_is_served_and_shaped_as_documented(client: FlaskClient) -> None:
    response = client.get("/static/samples/cuped_users.csv")
    assert response.status_code == 200
    df = pd.read_csv(io.BytesIO(response.get_data()))
    assert list(df.columns) == ["user_id", "variant", "pre_spend", "spend"]
    assert 1900 <= len(df) <= 2100
    assert 0 < df["pre_spend"].isna().mean() < 0.15  # some new users
    have = df.dropna()
    within = [g["spend"].corr(g["pre_spend"]) for _, g in have.groupby("variant")]
    assert all(0.6 < r < 0.8 for r in within)  # rho ≈ 0.7


# --------------------------------------------------------------------------- analysis


def test_rows_match_ancova_and_welch(client: FlaskClient) -> None:
    df = make_rows()
    ref = ancova_reference(df)
    response = client.post("/api/cuped", json=rows_body(df, control="A"))
    assert response.status_code == 200
    data = response.json
    r = data["result"]
    (c,) = r["comparisons"]
    assert c["variant"] == "B"
    assert c["estimate"] == pytest.approx(ref["estimate"], rel=1e-9)
    assert r["theta"] == pytest.approx(ref["theta"], rel=1e-9)
    assert (c["ci_low"], c["ci_high"]) == pytest.approx(ref["ci"], rel=1e-9)
    assert c["pvalue"] == pytest.approx(ref["pvalue"], rel=1e-6)
    assert (c["unadjusted_ci_low"], c["unadjusted_ci_high"]) == pytest.approx(
        ref["raw_ci"], rel=1e-9
    )
    assert c["unadjusted_pvalue"] == pytest.approx(ref["raw_pvalue"], rel=1e-6)
    within = np.mean([g.post.corr(g.pre) for _, g in df.groupby("arm")])
    assert r["rho"] == pytest.approx(within, abs=0.02)
    assert r["variance_reduction"] == pytest.approx(1 - r["rho"] ** 2, rel=1e-12)
    assert r["effective_multiplier"] == pytest.approx(1 / r["variance_reduction"], rel=1e-12)
    assert r["balance"]["flagged"] is False and r["n_missing_covariate"] == 0
    assert data["warnings"] == []
    kept = f"{r['variance_reduction']:.0%} of the unadjusted one"
    assert f"With ρ = {r['rho']:.2f}, the CUPED-adjusted variance is {kept}" in data["readout"]
    assert f"as if you had {r['effective_multiplier']:.1f}× as many users" in data["readout"]
    assert "B vs A: +" in data["readout"] and "unadjusted" in data["readout"]
    assert set(data["figures"]) == {"scatter", "intervals"}


def test_summaries_give_the_same_answer_as_rows(client: FlaskClient) -> None:
    df = make_rows()
    ref = ancova_reference(df)
    body = {"control": "A", "alpha": 0.05, "variants": summaries(df)}
    response = client.post("/api/cuped", json=body)
    assert response.status_code == 200
    data = response.json
    (c,) = data["result"]["comparisons"]
    assert c["estimate"] == pytest.approx(ref["estimate"], rel=1e-9)
    assert (c["ci_low"], c["ci_high"]) == pytest.approx(ref["ci"], rel=1e-9)
    assert set(data["figures"]) == {"intervals"}  # no rows, no scatter


def test_control_is_guessed_and_variant_detected(client: FlaskClient) -> None:
    df = make_rows().rename(columns={"arm": "variant"})
    df["variant"] = df["variant"].map({"A": "treatment", "B": "control"})
    body = {"csv": csv_text(df), "outcome": "post", "covariate": "pre"}
    r = client.post("/api/cuped", json=body).json["result"]
    assert r["control"] == "control"
    assert [c["variant"] for c in r["comparisons"]] == ["treatment"]


def test_sample_csv_keeps_users_without_pre_period(client: FlaskClient) -> None:
    text = SAMPLE.read_text()
    df = pd.read_csv(SAMPLE)
    body = {"csv": text, "variant": "variant", "outcome": "spend", "covariate": "pre_spend"}
    data = client.post("/api/cuped", json=body).json
    r = data["result"]
    missing = int(df["pre_spend"].isna().sum())
    assert r["n_missing_covariate"] == missing and r["n"] == len(df)
    # Deng 2013 §4.2 as documented: OLS on the mean-filled covariate and a missing indicator.
    df["gap"] = df["pre_spend"].isna().astype(float)
    df["filled"] = df["pre_spend"].fillna(df["pre_spend"].mean())
    fit = smf.ols("spend ~ C(variant) + filled + gap", data=df).fit()
    assert r["comparisons"][0]["estimate"] == pytest.approx(fit.params["C(variant)[T.B]"])
    assert f"{missing:,} of 2,000 users had no pre-period value and were kept" in data["readout"]
    assert any(
        w["code"] == "missing_covariate" and "no pre-period value" in w["message"]
        for w in data["warnings"]
    )
    scatter = data["figures"]["scatter"]
    assert {t["type"] for t in scatter["data"]} == {"scatter"}  # SVG, never scattergl
    points = sum(len(t["x"]) for t in scatter["data"] if t["mode"] == "markers")
    assert points == len(df) - missing


def test_scatter_is_subsampled_to_2000_points(client: FlaskClient) -> None:
    df = make_rows(n=2500)
    data = client.post("/api/cuped", json=rows_body(df)).json
    markers = [t for t in data["figures"]["scatter"]["data"] if t["mode"] == "markers"]
    assert sum(len(t["x"]) for t in markers) == 2000
    assert data["result"]["n"] == 5000  # the analysis itself uses every row


def test_multipart_upload_and_pasted_form_text(client: FlaskClient) -> None:
    df = make_rows()
    expected = client.post("/api/cuped", json=rows_body(df)).json["result"]
    fields = {"variant": "arm", "outcome": "post", "covariate": "pre", "alpha": "0.05"}
    upload = client.post(
        "/api/cuped",
        data={**fields, "file": (io.BytesIO(csv_text(df).encode()), "users.csv")},
        content_type="multipart/form-data",
    )
    pasted = client.post(
        "/api/cuped", data={**fields, "csv": csv_text(df)}, content_type="multipart/form-data"
    )
    for response in (upload, pasted):
        assert response.status_code == 200
        assert response.json["result"]["comparisons"] == expected["comparisons"]


def lin_frame(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 300
    arm = rng.choice(["A", "B", "C"], n)
    x1, x2 = rng.normal(0, 1, n), rng.gamma(2.0, 1.0, n)
    y = 1.0 + 0.5 * (arm == "B") + x1 + 0.5 * x2 * (arm == "C") + rng.normal(0, 1, n)
    return pd.DataFrame({"arm": arm, "x1": x1, "x2": x2, "post": y})


def test_several_covariates_run_lin_regression_adjustment(client: FlaskClient) -> None:
    df = lin_frame()
    body = {"csv": csv_text(df), "variant": "arm", "outcome": "post",
            "covariates": ["x1", "x2"], "control": "A"}  # fmt: skip
    response = client.post("/api/cuped", json=body)
    assert response.status_code == 200
    data = response.json
    r = data["result"]
    centred = df.assign(x1=df.x1 - df.x1.mean(), x2=df.x2 - df.x2.mean())
    fit = smf.ols("post ~ C(arm) * (x1 + x2)", data=centred).fit(cov_type="HC2")
    by_name = {c["variant"]: c for c in r["comparisons"]}
    for arm in ("B", "C"):
        term = f"C(arm)[T.{arm}]"
        assert by_name[arm]["estimate"] == pytest.approx(fit.params[term], rel=1e-8)
        low, high = fit.conf_int(0.05).loc[term]
        assert (by_name[arm]["ci_low"], by_name[arm]["ci_high"]) == pytest.approx((low, high))
    assert r["covariates"] == ["x1", "x2"] and len(r["balance"]) == 2
    assert data["readout"].startswith("Regression adjustment (Lin 2013) on 2 covariates (x1, x2)")
    assert set(data["figures"]) == {"intervals"}


def test_covariates_as_json_text_in_a_form(client: FlaskClient) -> None:
    df = lin_frame()
    data = {"variant": "arm", "outcome": "post", "covariates": '["x1", "x2"]', "control": "A",
            "file": (io.BytesIO(csv_text(df).encode()), "lin.csv")}  # fmt: skip
    response = client.post("/api/cuped", data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    assert response.json["result"]["covariates"] == ["x1", "x2"]


def test_zero_variance_covariate_is_a_warning(client: FlaskClient) -> None:
    df = make_rows().assign(pre=7.0)
    data = client.post("/api/cuped", json=rows_body(df)).json
    r = data["result"]
    assert r["theta"] == 0 and r["variance_reduction"] == 1
    c = r["comparisons"][0]
    assert c["estimate"] == pytest.approx(c["unadjusted_estimate"])
    assert any(
        w["code"] == "no_adjustment" and "does not vary" in w["message"] for w in data["warnings"]
    )


def test_imbalanced_covariate_warns_of_an_assignment_bug(client: FlaskClient) -> None:
    arms = summaries(make_rows())
    arms[1]["mean_x"] += 3.0  # 3 / (5 * sqrt(2/400)) ≈ 8.5 standard errors apart
    data = client.post("/api/cuped", json={"control": "A", "variants": arms}).json
    assert data["result"]["balance"]["flagged"] is True
    assert any(
        w["code"] == "covariate_imbalance" and "assignment bug" in w["message"]
        for w in data["warnings"]
    )


# --------------------------------------------------------------------------- analysis errors


def _bad_csv(df: pd.DataFrame, **changes: Any) -> dict[str, Any]:
    return rows_body(df, **changes)


ROWS = make_rows(n=30)


@pytest.mark.parametrize(
    ("body", "status", "field", "words"),
    [
        # The one upload reader's error, as on every page: the column and the row.
        (
            _bad_csv(ROWS.assign(pre=["x"] * 60)),
            422,
            "pre",
            "row 1, column 'pre': 'x' is not a number",
        ),
        (_bad_csv(ROWS, covariate="post"), 422, "covariate", "not the outcome itself"),
        (_bad_csv(ROWS.assign(pre=ROWS.post)), 422, "covariate", "not the outcome itself"),
        (_bad_csv(ROWS.assign(arm="A")), 422, "variant", "at least 2"),
        (_bad_csv(ROWS.assign(arm=[f"v{i}" for i in range(60)])), 422, "variant", "at most 50"),
        (_bad_csv(ROWS, outcome="revenue"), 422, "outcome", "must name a column"),
        (_bad_csv(ROWS, covariate="last_month"), 422, "covariate", "must name a column"),
        (_bad_csv(ROWS, variant="group"), 422, "variant", "must name a column"),
        (_bad_csv(ROWS, control="Z"), 422, "control", "must be one of A, B"),
        (_bad_csv(ROWS, alpha=0.7), 422, "alpha", "(0, 0.5]"),
        (_bad_csv(ROWS, alpha="0.05"), 400, "alpha", "must be a number"),
        (_bad_csv(ROWS, outcome=...), 400, "outcome", "is required"),
        (_bad_csv(ROWS, covariate=...), 400, "covariate", "is required"),
        (_bad_csv(ROWS, covariates=["pre"]), 400, "covariates", "not both"),
        (_bad_csv(ROWS, covariate=..., covariates=["pre", 3]), 400, "covariates[1]", "column"),
        (_bad_csv(ROWS, covariate=..., covariates=[]), 422, "covariates", "at least one"),
        (_bad_csv(ROWS, covariate=..., covariates="pre"), 400, "covariates", "must be a list"),
        (_bad_csv(ROWS, covariate=..., covariates=["nope"]), 422, "covariates[0]", "column"),
        (_bad_csv(ROWS, variants=[]), 400, "variants", "not both"),
        (
            {"csv": "post,pre\n1,2\n3,4\n", "outcome": "post", "covariate": "pre"},
            422,
            "variant",
            "no column looks like the variant",
        ),
        ({"csv": "arm,post,pre\nA,1,2\nB,3\n"}, 422, "file", "row 2 has 2 fields"),
        ({"csv": "   "}, 422, "file", "empty"),
        ({"alpha": 0.05}, 400, "csv", "Send the data"),
        ({"variants": "A,B"}, 400, "variants", "must be a list"),
        ({"variants": [{"name": "A"}]}, 422, "variants[0].users", "is required"),
        (
            {"variants": [{**summaries(ROWS)[0]}]},
            422,
            "variants",
            "at least 2",
        ),
        (
            {"variants": [summaries(ROWS)[0], {**summaries(ROWS)[1], "var_x": -1}]},
            422,
            "variants[1].var_x",
            ">= 0",
        ),
        (
            {"variants": [summaries(ROWS)[0], {**summaries(ROWS)[1], "cov_xy": 1e6}]},
            422,
            "variants[1].cov_xy",
            "sqrt(var_x * var_y)",
        ),
        (
            {"variants": [summaries(ROWS)[0], {**summaries(ROWS)[1], "users": 2.5}]},
            422,
            "variants[1].users",
            "whole number",
        ),
        ({"variants": summaries(ROWS), "control": "Z"}, 422, "control", "must be one of"),
        (
            {
                "variants": [
                    {**a, "mean_x": a["mean_y"], "var_x": a["var_y"], "cov_xy": a["var_y"]}
                    for a in summaries(ROWS)
                ]
            },
            422,
            "covariate",
            "not the outcome itself",
        ),
    ],
)
def test_analysis_errors_name_the_field(
    client: FlaskClient, body: dict[str, Any], status: int, field: str, words: str
) -> None:
    response = client.post("/api/cuped", json=body)
    assert response.status_code == status, response.json
    assert response.mimetype == "application/problem+json"
    (error,) = response.json["errors"]
    assert error["field"] == field
    assert words in error["detail"]


def test_body_that_is_not_json_is_a_400(client: FlaskClient) -> None:
    response = client.post("/api/cuped", data="nope", content_type="text/plain")
    assert response.status_code == 400
    assert response.json["errors"][0]["field"] == "body"


def test_empty_upload_is_a_422(client: FlaskClient) -> None:
    data = {"outcome": "post", "covariate": "pre", "file": (io.BytesIO(b""), "empty.csv")}
    response = client.post("/api/cuped", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "file"


# --------------------------------------------------------------------------- planning


def test_plan_matches_the_normal_formula(client: FlaskClient) -> None:
    body = {"rho": 0.6, "n_per_group": 5000, "sd": 10, "alpha": 0.05, "power": 0.8}
    response = client.post("/api/cuped/plan", json=body)
    assert response.status_code == 200
    data = response.json
    r = data["result"]
    z = sps.norm.ppf(0.975)
    se0 = 10 * math.sqrt(2 / 5000)
    assert r["unadjusted_half_width"] == pytest.approx(z * se0, rel=1e-12)
    assert r["half_width"] == pytest.approx(z * se0 * 0.8, rel=1e-12)  # sqrt(1 - 0.36) = 0.8
    # The MDE is the power page's (noncentral t, issue 13): TTestIndPower on sd·sqrt(1 − ρ²).
    power = TTestIndPower().power(effect_size=r["mde"] / (10 * 0.8), nobs1=5000, alpha=0.05)
    assert power == pytest.approx(0.8, abs=1e-6)
    assert r["n_per_group_required"] == 3200  # 5000 * 0.64
    assert r["effective_multiplier"] == pytest.approx(1 / 0.64)
    grid = r["grid"]
    assert grid["rho"][0] == 0 and grid["rho"][-1] == pytest.approx(0.95) and len(grid["rho"]) == 96
    assert grid["n_per_group_required"][0] == 5000
    assert data["readout"].startswith(
        "At ρ = 0.60, CUPED needs 3,200 users per group for the precision 5,000 give without it"
    )
    assert "from ±0.392 to ±0.314" in data["readout"]
    assert set(data["figures"]) == {"plan_n", "plan_width"}
    marked = data["figures"]["plan_n"]["data"][1]
    assert marked["x"] == [0.6] and marked["y"] == [3200]


def test_plan_defaults(client: FlaskClient) -> None:
    r = client.post("/api/cuped/plan", json={"rho": 0}).json["result"]
    assert (r["n_per_group"], r["sd"], r["alpha"], r["power"]) == (5000, 1.0, 0.05, 0.8)
    assert r["n_per_group_required"] == 5000 and r["half_width"] == r["unadjusted_half_width"]


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"rho": ...}, 400, "rho"),
        ({"rho": "0.5"}, 400, "rho"),
        ({"rho": 1.0}, 422, "rho"),
        ({"rho": -0.2}, 422, "rho"),
        ({"n_per_group": 1}, 422, "n_per_group"),
        ({"n_per_group": 2.5}, 422, "n_per_group"),
        ({"n_per_group": 1e13}, 422, "n_per_group"),
        ({"sd": 0}, 422, "sd"),
        ({"sd": True}, 400, "sd"),
        ({"alpha": 0.7}, 422, "alpha"),
        ({"power": 1.0}, 422, "power"),
    ],
)
def test_plan_errors_name_the_field(
    client: FlaskClient, changes: dict[str, Any], status: int, field: str
) -> None:
    body = {k: v for k, v in {"rho": 0.5, "n_per_group": 1000, **changes}.items() if v is not ...}
    response = client.post("/api/cuped/plan", json=body)
    assert response.status_code == status
    assert response.json["errors"][0]["field"] == field
