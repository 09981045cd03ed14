"""Reliability through real HTTP: gunicorn (the container's command) on a temporary database,
SQLite and a real PostgreSQL server (tests/_postgres.py's throwaway cluster) alike.

8 concurrent writers post 10,000 events each and every event is counted exactly once; a
retried batch is not double counted; SIGKILL of the whole server (master and workers) in the
middle of ingestion loses no acknowledged event and leaves a consistent database; two app
instances on one database see one experiment, assign a unit the same variant and count every
event once.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from experiments.store import database_url
from tests.web.test_gunicorn import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "reliability-admin-token"
TS, LATER = "2026-11-20T10:00:00Z", "2026-11-20T10:01:00Z"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database: a SQLite file, or a new database on the session's PostgreSQL."""
    if request.param == "sqlite":
        yield str(tmp_path / "abacus.sqlite3")
        return
    with request.getfixturevalue("postgres_cluster").database("reliability") as url:
        yield url


@contextmanager
def gunicorn(db: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """gunicorn with the repo's gunicorn.conf.py in its own process group (so a SIGKILL of the
    group takes the master and every worker, like a container being killed)."""
    env = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "ABACUS_DATABASE": db,
        "ABACUS_ADMIN_TOKEN": TOKEN,
    }
    cmd = [str(Path(sys.executable).with_name("gunicorn")), "--config", "gunicorn.conf.py",
           "app:app"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if call(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def call(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    token: str = TOKEN,
    conn: http.client.HTTPConnection | None = None,
) -> tuple[int, Any]:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        if own:
            conn.close()


def launch(port: int) -> tuple[int, str]:
    spec = {"name": "Reliability", "primary_event": "purchase",
            "variants": [{"name": "control", "weight": 1}, {"name": "B", "weight": 1}]}  # fmt: skip
    status, exp = call(port, "POST", "/api/experiments", spec)
    assert status == 201, exp
    assert call(port, "POST", f"/api/experiments/{exp['id']}/launch")[0] == 200
    return exp["id"], exp["ingest_key"]


def batch(prefix: str, size: int) -> list[dict[str, str]]:
    """size/2 fresh units, each with an exposure and a purchase."""
    events = []
    for j in range(size // 2):
        unit = f"{prefix}-{j}"
        variant = "B" if j % 2 else "control"
        events.append({"event_id": f"{unit}-x", "unit": unit, "variant": variant,
                       "name": "exposure", "ts": TS})  # fmt: skip
        events.append({"event_id": f"{unit}-p", "unit": unit, "variant": variant,
                       "name": "purchase", "ts": LATER})  # fmt: skip
    return events


def stored(db: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(database_url(db))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def consistent(db: str) -> None:
    """SQLite's own checks; on both, no event or assignment without its variant."""
    if database_url(db).get_backend_name() == "sqlite":
        assert stored(db, "PRAGMA integrity_check") == [("ok",)]
        assert stored(db, "PRAGMA foreign_key_check") == []
    for table in ("events", "assignments"):
        orphans = (
            f"SELECT COUNT(*) FROM {table} AS t LEFT JOIN variants AS v"
            " ON v.experiment_id = t.experiment_id AND v.position = t.variant"
            " WHERE v.position IS NULL"
        )
        assert stored(db, orphans) == [(0,)]


def test_eight_writers_count_every_event_once_and_retries_are_duplicates(database: str) -> None:
    db, port = database, free_port()
    with gunicorn(db, port):
        experiment_id, key = launch(port)
        path = f"/api/experiments/{experiment_id}/events"
        answers: dict[int, list[tuple[int, Any]]] = {}
        start = threading.Barrier(8)

        def writer(w: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            start.wait()
            answers[w] = [
                call(port, "POST", path, {"events": batch(f"w{w}-b{b}", 500)}, key, conn)
                for b in range(20)  # 20 batches of 500 = 10,000 events per writer
            ]
            conn.close()

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(
            a == (200, {"accepted": 500, "duplicates": 0}) for w in range(8) for a in answers[w]
        ), [a for w in answers for a in answers[w] if a[0] != 200][:3]

        retried = call(port, "POST", path, {"events": batch("w3-b7", 500)}, key)
        assert retried == (200, {"accepted": 0, "duplicates": 500})
        status, data = call(port, "POST", f"/api/experiments/{experiment_id}/analyze", {})
        assert status == 200
        variants = data["result"]["variants"]
        assert sum(v["exposures"] for v in variants) == 40_000
        assert sum(v["conversions"] for v in variants) == 40_000
    assert stored(db, "SELECT COUNT(*), COUNT(DISTINCT event_id) FROM events") == [(80_000, 80_000)]


@pytest.mark.parametrize("kill_after", [20])
def test_sigkill_mid_ingestion_keeps_every_acknowledged_event(
    database: str, kill_after: int
) -> None:
    db, port = database, free_port()
    acknowledged: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()
    with gunicorn(db, port) as server:
        experiment_id, key = launch(port)
        path = f"/api/experiments/{experiment_id}/events"

        def writer(w: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            b = 0
            while True:
                prefix = f"w{w}b{b}"
                try:
                    status, _ = call(port, "POST", path, {"events": batch(prefix, 200)}, key, conn)
                except (OSError, http.client.HTTPException):
                    return  # the server is gone: this batch was never acknowledged
                assert status == 200
                with lock:
                    acknowledged.append(prefix)
                    if len(acknowledged) >= kill_after:
                        enough.set()
                b += 1

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        assert enough.wait(timeout=60)
        os.killpg(server.pid, signal.SIGKILL)  # master and workers, mid-ingestion
        for t in threads:
            t.join(timeout=30)
        assert server.wait(timeout=10) == -signal.SIGKILL

    with gunicorn(db, port) as _restarted:
        status, data = call(port, "POST", f"/api/experiments/{experiment_id}/analyze", {})
        assert status == 200
        exposures = sum(v["exposures"] for v in data["result"]["variants"])
        # Writes continue after the restart: the store accepts a new batch.
        assert call(port, "POST", path, {"events": batch("after", 10)}, key)[0] == 200

    consistent(db)
    per_batch: dict[str, int] = {}
    for (event_id,) in stored(db, "SELECT event_id FROM events WHERE event_id NOT LIKE 'after-%'"):
        prefix = event_id.split("-", 1)[0]
        per_batch[prefix] = per_batch.get(prefix, 0) + 1
    assert all(per_batch.get(prefix) == 200 for prefix in acknowledged)  # nothing acked is lost
    assert set(per_batch.values()) == {200}  # batches are atomic: no partial batch
    # At most one batch per writer committed without its answer arriving before the kill.
    assert len(acknowledged) <= len(per_batch) <= len(acknowledged) + 4
    assert exposures == 100 * len(per_batch)


def test_two_app_instances_share_the_database(database: str) -> None:
    a, b = free_port(), free_port()
    with gunicorn(database, a), gunicorn(database, b):
        experiment_id, key = launch(a)  # created and launched through A
        status, seen = call(b, "GET", f"/api/experiments/{experiment_id}")
        assert (status, seen["status"]) == (200, "running")
        # A unit keeps one variant whichever instance it asks (the first answer is stored).
        for i in range(40):
            first = call(
                a if i % 2 else b,
                "GET",
                f"/api/experiments/{experiment_id}/assign?unit=u{i}",
                token=key,
            )
            again = call(
                b if i % 2 else a,
                "GET",
                f"/api/experiments/{experiment_id}/assign?unit=u{i}",
                token=key,
            )
            assert first[0] == 200 and first == again

        path = f"/api/experiments/{experiment_id}/events"
        answers: list[tuple[int, Any]] = []
        lock = threading.Lock()

        def writer(w: int) -> None:  # writers 0 and 2 post to A, 1 and 3 to B
            port = a if w % 2 == 0 else b
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for n in range(5):
                answer = call(port, "POST", path, {"events": batch(f"w{w}-b{n}", 500)}, key, conn)
                with lock:
                    answers.append(answer)
            conn.close()

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert answers == [(200, {"accepted": 500, "duplicates": 0})] * 20
        # A batch stored through A is a duplicate through B.
        assert call(b, "POST", path, {"events": batch("w0-b3", 500)}, key) == (
            200,
            {"accepted": 0, "duplicates": 500},
        )
        results = [
            call(port, "POST", f"/api/experiments/{experiment_id}/analyze", {})[1]["result"]
            for port in (a, b)
        ]
        for result in results:
            assert sum(v["exposures"] for v in result["variants"]) == 5_000
            assert sum(v["conversions"] for v in result["variants"]) == 5_000
        assert results[0]["variants"] == results[1]["variants"]
        # Stopped through B: A no longer accepts events.
        assert call(b, "POST", f"/api/experiments/{experiment_id}/stop")[0] == 200
        assert call(a, "POST", path, {"events": batch("late", 2)}, key)[0] == 409
    consistent(database)
    assert stored(database, "SELECT COUNT(*), COUNT(DISTINCT event_id) FROM events") == [
        (10_000, 10_000)
    ]
