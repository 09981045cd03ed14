"""The A/B analyzer on a 1,000,000-row CSV beside pyarrow parsing the same bytes alone.

``python -m bench.bench_abtest`` (or ``python -m bench abtest``). The CSV (``variant``,
``converted``, ``revenue``; three variants) is built in memory as an upload arrives. Ours is
the whole stats path: :func:`stats.tabular.read_csv`, :func:`~stats.tabular.infer_roles`,
:func:`~stats.tabular.summarize_table` for both metrics, and :func:`stats.abtest.analyze`
with revenue as a guardrail. Target: <= 1.5 s (the issue allows 2 s from upload to JSON)
and < 1 GB peak memory, measured as the maximum resident set size of a fresh process that
runs the path once.
"""

from __future__ import annotations

import io
import multiprocessing as mp
import resource
from functools import partial

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv

from bench._timing import median_seconds, report
from stats.abtest import Analysis, Guardrail, analyze
from stats.tabular import guess_control, infer_roles, read_csv, summarize_table

ROWS = 1_000_000
REPEAT = 5


def make_csv(rows: int = ROWS, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    variant = rng.choice(np.array(["control", "B", "C"]), rows)
    converted = rng.random(rows) < np.where(variant == "B", 0.105, 0.10)
    revenue = np.where(converted, rng.gamma(2.0, 20.0, rows), 0.0).round(2)
    frame = pd.DataFrame(
        {"variant": variant, "converted": converted.astype(int), "revenue": revenue}
    )
    return frame.to_csv(index=False).encode()


def pipeline(data: bytes) -> Analysis:
    """Upload bytes to the analysis, as the web layer runs it."""
    table = read_csv(data)
    roles = infer_roles(table)
    primary = summarize_table(table, roles, metric="converted")
    revenue = summarize_table(table, roles, metric="revenue")
    names = [v.name for v in primary.variants]
    guard = Guardrail("revenue", revenue.variants, tolerance=0.5)
    return analyze(primary.variants, control=guess_control(names), guardrails=[guard])


def pyarrow_alone(data: bytes) -> int:
    return pacsv.read_csv(io.BytesIO(data)).num_rows


def _peak_rss(data: bytes, queue: mp.Queue) -> None:
    pipeline(data)
    queue.put(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


def peak_memory(data: bytes) -> int:
    """Maximum resident set size (bytes) of a fresh process running the pipeline once."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_peak_rss, args=(data, queue))
    proc.start()
    peak = queue.get()
    proc.join()
    return int(peak)


def main() -> None:
    data = make_csv()
    ours = median_seconds(partial(pipeline, data), repeat=REPEAT, warmup=1)
    base = median_seconds(partial(pyarrow_alone, data), repeat=REPEAT, warmup=1)
    report(
        f"A/B analyzer, {ROWS:,} rows ({len(data) / 1e6:.0f} MB CSV)",
        [
            (
                "parse + roles + reduce 2 metrics + analyze",
                ours,
                "pyarrow.csv alone",
                base,
                "<= 1.5 s",
            )
        ],
    )
    print(
        f"peak memory (max RSS of a fresh process): {peak_memory(data) / 2**20:.0f} MiB (target < 1 GiB)"
    )


if __name__ == "__main__":
    main()
