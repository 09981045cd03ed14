"""The event schema on a hand-built example: first exposure, attribution window, pre-period
covariate, units with several variants left out; the same answer on every engine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import ibis.expr.types as ir
import pyarrow as pa
import pytest

from sources.errors import SourceError
from sources.events import event_statistics
from stats.sufficient import MeanStats

Load = Callable[..., ir.Table]
T0 = datetime(2024, 6, 1)


def at(day: float, hour: int = 0) -> datetime:
    return T0 + timedelta(days=day, hours=hour)


EXPOSURES = pa.table(
    {
        "experiment": ["exp"] * 9 + ["other"],
        "unit": ["u1", "u1", "u2", "u3", "u3", "u4", "u6", "u8", "u9", "u5"],
        "variant": ["A", "A", "B", "A", "B", "B", "A", "A", "B", "A"],
        "ts": [at(1, 10), at(3), at(2), at(1), at(2), at(1), at(2), at(3), at(1), at(1)],
    }
)
EVENTS = pa.table(
    {
        "unit": [
            "u1",
            "u1",
            "u1",
            "u1",
            "u1",
            "u2",
            "u2",
            "u2",
            "u3",
            "u5",
            "u6",
            "u7",
            "u8",
            "u9",
        ],
        "name": ["purchase"] * 4 + ["click"] + ["purchase"] * 9,
        "value": [5.0, 3.0, 2.0, 4.0, 100.0, 10.0, 1.0, 6.0, 50.0, 7.0, 1.0, 9.0, 1.0, 2.0],
        "ts": [
            at(0),  # u1: pre-period (t0 = day 1 10:00; 7-day pre window from day -6 10:00)
            at(1, 10),  # u1: exactly at t0: counts after exposure
            at(8, 9),  # u1: day 8 09:00 < t0 + 7 days (day 8 10:00): counts
            at(8, 10),  # u1: exactly t0 + 7 days: outside the window
            at(2),  # u1: another metric
            at(2, 12),  # u2: after exposure (t0 = day 2)
            at(-10),  # u2: before the 7-day pre window
            at(1),  # u2: pre-period
            at(2),  # u3: exposed to A and B: left out
            at(2),  # u5: exposed to another experiment only
            at(2),  # u6: at t0
            at(2),  # u7: never exposed
            at(1),  # u8: pre-period (t0 = day 3)
            at(1, 5),  # u9: after exposure (t0 = day 1)
        ],
    }
)
# By hand, window 7 days, pre-period 7 days (u4 has no events: 0 and 0):
#   A: u1 y = 3 + 2 = 5, x = 5;  u6 y = 1, x = 0;  u8 y = 0, x = 1
#   B: u2 y = 10, x = 6;  u4 y = 0, x = 0;  u9 y = 2, x = 0
# A: mean_y 2, var_y (9 + 1 + 4)/2 = 7, mean_x 2, var_x (9 + 4 + 1)/2 = 7,
#    cov ((3)(3) + (-1)(-2) + (-2)(-1))/2 = 6.5
# B: mean_y 4, var_y (36 + 16 + 4)/2 = 28, mean_x 2, var_x (16 + 4 + 4)/2 = 12,
#    cov ((6)(4) + (-4)(-2) + (-2)(-2))/2 = 18
EXPECTED = {
    "A": {"n": 3, "mean_y": 2.0, "var_y": 7.0, "mean_x": 2.0, "var_x": 7.0, "cov_xy": 6.5},
    "B": {"n": 3, "mean_y": 4.0, "var_y": 28.0, "mean_x": 2.0, "var_x": 12.0, "cov_xy": 18.0},
}


def tables(load: Load, engine: str) -> tuple[ir.Table, ir.Table]:
    return load(engine, EXPOSURES, "exposures"), load(engine, EVENTS, "metric_events")


def check_window_and_pre_period_covariate(engine: str, load: Load, rows: object = None) -> None:
    exposures, events = tables(load, engine)
    s = event_statistics(
        exposures, events, experiment="exp", metric="purchase", window_days=7, pre_window_days=7
    )
    assert s.kind == "continuous"
    assert s.warnings == ("1 units exposed to more than one variant are left out.",)
    assert [c.name for c in s.covariates] == ["A", "B"]
    for cov in s.covariates:
        for key, value in EXPECTED[cov.name].items():
            assert getattr(cov, key) == pytest.approx(value, rel=1e-12), (cov.name, key)


def check_one_day_window(engine: str, load: Load, rows: object = None) -> None:
    """Window 1 day: u1 keeps only the event at t0 (3), u2 its 10, u9 its 2, u6 its 1."""
    exposures, events = tables(load, engine)
    s = event_statistics(exposures, events, experiment="exp", metric="purchase", window_days=1)
    assert s.covariates == ()
    a, b = s.variants
    assert isinstance(a, MeanStats) and isinstance(b, MeanStats)
    assert (a.name, a.n, a.total) == ("A", 3, pytest.approx(4.0))
    assert (b.name, b.n, b.total) == ("B", 3, pytest.approx(12.0))


EVENT_CHECKS = [check_window_and_pre_period_covariate, check_one_day_window]
"""Also run on Spark and PostgreSQL by :func:`tests.sources.test_parity.test_server_engine`."""


@pytest.mark.parametrize("engine", ["duckdb", "parquet"])
@pytest.mark.parametrize("check", EVENT_CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_events_on_duckdb(check: Callable[..., None], engine: str, load: Load) -> None:
    check(engine, load)


def test_event_schema_is_checked(load: Load) -> None:
    exposures, events = load("duckdb", EXPOSURES, "exposures"), load("duckdb", EVENTS, "events")
    with pytest.raises(SourceError, check=lambda e: e.field == "metric_events"):
        event_statistics(exposures, exposures, experiment="exp", metric="m", window_days=7)
    with pytest.raises(SourceError, check=lambda e: e.field == "window_days"):
        event_statistics(exposures, events, experiment="exp", metric="m", window_days=0)
    with pytest.raises(SourceError, check=lambda e: e.field == "pre_window_days"):
        half: object = 1.5
        event_statistics(
            exposures,
            events,
            experiment="exp",
            metric="m",
            window_days=7,
            pre_window_days=half,  # type: ignore[arg-type]
        )
