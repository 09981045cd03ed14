"""The Experiments analysis beyond the primary metric: guardrail events tested for
non-inferiority at their tolerance, and the anytime-valid SRM in the API answer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import statsmodels.api as sm
from flask.testing import FlaskClient
from scipy import optimize, stats

from sources import experiment_covariates
from stats.msprt import tau_for_planned_n

from .test_experiments_api import ADMIN, LATER, TS, running, send, traffic


def with_guardrail(counts: dict[str, tuple[int, int, int]]) -> list[dict[str, str]]:
    """``traffic`` plus a ``refund`` event for the first ``refunds`` units of each variant."""
    events = traffic({v: (n, c) for v, (n, c, _r) in counts.items()})
    for variant, (_n, _c, refunds) in counts.items():
        events += [
            {
                "event_id": f"u-{variant}-{j}-r",
                "unit": f"u-{variant}-{j}",
                "variant": variant,
                "name": "refund",
                "ts": LATER,
            }
            for j in range(refunds)
        ]
    return events


def analyse(client: FlaskClient, exp: dict[str, Any], **body: Any) -> Any:
    return client.post(f"/api/experiments/{exp['id']}/analyze", json=body, headers=ADMIN)


def test_guardrail_is_a_farrington_manning_noninferiority_test(client: FlaskClient) -> None:
    exp = running(client, guardrail_events=["refund"])
    send(client, exp, with_guardrail({"control": (1000, 100, 50), "B": (1000, 130, 52)}))
    r = analyse(client, exp, guardrails=[{"event": "refund", "tolerance": 0.03}])
    assert r.status_code == 200, r.json
    (g,) = r.json["result"]["guardrail_tests"]
    assert (g["metric"], g["variant"], g["tolerance"]) == ("refund", "B", 0.03)

    # Lower is better: H0 diff >= 0.03. Farrington & Manning (1990): the score z with the
    # rates maximising the likelihood under p_B - p_control = 0.03, found numerically here
    # (statsmodels' closed form picks another cubic root for this table).
    def nll(p0: float) -> float:
        p1 = p0 + 0.03
        return -float(
            52 * np.log(p1) + 948 * np.log(1 - p1) + 50 * np.log(p0) + 950 * np.log(1 - p0)
        )

    p0 = optimize.minimize_scalar(
        nll, bounds=(1e-9, 0.97 - 1e-9), method="bounded", options={"xatol": 1e-14}
    ).x
    p1 = p0 + 0.03
    z = (0.052 - 0.050 - 0.03) / np.sqrt(p1 * (1 - p1) / 1000 + p0 * (1 - p0) / 1000)
    assert g["test"]["pvalue"] == pytest.approx(stats.norm.cdf(z), rel=1e-6)
    assert g["status"] == "pass"
    assert "guardrails" in r.json["figures"]
    assert "Guardrail refund on B holds" in r.json["readout"]


def test_a_failing_guardrail_holds_back_the_winner(client: FlaskClient) -> None:
    exp = running(client, guardrail_events=["refund"])
    send(client, exp, with_guardrail({"control": (3000, 300, 30), "B": (3000, 450, 300)}))
    r = analyse(client, exp).json["result"]  # default tolerance 0.01, lower is better
    (g,) = r["guardrail_tests"]
    assert g["status"] == "fail"
    assert r["decision"] == "guardrail" and r["winner"] is None


def test_default_guardrail_and_srm_sequential_in_the_answer(client: FlaskClient) -> None:
    exp = running(client, guardrail_events=["refund"])
    send(client, exp, with_guardrail({"control": (500, 50, 5), "B": (500, 60, 5)}))
    r = analyse(client, exp).json["result"]
    assert r["guardrail_tests"][0]["tolerance"] == 0.01
    assert r["guardrail_tests"][0]["test"]["direction"] == "lower"
    seq = r["srm_sequential"]
    assert seq["n"] == 1000 and 0 < seq["pvalue"] <= 1 and seq["flagged"] is False


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"guardrails": [{"event": "nope"}]}, 422, "guardrails[0].event"),
        ({"guardrails": [{"event": "refund", "tolerance": 1.5}]}, 422, "guardrails[0].tolerance"),
        ({"guardrails": [{"event": "refund", "direction": "up"}]}, 422, "guardrails[0].direction"),
        ({"guardrails": [{"tolerance": 0.1}]}, 400, "guardrails[0].event"),
        ({"guardrails": "refund"}, 400, "guardrails"),
        ({"guardrails": [{"event": "refund"}] * 21}, 422, "guardrails"),
    ],
)
def test_invalid_guardrail_rules_name_the_field(
    client: FlaskClient, body: dict[str, Any], status: int, field: str
) -> None:
    exp = running(client, guardrail_events=["refund"])
    r = analyse(client, exp, **body)
    assert r.status_code == status, r.json
    assert r.content_type == "application/problem+json"
    assert r.json["errors"][0]["field"] == field


def covariate_traffic(seed: int, n: int, missing: int) -> tuple[list[dict[str, Any]], Any]:
    """Seeded units of control and B: a pre-period covariate that predicts conversion, sent
    on the exposure (even units) or as a 'covariate' event (odd units, with an earlier ts);
    the last ``missing`` units of each variant send none. Returns the events and the unit
    table (arm, y, x with NaN where missing) for the references."""
    rng = np.random.default_rng(seed)
    events: list[dict[str, Any]] = []
    rows = []
    for arm, variant in enumerate(("control", "B")):
        x = rng.normal(10, 3, n)
        p = np.clip(0.1 + 0.04 * (x - 10) + 0.03 * arm, 0.001, 0.999)
        y = rng.random(n) < p
        for j in range(n):
            unit = f"{variant}-{j}"
            has = j < n - missing
            exposure = {"event_id": f"{unit}-x", "unit": unit, "variant": variant,
                        "name": "exposure", "ts": TS}  # fmt: skip
            if has and j % 2 == 0:
                exposure["covariate"] = float(x[j])
            events.append(exposure)
            if has and j % 2 == 1:
                events.append({"event_id": f"{unit}-c", "unit": unit, "variant": variant,
                               "name": "covariate", "value": float(x[j]),
                               "ts": "2026-11-01T00:00:00Z"})  # fmt: skip
            if y[j]:
                events.append({"event_id": f"{unit}-p", "unit": unit, "variant": variant,
                               "name": "purchase", "ts": LATER})  # fmt: skip
            rows.append((arm, float(y[j]), float(x[j]) if has else np.nan))
    return events, np.array(rows)


@pytest.mark.parametrize("missing", [0, 40])
def test_cuped_in_experiments_matches_ols_and_the_msprt_formula(
    client: FlaskClient, missing: int
) -> None:
    exp = running(client)
    events, units = covariate_traffic(11 + missing, 600, missing)
    for start in range(0, len(events), 1000):
        assert send(client, exp, events[start : start + 1000]).status_code == 200
    r = analyse(client, exp, planned_n=2000).json
    cuped = r["result"]["cuped"]
    (c,) = cuped["comparisons"]
    # Reference: OLS y ~ arm + x (+ a missing indicator, x filled with 0, when some lack x).
    arm, y, x = units[:, 0], units[:, 1], units[:, 2]
    gone = np.isnan(x)
    z = np.column_stack([np.nan_to_num(x), gone.astype(float)]) if missing else x[:, None]
    fit = sm.OLS(y, sm.add_constant(np.column_stack([arm, z]))).fit()
    assert c["estimate"] == pytest.approx(fit.params[1], rel=1e-8)
    assert c["unadjusted_estimate"] == pytest.approx(y[arm == 1].mean() - y[arm == 0].mean())
    assert cuped["n_missing_covariate"] == 2 * missing
    # The mSPRT on the adjusted outcome y - theta.z: per-arm residual variances (ddof 1),
    # log L = -1/2 log(1 + tau^2/v) + d^2 tau^2 / (2 v (v + tau^2)) (Johari et al. 2022).
    resid = y - z @ fit.params[2:]
    var = [resid[arm == a].var(ddof=1) for a in (0, 1)]
    v = var[0] / 600 + var[1] / 600
    tau2 = tau_for_planned_n(var[0] + var[1], 2000, 0.05) ** 2
    d = fit.params[1]
    log_lr = -0.5 * np.log1p(tau2 / v) + d * d * tau2 / (2 * v * (v + tau2))
    assert c["msprt_log_lr"] == pytest.approx(log_lr, rel=1e-6)
    assert cuped["variance_reduction"] < 1
    assert "cuped" in r["figures"]
    assert "CUPED" in r["readout"]


def test_no_covariates_means_no_cuped_and_bad_covariates_are_422(client: FlaskClient) -> None:
    exp = running(client)
    send(client, exp, traffic({"control": (50, 5), "B": (50, 6)}))
    assert analyse(client, exp).json["result"]["cuped"] is None
    bad = [
        ({"name": "covariate", "ts": TS}, "events[0].value"),
        ({"name": "exposure", "covariate": "high", "ts": TS}, "events[0].covariate"),
        ({"name": "covariate", "value": True, "ts": TS}, "events[0].value"),
    ]
    for event, field in bad:
        body = {"event_id": "e1", "unit": "control-0", "variant": "control", **event}
        r = send(client, exp, [body])
        assert r.status_code == 422 and r.json["errors"][0]["field"] == field
    orphan = {"event_id": "e2", "unit": "new", "variant": "B", "name": "covariate",
              "value": 1.0, "ts": TS}  # fmt: skip
    assert send(client, exp, [orphan]).json["errors"][0]["field"] == "events[0].unit"


def test_cuped_beyond_the_unit_cap_is_left_out_with_a_warning(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(experiment_covariates, "MAX_UNITS", 100)
    exp = running(client)
    events, _units = covariate_traffic(3, 60, 0)
    send(client, exp, events)
    r = analyse(client, exp).json
    assert r["result"]["cuped"] is None
    assert any(
        w["code"] == "rows_left_out" and "120 exposed units" in w["message"] for w in r["warnings"]
    )
