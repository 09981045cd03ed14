"""Throughput of ``POST /api/power`` (with its figures) beside a bare Flask JSON route.

``python -m bench throughput``. Both run under the container's gunicorn configuration
(``gunicorn.conf.py``: workers, threads, worker class) on free 127.0.0.1 ports, in one run.
The bare app (``bench/_bare.py``) gets the same configuration without the app's
``post_worker_init`` hook (it migrates the Experiments database once per worker, not per
request). ``CLIENTS`` keep-alive client threads send requests back to back in alternating
bursts, ``ROUNDS`` per server, each bounded by ``BURST_REQUESTS`` requests or ``BURST_SECONDS``,
so that a change in the machine's load hits both alike. Reported: requests per second of each
and their ratio (target: power ≥ 50% of bare), for the proportion and the mean metric.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.bench_load import ROOT, _free_port, serve

CLIENTS = 8
ROUNDS = 4
BURST_REQUESTS = 2000
BURST_SECONDS = 3.0
PROPORTION = {"metric": "proportion", "baseline": 0.10, "mde": 0.02, "alpha": 0.05,
              "power": 0.80, "alternative": "two-sided", "daily_traffic": 500}  # fmt: skip
MEAN = {"metric": "mean", "sd": 10, "mde": 1, "alpha": 0.05, "power": 0.8}
BARE_CONFIG = f"""
exec(compile(open({str(ROOT / "gunicorn.conf.py")!r}).read(), "gunicorn.conf.py", "exec"))
post_worker_init = None
del post_worker_init
"""


def burst(port: int, path: str, body: dict[str, Any]) -> float:
    """Requests per second of ``CLIENTS`` keep-alive clients, bounded in requests and time."""
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    left = [BURST_REQUESTS]
    lock = threading.Lock()
    errors: list[BaseException] = []
    barrier = threading.Barrier(CLIENTS + 1)
    stop_at = [0.0]

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("POST", path, body=data, headers=headers)  # connect before timing
        conn.getresponse().read()
        barrier.wait()
        try:
            while time.monotonic() < stop_at[0]:
                with lock:
                    if left[0] <= 0:
                        break
                    left[0] -= 1
                conn.request("POST", path, body=data, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"{path} answered {response.status}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + BURST_SECONDS
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} clients failed: {errors[0]!r}")
    return (BURST_REQUESTS - left[0]) / wall


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    config = tmp / "bare.conf.py"
    config.write_text(BARE_CONFIG)
    bare_port, app_port = _free_port(), _free_port()
    servers = [serve("bench._bare:app", bare_port, str(config), tmp)]
    try:
        servers.append(serve("app:app", app_port, "gunicorn.conf.py", tmp))
        runs: dict[str, list[float]] = {"bare": [], "proportion": [], "mean": []}
        for name, port, path, body in [
            ("bare", bare_port, "/bare", PROPORTION),
            ("proportion", app_port, "/api/power", PROPORTION),
            ("mean", app_port, "/api/power", MEAN),
        ]:
            burst(port, path, body)  # warm both workers
            runs[name].clear()
        for _ in range(ROUNDS):
            runs["bare"].append(burst(bare_port, "/bare", PROPORTION))
            runs["proportion"].append(burst(app_port, "/api/power", PROPORTION))
            runs["mean"].append(burst(app_port, "/api/power", MEAN))
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    bare = sum(runs["bare"]) / ROUNDS
    workers = os.environ.get("WEB_CONCURRENCY", "2 (default)")
    threads = os.environ.get("GUNICORN_THREADS", "32 (default)")
    print(
        f"\n## Throughput: {CLIENTS} clients, gunicorn.conf.py (workers {workers}, threads "
        f"{threads}), {ROUNDS} alternating bursts each, {time.strftime('%Y-%m-%d')}; "
        f"load average: {os.getloadavg()[0]:.1f}"
    )
    print(f"{'measurement':40} {'req/s':>8} {'bare req/s':>11} {'ratio':>7}  target")
    for name in ("proportion", "mean"):
        ours = sum(runs[name]) / ROUNDS
        target = "≥ 50%" if name == "proportion" else ""
        print(
            f"{'POST /api/power, ' + name + ', 2 figures':40} {ours:>8.0f} {bare:>11.0f} "
            f"{ours / bare:>6.1%}  {target}"
        )


if __name__ == "__main__":
    main()
