"""Helpers the API tests share to compare two answers, to serve rows from a DuckDB source and
to send an operation's declared example."""

from __future__ import annotations

import copy
import io
import math
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from flask import Flask

from app import create_app
from blueprints._contract import Contract


def ok(response: Any) -> Any:
    """The JSON of a 200 answer."""
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def close(a: Any, b: Any, path: str = "") -> None:
    """Equal JSON, numbers to 1e-9 relative (the engine and numpy sum in other orders); text
    and flags exactly. ``path`` names the place of a difference in the assertion message."""
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, int | float) and isinstance(b, int | float), path
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{path}: {a} != {b}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{path}: {a.keys()} != {b}"
        for k in a:
            close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            close(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def warehouse_app(tmp_path: Path, tables: dict[str, str | pa.Table | pd.DataFrame]) -> Flask:
    """The app with one DuckDB source, ``warehouse``, holding ``tables`` (CSV text, Arrow or
    pandas)."""
    path = tmp_path / "warehouse.duckdb"
    con = ibis.duckdb.connect(path)
    for name, rows in tables.items():
        table = pacsv.read_csv(io.BytesIO(rows.encode())) if isinstance(rows, str) else rows
        con.create_table(name, table)
    con.disconnect()
    return create_app(
        {
            "TESTING": True,
            "DATABASE": str(tmp_path / "abacus.sqlite3"),
            "SOURCES": {"warehouse": f"duckdb:///{path}"},
        }
    )


def example(contract: Contract, rule: str, name: str) -> dict[str, Any]:
    """A copy of the request example ``name`` that ``contract`` declares for ``POST rule``: the
    body the OpenAPI document shows, sent as it stands."""
    (op,) = [op for op in contract.operations if op.rule == rule and op.method == "post"]
    return copy.deepcopy(dict((op.examples or {})[name]))
