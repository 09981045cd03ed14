"""The Experiments API: auth, lifecycle, assignment, ingestion, analysis, every error path."""

from __future__ import annotations

import threading
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest

from blueprints.experiments import analysis as experiment_analysis
from blueprints.experiments import contract
from experiments.store import MAX_VARIANTS, Store

from ..conftest import ADMIN_TOKEN
from ..experiment_events import CONVERTED_AT, EXPOSED_AT, traffic
from .answers import example

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SPEC = example(contract, "/api/experiments", "checkout")
TS, LATER = EXPOSED_AT, CONVERTED_AT


def create(client: FlaskClient, **changes: Any) -> dict[str, Any]:
    response = client.post("/api/experiments", json={**SPEC, **changes}, headers=ADMIN)
    assert response.status_code == 201, response.json
    return response.json


def running(client: FlaskClient, **changes: Any) -> dict[str, Any]:
    exp = create(client, **changes)
    assert client.post(f"/api/experiments/{exp['id']}/launch", headers=ADMIN).status_code == 200
    return exp


def key(exp: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {exp['ingest_key']}"}


def send(client: FlaskClient, exp: dict[str, Any], events: list[dict[str, str]]) -> Any:
    return client.post(f"/api/experiments/{exp['id']}/events", json={"events": events},
                       headers=key(exp))  # fmt: skip


def test_page_renders(client: FlaskClient) -> None:
    html = client.get("/experiments").get_data(as_text=True)
    assert "js/experiments.js" in html and 'id="f-token"' in html


# -- auth ---------------------------------------------------------------------------------------


MANAGEMENT = [
    ("get", "/api/experiments", None),
    ("post", "/api/experiments", SPEC),
    ("get", "/api/experiments/1", None),
    ("patch", "/api/experiments/1", {"name": "x"}),
    ("delete", "/api/experiments/1", None),
    ("post", "/api/experiments/1/variants", {"name": "C", "weight": 1}),
    ("post", "/api/experiments/1/launch", None),
    ("post", "/api/experiments/1/stop", None),
    ("post", "/api/experiments/1/analyze", None),
]


@pytest.mark.parametrize(("method", "path", "body"), MANAGEMENT)
@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": ADMIN_TOKEN}]
)
def test_management_without_the_admin_token_is_401_and_changes_nothing(
    client: FlaskClient, method: str, path: str, body: Any, headers: dict[str, str]
) -> None:
    exp = create(client)  # id 1, a draft
    response = getattr(client, method)(path, json=body, headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["errors"][0]["field"] == "Authorization"
    listed = client.get("/api/experiments", headers=ADMIN).json["experiments"]
    assert [(e["id"], e["name"], e["status"], len(e["variants"])) for e in listed] == [
        (exp["id"], "Checkout copy", "draft", 2)
    ]


def test_ingest_key_cannot_manage(client: FlaskClient) -> None:
    exp = create(client)
    assert client.get(f"/api/experiments/{exp['id']}", headers=key(exp)).status_code == 401


def test_no_admin_token_configured_refuses_management(app: Flask) -> None:
    app.config["ADMIN_TOKEN"] = None
    response = app.test_client().get("/api/experiments", headers={"Authorization": "Bearer "})
    assert response.status_code == 401
    assert "no admin token configured" in response.json["detail"]


def test_ingest_needs_the_experiments_key(client: FlaskClient) -> None:
    a, b = running(client), running(client, name="Other")
    for headers in ({}, {"Authorization": "Bearer nope"}, key(b)):
        r = client.get(f"/api/experiments/{a['id']}/assign?unit=u1", headers=headers)
        assert r.status_code == 401
        r = client.post(f"/api/experiments/{a['id']}/events",
                        json={"events": traffic({"B": (1, 0)})}, headers=headers)  # fmt: skip
        assert r.status_code == 401
    assert (
        client.post(f"/api/experiments/{a['id']}/analyze", headers=ADMIN).json["result"]["n"] == 0
    )
    # The admin token also works for ingestion; an unknown experiment is 404 for the admin,
    # 401 for anyone else (a key says nothing about other experiments).
    assert (
        client.get(f"/api/experiments/{a['id']}/assign?unit=u1", headers=ADMIN).status_code == 200
    )
    assert client.get("/api/experiments/999/assign?unit=u1", headers=ADMIN).status_code == 404
    assert client.get("/api/experiments/999/assign?unit=u1", headers=key(a)).status_code == 401


# -- lifecycle ----------------------------------------------------------------------------------


def test_create_answers_201_with_the_issue_shape(client: FlaskClient) -> None:
    exp = create(client, variants=[{"name": "control", "weight": 1}, {"name": "B", "weight": 3}])
    assert exp["status"] == "draft" and exp["ingest_key"] and exp["id"] >= 1
    assert [(v["name"], v["weight"]) for v in exp["variants"]] == [("control", 0.25), ("B", 0.75)]
    assert client.get(f"/api/experiments/{exp['id']}", headers=ADMIN).json == exp


def test_lifecycle_patch_variants_launch_stop_delete(client: FlaskClient) -> None:
    exp = create(client)
    base = f"/api/experiments/{exp['id']}"
    patched = client.patch(base, json={"hypothesis": "New", "bandit": True}, headers=ADMIN).json
    assert (patched["hypothesis"], patched["bandit"]) == ("New", True)
    added = client.post(f"{base}/variants", json={"name": "C", "weight": 0.5}, headers=ADMIN)
    assert added.status_code == 201
    assert [v["weight"] for v in added.json["variants"]] == pytest.approx([1 / 3] * 3)
    assert client.post(f"{base}/launch", headers=ADMIN).json["status"] == "running"
    assert client.post(f"{base}/stop", headers=ADMIN).json["status"] == "stopped"
    assert client.delete(base, headers=ADMIN).status_code == 204
    assert client.get(base, headers=ADMIN).status_code == 404


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("post", "/launch", None),
        ("delete", "", None),
        ("patch", "", {"variants": SPEC["variants"]}),
        ("post", "/variants", {"name": "C", "weight": 1}),
    ],
)
def test_status_conflicts_are_409(client: FlaskClient, method: str, suffix: str, body: Any) -> None:
    exp = running(client)
    response = getattr(client, method)(
        f"/api/experiments/{exp['id']}{suffix}", json=body, headers=ADMIN
    )
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"


