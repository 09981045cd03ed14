"""The same rows through DuckDB (in memory and from Parquet), Spark local[2] and PostgreSQL give
the same sufficient statistics as a numpy reference computed here, to 1e-9 relative; and
the variance of data with mean 1e9 and sd 1 survives to 1e-6 on every engine.

Each check is a function of ``(load, engine, rows)``. DuckDB runs each as its own test; Spark
and PostgreSQL run all of them (and the event-schema checks) as subtests of one test per
engine, so that each engine starts on exactly one xdist worker (``--dist loadgroup`` cannot
group tests under pytest 9.2 with xdist 3.8: it renames ``item._nodeid``, which pytest no
longer reads)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pytest

from sources.reduce import (
    cell_moments,
    daily_statistics,
    metrics_statistics,
    sufficient_statistics,
)
from stats.sufficient import MeanStats, ProportionStats
from tests.sources.conftest import BIG_MEAN
from tests.sources.test_events import EVENT_CHECKS
from tests.sources.test_quantiles_engine import QUANTILE_CHECKS
from tests.sources.test_safety import SERVER_CHECKS
from tests.sources.test_web_parity import WEB_CHECKS

RTOL = 1e-9
Load = Callable[..., ir.Table]


def columns(rows: pa.Table) -> dict[str, np.ndarray]:
    return {name: rows[name].to_numpy(zero_copy_only=False) for name in rows.column_names}


def reference(y: np.ndarray, x: np.ndarray | None = None) -> dict[str, float]:
    """Two-pass numpy moments (mean first, then centred sums): the textbook-safe reference."""
    out = {"n": len(y), "mean_y": float(np.mean(y)), "var_y": float(np.var(y, ddof=1))}
    if x is not None:
        out |= {
            "mean_x": float(np.mean(x)),
            "var_x": float(np.var(x, ddof=1)),
            "cov_xy": float(np.cov(x, y, ddof=1)[0, 1]),
        }
    return out


def close(actual: float, expected: float, rtol: float = RTOL) -> None:
    assert actual == pytest.approx(expected, rel=rtol, abs=1e-12)


def check_mean(s: Any, ref: dict[str, float], rtol: float = RTOL) -> None:
    assert isinstance(s, MeanStats)
    assert s.n == ref["n"]
    close(s.mean, ref["mean_y"], rtol)
    close(s.var, ref["var_y"], rtol)


def check_binary_metric_by_variant_and_segment(engine: str, load: Load, rows: pa.Table) -> None:
    c = columns(rows)
    s = sufficient_statistics(
        load(engine), variant="variant", metric="converted", segment="segment"
    )
    assert s.kind == "binary"
    assert (s.rows, s.dropped, s.warnings) == (len(rows), 0, ())
    names = ["A", "B", "C"]
    assert [v.name for v in s.variants] == names
    for v in s.variants:
        mask = c["variant"] == v.name
        assert isinstance(v, ProportionStats)
        assert (v.users, v.conversions) == (int(mask.sum()), int(c["converted"][mask].sum()))
    assert [seg.name for seg in s.segments] == ["desktop", "mobile", "tablet"]
    for seg in s.segments:
        for v in seg.variants:
            mask = (c["variant"] == v.name) & (c["segment"] == seg.name)
            assert isinstance(v, ProportionStats)
            assert (v.users, v.conversions) == (int(mask.sum()), int(c["converted"][mask].sum()))


def check_covariate_moments_by_variant_and_segment(engine: str, load: Load, rows: pa.Table) -> None:
    c = columns(rows)
    s = sufficient_statistics(
        load(engine), variant="variant", metric="revenue", covariate="pre", segment="segment"
    )
    assert s.kind == "continuous"
    for v, cov in zip(s.variants, s.covariates, strict=True):
        mask = c["variant"] == v.name
        ref = reference(c["revenue"][mask], c["pre"][mask])
        check_mean(v, ref)
        assert cov.name == v.name and cov.n == ref["n"]
        for key in ("mean_y", "mean_x", "var_y", "var_x", "cov_xy"):
            close(getattr(cov, key), ref[key])
    for seg in s.segments:
        for cov in seg.covariates:
            mask = (c["variant"] == cov.name) & (c["segment"] == seg.name)
            ref = reference(c["revenue"][mask], c["pre"][mask])
            for key in ("n", "mean_y", "mean_x", "var_y", "var_x", "cov_xy"):
                close(getattr(cov, key), ref[key])


def check_variance_with_mean_1e9_and_sd_1(engine: str, load: Load, rows: pa.Table) -> None:
    """Σx² − n·x̄² would lose all 16 digits here (x² ~ 1e18, variance 1)."""
    c = columns(rows)
    s = sufficient_statistics(load(engine), variant="variant", metric="big", segment="segment")
    for v in s.variants:
        y = c["big"][c["variant"] == v.name]
        assert abs(np.mean(y) - BIG_MEAN) < 1 and 0.8 < np.var(y, ddof=1) < 1.2
        check_mean(v, reference(y), rtol=1e-6)
    for seg in s.segments:  # combined from the segments' moments (Chan et al. 1979)
        for v in seg.variants:
            y = c["big"][(c["variant"] == v.name) & (c["segment"] == seg.name)]
            check_mean(v, reference(y), rtol=1e-6)


def check_doe_cell_moments(engine: str, load: Load, rows: pa.Table) -> None:
    c = columns(rows)
    cells = cell_moments(load(engine), factor_a="variant", factor_b="segment", response="revenue")
    assert len(cells) == 9
    for cell in cells:
        y = c["revenue"][(c["variant"] == cell.a) & (c["segment"] == cell.b)]
        assert cell.n == len(y)
        close(cell.mean, float(np.mean(y)))
        close(cell.var, float(np.var(y, ddof=1)))


def check_cumulative_per_day(engine: str, load: Load, rows: pa.Table) -> None:
    c = columns(rows)
    days = np.array([d.isoformat() for d in rows["day"].to_pylist()])
    daily = daily_statistics(load(engine), variant="variant", metric="revenue", date="day")
    assert daily.kind == "continuous"
    assert list(daily.periods) == sorted(set(days))
    for day, stats in zip(daily.periods, daily.by_period, strict=True):
        for v in stats:
            y = c["revenue"][(c["variant"] == v.name) & (days <= day)]
            check_mean(v, reference(y))
    binary = daily_statistics(load(engine), variant="variant", metric="converted", date="day")
    last = binary.by_period[-1]
    assert [(v.name, v.n) for v in last] == [
        (name, int((c["variant"] == name).sum())) for name in ("A", "B", "C")
    ]


def check_several_metrics_in_one_scan(engine: str, load: Load, rows: pa.Table) -> None:
    """metrics_statistics: one query, the same answers as one query per metric."""
    table = load(engine)
    metrics = {"converted": None, "revenue": "pre", "big": None}
    many = metrics_statistics(table, variant="variant", metrics=metrics, segment="segment")
    assert list(many) == list(metrics)
    for metric, covariate in metrics.items():
        one = sufficient_statistics(
            table, variant="variant", metric=metric, covariate=covariate, segment="segment"
        )
        got = many[metric]
        assert (got.kind, got.rows, got.dropped) == (one.kind, one.rows, one.dropped)
        pairs: list[tuple[Any, Any]] = [*zip(got.variants, one.variants, strict=True)]
        pairs += [*zip(got.covariates, one.covariates, strict=True)]
        for seg_got, seg_one in zip(got.segments, one.segments, strict=True):
            pairs += [*zip(seg_got.variants, seg_one.variants, strict=True)]
        for a, b in pairs:
            assert type(a) is type(b) and a.name == b.name
            for field in a.__dataclass_fields__:
                if field != "name":
                    # Two queries may sum in different parallel orders: the 1e-9,
                    # and its 1e-6 for the variance of data with mean 1e9 and sd 1.
                    close(getattr(a, field), getattr(b, field), 1e-6 if metric == "big" else RTOL)


CHECKS = [
    check_binary_metric_by_variant_and_segment,
    check_covariate_moments_by_variant_and_segment,
    check_variance_with_mean_1e9_and_sd_1,
    check_doe_cell_moments,
    check_cumulative_per_day,
    check_several_metrics_in_one_scan,
]


@pytest.mark.parametrize("engine", ["duckdb", "parquet"])
@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_embedded_duckdb(
    check: Callable[..., None], engine: str, load: Load, rows: pa.Table
) -> None:
    check(engine, load, rows)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["spark", "postgres"])
def test_server_engine(engine: str, load: Load, rows: pa.Table, subtests: pytest.Subtests) -> None:
    """Every check, the event-schema checks, a configured source and whole analyses over HTTP
    (:mod:`tests.sources.test_web_parity`), on Spark local[2] or PostgreSQL."""
    load(engine)  # start the engine before timing the checks
    for check in [*CHECKS, *EVENT_CHECKS, *SERVER_CHECKS, *WEB_CHECKS, *QUANTILE_CHECKS]:
        with subtests.test(check.__name__.removeprefix("check_")):
            check(engine, load, rows)
