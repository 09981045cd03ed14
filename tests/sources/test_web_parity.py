"""Whole analyses across engines (issue 12): the A/B, CUPED, Bayesian and DoE endpoints, sent
``{"source", "table", roles…}`` (and A/B and CUPED in the event-schema form, ``"events"``),
answer the same JSON (result, readout, warnings, figures) from a Spark local[2] or PostgreSQL
source as from a DuckDB file holding the same rows.

:data:`WEB_CHECKS` runs on Spark and PostgreSQL as subtests of
:func:`tests.sources.test_parity.test_server_engine` (one session of each engine, on the
conftest's rows: three variants, a segment, a 0/1 metric, revenue with a pre-period
covariate and a date). The DuckDB answers are the reference, itself checked against a CSV
upload of the same rows by ``tests/web/test_source_requests.py``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
from flask import Flask

from app import create_app
from sources.config import Spec
from tests.sources.test_events import EVENTS as EVENT_ROWS
from tests.sources.test_events import EXPOSURES as EXPOSURE_ROWS
from tests.web.answers import close

EVENTS = {
    "exposures": "exposures",
    "metric_events": "metric_events",
    "experiment": "exp",
    "metric": "purchase",
    "window_days": 7,
}
"""The event-schema form on :mod:`tests.sources.test_events`' hand-built tables."""
CUPED = {"variant": "variant", "outcome": "revenue", "covariate": "pre", "control": "A"}

REQUESTS: list[tuple[str, dict[str, Any]]] = [
    (
        "/api/abtest",
        {
            "variant": "variant",
            "metric": "converted",
            "control": "A",
            "guardrails": [{"metric": "revenue", "direction": "higher", "tolerance": 0.5}],
        },
    ),
    ("/api/abtest", {"variant": "variant", "metric": "revenue", "control": "A"}),
    ("/api/cuped", CUPED),
    ("/api/cuped", {**CUPED, "table": "gaps"}),  # NULL pre-period values, kept (Deng 2013)
    (
        "/api/bayesian",
        {
            "metric": "proportion",
            "variant": "variant",
            "value": "converted",
            "control": "A",
            "date": "day",
            "threshold": 0.001,
            "seed": 3,
            "draws": 20_000,
        },
    ),
    (
        "/api/bayesian",
        {
            "metric": "mean",
            "variant": "variant",
            "value": "revenue",
            "control": "A",
            "threshold": 0.01,
            "seed": 3,
            "draws": 20_000,
        },
    ),
    ("/api/doe", {"factor_a": "variant", "factor_b": "segment", "response": "revenue"}),
    ("/api/abtest", {"control": "A", "events": EVENTS}),
    ("/api/cuped", {"control": "A", "events": {**EVENTS, "pre_window_days": 7}}),
]
"""Each endpoint's request roles, on the conftest's ``rows`` table unless they name another
(``gaps``: the same rows with every seventh pre-period value NULL) or the event tables."""


def gaps(rows: pa.Table) -> pa.Table:
    """``rows`` with the pre-period value of every seventh user NULL."""
    pre = rows.column("pre").to_numpy()
    mask = np.arange(len(pre)) % 7 == 3
    return rows.set_column(rows.column_names.index("pre"), "pre", pa.array(pre, mask=mask))


def _app(spec: Spec, root: Path, name: str) -> Flask:
    return create_app(
        {"TESTING": True, "DATABASE": str(root / f"{name}.sqlite3"), "SOURCES": {"wh": spec}}
    )


def _engine_spec(table: ir.Table, engine: str) -> Spec:
    """The configuration naming the running engine: PostgreSQL by URL, Spark as an object
    (``getOrCreate`` returns the session the fixture started, with its temporary views)."""
    if engine == "spark":
        return {"backend": "pyspark"}
    info: Any = table.get_backend().con.info
    return f"postgres://{info.user}@{info.host}:{info.port}/{info.dbname}"


def _answers(app: Flask) -> list[Any]:
    client = app.test_client()
    out = []
    try:
        for url, roles in REQUESTS:
            table = {} if "events" in roles else {"table": "rows"}
            res = client.post(url, json={"source": "wh", **table, **roles})
            assert res.status_code == 200, (url, roles, res.json)
            out.append(res.json)
    finally:
        app.extensions["abacus_sources"].close()
    return out


def check_web_parity(engine: str, load: Callable[..., ir.Table], rows: pa.Table) -> None:
    """Every request of :data:`REQUESTS` answers the same JSON (numbers to 1e-9 relative)
    from ``engine`` as from a DuckDB file of the same rows."""
    with tempfile.TemporaryDirectory(prefix="abacus-web-parity-") as tmp:
        root = Path(tmp)
        duck = ibis.duckdb.connect(root / "rows.duckdb")
        duck.create_table("rows", rows)
        duck.create_table("gaps", gaps(rows))
        duck.create_table("exposures", EXPOSURE_ROWS)
        duck.create_table("metric_events", EVENT_ROWS)
        duck.disconnect()
        load(engine, gaps(rows), "gaps")
        load(engine, EXPOSURE_ROWS, "exposures")
        load(engine, EVENT_ROWS, "metric_events")
        expected = _answers(_app(f"duckdb:///{root / 'rows.duckdb'}", root, "duckdb"))
        got = _answers(_app(_engine_spec(load(engine), engine), root, engine))
    for (url, _), a, b in zip(REQUESTS, got, expected, strict=True):
        close(a, b, url)


WEB_CHECKS = [check_web_parity]
"""Run on Spark and PostgreSQL by :func:`tests.sources.test_parity.test_server_engine`."""
