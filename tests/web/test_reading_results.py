"""Issue 11, "Reading the results": server-side parts (sidebar order, compressed Plotly.js,
units in readouts and decision reasons, p-values never shown as 0 or 1, escaped figure text)."""

from __future__ import annotations

import gzip
import re

import pytest
from flask.testing import FlaskClient

from blueprints.core.routes import PLOTLY_JS, PLOTLY_VERSION


def test_sidebar_follows_the_lifecycle(client: FlaskClient) -> None:
    html = client.get("/power").get_data(as_text=True)
    sidebar = html[html.index('<nav class="sidebar"') : html.index("</nav>")]
    stages = re.findall(r'class="stage stage-(\w+)"', sidebar)
    order = ["plan", "run", "analyze", "decide"]
    assert stages == sorted(stages, key=order.index), stages
    assert set(stages) == set(order)


def test_plotly_js_is_served_gzipped(client: FlaskClient) -> None:
    url = f"/vendor/plotly-{PLOTLY_VERSION}.min.js"
    response = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert "max-age=31536000" in response.headers["Cache-Control"]
    body = response.get_data()
    assert len(body) < 2_000_000, len(body)
    with open(PLOTLY_JS, "rb") as f:
        assert gzip.decompress(body) == f.read()
    # Revalidation by ETag answers 304 without the body.
    again = client.get(
        url, headers={"Accept-Encoding": "gzip", "If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304
    # A client that does not accept gzip gets the plain file.
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
    with open(PLOTLY_JS, "rb") as f:
        assert plain.get_data() == f.read()


def test_bayesian_decision_reasons_are_in_points(client: FlaskClient) -> None:
    # The example: the card said "loss 0.0004846, threshold 0.001" beside "0.048 points".
    body = {
        "metric": "proportion",
        "threshold": 0.001,
        "variants": [
            {"name": "A", "users": 1000, "conversions": 100},
            {"name": "B", "users": 1000, "conversions": 120},
        ],
    }
    r = client.post("/api/bayesian", json=body).json
    reasons = " ".join(r["result"]["reasons"])
    assert "expected loss of 0.048 points" in reasons
    assert "your threshold is 0.1 points" in reasons
    assert "0.0004846" not in reasons and "0.001." not in reasons
    assert "0.048 points" in r["readout"]
    # The API keeps raw proportions.
    best = next(v for v in r["result"]["variants"] if v["name"] == "B")
    assert best["expected_loss"] < 0.001


def test_sequential_outputs_are_in_points(client: FlaskClient) -> None:
    looks = [{"users": [5000, 5000], "conversions": [500, 800]}]
    r = client.post("/api/sequential/monitor", json={"planned_n_per_arm": 10000, "looks": looks})
    assert "The difference B − A is +6.00 points." in r.json["readout"]
    assert r.json["result"]["estimate"] == pytest.approx(0.06)  # the API keeps proportions
    variants = [
        {"name": "A", "users": 10000, "conversions": 1000},
        {"name": "B", "users": 10000, "conversions": 1400},
    ]
    r = client.post(
        "/api/sequential/msprt",
        json={"metric": "proportion", "planned_n": 20000, "variants": variants},
    ).json
    assert "B − A = +4.00 points" in r["readout"]
    assert re.search(r"interval \+\d\.\d\d to \+\d\.\d\d points", r["readout"]), r["readout"]
    assert r["result"]["estimate"] == pytest.approx(0.04)
    confidence = r["figures"]["confidence"]
    assert "percentage points" in confidence["layout"]["yaxis"]["title"]["text"]
    now = confidence["data"][-1]["y"]
    assert 2 < now[0] < 4 < now[1] < 6  # drawn in points too


def test_p_values_are_never_shown_as_0_or_1(client: FlaskClient) -> None:
    # p underflows to 0 and the SRM p is exactly 1 (an even split).
    variants = [
        {"name": "A", "users": 1_000_000, "conversions": 10_000},
        {"name": "B", "users": 1_000_000, "conversions": 50_000},
    ]
    r = client.post("/api/abtest", json={"metric": "proportion", "variants": variants}).json
    assert r["result"]["comparisons"][0]["pvalue"] == 0.0
    assert r["result"]["srm"]["pvalue"] == 1.0
    assert "adjusted p < 0.0001" in r["readout"]
    assert "chi-square p > 0.9999" in r["result"]["srm"]["explanation"]
    hover = json_text(r["figures"])
    assert not re.search(r"\bp = (0|1)(\b|\.0\b)", r["readout"] + hover)
    looks = [{"users": [5000, 5000], "conversions": [500, 900]}]
    r = client.post("/api/sequential/monitor", json={"planned_n_per_arm": 10000, "looks": looks})
    assert "0.0000" not in r.json["readout"]
    r = client.post(
        "/api/sequential/msprt",
        json={
            "metric": "proportion",
            "planned_n": 20000,
            "variants": [
                {"name": "A", "users": 10000, "conversions": 1000},
                {"name": "B", "users": 10000, "conversions": 1600},
            ],
        },
    ).json
    assert "always-valid p-value is < 0.0001" in r["readout"]
    assert "0.0000" not in r["readout"]


def json_text(value: object) -> str:
    import orjson

    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def test_monitor_errors_name_the_look_and_column_in_words(client: FlaskClient) -> None:
    looks = [
        {"users": [2500, 2500], "conversions": [250, 272]},
        {"users": [5000, 5000], "conversions": [500, 560]},
        {"users": [7500, 7500], "conversions": [750, 9000]},
    ]
    r = client.post("/api/sequential/monitor", json={"planned_n_per_arm": 10000, "looks": looks})
    assert r.status_code == 422
    error = r.json["errors"][0]
    assert error["field"] == "looks[2].conversions[1]"  # the path stays for programs
    assert error["detail"].startswith("Look 3: conversions in B must be ≤ users (7500)")
    assert "looks[" not in r.json["detail"]


def test_user_text_in_figures_is_escaped_as_in_tables(client: FlaskClient) -> None:
    variants = [
        {"name": "<b>A</b>", "users": 1000, "conversions": 120},
        {"name": "B<br>x & y", "users": 1000, "conversions": 160},
    ]
    r = client.post("/api/abtest", json={"metric": "proportion", "variants": variants}).json
    assert r["result"]["control"] == "<b>A</b>"  # the data keep the names as typed
    figures = r["figures"]
    for fig in figures.values():
        for trace in fig["data"]:
            for key in ("name", "x", "y", "text", "hovertext", "customdata"):
                assert "<b>" not in json_text(trace.get(key)), (key, trace.get(key))
                assert "<br>x" not in json_text(trace.get(key)), (key, trace.get(key))
            assert "<extra><b>" not in trace.get("hovertemplate", "")
        assert "<b>" not in json_text(fig["layout"])
    text = json_text(figures)
    assert "&lt;b&gt;A&lt;/b&gt;" in text and "B&lt;br&gt;x &amp; y" in text
    # Bayesian, CUPED-style column names and DoE levels go through the same escape.
    r = client.post(
        "/api/bayesian",
        json={
            "metric": "proportion",
            "threshold": 0.001,
            "variants": [
                {"name": "<i>A", "users": 1000, "conversions": 100},
                {"name": "B", "users": 1000, "conversions": 120},
            ],
        },
    ).json
    assert "<i>" not in json_text(r["figures"])
    assert "&lt;i&gt;A" in json_text(r["figures"])
