"""The store's governance records (issue 15): spec versions and the audit trail, looks and
decision records; append-only at the API and in the database."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.exc import DatabaseError

from experiments.specs import plan_document, store_fields, validate_spec
from experiments.store import Conflict, NotFound, Store, StoreError

SAMPLE = Path(__file__).resolve().parents[2] / "static" / "samples" / "experiment_spec.yaml"
SNAPSHOT = {"result": {"n": 0}, "readout": "Collecting data.", "warnings": []}


def spec_and_plan(**changes: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    document = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    document.update(changes)
    spec, plan = validate_spec(document)
    return spec, plan_document(plan)


@pytest.fixture
def store(store_database: str) -> Any:
    """A fresh store on each backend."""
    with Store(store_database) as s:
        yield s


def created(store: Store) -> int:
    spec, plan = spec_and_plan()
    return store.create_experiment(store_fields(spec), document=(spec, plan)).id


def test_a_spec_is_version_1_of_its_experiment(store: Store) -> None:
    experiment_id = created(store)
    (version,) = store.spec_history(experiment_id)
    assert (version.version, version.after_launch, version.changed) == (1, False, ())
    assert version.spec["owner"] == "ana.lopez@example.com"
    assert version.plan["n_total"] == 2 * version.plan["n_per_group"]


def test_versions_append_and_after_launch_they_need_a_reason(store: Store) -> None:
    experiment_id = created(store)
    spec, plan = spec_and_plan(owner="bo")
    assert store.append_spec(experiment_id, spec, plan).changed == ("owner",)
    assert store.append_spec(experiment_id, spec, plan).version == 2  # unchanged: no new one
    store.launch(experiment_id)
    later = copy.deepcopy(spec)
    later["policy"]["alpha"] = 0.1
    with pytest.raises(StoreError) as caught:
        store.append_spec(experiment_id, later, plan)
    assert caught.value.field == "reason"
    amended = store.append_spec(experiment_id, later, plan, "a looser bar")
    assert (amended.version, amended.after_launch, amended.changed) == (3, True, ("policy",))
    assert [v.version for v in store.spec_history(experiment_id)] == [1, 2, 3]


def test_an_experiment_without_a_spec_cannot_be_amended(store: Store) -> None:
    spec, plan = spec_and_plan()
    plain = store.create_experiment(store_fields(spec))
    assert store.spec_history(plain.id) == ()
    with pytest.raises(Conflict):
        store.append_spec(plain.id, spec, plan)
    with pytest.raises(NotFound):
        store.spec_history(999)


def test_looks_count_the_earlier_ones_before_the_horizon(store: Store) -> None:
    experiment_id = created(store)
    assert store.record_look(experiment_id, n=10, before_horizon=True) == 0
    assert store.record_look(experiment_id, n=20, before_horizon=True) == 1
    assert store.record_look(experiment_id, n=9000, before_horizon=False) == 2
    assert store.record_look(experiment_id, n=9100, before_horizon=False) == 2


def test_decision_records_append_validate_and_search(store: Store) -> None:
    experiment_id = created(store)
    with pytest.raises(Conflict):  # a draft has nothing to decide on
        store.add_decision(
            experiment_id, {"decision": "ship", "owner": "a", "rationale": "b"}, SNAPSHOT
        )
    store.launch(experiment_id)
    for record, field in [
        ({"decision": "rollout", "owner": "a", "rationale": "b"}, "decision"),
        ({"decision": "ship", "owner": " ", "rationale": "b"}, "owner"),
        ({"decision": "ship", "owner": "a", "rationale": "b", "when": 1}, "when"),
        ({"decision": "ship", "owner": "a", "rationale": "b", "follow_up": 2}, "follow_up"),
    ]:
        with pytest.raises(StoreError) as caught:
            store.add_decision(experiment_id, record, SNAPSHOT)
        assert caught.value.field == field
    first = store.add_decision(
        experiment_id, {"decision": "ship", "owner": "Ana", "rationale": "50% better"}, SNAPSHOT, 1
    )
    store.add_decision(
        experiment_id,
        {"decision": "re-run", "owner": "Bo", "rationale": "SRM", "follow_up": "fix logging"},
        SNAPSHOT,
    )
    assert first.analysis == SNAPSHOT and first.spec_version == 1
    assert [d.decision for d in store.decisions(experiment_id)] == ["ship", "re-run"]
    assert [d.owner for d in store.decisions(experiment_id, "LOGGING")] == ["Bo"]
    assert [d.owner for d in store.decisions(experiment_id, "50%")] == ["Ana"]
    assert store.decisions(experiment_id, "5_%") == ()  # LIKE wildcards are literal


@pytest.mark.parametrize("table", ["decisions", "experiment_specs", "analysis_looks"])
def test_the_database_refuses_updates_of_the_records(store: Store, table: str) -> None:
    experiment_id = created(store)
    store.record_look(experiment_id, n=1, before_horizon=True)
    store.launch(experiment_id)
    store.add_decision(experiment_id, {"decision": "stop", "owner": "a", "rationale": "b"}, {})
    with (
        pytest.raises(DatabaseError, match="append-only"),
        store._transaction(write=True) as conn,
    ):
        conn.exec_driver_sql(f"UPDATE {table} SET experiment_id = experiment_id")


def test_records_go_with_their_experiment(store: Store) -> None:
    experiment_id = created(store)
    store.launch(experiment_id)
    store.add_decision(experiment_id, {"decision": "stop", "owner": "a", "rationale": "b"}, {})
    store.stop(experiment_id)
    store.delete_experiment(experiment_id)
    with pytest.raises(NotFound):
        store.decisions(experiment_id)
