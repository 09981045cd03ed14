"""stats.distribution: binned counts against numpy.histogram, quantiles against numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sources.tabular import read_upload, table_distribution
from stats.distribution import QUANTILE_LEVELS, binned_distribution
from stats.warnings import Code


def test_counts_and_quantiles_match_numpy_per_variant() -> None:
    rng = np.random.default_rng(7)
    codes = rng.integers(0, 3, 20_000)
    x = rng.normal(10 + codes, 2.0)  # no long tail: the bins span min..max
    d = binned_distribution(x, codes, ["A", "B", "C"], bins=25)
    edges = np.histogram_bin_edges(x, bins=25)
    np.testing.assert_allclose(d.edges, edges, rtol=1e-12)
    assert d.clipped == 0 and d.warnings == ()
    for j, v in enumerate(d.variants):
        own = x[codes == j]
        np.testing.assert_array_equal(v.counts, np.histogram(own, bins=edges)[0])
        assert sum(v.shares) == pytest.approx(1.0)
        np.testing.assert_allclose(v.quantiles, np.quantile(own, QUANTILE_LEVELS), rtol=1e-12)
        assert v.mean == pytest.approx(own.mean(), rel=1e-12)


def test_long_tail_is_clipped_into_the_last_bin() -> None:
    x = np.r_[np.linspace(0, 1, 999), 1000.0]
    codes = np.r_[np.zeros(500, int), np.ones(500, int)]
    d = binned_distribution(x, codes, ["A", "B"], bins=10, upper_quantile=0.99)
    assert d.edges[-1] == pytest.approx(np.quantile(x, 0.99))
    assert d.clipped == int((x > d.edges[-1]).sum()) > 0
    assert sum(d.variants[1].counts) == 500  # clipped values still counted
    assert d.warnings[0].code == Code.VALUES_CLIPPED and "last bar" in d.warnings[0].message


def test_constant_metric_gets_a_unit_range() -> None:
    d = binned_distribution([3.0, 3.0, 3.0], [0, 1, 1], ["A", "B"], bins=4)
    assert (d.edges[0], d.edges[-1]) == (2.5, 3.5)
    assert [sum(v.counts) for v in d.variants] == [1, 2]


def test_table_distribution_leaves_out_blanks() -> None:
    table = read_upload("variant,revenue\nA,1\nA,\nB,3\n,4\nB,5\n")
    d = table_distribution(table, variant="variant", metric="revenue", bins=2)
    frame = pd.DataFrame({"v": ["A", "B", "B"], "x": [1.0, 3.0, 5.0]})
    assert [v.n for v in d.variants] == frame.groupby("v").size().tolist()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"values": [1.0, 2.0], "codes": [0]}, "codes"),
        ({"bins": 0}, "bins"),
        ({"upper_quantile": 0.4}, "upper_quantile"),
        ({"values": [], "codes": []}, "values"),
        ({"values": [1.0, np.nan], "codes": [0, 1]}, "values"),
        ({"codes": [0, 2]}, "codes"),
    ],
)
def test_invalid_input(kwargs: dict, field: str) -> None:
    args = {"values": [1.0, 2.0], "codes": [0, 1], "names": ["A", "B"], **kwargs}
    with pytest.raises(ValueError, match=f"^{field} "):
        binned_distribution(**args)
