"""GET /api/sources and GET /api/sources/<name>/tables/<table>: configured sources only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import ibis
import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from tests.web.problems import problem


@pytest.fixture
def warehouse(tmp_path: Path) -> str:
    path = tmp_path / "events.duckdb"
    con = ibis.duckdb.connect(path)
    con.raw_sql(
        "CREATE TABLE users AS SELECT * FROM (VALUES ('A', 1, 2.5), ('B', 0, NULL)) "
        "t(variant, converted, revenue)"
    )
    con.raw_sql("CREATE VIEW paid AS SELECT * FROM users WHERE revenue > 0")
    con.disconnect()
    return f"duckdb:///{path}"


@pytest.fixture
def sources_app(tmp_path: Path, warehouse: str) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE": str(tmp_path / "abacus.sqlite3"),
            "SOURCES": {"warehouse": warehouse, "down": f"duckdb:///{tmp_path}/no/such/dir.db"},
        }
    )
    yield app
    if "abacus_sources" in app.extensions:
        app.extensions["abacus_sources"].close()


@pytest.fixture
def sources_client(sources_app: Flask) -> FlaskClient:
    return sources_app.test_client()


def test_lists_configured_sources_and_tables(sources_client: FlaskClient) -> None:
    response = sources_client.get("/api/sources")
    assert response.status_code == 200
    assert response.json == {
        "sources": [
            {"name": "down", "tables": None},  # configured but unreachable: listed, no tables
            {"name": "warehouse", "tables": ["paid", "users"]},
        ]
    }


def test_describes_a_table(sources_client: FlaskClient) -> None:
    response = sources_client.get("/api/sources/warehouse/tables/users")
    assert response.status_code == 200
    assert response.json == {
        "source": "warehouse",
        "table": "users",
        "columns": [
            {"name": "variant", "type": "string", "nullable": True},
            {"name": "converted", "type": "int32", "nullable": True},
            {"name": "revenue", "type": "decimal(2, 1)", "nullable": True},
        ],
    }


def test_no_sources_configured(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ABACUS_SOURCES", raising=False)
    assert client.get("/api/sources").json == {"sources": []}
    problem(client.get("/api/sources/warehouse/tables/users"), 404, "source")


def test_sources_from_the_environment(
    tmp_path: Path, warehouse: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ABACUS_SOURCES", json.dumps({"env": warehouse}))
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "a.sqlite3")})
    body = app.test_client().get("/api/sources").json
    assert body == {"sources": [{"name": "env", "tables": ["paid", "users"]}]}
    app.extensions["abacus_sources"].close()


@pytest.mark.parametrize(
    "path",
    [
        "/api/sources/nope/tables/users",
        "/api/sources/duckdb:x.duckdb/tables/users",
        "/api/sources/users;%20DROP%20TABLE%20x/tables/users",
    ],
)
def test_unconfigured_source_is_404_naming_source(sources_client: FlaskClient, path: str) -> None:
    problem(sources_client.get(path), 404, "source")


@pytest.mark.parametrize(
    "table",
    ["orders", "USERS", "users;%20DROP%20TABLE%20users", "..", "x" * 300],
)
def test_unlisted_table_is_404_naming_table(sources_client: FlaskClient, table: str) -> None:
    problem(sources_client.get(f"/api/sources/warehouse/tables/{table}"), 404, "table")
    tables = sources_client.get("/api/sources").json["sources"][1]["tables"]
    assert tables == ["paid", "users"]  # nothing was dropped


@pytest.mark.parametrize(
    "path",
    [
        "/api/sources/warehouse/tables/../../etc/passwd",
        "/api/sources/warehouse/tables/..%2F..%2Fetc%2Fpasswd",
        "/api/sources/duckdb:%2F%2F%2Ftmp%2Fx.duckdb/tables/users",
    ],
)
def test_a_name_with_slashes_never_reaches_a_source(sources_client: FlaskClient, path: str) -> None:
    """Werkzeug decodes %2F before routing: no route matches, so no source is asked."""
    problem(sources_client.get(path), 404, "path")


def test_unreachable_source_is_503_without_details(sources_client: FlaskClient) -> None:
    body = problem(sources_client.get("/api/sources/down/tables/users"), 503, "source")
    assert "no/such" not in json.dumps(body)


def test_documented_in_openapi(client: FlaskClient) -> None:
    paths = client.get("/api/openapi.json").json["paths"]
    assert "get" in paths["/api/sources"]
    assert "404" in paths["/api/sources/{name}/tables/{table}"]["get"]["responses"]
