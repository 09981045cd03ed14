"""Tests for stats.peeking: the sampler against scipy's binomial pmf, the simulated error
rates against the exact recursion and statsmodels' power, and the bookkeeping."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower

from stats.group_sequential import critical_values, group_sequential_bounds, naive_peeking_rate
from stats.msprt import cs_halfwidth
from stats.peeking import _Binomial, simulate_peeking
from stats.warnings import Code

METHODS = ("naive", "obrien_fleming", "pocock", "msprt")


def within(rate: float, expected: float, sims: int, k: float = 4.0) -> bool:
    """|rate - expected| <= k Monte Carlo SE of a proportion near ``expected``."""
    return abs(rate - expected) <= k * math.sqrt(expected * (1 - expected) / sims)


# --------------------------------------------------------------------------- sampler


@pytest.mark.parametrize(("m", "p"), [(100, 0.1), (7, 0.5), (1, 0.3), (3000, 0.02), (40, 0.97)])
def test_alias_table_reproduces_the_binomial_pmf_exactly(m, p):
    """P(x) = sum over cells of (1/size) [cut share if cell is x, rest if alias is x]."""
    table = _Binomial.build(m, p)
    size = 1 << table.bits
    keep = table.cut.astype(float) / 2.0 ** (64 - table.bits)
    prob = np.zeros(size)
    np.add.at(prob, np.arange(size), keep / size)
    np.add.at(prob, table.alias, (1 - keep) / size)
    x = table.offset + np.arange(size)
    expected = stats.binom.pmf(x, m, p)
    assert prob == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize(("m", "p"), [(100, 0.1), (7, 0.5), (3000, 0.02)])
def test_alias_draws_pass_a_chi_square_test_against_scipy(m, p):
    draws = _Binomial.build(m, p).draw(np.random.default_rng(11), (400, 500)).ravel()
    values, counts = np.unique(draws, return_counts=True)
    expected = stats.binom.pmf(values, m, p) * draws.size
    big = expected >= 5  # lump the sparse tails into one cell
    observed = np.append(counts[big], counts[~big].sum())
    expected = np.append(expected[big], draws.size - expected[big].sum())
    assert stats.chisquare(observed, expected).pvalue > 1e-3
    assert draws.mean() == pytest.approx(m * p, abs=5 * math.sqrt(m * p * (1 - p) / draws.size))


def test_very_wide_supports_fall_back_to_numpy():
    table = _Binomial.build(5_000_000, 0.5)
    assert table.bits == 0
    draws = table.draw(np.random.default_rng(1), (100, 10))
    assert abs(draws.mean() - 2_500_000) < 5 * math.sqrt(1_250_000 / 1000)


# --------------------------------------------------------------------------- error rates


@pytest.mark.parametrize(
    ("metric", "looks", "n_per_arm"), [("proportion", 5, 10_000), ("mean", 10, 2_000)]
)
def test_null_rates_match_the_exact_values(metric, looks, n_per_arm):
    """40,000 A/A tests: naive peeking at the exact recursion value, both spending designs
    at alpha, mSPRT at most alpha (4 MC SE, e.g. 0.0044 at 0.05 and 0.0070 at 0.14)."""
    sims = 40_000
    res = simulate_peeking(looks=looks, n_per_arm=n_per_arm, metric=metric, baseline=0.1,
                           simulations=sims, seed=21)  # fmt: skip
    m = res.methods
    assert res.exact_naive_rate == pytest.approx(naive_peeking_rate(looks))
    assert within(m.naive.rejection_rate, res.exact_naive_rate, sims)
    assert within(m.obrien_fleming.rejection_rate, 0.05, sims)
    assert within(m.pocock.rejection_rate, 0.05, sims)
    assert m.msprt.rejection_rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / sims)
    for name in METHODS:
        s = getattr(m, name)
        assert s.rejection_se == pytest.approx(
            math.sqrt(s.rejection_rate * (1 - s.rejection_rate) / sims)
        )


def test_single_look_power_matches_statsmodels():
    """One look: every z rule is the fixed two-sided test, power from NormalIndPower."""
    sims, n, effect = 40_000, 500, 0.15
    res = simulate_peeking(looks=1, n_per_arm=n, metric="mean", sd=1.0, effect=effect,
                           simulations=sims, seed=22)  # fmt: skip
    power = NormalIndPower().power(effect, nobs1=n, alpha=0.05)
    assert within(res.methods.naive.rejection_rate, power, sims)
    # Same experiments: identical bounds give identical decisions, not just similar rates.
    naive, obf, pocock = res.methods.naive, res.methods.obrien_fleming, res.methods.pocock
    assert naive.stop_look_counts == obf.stop_look_counts == pocock.stop_look_counts
    assert obf.z_bounds == pytest.approx(naive.z_bounds, abs=1e-12)


def test_same_experiments_feed_every_rule():
    """O'Brien-Fleming and Pocock bounds are above z_0.975 at every look, so on the same
    experiments each rejects only paths the naive rule has already rejected, by each look."""
    res = simulate_peeking(looks=8, n_per_arm=4000, baseline=0.2, effect=0.02,
                           simulations=5000, seed=23)  # fmt: skip
    naive = np.cumsum(res.methods.naive.stop_look_counts)
    for name in ("obrien_fleming", "pocock"):
        assert np.all(np.cumsum(getattr(res.methods, name).stop_look_counts) <= naive)
    assert res.methods.naive.rejection_rate > res.methods.obrien_fleming.rejection_rate


def test_bookkeeping_of_looks_bounds_and_sample_sizes():
    res = simulate_peeking(looks=7, n_per_arm=1000, baseline=0.3, effect=0.05,
                           simulations=3000, seed=24, paths=20)  # fmt: skip
    look_n = np.array(res.look_n)
    assert look_n[-1] == 1000 and set(np.diff(look_n, prepend=0)) <= {142, 143}
    t = look_n / 1000
    assert res.methods.obrien_fleming.z_bounds == pytest.approx(
        critical_values(t, 0.05, True, "obrien-fleming", 0.0)
    )
    v = 2 * 0.3 * 0.7 / look_n
    assert res.methods.msprt.z_bounds == pytest.approx(
        [cs_halfwidth(x, res.tau, 0.05) / math.sqrt(x) for x in v]
    )
    for name in METHODS:
        s = getattr(res.methods, name)
        counts = np.array(s.stop_look_counts)
        stopped = counts.sum()
        assert s.rejection_rate == pytest.approx(stopped / 3000)
        assert s.mean_sample_size == pytest.approx(
            (counts @ look_n + (3000 - stopped) * 1000) / 3000
        )
    assert len(res.z_paths) == 20 and all(len(row) == 7 for row in res.z_paths)
    assert res.exact_naive_curve.looks == tuple(range(1, 101))
    assert res.exact_naive_curve.rates[6] == res.exact_naive_rate


def test_classical_constants_and_seed_reproducibility():
    kwargs = {"looks": 5, "n_per_arm": 5000, "baseline": 0.1, "simulations": 2000}
    a = simulate_peeking(**kwargs, seed=3, spending="classical")
    assert a.methods.obrien_fleming.z_bounds == pytest.approx(
        group_sequential_bounds(looks=5, spending="classical-obrien-fleming").z_bounds
    )
    assert a.methods.pocock.z_bounds == pytest.approx([2.413] * 5, abs=5e-4)
    assert simulate_peeking(**kwargs, seed=3, spending="classical") == a
    assert simulate_peeking(**kwargs, seed=4, spending="classical") != a


def test_sparse_conversions_warn():
    res = simulate_peeking(looks=10, n_per_arm=200, baseline=0.02, simulations=200, seed=1)
    assert res.warnings and "first look" in res.warnings[0].message
    assert res.warnings[0].code == Code.SMALL_COUNTS


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"looks": 0}, "looks"),
        ({"looks": 101}, "looks"),
        ({"n_per_arm": 5}, "n_per_arm"),
        ({"n_per_arm": 100_000_001}, "n_per_arm"),
        ({"simulations": 0}, "simulations"),
        ({"simulations": 100_001}, "simulations"),
        ({"baseline": None}, "baseline"),
        ({"baseline": 1.0}, "baseline"),
        ({"effect": 0.95}, "effect"),
        ({"effect": float("inf")}, "effect"),
        ({"metric": "mean", "sd": 0}, "sd"),
        ({"metric": "ratio"}, "metric"),
        ({"alpha": 0.5}, "alpha"),
        ({"seed": -1}, "seed"),
        ({"spending": "obrien-fleming"}, "spending"),
        ({"paths": 101}, "paths"),
    ],
)
def test_bad_input_raises_naming_the_field(kwargs, field):
    call = {"looks": 10, "n_per_arm": 1000, "baseline": 0.1, "simulations": 100, **kwargs}
    with pytest.raises(ValueError, match=f"^{re.escape(field)} "):
        simulate_peeking(**call)
