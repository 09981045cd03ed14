"""sources.reduce on DuckDB: 0/1 detection, missing values, labels, limits, pairwise combination."""

from __future__ import annotations

import math
from collections.abc import Sequence

import ibis
import numpy as np
import pyarrow as pa
import pytest

from sources.errors import SourceError
from sources.reduce import (
    MAX_VARIANTS,
    Moments,
    binary_from_moments,
    combine_all,
    label,
    sufficient_statistics,
)
from stats.sufficient import MeanStats, ProportionStats


def table(**columns: Sequence[object]) -> ibis.Table:
    return ibis.memtable(pa.table(columns))


def moments(y: list[float]) -> Moments:
    a = np.asarray(y, float)
    return Moments(len(a), float(a.mean()), float(((a - a.mean()) ** 2).sum()))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0.0, 1.0, 1.0, 0.0], "binary"),  # floats: decided by the scan
        ([0.0, 1.0, 1.0, 1 - 1e-12], "continuous"),  # one value a hair below 1
        ([2.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], "continuous"),  # Σy(y-1) = -2 + 2 = 0
        ([0.0, 0.0, 0.0, 0.0], "binary"),
        ([3.5, 7.25, 1.0, 0.0], "continuous"),  # decided by the moments alone
    ],
)
def test_binary_detection_for_real_numbers(values: list[float], expected: str) -> None:
    t = table(variant=["A", "B"] * (len(values) // 2) + ["A"] * (len(values) % 2), y=values)
    assert sufficient_statistics(t, variant="variant", metric="y").kind == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [([0, 1, 1, 0], "binary"), ([0, 1, 2, 0], "continuous"), ([-1, 0, 1, 1], "continuous")],
)
def test_binary_detection_for_whole_numbers(values: list[int], expected: str) -> None:
    t = table(variant=["A", "B", "A", "B"], y=values)
    assert sufficient_statistics(t, variant="variant", metric="y").kind == expected


def test_binary_from_moments_decides_whole_numbers_without_a_scan() -> None:
    """Σy(y−1) over whole numbers is 0 or >= 2, so the moments decide; over reals they decide
    only 'not binary', and a sum near 0 needs the scan (None)."""
    assert binary_from_moments([moments([0, 1, 1]), moments([1, 0])], integer=True) is True
    assert binary_from_moments([moments([0, 1, 2])], integer=True) is False
    assert binary_from_moments([moments([0, 1, 1])], integer=False) is None
    assert binary_from_moments([moments([0.5, 1])], integer=False) is False
    assert binary_from_moments([moments([2.0, *[0.5] * 8])], integer=False) is None


def test_boolean_metric_reads_as_0_1() -> None:
    t = table(variant=["A", "A", "B", "B"], y=[True, False, True, True])
    s = sufficient_statistics(t, variant="variant", metric="y")
    assert s.variants == (ProportionStats("A", 2, 1), ProportionStats("B", 2, 2))


def test_forced_kinds() -> None:
    t = table(variant=["A", "B", "A", "B"], y=[0, 1, 1, 0])
    s = sufficient_statistics(t, variant="variant", metric="y", kind="continuous")
    assert all(isinstance(v, MeanStats) for v in s.variants)
    bad = table(variant=["A", "B", "A"], y=[0.0, 1.0, 0.5])
    with pytest.raises(SourceError, match="1 values are neither 0 nor 1") as err:
        sufficient_statistics(bad, variant="variant", metric="y", kind="binary")
    assert err.value.field == "metric"
    with pytest.raises(SourceError) as err:
        sufficient_statistics(t, variant="variant", metric="y", kind="ratio")  # type: ignore[arg-type]
    assert err.value.field == "kind"


def test_missing_values_are_left_out_and_counted() -> None:
    t = table(
        variant=["A", "A", "A", None, "B", "B", "B"],
        y=[1.0, None, 3.0, 9.0, 2.0, 4.0, 6.0],
        x=[1.0, 2.0, None, 9.0, 1.0, 2.0, 3.0],
    )
    s = sufficient_statistics(t, variant="variant", metric="y")
    assert (s.rows, s.dropped) == (6, 1)
    assert s.warnings == ("1 rows without a metric value are left out.",)
    a = s.variants[0]
    assert isinstance(a, MeanStats) and (a.n, a.mean, a.sd) == (2, 2.0, math.sqrt(2))
    c = sufficient_statistics(t, variant="variant", metric="y", covariate="x")
    assert (c.rows, c.dropped) == (6, 2)  # A keeps only its first row: n < 2, no CUPED record
    assert [cov.name for cov in c.covariates] == ["B"]
    assert c.covariates[0].cov_xy == pytest.approx(2.0)  # cov((2,4,6),(1,2,3))


def test_labels_as_the_csv_reader_reads_them() -> None:
    assert [label(v) for v in (1.0, 2.5, " B ", "", None, float("nan"), 7)] == [
        "1",
        "2.5",
        "B",
        None,
        None,
        None,
        "7",
    ]
    t = table(variant=[1.0, 2.0, 1.0, 2.0], y=[1.0, 2.0, 3.0, 4.0])
    assert [v.name for v in sufficient_statistics(t, variant="variant", metric="y").variants] == [
        "1",
        "2",
    ]


def test_too_many_variants() -> None:
    n = MAX_VARIANTS + 1
    t = table(variant=[f"v{i}" for i in range(n)], y=[1.0] * n)
    with pytest.raises(SourceError) as err:
        sufficient_statistics(t, variant="variant", metric="y")
    assert err.value.field == "variant"


def test_missing_segment_is_its_own_segment_last() -> None:
    t = table(variant=["A", "B", "A", "B"], seg=["x", None, None, "x"], y=[1, 0, 1, 1])
    s = sufficient_statistics(t, variant="variant", metric="y", segment="seg")
    assert [seg.name for seg in s.segments] == ["x", None]
    assert s.variants == (ProportionStats("A", 2, 2), ProportionStats("B", 2, 1))


@pytest.mark.parametrize(("shift", "rtol"), [(0.0, 1e-12), (1e9, 1e-6)])
def test_pairwise_combination_matches_one_pass(shift: float, rtol: float) -> None:
    """Chan, Golub & LeVeque's update of (n, mean, M2, C) over three uneven chunks. At mean
    1e9 the chunk means carry ~1e-7 absolute rounding, so 1e-6 (the issue's criterion)."""
    rng = np.random.default_rng(5)
    y, x = shift + rng.normal(0, 1, 300), rng.normal(0, 1, 300)
    chunks = [slice(0, 7), slice(7, 150), slice(150, 300)]

    def m(s: slice) -> Moments:
        yy, xx = y[s], x[s]
        return Moments(
            len(yy),
            float(yy.mean()),
            float(((yy - yy.mean()) ** 2).sum()),
            float(xx.mean()),
            float(((xx - xx.mean()) ** 2).sum()),
            float(((xx - xx.mean()) * (yy - yy.mean())).sum()),
        )

    total = combine_all(m(s) for s in chunks)
    assert total.n == 300
    assert total.mean_y == pytest.approx(np.mean(y), rel=1e-15)
    assert total.var_y == pytest.approx(np.var(y, ddof=1), rel=rtol)
    assert total.var_x == pytest.approx(np.var(x, ddof=1), rel=1e-12)
    assert total.cov_xy == pytest.approx(np.cov(x, y)[0, 1], rel=rtol)
