"""POST /api/segments and GET /segments: the eight schools, conflicts, Simpson, every error."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient
from statsmodels.stats.meta_analysis import combine_effects

from tests.web.problems import problem


def post(client: FlaskClient, body: dict[str, Any]) -> dict[str, Any]:
    """The JSON answer to a valid request."""
    response = client.post("/api/segments", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer: dict[str, Any] = response.json  # type: ignore[assignment]
    return answer


Y = [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0]
SE = [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0]
SCHOOLS = {
    "segments": [
        {"name": n, "estimate": y, "se": s} for n, y, s in zip("ABCDEFGH", Y, SE, strict=True)
    ],
    "alpha": 0.05,
}
DEVICES = [
    {"name": "iOS", "estimate": 0.021, "se": 0.006},
    {"name": "Android", "estimate": 0.001, "se": 0.004},
    {"name": "tablet", "estimate": 0.015, "se": 0.03},
]
FIELDS = {
    "name", "estimate", "se", "ci_low", "ci_high", "pvalue", "pvalue_adjusted",
    "shrunk_estimate", "shrunk_ci_low", "shrunk_ci_high", "prob_positive",
}  # fmt: skip


def test_page_renders_in_the_sidebar(client: FlaskClient) -> None:
    html = client.get("/segments").get_data(as_text=True)
    assert 'data-endpoint="/api/segments"' in html
    assert 'href="/segments"' in client.get("/power").get_data(as_text=True)


def test_eight_schools_answer(client: FlaskClient) -> None:
    body = post(client, SCHOOLS)
    r = body["result"]
    assert set(r["segments"][0]) >= FIELDS
    assert set(r["heterogeneity"]) == {"q", "df", "pvalue", "i2", "tau2"}
    assert {"estimate", "ci_low", "ci_high"} <= set(r["overall"])
    ref = combine_effects(np.array(Y), np.array(SE) ** 2)
    assert r["heterogeneity"]["q"] == pytest.approx(ref.q)
    assert r["overall"]["estimate"] == pytest.approx(ref.mean_effect_fe)
    # BDA3 §5.5: the posterior mean of school A is pulled from 28 to about 11.
    assert 9 < r["segments"][0]["shrunk_estimate"] < 13
    assert r["tau"] > 0
    forest = body["figures"]["forest"]
    assert [t["name"] for t in forest["data"]] == ["observed", "partially pooled"]
    assert "too thin to tell" in body["readout"]


def test_conflicts_are_named_and_simpson_is_warned(client: FlaskClient) -> None:
    body = post(
        client,
        {"segments": DEVICES, "pooled": {"estimate": -0.012, "se": 0.004}, "correction": "bh"},
    )
    assert "wins on iOS, no effect on Android, tablet too thin to tell" in body["readout"]
    assert "simpsons_paradox" in [w["code"] for w in body["warnings"]]
    assert body["result"]["correction"] == "bh"


def test_two_segments_answer_without_pooling(client: FlaskClient) -> None:
    body = post(client, {"segments": DEVICES[:2]})
    assert body["result"]["segments"][0]["shrunk_estimate"] is None
    assert body["result"]["tau"] is None
    assert [w["code"] for w in body["warnings"]] == ["few_segments"]
    assert [t["name"] for t in body["figures"]["forest"]["data"]] == ["observed"]


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"segments": DEVICES[:1]}, 422, "segments"),
        (
            {"segments": [*DEVICES, {"name": "iOS", "estimate": 0.0, "se": 0.1}]},
            422,
            "segments[3].name",
        ),
        ({"segments": [DEVICES[0], {**DEVICES[1], "se": -1}]}, 422, "segments[1].se"),
        ({"segments": [DEVICES[0], {**DEVICES[1], "se": "x"}]}, 400, "segments[1].se"),
        ({"segments": [DEVICES[0], {"name": "b", "se": 1.0}]}, 400, "segments[1].estimate"),
        ({"segments": [DEVICES[0], {**DEVICES[1], "name": ""}]}, 422, "segments[1].name"),
        (
            {"segments": [DEVICES[0], {**DEVICES[1], "estimate": 1e300}]},
            422,
            "segments[1].estimate",
        ),
        ({"alpha": 0.7}, 422, "alpha"),
        ({"correction": "sidak"}, 422, "correction"),
        ({"direction": "up"}, 422, "direction"),
        ({"pooled": {"estimate": 0.1}}, 400, "pooled.se"),
        (
            {"segments": [{"name": f"s{i}", "estimate": 0.0, "se": 1.0} for i in range(201)]},
            422,
            "segments",
        ),
    ],
)
def test_errors_name_the_field(
    client: FlaskClient, change: dict[str, Any], status: int, field: str
) -> None:
    problem(client.post("/api/segments", json={"segments": DEVICES, **change}), status, field)


def test_missing_body_is_a_problem(client: FlaskClient) -> None:
    problem(client.post("/api/segments", data="x", content_type="text/plain"), 400, "body")
    problem(client.post("/api/segments", json={}), 400, "segments")


def test_declared_in_openapi(client: FlaskClient) -> None:
    doc: dict[str, Any] = client.get("/api/openapi.json").json  # type: ignore[assignment]
    op = doc["paths"]["/api/segments"]["post"]
    assert (
        "eight schools (BDA3 Table 5.2)"
        in op["requestBody"]["content"]["application/json"]["examples"]
    )
