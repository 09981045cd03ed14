"""A throwaway PostgreSQL cluster for tests: ``initdb`` in a temp dir, ``pg_ctl start`` on a
free local port, trust auth for the local user ``abacus``; stopped and removed afterwards.

Debian's ``postgresql`` package provides the binaries (not a running server). In CI
(``CI=true``) a missing engine fails the tests with a message saying what to install
(:func:`missing`); locally they skip. ``tests/conftest.py`` starts one cluster per session
(the ``postgres_cluster`` fixture) for the sources and Experiments tests alike.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("ABACUS_PG_BIN", "/usr/lib/postgresql/15/bin"))
USER = "abacus"


def missing(what: str) -> None:
    """Fail in CI (the engine must be there), skip locally."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} (CI=true: .ci/run installs it)", pytrace=False)
    pytest.skip(what)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Cluster:
    """A running server on 127.0.0.1:``port``, user ``abacus`` without password."""

    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "abacus") -> str:
        """A new empty database; its ``postgresql://`` URL. ``FILE_COPY`` copies template1's
        files instead of writing them all to the WAL (PostgreSQL 15's default)."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" STRATEGY = FILE_COPY')
        return self.url(name)

    @contextlib.contextmanager
    def database(self, prefix: str = "abacus") -> Iterator[str]:
        """A new empty database for one test, dropped afterwards (with any connection left
        open to it), so a long session does not pile up data directories."""
        import psycopg

        url = self.create_database(prefix)
        try:
            yield url
        finally:
            with psycopg.connect(self.url(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@contextlib.contextmanager
def cluster() -> Iterator[Cluster]:
    """Start a throwaway cluster (``fsync=off``: the tests kill clients, never the server)."""
    if not (PG_BIN / "initdb").exists():
        missing(f"PostgreSQL is not installed ({PG_BIN}/initdb): apt-get install postgresql")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing("psycopg is not installed: pip install -r requirements.txt")
    root = Path(tempfile.mkdtemp(prefix="abacus-pg-"))
    run_as: list[str] = []
    if os.getuid() == 0:  # initdb refuses root: run the server as the postgres user
        shutil.chown(root, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    data, log, port = root / "data", root / "log", free_port()

    def pg(*args: str) -> None:
        subprocess.run([*run_as, *args], check=True, capture_output=True, timeout=120)

    started = False
    try:
        pg(f"{PG_BIN}/initdb", "-D", str(data), "-U", USER, "-A", "trust", "--no-sync")
        opts = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        )
        pg(f"{PG_BIN}/pg_ctl", "-D", str(data), "-l", str(log), "-o", opts, "-w", "start")
        started = True
        yield Cluster(port)
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode(errors="replace") if exc.stderr else ""
        pytest.fail(f"PostgreSQL did not start: {detail}", pytrace=False)
    finally:
        if started:
            with contextlib.suppress(subprocess.SubprocessError):
                pg(f"{PG_BIN}/pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
