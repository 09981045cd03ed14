"""stats.sufficient: construction, validation, and the shared protocol."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stats.sufficient import MeanStats, ProportionStats, mean_variants, proportion_variants


def test_proportion_protocol():
    p = ProportionStats("A", np.int64(1000), 120.0)
    assert (p.users, p.conversions) == (1000, 120) and isinstance(p.users, int)
    assert (p.n, p.rate, p.mean) == (1000, 0.12, 0.12)
    assert p.var == pytest.approx(0.12 * 0.88)
    assert p.se == pytest.approx(math.sqrt(0.12 * 0.88 / 1000))
    assert math.isnan(ProportionStats("Z", 0, 0).rate)


def test_mean_from_sums_matches_numpy():
    x = np.random.default_rng(1).normal(3.0, 2.0, 500)
    m = MeanStats.from_sums("B", len(x), x.sum(), (x**2).sum())
    assert m.mean == pytest.approx(x.mean(), rel=1e-12)
    assert m.sd == pytest.approx(x.std(ddof=1), rel=1e-9)
    assert m.var == pytest.approx(x.var(ddof=1), rel=1e-9)
    assert m.se == pytest.approx(x.std(ddof=1) / math.sqrt(500), rel=1e-9)
    assert m.total == pytest.approx(x.sum(), rel=1e-12)
    assert MeanStats.from_sums("C", 1, 4.0, 16.0) == MeanStats("C", 1, 4.0, 0.0)


def test_records_parse():
    assert proportion_variants([{"name": "A", "users": 10, "conversions": 2}]) == (
        ProportionStats("A", 10, 2),
    )
    assert mean_variants([{"name": "A", "users": 10, "mean": 2, "sd": 1}]) == (
        MeanStats("A", 10, 2.0, 1.0),
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ProportionStats("A", 10, 11), "conversions must be <= users (10), got 11"),
        (lambda: ProportionStats("A", -1, 0), "users must be a whole number >= 0, got -1"),
        (lambda: ProportionStats("", 1, 0), "name must be a non-empty string"),
        (lambda: MeanStats("A", 5, math.inf, 1), "mean must be a finite number"),
        (lambda: MeanStats("A", 5, 1, -1), "sd must be >= 0, got -1"),
        (lambda: MeanStats.from_sums("A", 2, math.nan, 1), "total must be a finite number"),
        (
            lambda: proportion_variants([{"name": "A", "users": 1000, "conversions": 1200}]),
            "variants[0].conversions must be <= users (1000), got 1200",
        ),
        (
            lambda: mean_variants([{"name": "A", "users": 2.5, "mean": 1, "sd": 1}]),
            "variants[0].users must be a whole number >= 0, got 2.5",
        ),
        (
            lambda: mean_variants([{"name": "A", "users": 3, "mean": 1}]),
            "variants[0].sd is required",
        ),
        (
            lambda: proportion_variants(
                [
                    {"name": "A", "users": 1, "conversions": 0},
                    {"name": "A", "users": 1, "conversions": 0},
                ]
            ),
            "variants[1].name must be unique, got 'A' twice",
        ),
        (lambda: proportion_variants("A,B"), "variants must be a list of objects"),
        (lambda: proportion_variants([3]), "variants[0] must be an object with name, users"),
    ],
)
def test_invalid_values_name_the_field(call, message):
    with pytest.raises(ValueError) as err:
        call()
    assert str(err.value).startswith(message)
