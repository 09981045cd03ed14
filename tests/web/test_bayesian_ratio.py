"""A ratio metric on POST /api/bayesian from a CSV's or a source's numerator and denominator
columns (one row per user): the same answer as the typed path fed each variant's sample
moments, computed here with numpy (means, ddof-1 standard deviations and covariance, the
moments of Deng, Knoblich & Lu 2018, eq. 4); a DuckDB source answers as the same rows
uploaded; and the errors name their field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient

from tests.web.answers import close, ok, warehouse_app
from tests.web.problems import problem
from tests.web.ratio_data import orders_csv

BASE = {"metric": "ratio", "control": "A", "threshold": 0.1, "draws": 20_000, "seed": 3}
ROLES = {"variant": "variant", "numerator": "revenue", "denominator": "orders"}


def _orders(seed: int = 11) -> tuple[str, dict[str, np.ndarray]]:
    """Per-user orders (Poisson) and revenue, one row per user, and each arm's [x, y]."""
    return orders_csv(seed, (30.0, 31.0), rate=1.5, users=500, noise=5.0)


def _typed(data: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    out = []
    for name, (x, y) in data.items():
        out.append(
            {
                "name": name,
                "users": len(x),
                "numerator_mean": float(x.mean()),
                "denominator_mean": float(y.mean()),
                "numerator_sd": float(x.std(ddof=1)),
                "denominator_sd": float(y.std(ddof=1)),
                "covariance": float(np.cov(x, y, ddof=1)[0, 1]),
            }
        )
    return out


def test_csv_ratio_equals_the_typed_path_on_numpy_moments(client: FlaskClient) -> None:
    text, data = _orders()
    typed = ok(client.post("/api/bayesian", json={**BASE, "variants": _typed(data)}))
    upload = ok(client.post("/api/bayesian", json={**BASE, "csv": text, **ROLES}))
    a, b = typed["result"], upload["result"]
    assert b["source"] == {
        "layout": "users",
        "variant": "variant",
        "value": "revenue / orders",
        "date": None,
        "rows": 1000,
    }
    close({**a, "source": None}, {**b, "source": None})
    assert upload["readout"] == typed["readout"]
    assert "normal approximation" in upload["readout"]


@pytest.fixture
def source_client(tmp_path: Path) -> FlaskClient:
    """A DuckDB source whose ``orders`` table holds the rows of :func:`_orders`."""
    return warehouse_app(tmp_path, {"orders": _orders()[0]}).test_client()


def test_source_ratio_equals_the_same_rows_uploaded(source_client: FlaskClient) -> None:
    text, _ = _orders()
    upload = ok(source_client.post("/api/bayesian", json={**BASE, "csv": text, **ROLES}))
    table = {"source": "warehouse", "table": "orders"}
    source = ok(source_client.post("/api/bayesian", json={**BASE, **table, **ROLES}))
    a, b = upload["result"], source["result"]
    assert b["source"] == a["source"]
    close(a, b)
    assert source["readout"] == upload["readout"]
    problem(
        source_client.post("/api/bayesian", json={**BASE, **table, **ROLES, "numerator": "nope"}),
        422,
        "numerator",
    )


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"denominator": None}, 400, "denominator"),
        ({"denominator": "revenue"}, 422, "denominator"),
        ({"metric": "mean"}, 422, "metric"),
        ({"date": "user"}, 422, "date"),
        ({"numerator": "user"}, 422, "user"),
    ],
)
def test_ratio_errors_name_the_field(
    client: FlaskClient, change: dict[str, Any], status: int, field: str
) -> None:
    text, _ = _orders()
    body = {k: v for k, v in {**BASE, "csv": text, **ROLES, **change}.items() if v is not None}
    problem(client.post("/api/bayesian", json=body), status, field)
