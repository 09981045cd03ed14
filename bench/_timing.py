"""Timing helpers shared by the benchmarks: medians of repeated runs and a ratio table."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence


def median_seconds(fn: Callable[[], object], repeat: int = 50, warmup: int = 3) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs, after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fmt_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def report(title: str, rows: Sequence[tuple[str, float, str, float, str]]) -> None:
    """Print rows of (what, ours, baseline name, baseline, target) with ours/baseline ratios."""
    print(f"\n## {title}")
    print(f"{'measurement':44} {'ours':>10} {'baseline':>10} {'ratio':>7}  baseline is / target")
    for what, ours, base_name, base, target in rows:
        ratio = ours / base if base else float("nan")
        print(
            f"{what:44} {fmt_seconds(ours):>10} {fmt_seconds(base):>10} {ratio:>6.2f}x"
            f"  {base_name} / {target}"
        )


def run_clients(
    clients: int,
    requests: int,
    seconds: float,
    connect: Callable[[int], Callable[[], object]],
    ramp: float = 0.0,
) -> tuple[int, float]:
    """Requests sent and wall seconds taken by ``clients`` threads that send requests back to
    back until ``requests`` have been sent in all or ``seconds`` have passed.

    ``connect(i)`` readies client ``i`` (untimed: its connection, a first request) and returns
    its ``send``, which sends one request and raises unless it was answered as it should be.
    The clients start together once all are ready, client ``i`` after ``i·ramp/clients``
    seconds (so that they arrive over ``ramp`` seconds rather than in one burst). Raises
    ``RuntimeError`` naming the first failure when any client failed.
    """
    lock = threading.Lock()
    left = [requests]
    errors: list[BaseException] = []
    barrier = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(i: int) -> None:
        send = connect(i)
        barrier.wait()
        time.sleep(i * ramp / clients)
        try:
            while time.monotonic() < stop_at[0]:
                with lock:
                    if left[0] <= 0:
                        break
                    left[0] -= 1
                send()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + seconds
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} clients failed: {errors[0]!r}")
    return requests - left[0], wall
