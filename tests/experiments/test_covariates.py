"""Pre-period covariates in the store (CUPED in Experiments), on SQLite and PostgreSQL: what
``Store.covariate_rows`` reads against a plain Python reading of the same events."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from experiments.store import Store, StoreError

SPEC = {
    "name": "Covariates",
    "primary_event": "purchase",
    "variants": [{"name": "control", "weight": 1}, {"name": "B", "weight": 1}],
}
TS, LATER, BEFORE = "2026-11-20T10:00:00Z", "2026-11-20T10:05:00Z", "2026-10-01T00:00:00Z"


@pytest.fixture
def store(store_database: str) -> Iterator[Store]:
    with Store(store_database) as s:
        yield s


def test_covariate_rows_match_a_python_reading(store: Store) -> None:
    exp = store.create_experiment(SPEC)
    store.launch(exp.id)
    rng = random.Random(7)
    events: list[dict[str, Any]] = []
    expected: dict[str, tuple[int, float, float]] = {}  # unit -> (variant, y, x)
    for u in range(120):
        unit, variant = f"u{u}", rng.choice(["control", "B"])
        exposure: dict[str, Any] = {"event_id": f"{unit}-x", "unit": unit, "variant": variant,
                                    "name": "exposure", "ts": TS}  # fmt: skip
        values = []
        if u % 3 == 0:
            exposure["covariate"] = rng.uniform(0, 20)
            values.append(exposure["covariate"])
        events.append(exposure)
        if u % 3 == 1:  # one or two covariate events, before the exposure: averaged
            for k in range(1 + u % 2):
                values.append(rng.uniform(0, 20))
                events.append({"event_id": f"{unit}-c{k}", "unit": unit, "variant": variant,
                               "name": "covariate", "value": values[-1], "ts": BEFORE})  # fmt: skip
        converted = rng.random() < 0.3
        if converted:
            events.append({"event_id": f"{unit}-p", "unit": unit, "variant": variant,
                           "name": "purchase", "ts": LATER})  # fmt: skip
        x = sum(values) / len(values) if values else math.nan
        expected[unit] = ({"control": 0, "B": 1}[variant], float(converted), x)
    assert store.ingest(exp.id, events).accepted == len(events)
    rows = store.covariate_rows(exp.id)
    assert rows is not None and rows.n_units == 120 and not rows.truncated
    got = list(zip(rows.codes.tolist(), rows.y.tolist(), rows.x.tolist(), strict=True))
    want = list(expected.values())

    def without(rows: list[tuple[int, float, float]]) -> Counter[tuple[int, float]]:
        return Counter((c, y) for c, y, x in rows if math.isnan(x))

    def valued(rows: list[tuple[int, float, float]]) -> list[tuple[int, float, float]]:
        return sorted(r for r in rows if not math.isnan(r[2]))

    assert len(got) == len(want) and without(got) == without(want)
    for (c, y, x), (c0, y0, x0) in zip(valued(got), valued(want), strict=True):
        assert (c, y) == (c0, y0) and x == pytest.approx(x0, rel=1e-12)
    assert int(np.isnan(rows.x).sum()) == sum(math.isnan(v[2]) for v in expected.values())


def test_no_covariate_means_no_rows_and_covariate_is_a_reserved_name(store: Store) -> None:
    exp = store.create_experiment(SPEC)
    store.launch(exp.id)
    store.ingest(exp.id, [{"event_id": "e", "unit": "u", "variant": "B", "name": "exposure",
                           "ts": TS}])  # fmt: skip
    assert store.covariate_rows(exp.id) is None
    with pytest.raises(StoreError) as exc:
        store.create_experiment({**SPEC, "primary_event": "covariate"})
    assert exc.value.field == "primary_event"
    with pytest.raises(StoreError) as exc:
        store.create_experiment({**SPEC, "guardrail_events": ["covariate"]})
    assert exc.value.field == "guardrail_events[0]"
