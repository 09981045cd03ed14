"""Tests for stats.group_sequential against published tables, scipy and seeded simulation."""

from __future__ import annotations

import math
import re
import time

import numpy as np
import pytest
from scipy import special, stats

import stats.group_sequential as gs
from stats.group_sequential import (
    crossing_probability,
    group_sequential_bounds,
    monitor,
    naive_peeking_curve,
    naive_peeking_rate,
)
from stats.warnings import Code

# Jennison & Turnbull (2000), Table 2.1 (Pocock C_P) and Table 2.3 (O'Brien-Fleming C_B),
# two-sided, K = 1..10. Values as given in the issue brief; all 40 are reproduced.
C_P = {
    0.05: [1.960, 2.178, 2.289, 2.361, 2.413, 2.453, 2.485, 2.512, 2.535, 2.555],
    0.01: [2.576, 2.772, 2.873, 2.939, 2.986, 3.023, 3.053, 3.078, 3.099, 3.117],
}
C_B = {
    0.05: [1.960, 1.977, 2.004, 2.024, 2.040, 2.053, 2.063, 2.072, 2.080, 2.087],
    0.01: [2.576, 2.580, 2.595, 2.609, 2.621, 2.631, 2.640, 2.648, 2.654, 2.660],
}
# Jennison & Turnbull (2000), Table 2.4 (R_P) and Table 2.5 (R_B): maximum sample size over
# the fixed design, two-sided alpha = 0.05, K = 2..5, power 0.8 and 0.9.
R_P = {0.8: [1.110, 1.166, 1.202, 1.229], 0.9: [1.100, 1.151, 1.183, 1.207]}
R_B = {0.8: [1.008, 1.017, 1.024, 1.028], 0.9: [1.007, 1.016, 1.022, 1.026]}

TABLE_ATOL = 5e-4 + 1e-9  # tables are rounded to 3 decimals


def mc_tolerance(p: float, n: int, k: float = 4.0) -> float:
    """k Monte Carlo standard errors of a proportion p estimated from n draws."""
    return k * math.sqrt(p * (1 - p) / n)


def brownian_z(rng: np.random.Generator, t: np.ndarray, sims: int, drift: float = 0.0):
    """Z_k = S(t_k)/sqrt(t_k) for Brownian motion S with drift: the canonical joint law."""
    dt = np.diff(t, prepend=0.0)
    s = np.cumsum(rng.standard_normal((sims, t.size)) * np.sqrt(dt) + drift * dt, axis=1)
    return s / np.sqrt(t)


# --------------------------------------------------------------------------- classical


@pytest.mark.parametrize("alpha", [0.05, 0.01])
@pytest.mark.parametrize("k", range(1, 11))
def test_classical_pocock_constants_match_jt_table_2_1(k, alpha):
    b = group_sequential_bounds(looks=k, alpha=alpha, spending="classical-pocock")
    assert b.constant == pytest.approx(C_P[alpha][k - 1], abs=TABLE_ATOL)
    assert b.z_bounds == pytest.approx([b.constant] * k)
    assert b.cumulative_alpha[-1] == pytest.approx(alpha, abs=1e-9)


@pytest.mark.parametrize("alpha", [0.05, 0.01])
@pytest.mark.parametrize("k", range(1, 11))
def test_classical_obrien_fleming_constants_match_jt_table_2_3(k, alpha):
    b = group_sequential_bounds(looks=k, alpha=alpha, spending="classical-obrien-fleming")
    assert b.constant == pytest.approx(C_B[alpha][k - 1], abs=TABLE_ATOL)
    expected = [b.constant * math.sqrt(k / j) for j in range(1, k + 1)]
    assert b.z_bounds == pytest.approx(expected)
    assert b.cumulative_alpha[-1] == pytest.approx(alpha, abs=1e-9)


@pytest.mark.parametrize(
    ("spending", "table"), [("classical-pocock", R_P), ("classical-obrien-fleming", R_B)]
)
@pytest.mark.parametrize("power", [0.8, 0.9])
def test_max_n_inflation_matches_jt_tables_2_4_and_2_5(spending, table, power):
    got = [
        group_sequential_bounds(looks=k, spending=spending, power=power).max_n_inflation
        for k in range(2, 6)
    ]
    assert got == pytest.approx(table[power], abs=TABLE_ATOL)


