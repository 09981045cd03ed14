"""The same rows as an uploaded CSV (the one reader, :mod:`sources.upload`) and through the data
layer (DuckDB via Arrow) give the same per-variant statistics: the contract the four data
pages rely on when they move onto :mod:`sources`."""

from __future__ import annotations

import io

import ibis
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from sources.local import local_table
from sources.reduce import sufficient_statistics
from sources.tabular import read_upload, summarize
from stats.sufficient import MeanStats, ProportionStats
from tests.sources.conftest import make_rows


@pytest.fixture(scope="module")
def rows() -> pa.Table:
    return make_rows(seed=7, n=2000).select(["variant", "converted", "revenue", "big"])


@pytest.fixture(scope="module")
def csv_bytes(rows: pa.Table) -> bytes:
    out = io.BytesIO()
    pacsv.write_csv(rows, out)  # floats written shortest round-trip: the same doubles back
    return out.getvalue()


@pytest.mark.parametrize(
    ("metric", "kind", "rtol"),
    [("converted", "binary", 0.0), ("revenue", "continuous", 1e-9), ("big", "continuous", 1e-6)],
)
def test_upload_and_duckdb_agree(
    rows: pa.Table, csv_bytes: bytes, metric: str, kind: str, rtol: float
) -> None:
    upload = summarize(read_upload(csv_bytes), variant="variant", metric=metric, kind=kind)  # type: ignore[arg-type]
    duck = sufficient_statistics(ibis.memtable(rows), variant="variant", metric=metric)
    assert duck.kind == upload.kind == kind
    assert [v.name for v in duck.variants] == [v.name for v in upload.variants]
    for ours, theirs in zip(duck.variants, upload.variants, strict=True):
        if isinstance(theirs, ProportionStats):
            assert ours == theirs
        else:
            assert isinstance(ours, MeanStats) and isinstance(theirs, MeanStats)
            assert ours.n == theirs.n
            assert ours.mean == pytest.approx(theirs.mean, rel=1e-12)
            assert ours.sd == pytest.approx(theirs.sd, rel=rtol)


def test_local_table_registers_arrow_on_its_own_connection(rows: pa.Table) -> None:
    a, b = local_table(rows), local_table(rows, threads=1)
    assert a.get_backend() is not b.get_backend()
    s = sufficient_statistics(a, variant="variant", metric="converted")
    assert s == sufficient_statistics(b, variant="variant", metric="converted")
    assert sum(v.n for v in s.variants) == rows.num_rows
