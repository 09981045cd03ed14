"""POST /api/bayesian with a segment column: the same per-segment analysis as the A/B
analyzer's, with partial pooling's P(effect > 0) per segment."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.web.problems import problem
from tests.web.test_abtest_segments import berkeley_csv, devices


def devices_csv() -> str:
    out = io.StringIO()
    devices().to_csv(out, index=False)
    return out.getvalue()


def answer(client: FlaskClient, url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(url, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    data: dict[str, Any] = response.json  # type: ignore[assignment]
    return data


def test_segments_answer_as_the_ab_analyzer(client: FlaskClient) -> None:
    csv = devices_csv()
    bayes = answer(
        client,
        "/api/bayesian",
        {"csv": csv, "metric": "mean", "variant": "variant", "value": "revenue", "segment": "device",
         "threshold": 0.1, "draws": 10_000, "seed": 1},
    )  # fmt: skip
    ab = answer(
        client,
        "/api/abtest",
        {"csv": csv, "metric": "revenue", "segment": "device", "control": "A"},
    )
    for key in ("segments", "heterogeneity"):
        for ours, theirs in zip(bayes["result"][key], ab["result"][key], strict=True):
            assert ours.keys() == theirs.keys()
            for name, value in ours.items():
                if isinstance(value, float):
                    assert value == pytest.approx(theirs[name], rel=1e-9), name
                else:
                    assert value == theirs[name], name
    assert "segments" in bayes["figures"]
    assert (
        "B vs A by segment: wins on iOS, no effect on Android, tablet too thin to tell"
        in bayes["readout"]
    )


def test_berkeley_warns_of_simpsons_paradox(client: FlaskClient) -> None:
    body = {"csv": berkeley_csv(), "metric": "proportion", "variant": "gender", "value": "admitted",
            "control": "men", "segment": "dept", "threshold": 0.001, "draws": 10_000, "seed": 1}  # fmt: skip
    data = answer(client, "/api/bayesian", body)
    assert "simpsons_paradox" in [w["code"] for w in data["warnings"]]
    assert [s["name"] for s in data["result"]["segments"]] == list("ABCDEF")


def test_without_segment_the_fields_are_null(client: FlaskClient) -> None:
    body = {
        "csv": devices_csv(),
        "metric": "mean",
        "value": "revenue",
        "threshold": 0.1,
        "draws": 10_000,
    }
    data = answer(client, "/api/bayesian", body)
    assert data["result"]["segments"] is None and "segments" not in data["figures"]


@pytest.mark.parametrize(
    "body",
    [
        {
            "variants": [
                {"name": "A", "users": 10, "conversions": 1},
                {"name": "B", "users": 10, "conversions": 2},
            ]
        },
        {"csv": devices_csv(), "metric": "revenue", "value": "revenue"},
        {"csv": devices_csv(), "metric": "mean", "value": "revenue", "segment": "variant"},
        {"csv": devices_csv(), "metric": "mean", "value": "revenue", "segment": "nope"},
    ],
)
def test_segment_errors_name_the_field(client: FlaskClient, body: dict[str, Any]) -> None:
    request = {"segment": "device", "threshold": 0.1, "draws": 10_000, **body}
    problem(client.post("/api/bayesian", json=request), 422, "segment")
