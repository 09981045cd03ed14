"""The A/B analyzer on a 1,000,000-row CSV beside pyarrow parsing the same bytes alone.

``python -m bench.bench_abtest`` (or ``python -m bench abtest``). The CSV (``variant``,
``converted``, ``revenue``; three variants) is built in memory as an upload arrives. Two
measurements: the stats path alone (:func:`sources.upload.read_upload`,
:func:`~sources.tabular.infer_roles`, :func:`~sources.tabular.summarize_table` for both metrics,
:func:`stats.abtest.analyze` with revenue as a guardrail; target <= 1.5 s), and the whole
request: a multipart upload to ``POST /api/abtest`` through the Flask test client, with
revenue as a guardrail, to the JSON answer with figures and the revenue distribution
(target <= 2 s). Peak memory is the maximum resident set size of a fresh process that runs
the request once, reading the file from disk so that the benchmark holds no extra copy: for
the 10 MB CSV (< 1 GB), and for a 50 MB one with a user id column (2,000,000 rows, the upload
cap; target <= 500 MB, issue 12: 810 MB before the one reader and the DuckDB reduction).
"""

from __future__ import annotations

import io
import multiprocessing as mp
import resource
import tempfile
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv
from flask.testing import FlaskClient

from bench._timing import median_seconds, report
from sources.tabular import guess_control, infer_roles, read_upload, summarize_table
from stats.abtest import Analysis, Guardrail, analyze

ROWS = 1_000_000
REPEAT = 5


LARGE_ROWS = 2_000_000


def make_csv(rows: int = ROWS, seed: int = 0, *, ids: bool = False) -> bytes:
    rng = np.random.default_rng(seed)
    variant = rng.choice(np.array(["control", "B", "C"]), rows)
    converted = rng.random(rows) < np.where(variant == "B", 0.105, 0.10)
    revenue = np.where(converted, rng.gamma(2.0, 20.0, rows), 0.0).round(2)
    columns = {"variant": variant, "converted": converted.astype(int), "revenue": revenue}
    if ids:  # a text id per user (the costly column: 2M distinct strings)
        columns = {
            "user_id": np.char.add("user-", np.arange(10**7, 10**7 + rows).astype(str))
        } | columns
    return pd.DataFrame(columns).to_csv(index=False).encode()


def pipeline(data: bytes) -> Analysis:
    """Upload bytes to the analysis, as the web layer runs it."""
    table = read_upload(data)
    roles = infer_roles(table)
    primary = summarize_table(table, roles, metric="converted")
    revenue = summarize_table(table, roles, metric="revenue")
    names = [v.name for v in primary.variants]
    guard = Guardrail("revenue", revenue.variants, tolerance=0.5)
    return analyze(primary.variants, control=guess_control(names), guardrails=[guard])


def upload_to_json(client: FlaskClient, data: bytes) -> bytes:
    """The web path: a multipart upload with a guardrail, to the JSON answer."""
    response = client.post(
        "/api/abtest",
        data={
            "file": (io.BytesIO(data), "experiment.csv"),
            "metric": "converted",
            "guardrails": '[{"metric": "revenue", "tolerance": 0.5}]',
        },
        content_type="multipart/form-data",
    )
    if response.status_code != 200:
        raise RuntimeError(response.get_data(as_text=True))
    return response.get_data()


def _client() -> FlaskClient:
    from app import create_app

    return create_app({"TESTING": True}).test_client()


def pyarrow_alone(data: bytes) -> int:
    return pacsv.read_csv(io.BytesIO(data)).num_rows


def _peak_rss(path: str, queue: mp.Queue) -> None:
    client = _client()
    with open(path, "rb") as file:
        response = client.post(
            "/api/abtest",
            data={
                "file": (file, "experiment.csv"),
                "metric": "converted",
                "guardrails": '[{"metric": "revenue", "tolerance": 0.5}]',
            },
            content_type="multipart/form-data",
        )
    if response.status_code != 200:
        raise RuntimeError(response.get_data(as_text=True))
    queue.put(_high_water_mark())


def _high_water_mark() -> int:
    """Peak resident set size of this process image (``VmHWM``), in bytes. Not ``ru_maxrss``:
    Linux carries that across ``execve``, so a child spawned from a large parent reports the
    parent's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peak_memory(data: bytes) -> int:
    """Maximum resident set size (bytes) of a fresh process answering the upload once (the
    file is written to disk and read by that process, as a server reads an upload)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.csv"
        path.write_bytes(data)
        return _peak_of(str(path))


def _peak_of(path: str) -> int:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_peak_rss, args=(path, queue))
    proc.start()
    peak = queue.get()
    proc.join()
    return int(peak)


def main() -> None:
    data = make_csv()
    ours = median_seconds(partial(pipeline, data), repeat=REPEAT, warmup=1)
    web = median_seconds(partial(upload_to_json, _client(), data), repeat=REPEAT, warmup=1)
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
            ),
            (
                "upload -> JSON (POST /api/abtest, multipart)",
                web,
                "pyarrow.csv alone",
                base,
                "<= 2 s",
            ),
        ],
    )
    print(
        f"peak memory (max RSS of a fresh process): {peak_memory(data) / 2**20:.0f} MiB (target < 1 GiB)"
    )
    large = make_csv(LARGE_ROWS, ids=True)
    print(
        f"peak memory, {len(large) / 1e6:.0f} MB CSV with user ids ({LARGE_ROWS:,} rows): "
        f"{peak_memory(large) / 2**20:.0f} MiB (target <= 500 MB; 810 MB before issue 12)"
    )


if __name__ == "__main__":
    main()
