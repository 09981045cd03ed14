"""Fixtures shared by every test: the app and its test client (flaskr style)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from tests._postgres import Cluster, cluster

ADMIN_TOKEN = "test-admin-token"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {"TESTING": True, "DATABASE": str(tmp_path / "abacus.sqlite3"), "ADMIN_TOKEN": ADMIN_TOKEN}
    )
    yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL server for the session (tests/_postgres.py)."""
    with cluster() as running:
        yield running


@pytest.fixture(params=["sqlite", "postgresql"])
def store_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty Experiments database on each supported backend: a SQLite file, or a new
    database on the session's PostgreSQL cluster (started only when a test asks for it)."""
    if request.param == "sqlite":
        return str(tmp_path / "abacus.sqlite3")
    database: str = request.getfixturevalue("postgres_cluster").create_database()
    return database
