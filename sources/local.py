"""Rows already in memory (a parsed upload, a pasted table) as an Ibis table on DuckDB.

The data is registered with DuckDB through Arrow, without a copy and without a pandas round
trip, on an in-memory connection of its own: one per call, so concurrent requests never share
a DuckDB connection (which is not safe across threads). The connection lives as long as the
returned table does.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pyarrow as pa

NAME = "upload"


def local_table(data: pa.Table, *, threads: int | None = None) -> ir.Table:
    """``data`` as a DuckDB-backed Ibis table that :mod:`sources.reduce` can reduce.

    ``threads`` caps DuckDB's worker threads for this table (default: DuckDB's, one per core).
    """
    con = ibis.duckdb.connect()
    con.raw_sql("SET enable_progress_bar = false")
    if threads is not None:
        con.raw_sql(f"SET threads = {int(threads)}")
    return con.create_view(NAME, ibis.memtable(data), overwrite=True)
