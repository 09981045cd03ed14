"""A request names only a configured source, a table that source lists and columns of that
table's schema; anything else is a SourceError naming the field, and nothing is executed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pytest

from sources.config import Sources, Spec, configured
from sources.errors import SourceError
from sources.reduce import sufficient_statistics

HOSTILE = [
    "users; DROP TABLE users",
    "users; DROP TABLE x",
    "../../etc/passwd",
    "/etc/passwd",
    'users" ; DROP TABLE users; --',
    "read_csv('/etc/passwd')",
    "",
    "x" * 10_000,
]


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[Sources]:
    path = tmp_path / "events.duckdb"
    con = ibis.duckdb.connect(path)
    con.raw_sql("CREATE TABLE users AS SELECT * FROM (VALUES ('A', 1), ('B', 0)) t(variant, y)")
    con.disconnect()
    sources = Sources({"warehouse": f"duckdb:///{path}"})
    yield sources
    sources.close()


def refused(field: str) -> pytest.RaisesExc[SourceError]:
    return pytest.raises(SourceError, check=lambda e: e.field == field)


def test_listed_table_and_columns(warehouse: Sources) -> None:
    assert warehouse.names() == ["warehouse"]
    assert warehouse.tables("warehouse") == ["users"]
    columns = warehouse.columns("warehouse", "users")
    assert [(c.name, c.type, c.nullable) for c in columns] == [
        ("variant", "string", True),
        ("y", "int32", True),
    ]
    s = sufficient_statistics(warehouse.table("warehouse", "users"), variant="variant", metric="y")
    assert [(v.name, v.n) for v in s.variants] == [("A", 1), ("B", 1)]


@pytest.mark.parametrize("name", ["nope", "duckdb:///tmp/x.duckdb", *HOSTILE, None, 3])
def test_unconfigured_source_is_refused(warehouse: Sources, name: object) -> None:
    with refused("source"):
        warehouse.table(name, "users")
    with refused("source"):
        warehouse.tables(name)


@pytest.mark.parametrize("name", ["orders", "USERS", *HOSTILE, None])
def test_unlisted_table_is_refused(warehouse: Sources, name: object) -> None:
    with refused("table"):
        warehouse.table("warehouse", name)
    assert warehouse.tables("warehouse") == ["users"]  # nothing was dropped


@pytest.mark.parametrize("role", ["variant", "metric", "covariate", "segment"])
@pytest.mark.parametrize("name", HOSTILE[:6])
def test_unknown_column_is_refused(warehouse: Sources, role: str, name: str) -> None:
    roles = {"variant": "variant", "metric": "y", role: name}
    with refused(role):
        sufficient_statistics(warehouse.table("warehouse", "users"), **roles)  # type: ignore[arg-type]
    assert warehouse.tables("warehouse") == ["users"]


def test_text_metric_is_refused(warehouse: Sources) -> None:
    with refused("metric"):
        sufficient_statistics(warehouse.table("warehouse", "users"), variant="y", metric="variant")


def test_no_sources_configured() -> None:
    with refused("source"):
        Sources({}).tables("warehouse")


def test_configuration_from_app_config_or_environment(tmp_path: Path) -> None:
    env = {"ABACUS_SOURCES": json.dumps({"pg": "postgres://abacus@db/analytics"})}
    assert configured({}, env) == {"pg": "postgres://abacus@db/analytics"}
    assert configured({"SOURCES": {"w": "duckdb://"}}, env) == {"w": "duckdb://"}
    assert configured({}, {}) == {}
    with pytest.raises(ValueError, match="ABACUS_SOURCES is not valid JSON"):
        configured({}, {"ABACUS_SOURCES": "{not json"})
    with pytest.raises(ValueError, match="must map source names"):
        configured({"SOURCES": ["duckdb://"]}, {})


def test_credentials_come_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "x.duckdb"
    sources = Sources({"w": "duckdb:///${DATA_DIR}/x.duckdb"}, {"DATA_DIR": str(tmp_path)})
    assert sources.tables("w") == []
    assert path.exists()
    sources.close()
    with pytest.raises(ValueError, match="SECRET is not set"):
        Sources({"w": "duckdb:///${SECRET}.duckdb"}, {}).connect("w")


def check_configured_server_source(
    engine: str, load: Callable[..., ir.Table], rows: pa.Table
) -> None:
    """A configured Spark session (by object) or PostgreSQL server (by URL) lists its tables,
    refuses the hostile names, and reduces a listed table (run by test_server_engine)."""
    backend: Any = load(engine).get_backend()
    if engine == "postgres":
        info = backend.con.info
        spec: Spec = f"postgres://{info.user}@{info.host}:{info.port}/{info.dbname}"
    else:
        spec = {"backend": "pyspark", "master": "local[2]"}  # getOrCreate: the running session
    sources = Sources({"it": spec})
    try:
        assert "rows" in sources.tables("it")
        for name in HOSTILE:
            with refused("table"):
                sources.table("it", name)
        with refused("metric"):
            sufficient_statistics(
                sources.table("it", "rows"), variant="variant", metric="users; DROP TABLE rows"
            )
        s = sufficient_statistics(
            sources.table("it", "rows"), variant="variant", metric="converted"
        )
        variant = rows["variant"].to_numpy(zero_copy_only=False)
        assert [(v.name, v.n) for v in s.variants] == [
            (name, int((variant == name).sum())) for name in ("A", "B", "C")
        ]
        assert "rows" in sources.tables("it")
    finally:
        sources.close()


SERVER_CHECKS = [check_configured_server_source]
"""Run on Spark and PostgreSQL by :func:`tests.sources.test_parity.test_server_engine`."""
