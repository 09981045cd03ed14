"""Engines for the sources tests: DuckDB (in memory, and a Parquet file), Spark local[2] and a
throwaway PostgreSQL cluster, each started once per test session and loaded with the same rows.

Spark needs Java 17 and PostgreSQL Debian's ``postgresql`` package: in CI (``CI=true``) a
missing one fails the tests with a message saying what to install; locally they skip. The
PostgreSQL cluster is tests/_postgres.py's, shared with the Experiments tests.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ibis.backends import BaseBackend

from tests._postgres import USER, Cluster, missing

JAVA_17 = Path("/usr/lib/jvm/java-17-openjdk-amd64")
N_ROWS = 4000
BIG_MEAN = 1e9


def make_rows(seed: int = 20240612, n: int = N_ROWS) -> pa.Table:
    """Seeded user rows: three variants, a segment, a 0/1 metric, revenue with a correlated
    pre-period covariate, a metric with mean 1e9 and sd 1, and a date over ten days."""
    rng = np.random.default_rng(seed)
    variant = rng.choice(np.array(["A", "B", "C"]), n, p=[0.4, 0.35, 0.25])
    segment = rng.choice(np.array(["desktop", "mobile", "tablet"]), n)
    lift = np.select([variant == "B", variant == "C"], [0.03, 0.05], 0.0)
    converted = (rng.random(n) < 0.1 + lift).astype(np.int64)
    pre = rng.gamma(2.0, 10.0, n)
    revenue = 0.8 * pre + rng.normal(5.0 + 10 * lift, 6.0, n)
    big = BIG_MEAN + rng.normal(0.0, 1.0, n)
    start = dt.date(2024, 6, 1)
    day = [start + dt.timedelta(days=int(k)) for k in rng.integers(0, 10, n)]
    return pa.table(
        {
            "variant": variant,
            "segment": segment,
            "converted": converted,
            "revenue": revenue,
            "pre": pre,
            "big": big,
            "day": pa.array(day, pa.date32()),
        }
    )


@pytest.fixture(scope="session")
def rows() -> pa.Table:
    return make_rows()


# --------------------------------------------------------------------------- Spark


@pytest.fixture(scope="session")
def spark() -> Iterator[BaseBackend]:
    """One SparkSession (local[2]) for the whole session, wrapped by Ibis."""
    if not os.environ.get("JAVA_HOME") and JAVA_17.is_dir():
        os.environ["JAVA_HOME"] = str(JAVA_17)
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        missing("Spark needs Java 17: apt-get install openjdk-17-jre-headless")
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        missing("pyspark is not installed: pip install -r requirements-dev.txt")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    warehouse = tempfile.mkdtemp(prefix="abacus-spark-")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("abacus-tests")
        # Loopback only: local mode talks to itself, never over the machine's interfaces.
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", warehouse)
        # Small test queries: skip adaptive planning and whole-stage codegen, and let the JIT
        # stop at C1; each query then takes ~0.5 s instead of ~3 s on a busy 2-core machine.
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.driver.extraJavaOptions", "-XX:+UseSerialGC -XX:TieredStopAtLevel=1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield ibis.pyspark.connect(session)
    finally:
        session.stop()
        shutil.rmtree(warehouse, ignore_errors=True)


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def postgres(postgres_cluster: Cluster) -> Iterator[BaseBackend]:
    """Ibis over the session's throwaway PostgreSQL cluster (tests/_postgres.py)."""
    con = ibis.postgres.connect(
        host="127.0.0.1", port=postgres_cluster.port, user=USER, database="postgres"
    )
    yield con
    con.disconnect()


# --------------------------------------------------------------------------- tables


@pytest.fixture(scope="session")
def load(
    rows: pa.Table, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Callable[[str, pa.Table | None, str], ir.Table]:
    """``load(engine, data=rows, name="rows")``: ``data`` as an Ibis table of that engine
    (created once per engine and name)."""
    cache: dict[tuple[str, str], ir.Table] = {}
    duck = ibis.duckdb.connect()

    def get(engine: str, data: pa.Table | None = None, name: str = "rows") -> ir.Table:
        key = (engine, name)
        if key not in cache:
            table = rows if data is None else data
            if engine == "duckdb":
                cache[key] = duck.create_table(f"mem_{name}", table)
            elif engine == "parquet":
                path = tmp_path_factory.mktemp("parquet") / f"{name}.parquet"
                pq.write_table(table, path)
                cache[key] = duck.read_parquet(path)
            elif engine == "spark":  # a temporary view: nothing written to disk
                spark: Any = request.getfixturevalue("spark")  # Ibis's pyspark Backend
                spark._session.createDataFrame(table).createOrReplaceTempView(name)
                cache[key] = spark.table(name)
            elif engine == "postgres":
                con: BaseBackend = request.getfixturevalue("postgres")
                cache[key] = con.create_table(name, table, overwrite=True)
            else:
                raise ValueError(engine)
        return cache[key]

    return get
