"""One event path for the warehouse and the store (issue 12): the Experiments analysis counts
the store's events through :mod:`sources.events`, on SQLite and PostgreSQL, and gets what the
same events give as event-schema tables in DuckDB (the warehouse path) and what a plain
Python count of distinct units gives (the independent reference)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

import ibis
import pyarrow as pa
import pytest

from experiments.store import Store
from sources import experiment_store
from sources.events import event_statistics

VARIANTS = ("control", "B", "C")
START = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)


def seeded_events(seed: int = 20261205, units: int = 600) -> list[dict[str, str]]:
    """Exposures (some units exposed twice), purchases (some twice), refunds, all after the
    unit's first exposure; every event id unique."""
    rng = random.Random(seed)
    events: list[dict[str, str]] = []

    def add(unit: str, variant: str, t0: dt.datetime, name: str, after_s: int, k: int) -> None:
        ts = (t0 + dt.timedelta(seconds=after_s, microseconds=k)).isoformat()
        events.append(
            {"event_id": f"{unit}-{name}-{k}", "unit": unit, "variant": variant, "name": name,
             "ts": ts}
        )  # fmt: skip

    for u in range(units):
        unit, variant = f"u{u}", rng.choice(VARIANTS)
        t0 = START + dt.timedelta(seconds=rng.randrange(86_400))
        add(unit, variant, t0, "exposure", 0, 0)
        if rng.random() < 0.3:
            add(unit, variant, t0, "exposure", rng.randrange(1, 3600), 1)
        for k in range(rng.choice([0, 0, 1, 2])):
            add(unit, variant, t0, "purchase", rng.randrange(0, 7 * 86_400), k)
        if rng.random() < 0.1:
            add(unit, variant, t0, "refund", rng.randrange(60, 86_400), 0)
    return events


def python_counts(events: list[dict[str, str]]) -> dict[str, dict[str, tuple[int, int]]]:
    """Per metric, per variant: (distinct exposed units, distinct units with the metric)."""
    exposed: dict[str, set[str]] = {v: set() for v in VARIANTS}
    converted: dict[str, dict[str, set[str]]] = {
        m: {v: set() for v in VARIANTS} for m in ("purchase", "refund")
    }
    for e in events:
        if e["name"] == "exposure":
            exposed[e["variant"]].add(e["unit"])
        else:
            converted[e["name"]][e["variant"]].add(e["unit"])
    return {
        m: {v: (len(exposed[v]), len(converted[m][v])) for v in VARIANTS if exposed[v]}
        for m in converted
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Store]:
    if request.param == "sqlite":
        with Store(tmp_path / "abacus.sqlite3") as s:
            yield s
        return
    with request.getfixturevalue("postgres_cluster").database("analysis") as url, Store(url) as s:
        yield s


@pytest.fixture(scope="module")
def events() -> list[dict[str, str]]:
    return seeded_events()


def warehouse(events: list[dict[str, str]]) -> tuple[ibis.Table, ibis.Table]:
    """The same events as a warehouse keeps them: event-schema tables in DuckDB, with real
    timestamps and the variant names."""
    con = ibis.duckdb.connect()

    def ts(e: dict[str, str]) -> dt.datetime:
        return dt.datetime.fromisoformat(e["ts"])

    x = [e for e in events if e["name"] == "exposure"]
    m = [e for e in events if e["name"] != "exposure"]
    exposures = con.create_table(
        "exposures",
        pa.table(
            {
                "experiment": ["exp"] * len(x),
                "unit": [e["unit"] for e in x],
                "variant": [e["variant"] for e in x],
                "ts": pa.array([ts(e) for e in x], pa.timestamp("us", "UTC")),
            }
        ),
    )
    metric_events = con.create_table(
        "metric_events",
        pa.table(
            {
                "unit": [e["unit"] for e in m],
                "name": [e["name"] for e in m],
                "value": [1.0] * len(m),
                "ts": pa.array([ts(e) for e in m], pa.timestamp("us", "UTC")),
            }
        ),
    )
    return exposures, metric_events


def test_store_counts_match_the_warehouse_path_and_a_python_count(
    store: Store, events: list[dict[str, str]]
) -> None:
    exp = store.create_experiment(
        {"name": "Parity", "primary_event": "purchase", "guardrail_events": ["refund"],
         "variants": [{"name": v, "weight": 1} for v in VARIANTS]}
    )  # fmt: skip
    store.launch(exp.id)
    store.ingest(exp.id, events)
    counts = store.counts(exp.id)
    reference = python_counts(events)
    assert {v.name: (v.exposures, v.conversions) for v in counts.variants} == reference["purchase"]
    assert {
        v.name: (v.exposures, v.guardrail_conversions["refund"]) for v in counts.variants
    } == reference["refund"]
    assert [p.exposures for p in counts.periods] == [tuple(v.exposures for v in counts.variants)]

    # The same function over the warehouse's tables (names, real timestamps) agrees.
    exposures, metric_events = warehouse(events)
    wh = experiment_store.conversions(
        exposures, metric_events, experiment="exp", metrics=("purchase", "refund")
    )
    for metric in ("purchase", "refund"):
        assert {name: (s.users, s.conversions) for name, s in wh[metric].items()} == reference[
            metric
        ]
    # And the warehouse's own reduction (a window longer than the data) exposes the same units.
    purchases = event_statistics(
        exposures, metric_events, experiment="exp", metric="purchase", window_days=30,
        kind="continuous",
    )  # fmt: skip
    assert {s.name: s.n for s in purchases.variants} == {
        v: n for v, (n, _) in reference["purchase"].items()
    }


def test_a_one_unit_variant_and_an_unexposed_variant_count(store: Store) -> None:
    exp = store.create_experiment(
        {"name": "Tiny", "primary_event": "purchase",
         "variants": [{"name": v, "weight": 1} for v in VARIANTS]}
    )  # fmt: skip
    store.launch(exp.id)
    ts = START.isoformat()
    store.ingest(
        exp.id,
        [
            {"event_id": "x", "unit": "solo", "variant": "B", "name": "exposure", "ts": ts},
            {"event_id": "p", "unit": "solo", "variant": "B", "name": "purchase", "ts": ts},
        ],
    )
    counts = store.counts(exp.id)
    assert [(v.name, v.exposures, v.conversions) for v in counts.variants] == [
        ("control", 0, 0),
        ("B", 1, 1),
        ("C", 0, 0),
    ]