def test_single_look_is_the_fixed_design():
    b = group_sequential_bounds(looks=1)
    assert b.z_bounds == pytest.approx([special.ndtri(0.975)], abs=1e-9)
    assert b.nominal_p == pytest.approx([0.05])
    assert b.max_n_inflation == pytest.approx(1.0, abs=1e-7)


# --------------------------------------------------------------------------- spending


@pytest.mark.parametrize(
    ("k", "spending", "expected"),
    [
        # gsDesign sfLDOF / rpact asOF, two-sided 0.05 (issue 4 reference values)
        (3, "obrien-fleming", [3.7103, 2.5114, 1.9930]),
        (5, "obrien-fleming", [4.8769, 3.3570, 2.6803, 2.2898, 2.0310]),
        # gsDesign sfLDPocock / rpact asP, two-sided 0.05
        (5, "pocock", [2.4380, 2.4268, 2.4102, 2.3966, 2.3860]),
    ],
)
def test_spending_bounds_match_gsdesign(k, spending, expected):
    b = group_sequential_bounds(looks=k, spending=spending)
    assert b.z_bounds == pytest.approx(expected, abs=1e-4)
    assert b.nominal_p == pytest.approx(2 * special.ndtr(-np.array(expected)), rel=2e-3)
    assert b.cumulative_alpha[-1] == pytest.approx(0.05, abs=1e-9)
    spent = gs.spent_alpha(np.arange(1, k + 1) / k, 0.025, spending, 0.0)
    assert b.cumulative_alpha == pytest.approx(2 * spent, abs=1e-9)
    assert np.diff(b.cumulative_alpha) == pytest.approx(b.alpha_spent[1:])


def test_one_sided_design_at_half_alpha_equals_two_sided_design():
    # gsDesign: test.type = 1 at alpha 0.025 and test.type = 2 at 0.05 give the same bounds
    # (the lower bound's crossing probability under H0 is negligible at these values).
    two = group_sequential_bounds(looks=4, alpha=0.05)
    larger = group_sequential_bounds(looks=4, alpha=0.025, alternative="larger")
    smaller = group_sequential_bounds(looks=4, alpha=0.025, alternative="smaller")
    assert larger.z_bounds == pytest.approx(two.z_bounds, abs=2e-4)
    assert smaller.z_bounds == pytest.approx([-b for b in larger.z_bounds])
    assert larger.nominal_p == pytest.approx([p / 2 for p in two.nominal_p], rel=2e-3)
    assert larger.cumulative_alpha[-1] == pytest.approx(0.025, abs=1e-9)


def test_hsd_gamma_zero_spends_linearly_and_gamma_minus_4_is_obf_like():
    lin = group_sequential_bounds(looks=4, spending="hsd", gamma=0.0)
    assert lin.alpha_spent == pytest.approx([0.0125] * 4, abs=1e-9)
    hsd = group_sequential_bounds(looks=4, spending="hsd", gamma=-4.0)
    assert hsd.cumulative_alpha[0] == pytest.approx(
        0.05 * math.expm1(4.0 * 0.25) / math.expm1(4.0),
        abs=1e-9,  # HSD eq. 2 at gamma = -4
    )
    assert hsd.z_bounds[0] > hsd.z_bounds[-1]


@pytest.mark.parametrize(
    ("spending", "fractions"),
    [("hsd", [0.2, 0.45, 0.7, 1.0]), ("obrien-fleming", [0.3, 0.5, 1.0])],
)
def test_exact_type_i_error_and_power_agree_with_simulation(spending, fractions):
    """Seeded Brownian-motion simulation of the canonical joint law (J&T section 3.1).

    200,000 paths: the SE of a probability p is sqrt(p(1-p)/200000) <= 0.0011 at p = 0.8
    and 0.0005 at p = 0.05; each comparison allows 4 SE.
    """
    sims = 200_000
    rng = np.random.default_rng(20240501)
    b = group_sequential_bounds(fractions=fractions, spending=spending, gamma=-2.0)
    t = np.array(fractions)
    z = brownian_z(rng, t, sims)
    crossed = np.abs(z) >= np.array(b.z_bounds)
    first = np.where(crossed.any(axis=1), crossed.argmax(axis=1), -1)
    for k, spent in enumerate(b.alpha_spent):
        assert np.mean(first == k) == pytest.approx(spent, abs=mc_tolerance(spent, sims))
    assert np.mean(first >= 0) == pytest.approx(0.05, abs=mc_tolerance(0.05, sims))
    z1 = brownian_z(rng, t, sims, drift=b.drift)
    power = np.mean((z1 >= np.array(b.z_bounds)).any(axis=1))
    assert power == pytest.approx(0.8, abs=mc_tolerance(0.8, sims))


