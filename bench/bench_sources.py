"""A 10M-row Parquet file reduced to per-variant statistics: DuckDB beside pandas and Spark.

``python -m bench.bench_sources`` from the repository root (or ``python -m bench sources``).
The file (variant, a 0/1 metric, revenue and its pre-period covariate; seeded) is written
once into ``$ABACUS_BENCH_CACHE`` (default: the system temp dir) and reused. Both metrics are
reduced per variant (users and conversions; n, mean, variance, and the CUPED covariate
moments) in one scan by :func:`sources.reduce.metrics_statistics` on DuckDB, reading the
file, and by a pandas ``read_parquet`` + ``groupby`` of the same file. Targets: DuckDB <= 1.5 s and at
least 3x faster than pandas. Spark local's time for the same reduction is reported when
pyspark and Java are installed (``make test`` installs pyspark; it is not a runtime
dependency).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bench._timing import median_seconds, report
from sources.reduce import metrics_statistics

ROWS = 10_000_000
CHUNK = 1_000_000
SEED = 12
REPEAT = 3
JAVA_17 = Path("/usr/lib/jvm/java-17-openjdk-amd64")


def parquet_file(rows: int = ROWS, seed: int = SEED) -> Path:
    """The seeded benchmark file, written in 1M-row groups on first use."""
    cache = Path(os.environ.get("ABACUS_BENCH_CACHE", tempfile.gettempdir()))
    path = cache / f"abacus-bench-sources-{rows}-{seed}.parquet"
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    writer: pq.ParquetWriter | None = None
    for start in range(0, rows, CHUNK):
        n = min(CHUNK, rows - start)
        variant = np.where(rng.random(n) < 0.5, "control", "treatment")
        treated = variant == "treatment"
        pre = rng.gamma(2.0, 10.0, n)
        chunk = pa.table(
            {
                "variant": pa.array(variant).dictionary_encode(),
                "converted": (rng.random(n) < 0.10 + 0.01 * treated).astype(np.int8),
                "revenue": 5.0 + 0.8 * pre + 0.5 * treated + rng.normal(0.0, 11.0, n),
                "revenue_pre": pre,
            }
        )
        writer = writer or pq.ParquetWriter(tmp, chunk.schema)
        writer.write_table(chunk)
    assert writer is not None
    writer.close()
    tmp.rename(path)
    return path


def reduce_ibis(table: Any) -> dict[str, Any]:
    """Both metrics per variant, in the engine, in one scan (:func:`metrics_statistics`)."""
    return metrics_statistics(
        table, variant="variant", metrics={"converted": None, "revenue": "revenue_pre"}
    )


def reduce_pandas(path: Path) -> pd.DataFrame:
    """The same statistics from ``read_parquet`` and one ``groupby``."""
    df = pd.read_parquet(path)
    g = df.groupby("variant", observed=True)
    out = g.agg(
        users=("converted", "size"),
        conversions=("converted", "sum"),
        mean_y=("revenue", "mean"),
        var_y=("revenue", "var"),
        mean_x=("revenue_pre", "mean"),
        var_x=("revenue_pre", "var"),
    )
    cov = g[["revenue", "revenue_pre"]].cov().xs("revenue", level=1)["revenue_pre"]
    return out.assign(cov_xy=cov)


def spark_seconds(path: Path) -> tuple[float, float] | None:
    """(start-up, median reduction) on Spark local[2], or None without pyspark or Java."""
    if not os.environ.get("JAVA_HOME") and JAVA_17.is_dir():
        os.environ["JAVA_HOME"] = str(JAVA_17)
    try:
        import ibis
        from pyspark.sql import SparkSession
    except ImportError:
        return None
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    start = time.perf_counter()
    session = (
        SparkSession.builder.master("local[2]")
        .appName("abacus-bench")
        # Loopback only: local mode talks to itself, never over the machine's interfaces.
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    con = ibis.pyspark.connect(session)
    table = con.read_parquet(str(path))
    startup = time.perf_counter() - start
    try:
        return startup, median_seconds(lambda: reduce_ibis(table), repeat=REPEAT, warmup=1)
    finally:
        session.stop()


def cpu_seconds(fn: Any) -> float:
    """CPU time of one ``fn()`` over every thread of this process (``time.process_time``)."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def check(result: dict[str, Any], frame: pd.DataFrame) -> None:
    """DuckDB and pandas agree (the benchmark times the same answer)."""
    conv, rev = result["converted"], result["revenue"]
    for v, c in zip(conv.variants, rev.covariates, strict=True):
        row = frame.loc[v.name]
        assert (v.users, v.conversions) == (row["users"], row["conversions"])
        for key in ("mean_y", "var_y", "mean_x", "var_x", "cov_xy"):
            assert np.isclose(getattr(c, key), row[key], rtol=1e-9), key


def main() -> None:
    import ibis

    started = time.perf_counter()
    path = parquet_file()
    made = time.perf_counter() - started
    size = path.stat().st_size / 2**20
    print(f"\n{ROWS:,}-row Parquet ({size:.0f} MiB, {path}; ready in {made:.1f} s)")
    con = ibis.duckdb.connect()
    con.raw_sql("SET enable_progress_bar = false")
    table = con.read_parquet(path)
    check(reduce_ibis(table), reduce_pandas(path))
    duck = median_seconds(lambda: reduce_ibis(table), repeat=REPEAT, warmup=1)
    base = median_seconds(lambda: reduce_pandas(path), repeat=REPEAT, warmup=0)
    rows = [
        (
            f"DuckDB, {ROWS // 10**6}M rows, 2 metrics + covariate",
            duck,
            "pandas",
            base,
            "<= 1.5 s, >= 3x",
        ),
    ]
    spark = spark_seconds(path)
    if spark is not None:
        startup, reduce_s = spark
        rows.append(
            (
                f"Spark local[2], same reduction (start-up {startup:.1f} s)",
                reduce_s,
                "pandas",
                base,
                "reported",
            )
        )
    report("Data layer: Parquet to per-variant statistics (ratio < 1: faster than pandas)", rows)
    duck_cpu, base_cpu = (
        cpu_seconds(lambda: reduce_ibis(table)),
        cpu_seconds(lambda: reduce_pandas(path)),
    )
    print(
        f"CPU time of one run, all threads (robust to a busy machine): DuckDB {duck_cpu:.2f} s, "
        f"pandas {base_cpu:.2f} s ({duck_cpu / base_cpu:.2f}x)"
    )
    if spark is None:
        print("Spark local: not measured (pip install -r requirements-dev.txt, and Java 17)")


if __name__ == "__main__":
    main()