def test_concurrent_variant_adds_keep_both(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: the route read the variants, then wrote the whole list back in a second
    transaction, so two adds that read at the same moment kept only the later one. Both
    requests run on their own threads against the app's SQLite file; a barrier holds any
    read of the experiment until both requests have made it (the worst interleaving)."""
    exp = create(client)
    barrier = threading.Barrier(2)
    read = Store.get_experiment

    def both_read(self: Store, experiment_id: int) -> Any:
        found = read(self, experiment_id)
        with suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)
        return found

    monkeypatch.setattr(Store, "get_experiment", both_read)
    statuses: list[int] = []

    def add(name: str) -> None:
        response = app.test_client().post(
            f"/api/experiments/{exp['id']}/variants", json={"name": name, "weight": 1},
            headers=ADMIN,
        )  # fmt: skip
        statuses.append(response.status_code)

    threads = [threading.Thread(target=add, args=(name,)) for name in ("C", "D")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    monkeypatch.undo()
    assert statuses == [201, 201]
    variants = client.get(f"/api/experiments/{exp['id']}", headers=ADMIN).json["variants"]
    assert sorted(v["name"] for v in variants) == ["B", "C", "D", "control"]
    assert sum(v["weight"] for v in variants) == pytest.approx(1)


def test_adding_a_duplicate_variant_names_the_name_field(client: FlaskClient) -> None:
    """The request has fields name and weight; the duplicate was reported on
    variants[2].name, a field the client never sent."""
    exp = create(client)
    response = client.post(f"/api/experiments/{exp['id']}/variants",
                           json={"name": "B", "weight": 1}, headers=ADMIN)  # fmt: skip
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "name"
    assert "unique" in response.json["detail"]


def test_adding_a_variant_beyond_the_cap_is_409(client: FlaskClient) -> None:
    """A well-formed variant that the experiment has no room for is a conflict with its
    state (409), as Store.add_variant says, not an invalid value (422)."""
    full = [{"name": f"v{i}", "weight": 1} for i in range(MAX_VARIANTS)]
    exp = create(client, variants=full)
    response = client.post(f"/api/experiments/{exp['id']}/variants",
                           json={"name": "one more", "weight": 1}, headers=ADMIN)  # fmt: skip
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert str(MAX_VARIANTS) in response.json["detail"]
    got = client.get(f"/api/experiments/{exp['id']}", headers=ADMIN).json["variants"]
    assert len(got) == MAX_VARIANTS


def test_stop_a_draft_and_assign_a_draft_are_409(client: FlaskClient) -> None:
    exp = create(client)
    assert client.post(f"/api/experiments/{exp['id']}/stop", headers=ADMIN).status_code == 409
    r = client.get(f"/api/experiments/{exp['id']}/assign?unit=u", headers=key(exp))
    assert r.status_code == 409


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("post", "/launch"),
        ("post", "/stop"),
        ("post", "/analyze"),
        ("post", "/variants"),
    ],
)
@pytest.mark.parametrize("experiment_id", ["4242", str(2**63), str(10**30)])
def test_unknown_experiment_is_404(
    client: FlaskClient, method: str, suffix: str, experiment_id: str
) -> None:
    body = {"name": "x", "weight": 1} if suffix == "/variants" else {"name": "x"}
    response = getattr(client, method)(
        f"/api/experiments/{experiment_id}{suffix}", json=body, headers=ADMIN
    )
    assert response.status_code == 404
    assert response.json["errors"][0]["field"] == "id"


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"name": None}, 400, "name"),
        ({"name": 12}, 400, "name"),
        ({"primary_event": ...}, 400, "primary_event"),
        ({"variants": ...}, 400, "variants"),
        ({"variants": "AB"}, 400, "variants"),
        ({"bandit": "yes"}, 400, "bandit"),
        ({"guardrail_events": "refund"}, 400, "guardrail_events"),
        ({"variants": [{"name": "control", "weight": "1"}, {"name": "B", "weight": 1}]}, 400,
         "variants[0].weight"),
        ({"variants": [{"name": "control", "weight": 1}, 5]}, 400, "variants[1]"),
        ({"name": "  "}, 422, "name"),
        ({"name": "x" * 201}, 422, "name"),
        ({"variants": [{"name": "control", "weight": 1}]}, 422, "variants"),
        ({"variants": [{"name": "A", "weight": 1}, {"name": "A", "weight": 1}]}, 422,
         "variants[1].name"),
        ({"variants": [{"name": "A", "weight": -1}, {"name": "B", "weight": 1}]}, 422,
         "variants[0].weight"),
        ({"variants": [{"name": "A", "weight": 0}, {"name": "B", "weight": 0}]}, 422, "variants"),
        ({"variants": [{"name": "A", "weight": 1, "x": 1}, {"name": "B", "weight": 1}]}, 422,
         "variants[0].x"),
        ({"primary_event": "exposure"}, 422, "primary_event"),
        ({"guardrail_events": [3]}, 422, "guardrail_events[0]"),
        ({"guardrail_events": ["purchase"]}, 422, "guardrail_events[0]"),
        ({"colour": "red"}, 422, "colour"),
    ],
)  # fmt: skip
def test_invalid_create_names_the_field(
    client: FlaskClient, changes: dict[str, Any], status: int, field: str
) -> None:
    body = {k: v for k, v in {**SPEC, **changes}.items() if v is not ...}
    response = client.post("/api/experiments", json=body, headers=ADMIN)
    assert response.status_code == status, response.json
    assert response.json["errors"][0]["field"] == field
    assert client.get("/api/experiments", headers=ADMIN).json["summary"]["total"] == 0


@pytest.mark.parametrize(
    ("body", "content_type"), [(b"{oops", "application/json"), (b"[]", "application/json"),
                               (b"name=x", "application/x-www-form-urlencoded")]
)  # fmt: skip
def test_malformed_bodies_are_400(client: FlaskClient, body: bytes, content_type: str) -> None:
    exp = running(client)
    for path, headers in [
        ("/api/experiments", ADMIN),
        (f"/api/experiments/{exp['id']}/events", key(exp)),
        (f"/api/experiments/{exp['id']}/analyze", ADMIN),
    ]:
        response = client.post(path, data=body, content_type=content_type, headers=headers)
        assert response.status_code == 400, path
        assert response.json["errors"][0]["field"] == "body"


# -- assignment and events ----------------------------------------------------------------------


def test_assignment_is_sticky_and_stopped_returns_control(client: FlaskClient) -> None:
    exp = running(client)
    url = f"/api/experiments/{exp['id']}/assign"
    seen = {u: client.get(f"{url}?unit={u}", headers=key(exp)).json["variant"] for u in "abcdefgh"}
    assert set(seen.values()) <= {"control", "B"}
    assert all(client.get(f"{url}?unit={u}", headers=key(exp)).json["variant"] == v
               for u, v in seen.items())  # fmt: skip
    client.post(f"/api/experiments/{exp['id']}/stop", headers=ADMIN)
    assert client.get(f"{url}?unit=a", headers=key(exp)).json == {"variant": "control"}
    missing = client.get(url, headers=key(exp))
    assert missing.status_code == 400 and missing.json["errors"][0]["field"] == "unit"


def test_assign_empty_unit_is_422_while_running(client: FlaskClient) -> None:
    exp = running(client)
    r = client.get(f"/api/experiments/{exp['id']}/assign?unit=", headers=key(exp))
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "unit"


def test_events_are_counted_once_and_retries_are_duplicates(client: FlaskClient) -> None:
    exp = running(client)
    batch = traffic({"control": (3, 1), "B": (2, 2)})
    assert send(client, exp, batch).json == {"accepted": 8, "duplicates": 0}
    assert send(client, exp, batch).json == {"accepted": 0, "duplicates": 8}
    r = client.post(f"/api/experiments/{exp['id']}/analyze", headers=ADMIN).json["result"]
    assert [(v["exposures"], v["conversions"]) for v in r["variants"]] == [(3, 1), (2, 2)]


def test_an_experiment_shows_its_event_count_and_latest_event(client: FlaskClient) -> None:
    exp = running(client)
    url = f"/api/experiments/{exp['id']}"
    empty = {"count": 0, "last_ts": None, "last_received_at": None}
    assert client.get(url, headers=ADMIN).json["events"] == empty
    start = datetime.now(UTC).replace(microsecond=0)
    batch = traffic({"control": (3, 1), "B": (2, 2)})  # 8 events; purchases at LATER
    send(client, exp, batch)
    send(client, exp, batch)  # duplicates are not stored twice
    events = client.get(url, headers=ADMIN).json["events"]
    assert events["count"] == 8
    assert datetime.fromisoformat(events["last_ts"]) == datetime.fromisoformat(LATER)
    received = datetime.fromisoformat(events["last_received_at"])
    assert start <= received <= datetime.now(UTC)
    stopped = client.post(f"{url}/stop", headers=ADMIN).json
    assert stopped["events"] == events  # every single-experiment answer carries them
    assert "events" not in client.get("/api/experiments", headers=ADMIN).json["experiments"][0]


@pytest.mark.parametrize(
    ("events", "status", "field"),
    [
        ("nope", 400, "events"),
        (None, 400, "events"),
        ([{"event_id": "e", "unit": "u", "variant": "B", "name": "purchase", "ts": TS}], 422,
         "events[0].unit"),
        ([{"event_id": "e", "unit": "u", "variant": "C", "name": "exposure", "ts": TS}], 422,
         "events[0].variant"),
        ([{"event_id": "e", "unit": "u", "variant": "B", "name": "click", "ts": TS}], 422,
         "events[0].name"),
        ([{"event_id": "e", "unit": "u", "variant": "B", "name": "exposure", "ts": "noon"}],
         422, "events[0].ts"),
        ([{"unit": "u", "variant": "B", "name": "exposure", "ts": TS}], 422,
         "events[0].event_id"),
        (["x"], 422, "events[0]"),
    ],
)  # fmt: skip
def test_invalid_events_reject_the_batch(
    client: FlaskClient, events: Any, status: int, field: str
) -> None:
    exp = running(client)
    good = traffic({"control": (2, 0)})
    body = {"events": good + events if isinstance(events, list) else events}
    response = client.post(f"/api/experiments/{exp['id']}/events", json=body, headers=key(exp))
    assert response.status_code == status, response.json
    detail = response.json["errors"][0]
    assert detail["field"] == (field.replace("[0]", "[2]") if isinstance(events, list) else field)
    assert send(client, exp, good).json == {"accepted": 2, "duplicates": 0}  # nothing stored


def test_events_after_stop_are_409(client: FlaskClient) -> None:
    exp = running(client)
    client.post(f"/api/experiments/{exp['id']}/stop", headers=ADMIN)
    assert send(client, exp, traffic({"B": (1, 0)})).status_code == 409


# -- analysis -----------------------------------------------------------------------------------


def test_analysis_against_statsmodels_and_scipy(client: FlaskClient) -> None:
    exp = running(client)
    assert send(client, exp, traffic({"control": (1000, 100), "B": (980, 150)})).status_code == 200
    response = client.post(f"/api/experiments/{exp['id']}/analyze", json={}, headers=ADMIN)
    assert response.status_code == 200
    data = response.json
    r = data["result"]
    assert [(v["name"], v["exposures"], v["conversions"], v["weight"]) for v in r["variants"]] == [
        ("control", 1000, 100, 0.5),
        ("B", 980, 150, 0.5),
    ]
    assert r["variants"][1]["rate"] == pytest.approx(150 / 980)
    _, p = proportions_ztest([150, 100], [980, 1000])
    assert r["pvalue"] == pytest.approx(p, rel=1e-9)
    srm = stats.chisquare([1000, 980], [990, 990])
    assert r["srm"]["pvalue"] == pytest.approx(srm.pvalue) and r["srm"]["flagged"] is False
    assert r["relative_lift"]["estimate"] == pytest.approx((150 / 980) / 0.1 - 1)
    assert r["msprt"]["log_lr"] > 0 and 0 < r["msprt"]["pvalue"] <= 1
    # The always-valid p-value is never below the fixed-horizon one at the same look.
    assert r["msprt"]["pvalue"] > r["pvalue"]
    assert (r["winner"] is None) == (r["msprt"]["pvalue"] > 0.05)
    assert r["recommendation"] and data["readout"].startswith(r["recommendation"])
    assert set(data["figures"]) == {"rates", "exposures"}
    assert r["bandit"] is None


def test_clear_winner_and_list_summary(client: FlaskClient) -> None:
    exp = running(client)
    send(client, exp, traffic({"control": (3000, 300), "B": (3000, 420)}))
    r = client.post(f"/api/experiments/{exp['id']}/analyze", headers=ADMIN).json["result"]
    assert r["msprt"]["pvalue"] < 0.05 and r["winner"] == "B" and r["decision"] == "winner"
    create(client, name="Draft")
    summary = client.get("/api/experiments", headers=ADMIN).json["summary"]
    assert summary == {"total": 2, "running": 1, "winners": 1}


def test_listing_analyses_nothing(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13: the list ran a full analysis (and, for a bandit, 20,000 Thompson draws) for
    every experiment it listed. It now shows the winner of each experiment's latest
    analysis, stored when that analysis ran."""
    bandit = running(client, bandit=True)
    send(client, bandit, traffic({"control": (400, 20), "B": (400, 60)}))
    fixed = running(client, name="Fixed")
    send(client, fixed, traffic({"control": (3000, 300), "B": (3000, 420)}))
    create(client, name="Draft")
    assert client.post(f"/api/experiments/{fixed['id']}/analyze", headers=ADMIN).status_code == 200
    calls: list[str] = []
    for name in ("analyze_experiment", "thompson_weights", "analyse", "thompson"):
        real = getattr(experiment_analysis, name)

        def counted(*args: Any, _name: str = name, _real: Any = real, **kwargs: Any) -> Any:
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(experiment_analysis, name, counted)
    listed = client.get("/api/experiments", headers=ADMIN).json
    assert calls == []
    winners = {e["name"]: e["winner"] for e in listed["experiments"]}
    # The bandit experiment was never analysed: no winner yet, whatever its data says.
    assert winners == {"Draft": None, "Fixed": "B", "Checkout copy": None}
    assert listed["summary"] == {"total": 3, "running": 2, "winners": 1}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"alpha": 0.7}, 422, "alpha"),
        ({"alpha": "0.05"}, 400, "alpha"),
        ({"planned_n": 1}, 422, "planned_n"),
        ({"planned_n": 2.5}, 422, "planned_n"),
        ({"planned_n": True}, 400, "planned_n"),
    ],
)
def test_invalid_analysis_options(
    client: FlaskClient, body: dict[str, Any], status: int, field: str
) -> None:
    exp = running(client)
    send(client, exp, traffic({"control": (20, 2), "B": (20, 3)}))
    response = client.post(f"/api/experiments/{exp['id']}/analyze", json=body, headers=ADMIN)
    assert response.status_code == status
    assert response.json["errors"][0]["field"] == field


