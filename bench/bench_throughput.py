"""Throughput of ``POST /api/power`` (with its figures) beside a bare Flask JSON route.

``python -m bench throughput``. Both run under the container's gunicorn configuration
(``gunicorn.conf.py``: workers, threads, worker class) on free 127.0.0.1 ports, in one run.
The bare app (``bench/_bare.py``) gets the same configuration without the app's
``post_worker_init`` hook (it migrates the Experiments database once per worker, not per
request). ``CLIENTS`` keep-alive client threads send requests back to back in short bursts,
each bounded by ``BURST_REQUESTS`` requests or ``BURST_SECONDS``; every one of ``ROUNDS``
rounds runs one burst per target (bare, proportion, mean; the order reversed every other
round), so that a change in the shared machine's load hits every target alike. Reported: the
median requests per second of each target over the rounds, the ratio of the medians (target:
power ≥ 50% of bare), and the spread of the rounds' own ratios (each burst against the bare
burst of its round), for the proportion and the mean metric, with the load average at the
start and the end. Beside them, each target's server CPU time per request (the gunicorn
workers' user + system time from ``/proc`` over its bursts, divided by its requests) and the
ratio bare / power of those: the throughput ratio a CPU-bound server reaches, which other
processes' load changes far less than it changes requests per second.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from bench._timing import run_clients
from bench.bench_load import ROOT, Client, _free_port, serve

CLIENTS = 8
ROUNDS = 11
BURST_REQUESTS = 3000
BURST_SECONDS = 1.5
PROPORTION = {"metric": "proportion", "baseline": 0.10, "mde": 0.02, "alpha": 0.05,
              "power": 0.80, "alternative": "two-sided", "daily_traffic": 500}  # fmt: skip
MEAN = {"metric": "mean", "sd": 10, "mde": 1, "alpha": 0.05, "power": 0.8}
BARE_CONFIG = f"""
exec(compile(open({str(ROOT / "gunicorn.conf.py")!r}).read(), "gunicorn.conf.py", "exec"))
post_worker_init = None
del post_worker_init
"""


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) the gunicorn master ``pid``'s workers have used."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    ticks = 0
    for child in children:
        fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def burst(port: int, path: str, body: dict[str, Any]) -> tuple[int, float]:
    """Requests sent and seconds taken by ``CLIENTS`` keep-alive clients, bounded in
    requests and time."""
    data = json.dumps(body).encode()

    def connect(_: int) -> Callable[[], float]:
        client = Client(port)
        client.send(path, data)  # connect before timing
        return partial(client.send, path, data)

    return run_clients(CLIENTS, BURST_REQUESTS, BURST_SECONDS, connect)


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    config = tmp / "bare.conf.py"
    config.write_text(BARE_CONFIG)
    bare_port, app_port = _free_port(), _free_port()
    servers = [serve("bench._bare:app", bare_port, str(config), tmp)]
    try:
        servers.append(serve("app:app", app_port, "gunicorn.conf.py", tmp))
        pids = {"bare": servers[0].pid, "proportion": servers[1].pid, "mean": servers[1].pid}
        targets = {
            "bare": (bare_port, "/bare", PROPORTION),
            "proportion": (app_port, "/api/power", PROPORTION),
            "mean": (app_port, "/api/power", MEAN),
        }
        for target in targets.values():
            burst(*target)  # warm both workers
        load_start = os.getloadavg()[0]
        runs: dict[str, list[float]] = {name: [] for name in targets}
        cpu = {name: [0.0, 0] for name in targets}  # CPU seconds, requests
        for i in range(ROUNDS):
            for name in list(targets)[:: 1 if i % 2 == 0 else -1]:
                before = server_cpu(pids[name])
                count, wall = burst(*targets[name])
                cpu[name][0] += server_cpu(pids[name]) - before
                cpu[name][1] += count
                runs[name].append(count / wall)
        load_end = os.getloadavg()[0]
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    bare = statistics.median(runs["bare"])
    cpu_us = {name: 1e6 * seconds / count for name, (seconds, count) in cpu.items()}
    workers = os.environ.get("WEB_CONCURRENCY", "2 (default)")
    threads = os.environ.get("GUNICORN_THREADS", "32 (default)")
    print(
        f"\n## Throughput: {CLIENTS} clients, gunicorn.conf.py (workers {workers}, threads "
        f"{threads}), {ROUNDS} rounds of {BURST_SECONDS:g} s bursts, medians, "
        f"{time.strftime('%Y-%m-%d %H:%M')}; load average {load_start:.1f} at the start, "
        f"{load_end:.1f} at the end"
    )
    print(
        f"{'measurement':40} {'req/s':>8} {'bare req/s':>11} {'ratio':>7}  "
        f"{'rounds: min  quartiles  max':>28}  {'server CPU/request':>22}  target"
    )
    for name in ("proportion", "mean"):
        ours = statistics.median(runs[name])
        ratios = sorted(o / b for o, b in zip(runs[name], runs["bare"], strict=True))
        q1, _, q3 = statistics.quantiles(ratios, n=4)
        spread = f"{ratios[0]:.1%} {q1:.1%}–{q3:.1%} {ratios[-1]:.1%}"
        goal = "≥ 50%" if name == "proportion" else ""
        served = (
            f"{cpu_us[name]:.0f} µs, bare {cpu_us['bare']:.0f}: {cpu_us['bare'] / cpu_us[name]:.1%}"
        )
        print(
            f"{'POST /api/power, ' + name + ', 2 figures':40} {ours:>8.0f} {bare:>11.0f} "
            f"{ours / bare:>6.1%}  {spread:>28}  {served:>22}  {goal}"
        )


if __name__ == "__main__":
    main()
