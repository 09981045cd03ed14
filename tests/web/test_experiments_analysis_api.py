"""The Experiments analysis beyond the primary metric: guardrail events tested for
non-inferiority at their tolerance, and the anytime-valid SRM in the API answer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient
from scipy import optimize, stats

from .test_experiments_api import ADMIN, LATER, running, send, traffic


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