def test_draft_analysis_is_collecting(client: FlaskClient) -> None:
    exp = create(client)
    r = client.post(f"/api/experiments/{exp['id']}/analyze", headers=ADMIN).json["result"]
    assert r["decision"] == "collecting" and r["msprt"] is None and r["pvalue"] is None


def test_bandit_analysis_sets_thompson_weights(client: FlaskClient) -> None:
    exp = running(client, bandit=True)
    send(client, exp, traffic({"control": (400, 20), "B": (400, 60)}))
    data = client.post(f"/api/experiments/{exp['id']}/analyze", headers=ADMIN).json
    bandit = data["result"]["bandit"]
    # Beta(1 + conversions, 1 + non-conversions) posteriors (uniform prior).
    assert bandit["alpha"] == [21, 61] and bandit["beta"] == [381, 341]
    # P(B best) is essentially 1 here (z ~ 5.4); floor 0.1 / 2 keeps the control at 5%.
    assert bandit["weights"] == pytest.approx([0.05, 0.95], abs=1e-3)
    assert [v["weight"] for v in data["result"]["variants"]] == bandit["weights"]
    got = client.get(f"/api/experiments/{exp['id']}", headers=ADMIN).json
    assert [v["weight"] for v in got["variants"]] == pytest.approx(bandit["weights"])
    assert "weights" in data["figures"]
    # The exposures came in under 50/50, so SRM compares with that, not with 5/95.
    assert data["result"]["srm"]["flagged"] is False
    assert data["result"]["variants"][0]["expected_exposures"] == pytest.approx(400)


