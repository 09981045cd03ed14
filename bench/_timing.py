"""Timing helpers shared by the benchmarks: medians of repeated runs and a ratio table."""

from __future__ import annotations

import statistics
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
