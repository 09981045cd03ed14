"""Order statistics ranked where the data lives (:mod:`sources.quantiles`) against numpy's
sort of the same rows, and the quantile comparison built from them against the one built
from every row (:func:`stats.quantiles.quantile_differences`). DuckDB and Parquet here; Spark
and PostgreSQL through :data:`QUANTILE_CHECKS` in ``test_parity``'s server-engine test."""

from __future__ import annotations

from collections.abc import Callable

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pytest

from sources.quantiles import order_statistics
from stats.quantiles import order_statistic_differences, quantile_differences, quantile_ranks

Load = Callable[..., ir.Table]
LEVELS = (0.5, 0.9, 0.99)


def check_order_statistics(engine: str, load: Load, rows: pa.Table) -> None:
    variant = np.asarray(rows["variant"])
    revenue = np.asarray(rows["revenue"])
    values = {v: np.sort(revenue[variant == v]) for v in np.unique(variant)}
    ranks = {v: {r for p in LEVELS for r in quantile_ranks(x.size, p)} for v, x in values.items()}
    ranks["A"] |= {1, values["A"].size}
    got = order_statistics(load(engine), variant="variant", metric="revenue", ranks=ranks)
    for v, rs in ranks.items():
        assert got[v] == {r: pytest.approx(values[v][r - 1], rel=1e-12) for r in rs}
    from_engine = order_statistic_differences(
        {v: (x.size, got[v]) for v, x in values.items()}, "A", LEVELS
    )
    from_rows = quantile_differences(values, "A", LEVELS)
    for a, b in zip(from_engine.differences, from_rows.differences, strict=True):
        assert (a.variant, a.quantile) == (b.variant, b.quantile)
        assert (a.estimate, a.ci_low, a.ci_high) == pytest.approx(
            (b.estimate, b.ci_low, b.ci_high), rel=1e-12
        )


QUANTILE_CHECKS = [check_order_statistics]


@pytest.mark.parametrize("engine", ["duckdb", "parquet"])
def test_embedded_duckdb(engine: str, load: Load, rows: pa.Table) -> None:
    check_order_statistics(engine, load, rows)