def test_bandit_assignment_refreshes_stale_weights(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    exp = running(client, bandit=True)
    send(client, exp, traffic({"control": (300, 10), "B": (300, 60)}))
    url = f"/api/experiments/{exp['id']}/assign?unit=new"
    client.get(url, headers=key(exp))  # weights are fresh: unchanged
    weights = client.get(f"/api/experiments/{exp['id']}", headers=ADMIN).json["variants"]
    assert [v["weight"] for v in weights] == [0.5, 0.5]
    monkeypatch.setattr(experiment_analysis, "BANDIT_REFRESH", timedelta(0))
    client.get(f"{url}2", headers=key(exp))
    weights = client.get(f"/api/experiments/{exp['id']}", headers=ADMIN).json["variants"]
    assert weights[1]["weight"] > 0.9


@pytest.mark.parametrize(
    ("counts", "decision"),
    [
        ({"control": (500, 50), "B": (500, 55)}, "continue"),
        ({"control": (3000, 300), "B": (3000, 420)}, "winner"),
        ({}, "collecting"),
    ],
)
def test_a_stopped_experiments_readout_is_final(
    client: FlaskClient, counts: dict[str, tuple[int, int]], decision: str
) -> None:
    """Issue 11: a stopped experiment's analysis said "keep running … look as often as you
    like"; it can never run again, so its readout says it is stopped and final."""
    exp = running(client)
    if counts:
        assert send(client, exp, traffic(counts)).status_code == 200
    live = client.post(f"/api/experiments/{exp['id']}/analyze", headers=ADMIN).json
    assert live["result"]["decision"] == decision
    assert "stopped" not in live["readout"]
    assert client.post(f"/api/experiments/{exp['id']}/stop", headers=ADMIN).status_code == 200
    data = client.post(f"/api/experiments/{exp['id']}/analyze", headers=ADMIN).json
    words = data["readout"]
    assert data["result"]["status"] == "stopped"
    assert words.startswith("This experiment is stopped")
    assert "final" in words and "cannot be relaunched" in words
    for running_words in (
        "Keep running",
        "keep running",
        "as often as you like",
        "Peeking is fine",
    ):
        assert running_words not in words
    if decision == "continue":
        assert "No variant was shown to differ from control" in words
    if decision == "winner":
        assert "Ship B" in words