# --------------------------------------------------------------------------- recursion


@pytest.mark.parametrize("drift", [0.0, 1.5])
def test_crossing_probability_matches_scipy_multivariate_normal(drift):
    """P(no crossing) = P(|Z_k| < b_k for all k): a rectangle probability of the canonical
    joint law, Cov(Z_j, Z_k) = sqrt(t_j / t_k), by scipy's Genz integration."""
    t = np.array([0.3, 0.6, 1.0])
    bounds = np.array([2.6, 2.3, 2.0])
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    mvn = stats.multivariate_normal(
        mean=drift * np.sqrt(t), cov=cov, seed=1, abseps=1e-8, releps=1e-8, maxpts=10**6
    )
    inside = mvn.cdf(bounds, lower_limit=-bounds)
    per_look, cumulative = crossing_probability(bounds, t, drift=drift)
    assert cumulative[-1] == pytest.approx(1 - inside, abs=2e-6)
    first = stats.multivariate_normal(mean=[drift * math.sqrt(0.3)], cov=[[1.0]])
    assert per_look[0] == pytest.approx(1 - first.cdf([2.6], lower_limit=[-2.6]), abs=1e-12)


def test_shortcut_bounds_have_type_i_error_0_0610_at_five_looks():
    """The shortcut z_{0.975} sqrt(K/k) is not the O'Brien-Fleming design (issue 4)."""
    c = special.ndtri(0.975)
    _, cumulative = crossing_probability([c * math.sqrt(5 / k) for k in range(1, 6)], [
        0.2, 0.4, 0.6, 0.8, 1.0])  # fmt: skip
    assert cumulative[-1] == pytest.approx(0.0610, abs=1e-4)


def test_grid_is_converged(monkeypatch):
    """The default grid (r = 18) agrees with a 64-per-unit grid to 1e-7 in probability."""
    t = [0.1, 0.25, 0.5, 0.75, 1.0]
    bounds = [4.0, 3.0, 2.5, 2.2, 2.0]
    coarse = crossing_probability(bounds, t, drift=2.0)[0]
    monkeypatch.setattr(gs, "_GRID_R", 64)
    fine = crossing_probability(bounds, t, drift=2.0)[0]
    assert coarse == pytest.approx(fine, abs=1e-7)


# --------------------------------------------------------------------------- naive peeking


@pytest.mark.parametrize(
    ("looks", "rate"),
    [(1, 0.05), (2, 0.0831), (3, 0.1073), (5, 0.1417), (10, 0.1934), (20, 0.2479)],
)
def test_naive_peeking_rate_matches_armitage_mcpherson_rowe(looks, rate):
    assert naive_peeking_rate(looks) == pytest.approx(rate, abs=1e-4)


@pytest.mark.parametrize("looks", [4, 7, 30])
def test_naive_curve_equals_a_separate_design_for_each_number_of_looks(looks):
    """One 100-look recursion gives every k-look answer (equal spacing is scale free)."""
    c = special.ndtri(0.975)
    direct = crossing_probability([c] * looks, np.arange(1, looks + 1) / looks)[1][-1]
    assert naive_peeking_curve(0.05)[looks - 1] == pytest.approx(direct, abs=1e-9)


