"""Specs, the pre-registered policy, the audit trail and decision records over HTTP (issue 15):
create from YAML or JSON, export by Accept, 422s naming the JSON path, amendments after launch,
verdicts that cite their rule, deviations, and append-only decision records; on SQLite and on
PostgreSQL."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

from app import create_app

from ..conftest import ADMIN_TOKEN
from ..experiment_events import traffic

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SAMPLE = Path(__file__).resolve().parents[2] / "static" / "samples" / "experiment_spec.yaml"
YAML_TEXT = SAMPLE.read_text(encoding="utf-8")
TS = "2026-11-20T10:00:00Z"


@pytest.fixture
def app(store_database: str) -> Flask:
    """The app on each supported store."""
    return create_app({"TESTING": True, "DATABASE": store_database, "ADMIN_TOKEN": ADMIN_TOKEN})


def sample() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(YAML_TEXT)
    return loaded


def post_spec(client: FlaskClient, document: Any = None, **headers: str) -> Any:
    if document is None:
        body, kind = YAML_TEXT, "application/yaml"
    else:
        body, kind = json.dumps(document), "application/json"
    return client.post(
        "/api/experiments/spec", data=body, headers={**ADMIN, "Content-Type": kind, **headers}
    )


def created(client: FlaskClient, document: Any = None) -> dict[str, Any]:
    response = post_spec(client, document)
    assert response.status_code == 201, response.json
    experiment: dict[str, Any] = response.json["experiment"]
    return experiment


def launched(client: FlaskClient, document: Any = None) -> dict[str, Any]:
    exp = created(client, document)
    assert client.post(f"/api/experiments/{exp['id']}/launch", headers=ADMIN).status_code == 200
    return exp


def send(client: FlaskClient, exp: dict[str, Any], counts: dict[str, tuple[int, int]]) -> None:
    """Exposures of fresh units per variant, the first ``converted`` of them purchasing."""
    key = {"Authorization": f"Bearer {exp['ingest_key']}"}
    events = traffic(counts, converted_at=TS)
    response = client.post(
        f"/api/experiments/{exp['id']}/events", json={"events": events}, headers=key
    )
    assert response.status_code == 200, response.json


def analyze(client: FlaskClient, exp: dict[str, Any], **body: Any) -> dict[str, Any]:
    response = client.post(f"/api/experiments/{exp['id']}/analyze", json=body, headers=ADMIN)
    assert response.status_code == 200, response.json
    result: dict[str, Any] = response.json["result"]
    return result


# -- the schema and creation ------------------------------------------------------------------


def test_the_schema_is_published_without_a_token(client: FlaskClient) -> None:
    response = client.get("/api/experiments/spec/schema")
    assert response.status_code == 200
    assert response.mimetype == "application/schema+json"
    assert response.json["title"] == "Abacus experiment spec"


def test_a_yaml_spec_creates_a_draft_with_its_computed_plan(client: FlaskClient) -> None:
    response = post_spec(client)
    assert response.status_code == 201
    exp, plan = response.json["experiment"], response.json["plan"]
    assert exp["status"] == "draft"
    assert exp["primary_event"] == "purchase"
    assert exp["guardrail_events"] == ["refund", "support_ticket"]
    assert [v["name"] for v in exp["variants"]] == ["control", "pay-now"]
    assert plan["n_total"] == 2 * plan["n_per_group"]
    assert response.headers["Location"] == f"/api/experiments/{exp['id']}/spec"


def test_a_json_spec_is_the_same_spec(client: FlaskClient) -> None:
    a = post_spec(client).json["plan"]
    b = post_spec(client, sample()).json["plan"]
    assert a == b


def test_export_round_trips_as_yaml_and_json(client: FlaskClient) -> None:
    exp = created(client)
    as_json = client.get(f"/api/experiments/{exp['id']}/spec", headers=ADMIN)
    assert as_json.mimetype == "application/json"
    assert as_json.json["owner"] == "ana.lopez@example.com"
    assert as_json.json["plan"]["computed_by"] == "stats.power.solve_power_proportions"
    as_yaml = client.get(
        f"/api/experiments/{exp['id']}/spec", headers={**ADMIN, "Accept": "application/yaml"}
    )
    assert as_yaml.mimetype == "application/yaml"
    assert yaml.safe_load(as_yaml.get_data(as_text=True)) == as_json.json
    # the export (plan included) creates the same experiment again
    again = post_spec(client, as_json.json)
    assert again.status_code == 201 and again.json["plan"] == as_json.json["plan"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["primary_metric"].update(mde=-1), "primary_metric.mde"),
        (
            lambda d: d["allocation"]["variants"][1].update(weight="x"),
            "allocation.variants[1].weight",
        ),
        (lambda d: d.pop("owner"), "owner"),
        (lambda d: d["policy"].update(mode="sequential"), "policy.method"),
        (lambda d: d["guardrails"][1].update(event="refund"), "guardrails[1].event"),
        (lambda d: d.update(plan={"n_total": 5}), "plan.n_total"),
    ],
)
def test_a_bad_spec_is_a_422_naming_the_json_path(
    client: FlaskClient, change: Any, field: str
) -> None:
    document = copy.deepcopy(sample())
    change(document)
    response = post_spec(client, document)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in [e["field"] for e in response.json["errors"]]
    assert field in response.json["detail"] or len(response.json["errors"]) > 1


@pytest.mark.parametrize(
    ("body", "kind", "status", "field"),
    [
        ("name: [", "application/yaml", 422, "body"),
        ("- just a list", "application/yaml", 422, "body"),
        ("name: x", "text/plain", 415, "Content-Type"),
    ],
)
def test_unreadable_specs_are_problems(
    client: FlaskClient, body: str, kind: str, status: int, field: str
) -> None:
    response = client.post(
        "/api/experiments/spec", data=body, headers={**ADMIN, "Content-Type": kind}
    )
    assert response.status_code == status
    assert response.json["errors"][0]["field"] == field


def test_specs_need_the_admin_token(client: FlaskClient) -> None:
    assert post_spec(client, Authorization="Bearer wrong").status_code == 401
    assert client.get("/api/experiments/1/spec").status_code == 401
    assert client.get("/api/experiments/1/decisions").status_code == 401


def test_an_experiment_made_without_a_spec_has_none_to_export(client: FlaskClient) -> None:
    body = {
        "name": "x",
        "primary_event": "buy",
        "variants": [{"name": "a", "weight": 1}, {"name": "b", "weight": 1}],
    }
    exp = client.post("/api/experiments", json=body, headers=ADMIN).json
    response = client.get(f"/api/experiments/{exp['id']}/spec", headers=ADMIN)
    assert response.status_code == 409
    assert client.get("/api/experiments/999/spec", headers=ADMIN).status_code == 404


# -- amendments and the audit trail ---------------------------------------------------------


def put_spec(client: FlaskClient, exp: dict[str, Any], document: Any, reason: str = "") -> Any:
    return client.put(
        f"/api/experiments/{exp['id']}/spec",
        query_string={"reason": reason} if reason else {},
        data=json.dumps(document),
        headers={**ADMIN, "Content-Type": "application/json"},
    )


def test_a_draft_takes_a_new_spec_whole_and_unaudited(client: FlaskClient) -> None:
    exp = created(client)
    document = sample()
    document["primary_metric"]["event"] = "checkout"
    response = put_spec(client, exp, document)
    assert response.status_code == 200
    assert response.json["version"] == 2 and not response.json["after_launch"]
    got = client.get(f"/api/experiments/{exp['id']}", headers=ADMIN).json
    assert got["primary_event"] == "checkout"
    assert client.get(f"/api/experiments/{exp['id']}/audit", headers=ADMIN).json["amendments"] == []


def test_after_launch_a_change_is_audited_and_flagged_and_the_verdict_keeps_the_original(
    client: FlaskClient,
) -> None:
    exp = launched(client)
    document = sample()
    document["primary_metric"]["mde"] = 0.01
    assert put_spec(client, exp, document).status_code == 422  # a reason is required
    response = put_spec(client, exp, document, reason="Leadership wants a smaller bar")
    assert response.status_code == 200 and response.json["after_launch"]
    assert response.json["changed"] == ["primary_metric"]
    trail = client.get(f"/api/experiments/{exp['id']}/audit", headers=ADMIN).json
    assert trail["amendments"][0]["reason"] == "Leadership wants a smaller bar"
    send(client, exp, {"control": (20, 2), "pay-now": (20, 3)})
    policy = analyze(client, exp)["policy"]
    assert "metric_changed" in [d["code"] for d in policy["deviations"]]
    assert policy["spec_version"] == 1
    assert policy["amendments"][0]["changed"] == ["primary_metric"]
    # the experiment still counts the launched event
    assert (
        client.get(f"/api/experiments/{exp['id']}", headers=ADMIN).json["primary_event"]
        == "purchase"
    )


def test_an_experiment_from_a_spec_changes_only_through_its_spec(client: FlaskClient) -> None:
    exp = created(client)
    url = f"/api/experiments/{exp['id']}"
    assert client.patch(url, json={"name": "other"}, headers=ADMIN).status_code == 409
    variant = {"name": "C", "weight": 1}
    assert client.post(f"{url}/variants", json=variant, headers=ADMIN).status_code == 409


def test_a_refused_amendment_changes_nothing(client: FlaskClient) -> None:
    exp = launched(client)
    document = sample()
    document["name"] = "Renamed"
    assert put_spec(client, exp, document).status_code == 422  # no reason
    got = client.get(f"/api/experiments/{exp['id']}", headers=ADMIN).json
    assert got["name"] == "Checkout copy"
    assert put_spec(client, exp, document, reason="clearer name").status_code == 200
    assert client.get(f"/api/experiments/{exp['id']}", headers=ADMIN).json["name"] == "Renamed"


def test_guardrail_events_cannot_change_after_launch(client: FlaskClient) -> None:
    exp = launched(client)
    document = sample()
    document["guardrails"] = []
    response = put_spec(client, exp, document, reason="drop them")
    assert response.status_code == 409
    assert response.json["errors"][0]["field"] == "guardrails"


# -- the policy in the analysis -------------------------------------------------------------


def test_the_analysis_uses_the_policy_and_flags_peeking_before_the_horizon(
    client: FlaskClient,
) -> None:
    exp = launched(client)
    send(client, exp, {"control": (50, 5), "pay-now": (50, 20)})
    result = analyze(client, exp)
    assert result["alpha"] == 0.05
    assert result["planned_n"] == result["policy"]["planned_n"]
    policy = result["policy"]
    assert policy["decision"] == "continue" and policy["rule"] is None
    assert [d["code"] for d in policy["deviations"]] == ["peeking"]
    response = client.post(f"/api/experiments/{exp['id']}/analyze", json={}, headers=ADMIN)
    again = response.json["result"]["policy"]
    assert again["peeks"] == 1
    assert [k["n"] for k in again["looks"]] == [100, 100]
    assert again["planned_end"] > exp["created_at"]
    looks = response.json["figures"]["looks"]
    assert looks["layout"]["shapes"][0]["y0"] == policy["planned_n"]
    assert sum(len(trace["x"]) for trace in looks["data"]) == 2
    # another alpha is a deviation too
    other = analyze(client, exp, alpha=0.1)["policy"]
    assert "alpha_changed" in [d["code"] for d in other["deviations"]]


def test_a_sequential_policy_ships_early_citing_its_rule(client: FlaskClient) -> None:
    document = sample()
    document["policy"].update(mode="sequential", method="msprt")
    exp = launched(client, document)
    send(client, exp, {"control": (400, 20), "pay-now": (400, 120)})
    policy = analyze(client, exp)["policy"]
    assert (policy["decision"], policy["rule"], policy["condition"]) == ("ship", "rules[3]", "win")
    assert policy["reason"].startswith("rules[3] (win → ship)")
    assert policy["deviations"] == []


def test_stopping_a_fixed_horizon_experiment_early_is_flagged(client: FlaskClient) -> None:
    exp = launched(client)
    send(client, exp, {"control": (30, 3), "pay-now": (30, 4)})
    client.post(f"/api/experiments/{exp['id']}/stop", headers=ADMIN)
    policy = analyze(client, exp)["policy"]
    assert [d["code"] for d in policy["deviations"]] == ["stopped_early"]
    assert policy["condition"] == "inconclusive"
    again = analyze(client, exp)["policy"]  # a stopped experiment's data are final
    assert again["peeks"] == 0 and again["looks"] == []


def test_an_experiment_without_a_spec_has_no_policy(client: FlaskClient) -> None:
    body = {
        "name": "x",
        "primary_event": "purchase",
        "variants": [{"name": "control", "weight": 1}, {"name": "pay-now", "weight": 1}],
    }
    exp = client.post("/api/experiments", json=body, headers=ADMIN).json
    client.post(f"/api/experiments/{exp['id']}/launch", headers=ADMIN)
    assert analyze(client, exp)["policy"] is None


# -- decision records -----------------------------------------------------------------------


def decide(client: FlaskClient, exp: dict[str, Any], **record: Any) -> Any:
    body = {"decision": "iterate", "owner": "ana", "rationale": "Too early to tell.", **record}
    return client.post(f"/api/experiments/{exp['id']}/decisions", json=body, headers=ADMIN)


def test_a_decision_record_freezes_the_analysis_it_rests_on(client: FlaskClient) -> None:
    exp = launched(client)
    send(client, exp, {"control": (40, 4), "pay-now": (40, 9)})
    response = decide(client, exp, follow_up="Re-check next week")
    assert response.status_code == 201
    record = response.json
    assert record["decision"] == "iterate" and record["spec_version"] == 1
    snapshot = record["analysis"]
    assert snapshot["result"]["n"] == 80
    assert snapshot["result"]["policy"]["decision"] == "continue"
    assert snapshot["readout"]
    # more data later does not change the record
    send(client, exp, {"control": (41, 0)})
    listed = client.get(f"/api/experiments/{exp['id']}/decisions", headers=ADMIN).json
    assert listed["decisions"][0]["analysis"]["result"]["n"] == 80


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"decision": "launch"}, "decision"),
        ({"decision": None}, "decision"),
        ({"owner": ""}, "owner"),
        ({"rationale": 3}, "rationale"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_decision_is_a_422_naming_the_field(
    client: FlaskClient, record: dict[str, Any], field: str
) -> None:
    exp = launched(client)
    response = decide(client, exp, **record)
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == field


def test_records_are_append_only_searchable_and_exported(client: FlaskClient) -> None:
    exp = launched(client)
    send(client, exp, {"control": (10, 1), "pay-now": (10, 2)})
    assert decide(client, exp, decision="ship", rationale="Clear WIN").status_code == 201
    assert (
        decide(client, exp, decision="stop", rationale="Correction: refunds rose").status_code
        == 201
    )
    url = f"/api/experiments/{exp['id']}/decisions"
    everything = client.get(url, headers=ADMIN).json["decisions"]
    assert [d["decision"] for d in everything] == ["ship", "stop"]
    found = client.get(url, query_string={"q": "win"}, headers=ADMIN).json["decisions"]
    assert [d["decision"] for d in found] == ["ship"]
    assert client.get(url, query_string={"q": "100%_"}, headers=ADMIN).json["decisions"] == []
    markdown = client.get(url, query_string={"format": "markdown"}, headers=ADMIN)
    assert markdown.mimetype == "text/markdown"
    text = markdown.get_data(as_text=True)
    assert "ship" in text and "Correction: refunds rose" in text
    assert client.get(url, query_string={"format": "pdf"}, headers=ADMIN).status_code == 422
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)(f"{url}/1", headers=ADMIN).status_code in (404, 405)
        assert getattr(client, method)(url, headers=ADMIN).status_code == 405


def test_a_draft_has_nothing_to_decide_on(client: FlaskClient) -> None:
    exp = created(client)
    assert decide(client, exp).status_code == 409


def test_the_cli_creates_a_draft_from_a_spec_file(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["experiments", "create-from-spec", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert "Created draft experiment 1 (Checkout copy)" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(YAML_TEXT.replace("mde: 0.02", "mde: -1"), encoding="utf-8")
    result = runner.invoke(args=["experiments", "create-from-spec", str(bad)])
    assert result.exit_code != 0 and "primary_metric.mde" in result.output
