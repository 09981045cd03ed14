"""POST /api/cuped with a segment column of a configured DuckDB source: each segment's
moments reduced in the engine (users without a covariate kept, filled with the segment's
mean) answer as the upload of the same rows (every number to 1e-9)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from flask.testing import FlaskClient

from tests.web.answers import close, warehouse_app
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
    yield warehouse_app(tmp_path, {"spend": _csv()}).test_client()


def test_source_segments_equal_the_same_rows_uploaded(client: FlaskClient) -> None:
    upload = answer(client, {"csv": _csv(), **ROLES, "segment": "device"})
    source = answer(client, {"source": "warehouse", "table": "spend", **ROLES, "segment": "device"})
    assert len(upload["result"]["segments"]) == 3
    for key in ("segments", "heterogeneity", "segment_analyses", "comparisons"):
        close(upload["result"][key], source["result"][key])
    assert source["readout"] == upload["readout"]
    assert "segments" in source["figures"]


def test_source_segment_errors_name_the_field(client: FlaskClient) -> None:
    table = {"source": "warehouse", "table": "spend", **ROLES}
    problem(client.post("/api/cuped", json={**table, "segment": "nope"}), 422, "segment")
    problem(client.post("/api/cuped", json={**table, "segment": "variant"}), 422, "segment")