def test_naive_curve_is_increasing_and_fast():
    curve = naive_peeking_curve(0.01)
    assert len(curve) == 100 and np.all(np.diff(curve) > 0)
    assert curve[0] == pytest.approx(0.01, abs=1e-12)
    start = time.perf_counter()
    for k in range(1, 101):
        naive_peeking_rate(k, alpha=0.01)
    assert (time.perf_counter() - start) / 100 < 5e-3


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "looks"),
        ({"looks": 0}, "looks"),
        ({"looks": 101}, "looks"),
        ({"looks": 2.5}, "looks"),
        ({"fractions": []}, "fractions"),
        ({"fractions": "0.5,1"}, "fractions"),
        ({"fractions": [0.5, 0.4, 1.0]}, "fractions[1]"),
        ({"fractions": [0.5, 0.5, 1.0]}, "fractions[1]"),
        ({"fractions": [0.0, 1.0]}, "fractions[0]"),
        ({"fractions": [0.5, 1.2]}, "fractions[1]"),
        ({"fractions": [0.5, float("nan")]}, "fractions[1]"),
        ({"fractions": [0.3, 0.6]}, "fractions"),
        ({"fractions": [0.01 * i for i in range(1, 102)]}, "fractions"),
        ({"looks": 3, "fractions": [0.5, 1.0]}, "fractions"),
        ({"looks": 3, "alpha": 0.0}, "alpha"),
        ({"looks": 3, "alpha": 1e-7}, "alpha"),
        ({"looks": 3, "alpha": 0.5}, "alpha"),
        ({"looks": 3, "alpha": 0.7}, "alpha"),
        ({"looks": 3, "alpha": "x"}, "alpha"),
        ({"looks": 3, "alternative": "both"}, "alternative"),
        ({"looks": 3, "spending": "haybittle"}, "spending"),
        ({"looks": 3, "spending": "hsd", "gamma": float("nan")}, "gamma"),
        ({"looks": 3, "spending": "hsd", "gamma": 41}, "gamma"),
        ({"looks": 3, "power": 0.05}, "power"),
        ({"looks": 3, "power": 1.0}, "power"),
    ],
)
def test_group_sequential_bounds_rejects_bad_input(kwargs, field):
    with pytest.raises(ValueError, match=f"^{re.escape(field)} "):
        group_sequential_bounds(**kwargs)


def test_crossing_probability_rejects_mismatched_bounds():
    with pytest.raises(ValueError, match=r"^bounds "):
        crossing_probability([2.0], [0.5, 1.0])
    with pytest.raises(ValueError, match=r"^drift "):
        crossing_probability([2.0], [1.0], drift=float("inf"))


@pytest.mark.parametrize("looks", [0, 101, 1.5])
def test_naive_peeking_rate_rejects_bad_looks(looks):
    with pytest.raises(ValueError, match=r"^looks "):
        naive_peeking_rate(looks)


def test_fractions_and_infinite_bounds_are_reported():
    b = group_sequential_bounds(fractions=[0.2, 0.45, 0.7, 1.0], spending="hsd", gamma=-40)
    assert b.fractions == (0.2, 0.45, 0.7, 1.0)
    assert b.cumulative_alpha[-1] == pytest.approx(0.05, abs=1e-9)
    assert b.gamma == -40 and b.spending == "hsd"


@pytest.mark.slow
@pytest.mark.parametrize("alternative", ["two-sided", "larger"])
def test_tiny_alpha_at_100_looks_spends_exactly_alpha(alternative):
    # At alpha 1e-6 the first spending increments underflow (the first bound is infinite);
    # the bounds must still spend alpha exactly, and the classical O'Brien-Fleming constant
    # stays between the fixed z and the Bonferroni z over 100 looks (its bracket).
    alpha = 1e-6
    sides = 2 if alternative == "two-sided" else 1
    spending = group_sequential_bounds(looks=100, alpha=alpha, alternative=alternative)
    assert spending.cumulative_alpha[-1] == pytest.approx(alpha, rel=1e-6)
    classical = group_sequential_bounds(
        looks=100, alpha=alpha, alternative=alternative, spending="classical-obrien-fleming"
    )
    assert classical.cumulative_alpha[-1] == pytest.approx(alpha, rel=1e-6)
    assert (
        -special.ndtri(alpha / sides) <= classical.constant <= -special.ndtri(alpha / (100 * sides))
    )


# --------------------------------------------------------------------------- monitoring


def _prop_look(users, conv_a, conv_b, users_b=None):
    return {
        "users": [users, users if users_b is None else users_b],
        "conversions": [conv_a, conv_b],
    }


