"""Ratio CUPED on POST /api/cuped from a configured DuckDB source: the per-arm moments reduced
in the engine answer as the upload of the same rows (every number to 1e-9), and a missing
value is refused naming its field, as the upload refuses it."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from flask.testing import FlaskClient

from tests.web.answers import close, warehouse_app
from tests.web.problems import problem

ROLES = {
    "variant": "variant",
    "outcome": "revenue",
    "denominator": "orders",
    "covariate": "revenue_pre",
    "denominator_pre": "orders_pre",
    "control": "A",
}


def _rows(seed: int = 21) -> str:
    """Three arms of users whose orders and basket persist from the pre-period (large means
    against their spread, to exercise the engine's variances)."""
    rng = np.random.default_rng(seed)
    rows = ["user,variant,revenue,orders,revenue_pre,orders_pre"]
    for arm, value in (("B", 1e4 + 31.0), ("A", 1e4 + 30.0), ("C", 1e4 + 30.5)):
        rate = rng.gamma(2.0, 0.75, 300) + 0.5
        basket = rng.lognormal(math.log(value), 0.01, 300)
        d, m = rng.poisson(rate) + 1, rng.poisson(rate) + 1
        y = d * basket * rng.lognormal(0, 0.01, 300)
        x = m * basket * rng.lognormal(0, 0.01, 300)
        rows += [
            f"{arm}{i},{arm},{a:.4f},{b},{c:.4f},{e}"
            for i, (a, b, c, e) in enumerate(zip(y, d, x, m, strict=True))
        ]
    return "\n".join(rows) + "\n"


def _gaps() -> str:
    """The rows with one user's revenue left blank."""
    lines = _rows().splitlines()
    cells = lines[5].split(",")
    lines[5] = ",".join([*cells[:2], "", *cells[3:]])
    return "\n".join(lines) + "\n"


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    return warehouse_app(tmp_path, {"orders": _rows(), "gaps": _gaps()}).test_client()


def test_source_ratio_cuped_equals_the_same_rows_uploaded(client: FlaskClient) -> None:
    upload = client.post("/api/cuped", json={"csv": _rows(), **ROLES})
    source = client.post("/api/cuped", json={"source": "warehouse", "table": "orders", **ROLES})
    assert upload.status_code == 200, upload.get_data(as_text=True)
    assert source.status_code == 200, source.get_data(as_text=True)
    a, b = upload.json, source.json
    assert a is not None and b is not None
    assert [arm["name"] for arm in b["result"]["arms"]] == ["A", "B", "C"]
    assert b["result"]["variance_reduction"] < 0.9  # the pre-period ratio does adjust
    close(a["result"], b["result"])
    assert b["readout"] == a["readout"]
    assert b["readout"].startswith("Ratio CUPED: revenue per orders adjusted by")


def test_source_ratio_cuped_errors_name_the_field(client: FlaskClient) -> None:
    table = {"source": "warehouse", "table": "orders"}
    missing = {k: v for k, v in ROLES.items() if k != "covariate"}
    problem(client.post("/api/cuped", json={**table, **missing}), 400, "covariate")
    problem(
        client.post("/api/cuped", json={**table, **ROLES, "denominator_pre": "nope"}),
        422,
        "denominator_pre",
    )
    problem(
        client.post("/api/cuped", json={**table, **ROLES, "denominator": "variant"}),
        422,
        "denominator",
    )
    gaps = client.post("/api/cuped", json={"source": "warehouse", "table": "gaps", **ROLES})
    body = problem(gaps, 422, "outcome")
    assert "every user needs all four values" in body["detail"]
    problem(client.post("/api/cuped", json={"csv": _gaps(), **ROLES}), 422)
