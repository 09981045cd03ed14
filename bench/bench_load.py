"""Mixed load over loopback HTTP: 64 concurrent clients against the container's gunicorn.

``python -m bench load``. Starts ``gunicorn --config gunicorn.conf.py app:app`` (the
container's server and settings) on a free 127.0.0.1 port, then 64 client threads (standard
library ``http.client``, one keep-alive connection each) send requests back to back, each
client rotating through a mix of endpoints: ``POST /api/power`` beside the A/B analyzer,
the Bayesian analysis, group-sequential boundaries and CUPED from summaries. The run is
bounded: ``REQUESTS`` requests in all, or ``SECONDS`` seconds, whichever comes first.

Reported: p50 and p99 latency per endpoint under load, beside the same endpoint's p50 alone
(one client, same server, same run) as the baseline. Target: the p99 of ``POST /api/power``
under load is at most 100 ms. The clients share the 2 cores with the server, as a browser on
the same machine would not; their cost per request is small (~0.1 ms) but not zero.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._timing import fmt_seconds, run_clients

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = 64
REQUESTS = 6000
SECONDS = 40.0
ALONE = 60
"""Requests per endpoint for the unloaded baseline (one client)."""
RAMP = 0.5
"""Seconds over which the clients start."""

TWO = [
    {"name": "A", "users": 10_000, "conversions": 1000},
    {"name": "B", "users": 10_000, "conversions": 1100},
]
CUPED = [
    {"name": "A", "users": 5000, "mean_y": 10.0, "mean_x": 9.9, "var_y": 4.0, "var_x": 4.0,
     "cov_xy": 2.0},
    {"name": "B", "users": 5000, "mean_y": 10.2, "mean_x": 9.95, "var_y": 4.0, "var_x": 4.0,
     "cov_xy": 2.0},
]  # fmt: skip
ENDPOINTS: dict[str, tuple[str, dict[str, Any]]] = {
    "power": (
        "/api/power",
        {
            "metric": "proportion",
            "baseline": 0.10,
            "mde": 0.02,
            "alpha": 0.05,
            "power": 0.80,
            "alternative": "two-sided",
            "daily_traffic": 500,
        },
    ),
    "abtest": ("/api/abtest", {"metric": "proportion", "variants": TWO}),
    "bayesian": (
        "/api/bayesian",
        {"metric": "proportion", "variants": TWO, "control": "A", "threshold": 0.001},
    ),
    "boundaries": ("/api/sequential/boundaries", {"looks": 5, "alpha": 0.05}),
    "cuped": ("/api/cuped", {"variants": CUPED, "control": "A"}),
}
MIX = ["power", "abtest", "bayesian", "power", "boundaries", "cuped"]
"""Each client's rotation: a third of the requests are power, the rest the other pages."""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    """One keep-alive HTTP connection to 127.0.0.1."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def post(self, name: str) -> float:
        """Seconds for one request to the endpoint ``name`` (raises unless the answer is 200)."""
        path, body = ENDPOINTS[name]
        return self.send(path, json.dumps(body).encode())

    def send(self, path: str, data: bytes) -> float:
        """Seconds for one POST of the JSON ``data`` to ``path`` (raises unless the answer is
        200)."""
        start = time.perf_counter()
        self.conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
        response = self.conn.getresponse()
        response.read()
        elapsed = time.perf_counter() - start
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}")
        return elapsed


def serve(app: str, port: int, config: str, tmp: Path) -> subprocess.Popen[bytes]:
    """gunicorn serving ``app`` with ``config`` on 127.0.0.1:``port``, once it answers."""
    env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}",
           "ABACUS_DATABASE": str(tmp / "abacus.sqlite3")}  # fmt: skip
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    server = subprocess.Popen(
        [gunicorn, "--config", config, app], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/nowhere")  # any answer will do (the bare app has no routes)
            conn.getresponse().read()
            return server
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise
            time.sleep(0.2)


def _p(times: list[float], q: int) -> float:
    return statistics.quantiles(times, n=100, method="inclusive")[q - 1]


def run_load(port: int) -> tuple[dict[str, list[float]], float, int]:
    """Latencies per endpoint under load, the wall time and the number of requests."""
    latencies: dict[str, list[float]] = {name: [] for name in ENDPOINTS}

    def connect(i: int) -> Callable[[], None]:
        client, turn = Client(port), itertools.count(i)

        def send() -> None:  # client i starts its rotation of MIX at i
            name = MIX[next(turn) % len(MIX)]
            latencies[name].append(client.post(name))  # list.append is atomic

        return send

    n, wall = run_clients(CLIENTS, REQUESTS, SECONDS, connect, ramp=RAMP)
    return latencies, wall, n


def _warm_every_worker(port: int, clients: int = 8) -> None:
    """Every endpoint a few times over several connections at once, so that both workers
    have imported everything and measured every endpoint (as a server that has been up)."""

    def warm() -> None:
        c = Client(port)
        for _ in range(5):
            for name in ENDPOINTS:
                c.post(name)

    threads = [threading.Thread(target=warm) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    port = _free_port()
    server = serve("app:app", port, "gunicorn.conf.py", tmp)
    try:
        alone = Client(port)
        for name in ENDPOINTS:  # warm every worker's imports and caches
            for _ in range(10):
                alone.post(name)
        baseline = {name: [alone.post(name) for _ in range(ALONE)] for name in ENDPOINTS}
        _warm_every_worker(port)
        latencies, wall, n = run_load(port)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    workers = os.environ.get("WEB_CONCURRENCY", "2 (default)")
    threads = os.environ.get("GUNICORN_THREADS", "32 (default)")
    print(
        f"\n## Mixed load: {CLIENTS} clients, gunicorn.conf.py (workers {workers}, threads "
        f"{threads}), {time.strftime('%Y-%m-%d')}; load average before: {os.getloadavg()[0]:.1f}"
    )
    print(f"{n} requests in {wall:.1f} s: {n / wall:.0f} requests/s")
    print(f"{'endpoint':28} {'alone p50':>10} {'p50':>10} {'p99':>10} {'p99/alone':>9}  target")
    for name, times in latencies.items():
        if len(times) < 2:
            continue
        base = statistics.median(baseline[name])
        p99 = _p(times, 99)
        target = "p99 <= 100 ms" if name == "power" else ""
        print(
            f"POST {ENDPOINTS[name][0]:23} {fmt_seconds(base):>10} "
            f"{fmt_seconds(statistics.median(times)):>10} {fmt_seconds(p99):>10} "
            f"{p99 / base:>8.1f}x  {target}"
        )


if __name__ == "__main__":
    main()