def test_monitor_uses_the_design_bounds_and_pooled_z():
    from statsmodels.stats.proportion import proportions_ztest

    looks = [_prop_look(1000, 100, 110), _prop_look(2000, 200, 215)]
    res = monitor(looks, planned_n_per_arm=5000)
    design = gs.critical_values(np.array([0.2, 0.4]), 0.05, True, "obrien-fleming", 0.0)
    assert res.z_bounds == pytest.approx(design)
    assert res.fractions == pytest.approx([0.2, 0.4])
    # statsmodels' pooled z for B - A
    z_ref = proportions_ztest([215, 200], [2000, 2000])[0]
    assert res.z_statistics[1] == pytest.approx(z_ref, rel=1e-10)
    assert res.decision == "continue" and res.stop_look is None
    assert res.estimate == pytest.approx(0.0075)
    assert res.pvalue == pytest.approx(proportions_ztest([215, 200], [2000, 2000])[1])
    assert res.n == 4000


def test_monitor_stops_for_efficacy_at_the_first_crossing():
    looks = [_prop_look(1000, 100, 110), _prop_look(2000, 200, 300), _prop_look(3000, 300, 450)]
    res = monitor(looks, planned_n_per_arm=5000)
    assert res.decision == "stop-efficacy" and res.stop_look == 2
    assert len(res.z_statistics) == 2
    assert any(
        w.code == Code.STOPPED_EARLY and "later looks are ignored" in w.message
        for w in res.warnings
    )


def test_monitor_final_look_is_forced_to_fraction_one():
    looks = [_prop_look(2500, 250, 255), _prop_look(5200, 520, 530)]
    res = monitor(looks, planned_n_per_arm=5000)
    assert res.fractions == pytest.approx([0.5, 1.0])
    assert res.decision == "stop-final" and res.stop_look == 2
    assert res.cumulative_alpha[-1] == pytest.approx(0.05, abs=1e-9)


def test_monitor_means_use_welch_z_and_one_sided_bounds():
    looks = [
        {"users": [400, 410], "mean": [10.0, 10.2], "sd": [2.0, 2.5]},
        {"users": [800, 790], "mean": [10.0, 10.5], "sd": [2.0, 2.4]},
    ]
    res = monitor(looks, planned_n_per_arm=1600, metric="mean", alternative="larger")
    t_ref = stats.ttest_ind_from_stats(10.2, 2.5, 410, 10.0, 2.0, 400, equal_var=False)[0]
    assert res.z_statistics[0] == pytest.approx(t_ref, rel=1e-12)
    assert res.fractions[0] == pytest.approx(2 / (1 / 400 + 1 / 410) / 1600)
    assert res.decision == "stop-efficacy" and res.stop_look == 2
    smaller = monitor(looks, planned_n_per_arm=1600, metric="mean", alternative="smaller")
    assert all(b < 0 for b in smaller.z_bounds) and smaller.decision == "continue"


@pytest.mark.parametrize(
    ("looks", "kwargs", "field"),
    [
        ([], {}, "looks"),
        ("abc", {}, "looks"),
        ([_prop_look(1000, 10, 10), _prop_look(900, 10, 10)], {}, "looks[1].users"),
        ([_prop_look(1000, 10, 10), _prop_look(1000, 10, 10)], {}, "looks[1].users"),
        ([_prop_look(5000, 10, 10), _prop_look(6000, 10, 10)], {}, "looks[1].users"),
        ([_prop_look(0, 0, 0)], {}, "looks[0].users"),
        ([_prop_look(100, 10, 120)], {}, "looks[0].conversions[1]"),
        ([_prop_look(100.5, 10, 12)], {}, "looks[0].users[0]"),
        ([{"users": [100, 100]}], {}, "looks[0].conversions"),
        ([[100, 100]], {}, "looks[0]"),
        (
            [{"users": [10, 10], "mean": [1, 1], "sd": [-1, 1]}],
            {"metric": "mean"},
            "looks[0].sd[0]",
        ),
        ([_prop_look(100, 10, 12)], {"planned_n_per_arm": 0}, "planned_n_per_arm"),
        ([_prop_look(100, 10, 12)], {"spending": "classical-pocock"}, "spending"),
        ([_prop_look(100, 10, 12)], {"metric": "ratio"}, "metric"),
        ([_prop_look(100, 10, 12)], {"alpha": 0.5}, "alpha"),
    ],
)
def test_monitor_rejects_bad_input(looks, kwargs, field):
    kwargs = {"planned_n_per_arm": 5000, **kwargs}
    with pytest.raises(ValueError, match=f"^{re.escape(field)} "):
        monitor(looks, **kwargs)
