"""POST /api/cuped with a segment column of a configured DuckDB source: each segment's
moments reduced in the engine (users without a covariate kept, filled with the segment's
mean) answer as the upload of the same rows (every number to 1e-9)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pytest
from flask.testing import FlaskClient
from pyarrow import csv as pacsv

from app import create_app
from tests.web.problems import problem
from tests.web.test_cuped_segments import answer, body, users

ROLES = {"variant": "variant", "outcome": "spend", "covariate": "pre_spend", "control": "A"}


def _csv() -> str:
    """The users of :func:`tests.web.test_cuped_segments.users`, 5% without a covariate."""
    frame = users()
    rng = np.random.default_rng(8)
    frame.loc[rng.random(len(frame)) < 0.05, "pre_spend"] = np.nan
    text: str = body(frame)["csv"]
    return text


@pytest.fixture
def client(tmp_path: Path) -> Iterator[FlaskClient]:
    path = tmp_path / "warehouse.duckdb"
    con = ibis.duckdb.connect(path)
    con.create_table("spend", pacsv.read_csv(io.BytesIO(_csv().encode())))
    con.disconnect()
    app = create_app(
        {
            "TESTING": True,
            "DATABASE": str(tmp_path / "abacus.sqlite3"),
            "SOURCES": {"warehouse": f"duckdb:///{path}"},
        }
    )
    yield app.test_client()


def _close(a: Any, b: Any) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _close(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _close(x, y)
    elif isinstance(a, float):
        assert b == pytest.approx(a, rel=1e-9, abs=1e-12)
    else:
        assert a == b


def test_source_segments_equal_the_same_rows_uploaded(client: FlaskClient) -> None:
    upload = answer(client, {"csv": _csv(), **ROLES, "segment": "device"})
    source = answer(client, {"source": "warehouse", "table": "spend", **ROLES, "segment": "device"})
    assert len(upload["result"]["segments"]) == 3
    for key in ("segments", "heterogeneity", "segment_analyses", "comparisons"):
        _close(upload["result"][key], source["result"][key])
    assert source["readout"] == upload["readout"]
    assert "segments" in source["figures"]


def test_source_segment_errors_name_the_field(client: FlaskClient) -> None:
    table = {"source": "warehouse", "table": "spend", **ROLES}
    problem(client.post("/api/cuped", json={**table, "segment": "nope"}), 422, "segment")
    problem(client.post("/api/cuped", json={**table, "segment": "variant"}), 422, "segment")
