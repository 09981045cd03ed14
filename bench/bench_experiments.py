"""Experiments over loopback HTTP (gunicorn, the container's server): assignment latency and
batched ingestion throughput, beside baselines measured in the same run.

Baselines: ``GET /healthz`` (the HTTP round trip with no work) for latency; raw SQLite
``executemany`` of the same rows into the same table, WAL + ``synchronous=FULL``, one commit
per batch (the storage work with no HTTP, JSON or validation) for throughput.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench._timing import report
from experiments.store import migrate

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-admin-token"
BATCH = 500
BATCHES = 40
CLIENTS = 4
ASSIGNMENTS = 2000


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    """One keep-alive HTTP connection."""

    def __init__(self, port: int, token: str = TOKEN) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.token = token

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None


def _events(prefix: str, n: int) -> list[dict[str, str]]:
    out = []
    for j in range(n // 2):
        unit, variant = f"{prefix}-{j}", "B" if j % 2 else "control"
        out.append({"event_id": f"{unit}-x", "unit": unit, "variant": variant,
                    "name": "exposure", "ts": "2026-11-20T10:00:00Z"})  # fmt: skip
        out.append({"event_id": f"{unit}-p", "unit": unit, "variant": variant,
                    "name": "purchase", "ts": "2026-11-20T10:01:00Z"})  # fmt: skip
    return out


def _quantiles(times: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return statistics.median(times), cuts[98]


def _latencies(client: Client, paths: list[str]) -> list[float]:
    times = []
    for path in paths:
        start = time.perf_counter()
        status, _ = client.call("GET", path)
        times.append(time.perf_counter() - start)
        assert status == 200, status
    return times


def _ingest(port: int, key: str, experiment_id: int, clients: int) -> float:
    """Events per second with ``clients`` concurrent keep-alive connections."""
    per = BATCHES // clients

    def run(c: int) -> None:
        client = Client(port, key)
        for b in range(per):
            status, body = client.call(
                "POST", f"/api/experiments/{experiment_id}/events",
                {"events": _events(f"c{clients}-{c}-{b}", BATCH)},
            )  # fmt: skip
            assert status == 200 and body["accepted"] == BATCH, body

    threads = [threading.Thread(target=run, args=(c,)) for c in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return per * clients * BATCH / (time.perf_counter() - start)


def _raw_sqlite(path: Path) -> float:
    """Events per second of bare executemany into the same table, one commit per batch."""
    migrate(path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute(
        "INSERT INTO experiments (id, name, primary_event, ingest_key, created_at)"
        " VALUES (1, 'raw', 'purchase', 'k', 'now')"
    )
    batches = [
        [(1, e["event_id"], e["unit"], 0, e["name"], e["ts"], "now") for e in _events(f"r{b}", BATCH)]
        for b in range(BATCHES)
    ]  # fmt: skip
    start = time.perf_counter()
    for rows in batches:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO events (experiment_id, event_id, unit, variant, name, ts, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.execute("COMMIT")
    rate = BATCHES * BATCH / (time.perf_counter() - start)
    conn.close()
    return rate


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    port = _free_port()
    env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2",
           "ABACUS_DATABASE": str(tmp / "abacus.sqlite3"), "ABACUS_ADMIN_TOKEN": TOKEN}  # fmt: skip
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    server = subprocess.Popen(
        [gunicorn, "--config", "gunicorn.conf.py", "app:app"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if Client(port).call("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        admin = Client(port)
        spec = {"name": "bench", "primary_event": "purchase",
                "variants": [{"name": "control", "weight": 1}, {"name": "B", "weight": 1}]}  # fmt: skip
        _, exp = admin.call("POST", "/api/experiments", spec)
        admin.call("POST", f"/api/experiments/{exp['id']}/launch")
        client = Client(port, exp["ingest_key"])
        assign = f"/api/experiments/{exp['id']}/assign?unit="
        _latencies(client, [f"{assign}warm{i}" for i in range(100)] + ["/healthz"] * 100)
        health = _quantiles(_latencies(client, ["/healthz"] * ASSIGNMENTS))
        new = _quantiles(_latencies(client, [f"{assign}u{i}" for i in range(ASSIGNMENTS)]))
        sticky = _quantiles(_latencies(client, [f"{assign}u{i}" for i in range(ASSIGNMENTS)]))
        serial = _ingest(port, exp["ingest_key"], exp["id"], 1)
        concurrent = _ingest(port, exp["ingest_key"], exp["id"], CLIENTS)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    raw = _raw_sqlite(tmp / "raw.sqlite3")
    report(
        f"Experiments over loopback HTTP, gunicorn 2 workers ({time.strftime('%Y-%m-%d')})",
        [
            ("assign p50, new unit (stored, fsync)", new[0], "GET /healthz p50", health[0],
             "p99 ≤ 5 ms"),
            ("assign p99, new unit (stored, fsync)", new[1], "GET /healthz p99", health[1],
             "p99 ≤ 5 ms"),
            ("assign p50, returning unit", sticky[0], "GET /healthz p50", health[0], "p99 ≤ 5 ms"),
            ("assign p99, returning unit", sticky[1], "GET /healthz p99", health[1], "p99 ≤ 5 ms"),
            ("ingest, time per 1,000 events, 1 client", 1000 / serial,
             "raw sqlite executemany", 1000 / raw, "≥ 5,000 events/s"),
            (f"ingest, time per 1,000 events, {CLIENTS} clients", 1000 / concurrent,
             "raw sqlite executemany", 1000 / raw, "≥ 5,000 events/s"),
        ],
    )  # fmt: skip
    print(
        f"ingestion throughput: {serial:,.0f} events/s (1 client), {concurrent:,.0f} events/s "
        f"({CLIENTS} clients), raw sqlite {raw:,.0f} events/s; batches of {BATCH}"
    )
