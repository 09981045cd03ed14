"""Relative lift intervals dual to the test: the risk-ratio score interval and Fieller's.

References: statsmodels ``confint_proportions_2indep(method="score", compare="ratio")`` and
``score_test_proportions_2indep``, ``proportions_ztest``, scipy ``ttest_ind_from_stats``, a
root-finder on Fieller's pivot, and seeded coverage simulations.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as sps
from scipy.optimize import brentq
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportions_ztest,
    score_test_proportions_2indep,
)

from stats.comparisons import compare_means, compare_proportions
from stats.cuped import cuped_rows, regression_adjustment
from stats.msprt import SequentialTest, msprt
from stats.relative import fieller_interval, ratio_score_z, score_interval_ratio
from stats.sufficient import MeanStats, ProportionStats
from stats.vocabulary import ALTERNATIVES
from stats.warnings import Code

Z975 = float(sps.norm.ppf(0.975))

COUNTS = [
    (160, 1000, 120, 1000),
    (66, 500, 45, 500),
    (7, 40, 2, 35),
    (0, 50, 5, 50),
    (50, 50, 3, 60),
    (300, 2500, 190, 1800),
    (1000, 10000, 1100, 10000),
    (5, 100000, 9, 100000),
]


@pytest.mark.parametrize(("c1", "n1", "c0", "n0"), COUNTS)
def test_score_statistic_matches_statsmodels(c1, n1, c0, n0):
    for ratio in (0.3, 1.0, 1.7, 4.0):
        want = score_test_proportions_2indep(
            c1, n1, c0, n0, value=ratio, compare="ratio", correction=False
        )[0]
        assert ratio_score_z(c1, n1, c0, n0, ratio) == pytest.approx(want, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(("c1", "n1", "c0", "n0"), COUNTS)
def test_score_interval_matches_statsmodels(c1, n1, c0, n0):
    low, high = score_interval_ratio(c1, n1, c0, n0, Z975, "two-sided")
    want = confint_proportions_2indep(
        c1, n1, c0, n0, method="score", compare="ratio", correction=False
    )
    assert (low, high) == pytest.approx(want, rel=1e-6, abs=1e-9)


def test_score_interval_where_statsmodels_picks_a_bad_root():
    # 1/10 vs 10/10: statsmodels answers (0.55, 0.55); the bounds must solve z = ±crit.
    low, high = score_interval_ratio(1, 10, 10, 10, Z975, "two-sided")
    assert low < 0.1 < high
    for bound, target in ((low, Z975), (high, -Z975)):
        z = score_test_proportions_2indep(
            1, 10, 10, 10, value=bound, compare="ratio", correction=False
        )
        assert z[0] == pytest.approx(target, rel=1e-6)


def _grid() -> list[tuple[int, int, int, int]]:
    rng = np.random.default_rng(2024)
    out = []
    for _ in range(300):
        n1, n0 = (int(x) for x in rng.integers(20, 3000, 2))
        p0 = rng.uniform(0.02, 0.6)
        p1 = min(p0 * rng.uniform(0.7, 1.5), 0.99)
        out.append((int(rng.binomial(n1, p1)), n1, int(rng.binomial(n0, p0)), n0))
    return [g for g in out if g[2] > 0]


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_relative_interval_excludes_zero_exactly_when_the_pooled_z_test_rejects(alternative, alpha):
    """The duality the issue asks for, on 300 random tables (statsmodels' pooled z)."""
    agree = 0
    grid = _grid()
    for c1, n1, c0, n0 in grid:
        res = compare_proportions(
            ProportionStats("A", n0, c0),
            ProportionStats("B", n1, c1),
            alpha=alpha,
            alternative=alternative,
        )
        p = proportions_ztest([c1, c0], [n1, n0], alternative=alternative)[1]
        excludes = res.relative_ci_low > 0 or res.relative_ci_high < 0
        agree += excludes == (p < alpha)
    assert agree == len(grid)


def test_the_issues_example_significant_but_delta_interval_crosses_zero():
    # 66/500 vs 45/500: pooled z p = 0.034, yet the delta-method interval reaches below 0.
    a, b = ProportionStats("A", 500, 45), ProportionStats("B", 500, 66)
    delta = compare_proportions(a, b, relative="delta")
    dual = compare_proportions(a, b)
    assert delta.pvalue == pytest.approx(proportions_ztest([66, 45], [500, 500])[1], rel=1e-9)
    assert delta.pvalue < 0.05 and delta.relative_ci_low < 0
    assert dual.relative_method == "score" and dual.relative_ci_low > 0
    want = confint_proportions_2indep(
        66, 500, 45, 500, method="score", compare="ratio", correction=False
    )
    assert (dual.relative_ci_low, dual.relative_ci_high) == pytest.approx(
        (want[0] - 1, want[1] - 1), rel=1e-6
    )


def test_score_interval_edge_counts():
    assert score_interval_ratio(0, 50, 5, 50, Z975, "two-sided")[0] == 0.0
    assert all(math.isnan(x) for x in score_interval_ratio(3, 50, 0, 50, Z975, "two-sided"))
    low, high = score_interval_ratio(30, 100, 20, 100, float(sps.norm.ppf(0.95)), "larger")
    assert high == math.inf and ratio_score_z(30, 100, 20, 100, low) == pytest.approx(
        sps.norm.ppf(0.95), rel=1e-9
    )


# --- Fieller -----------------------------------------------------------------------------


def _pivot_roots(num, vn, den, vd, crit):
    """Independent computation: the two roots of |T(ρ)| = crit by brentq on the pivot."""

    def t(r: float) -> float:
        return (num - r * den) / math.sqrt(vn + r * r * vd)

    est = num / den
    low = brentq(lambda r: abs(t(r)) - crit, est - 1e3, est)
    high = brentq(lambda r: abs(t(r)) - crit, est, est + 1e3)
    return low, high


@pytest.mark.parametrize(
    ("num", "vn", "den", "vd"),
    [(12.0, 0.5, 10.0, 0.4), (3.0, 0.2, 2.0, 0.3), (-5.0, 1.0, -4.0, 0.5), (0.1, 0.01, 1.0, 0.02)],
)
def test_fieller_bounds_solve_the_pivot(num, vn, den, vd):
    low, high = fieller_interval(num, vn, den, vd, Z975, "two-sided")
    assert (low, high) == pytest.approx(_pivot_roots(num, vn, den, vd, Z975), rel=1e-9)


def test_fieller_is_unbounded_when_the_denominator_is_not_significant():
    # den / sd(den) = 1.5 < 1.96: no finite bounds.
    assert fieller_interval(3.0, 1.0, 1.5, 1.0, Z975, "two-sided") == (-math.inf, math.inf)
    res = compare_means(MeanStats("A", 20, 0.3, 1.0), MeanStats("B", 20, 1.2, 1.0))
    assert res.relative_method == "fieller"
    assert (res.relative_ci_low, res.relative_ci_high) == (-math.inf, math.inf)
    assert Code.RELATIVE_UNBOUNDED in {w.code for w in res.warnings}


def _mean_grid() -> list[tuple[MeanStats, MeanStats]]:
    rng = np.random.default_rng(7)
    out = []
    for _ in range(300):
        n0, n1 = (int(x) for x in rng.integers(5, 400, 2))
        m0 = rng.uniform(2, 20)
        m1 = m0 * rng.uniform(0.8, 1.25)
        s0, s1 = rng.uniform(1, 8, 2)
        out.append((MeanStats("A", n0, m0, s0), MeanStats("B", n1, m1, s1)))
    return out


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_fieller_excludes_zero_exactly_when_welch_rejects(alternative):
    grid = _mean_grid()
    agree = 0
    for a, b in grid:
        res = compare_means(a, b, alpha=0.05, alternative=alternative)
        side = {"two-sided": "two-sided", "larger": "greater", "smaller": "less"}[alternative]
        p = sps.ttest_ind_from_stats(
            b.mean, b.sd, b.n, a.mean, a.sd, a.n, equal_var=False, alternative=side
        ).pvalue
        excludes = res.relative_ci_low > 0 or res.relative_ci_high < 0
        agree += excludes == (p < 0.05)
    assert agree == len(grid)


def test_fieller_covers_the_ratio_of_normal_means():
    """Coverage of the ratio 12/10 by seeded normal samples (n = 30 per arm, sd 6).

    4,000 runs: the Monte Carlo SE of a 95% coverage is 0.0034; allow 4 SE (0.014). The
    delta method's coverage at this size is lower and is not asserted."""
    rng = np.random.default_rng(11)
    sims, n, hits = 4000, 30, 0
    a = rng.normal(10.0, 6.0, (sims, n))
    b = rng.normal(12.0, 6.0, (sims, n))
    for xa, xb in zip(a, b, strict=True):
        res = compare_means(
            MeanStats("A", n, xa.mean(), xa.std(ddof=1)),
            MeanStats("B", n, xb.mean(), xb.std(ddof=1)),
        )
        hits += res.relative_ci_low <= 0.2 <= res.relative_ci_high
    assert abs(hits / sims - 0.95) <= 4 * math.sqrt(0.95 * 0.05 / sims)


def test_score_ratio_interval_covers():
    """Coverage of the risk ratio 1.2 (0.12 vs 0.10, n = 800): 3,000 seeded tables, 4 SE."""
    rng = np.random.default_rng(5)
    sims, n = 3000, 800
    hits = 0
    for c1, c0 in zip(rng.binomial(n, 0.12, sims), rng.binomial(n, 0.10, sims), strict=True):
        low, high = score_interval_ratio(int(c1), n, int(c0), n, Z975, "two-sided")
        hits += low <= 1.2 <= high
    assert abs(hits / sims - 0.95) <= 4 * math.sqrt(0.95 * 0.05 / sims)


# --- CUPED ---------------------------------------------------------------------------------


def _cuped_rows(seed: int, lift: float):
    rng = np.random.default_rng(seed)
    n = 400
    codes = np.repeat([0, 1], n)
    x = rng.normal(50.0, 10.0, 2 * n)
    y = 0.8 * x + rng.normal(0.0, 6.0, 2 * n) + np.where(codes == 1, lift, 0.0) + 5.0
    return codes, y, x


def test_cuped_relative_lift_is_fieller_on_the_adjusted_means():
    """Independent: θ by numpy's least squares of the within-arm deviations, adjusted means,
    residual variances, Welch df, and the Fieller roots of the pivot by brentq."""
    codes, y, x = _cuped_rows(3, 1.5)
    res = cuped_rows(codes, ["A", "B"], y, x, control="A")
    arms = [codes == 0, codes == 1]
    dx = np.concatenate([x[a] - x[a].mean() for a in arms])
    dy = np.concatenate([y[a] - y[a].mean() for a in arms])
    theta = float(np.linalg.lstsq(dx[:, None], dy, rcond=None)[0][0])
    adj = [y[a] - theta * (x[a] - x.mean()) for a in arms]
    m = [float(v.mean()) for v in adj]
    se2 = [float(v.var(ddof=1)) / v.size for v in adj]
    df = (se2[0] + se2[1]) ** 2 / (se2[0] ** 2 / 399 + se2[1] ** 2 / 399)
    crit = float(sps.t.ppf(0.975, df))
    low, high = _pivot_roots(m[1], se2[1], m[0], se2[0], crit)
    c = res.comparisons[0].as_dict()
    assert c["relative_lift"] == pytest.approx(m[1] / m[0] - 1, rel=1e-9)
    assert (c["relative_ci_low"], c["relative_ci_high"]) == pytest.approx(
        (low - 1, high - 1), rel=1e-7
    )
    assert "unadjusted_relative_ci_low" in c


@pytest.mark.parametrize("seed", range(6))
def test_cuped_relative_interval_agrees_with_the_adjusted_test(seed):
    codes, y, x = _cuped_rows(seed, 1.0)
    for c in (
        cuped_rows(codes, ["A", "B"], y, x, control="A").comparisons[0],
        regression_adjustment(codes, ["A", "B"], y, {"x": x}, control="A").comparisons[0],
    ):
        a = c.adjusted
        assert (a.relative_ci_low > 0 or a.relative_ci_high < 0) == (a.pvalue < 0.05)
        assert a.relative_method == "fieller"


# --- mSPRT confidence sequence -------------------------------------------------------------


def test_msprt_relative_bounds_are_where_the_per_ratio_msprt_hits_its_threshold():
    """At each bound ρ the mixture likelihood ratio of H0 m_B = ρ·m_A, with mixing variance
    τ²·v_ρ/v_1 (computed here from the module docstring's Λ), equals 1/α."""
    a, b = MeanStats("A", 3000, 10.0, 5.0), MeanStats("B", 2500, 10.6, 6.0)
    r = msprt(a, b, planned_n=10000)
    va, vb = a.var / a.n, b.var / b.n
    for lift in (r.relative_ci_low, r.relative_ci_high):
        rho = 1.0 + lift
        v = vb + rho * rho * va
        tau2 = r.tau**2 * v / (va + vb)
        d = b.mean - rho * a.mean
        log_lr = 0.5 * math.log(v / (v + tau2)) + tau2 * d * d / (2 * v * (v + tau2))
        assert log_lr == pytest.approx(math.log(1 / 0.05), rel=1e-9)


def test_msprt_relative_sequence_excludes_zero_exactly_when_the_msprt_rejects():
    rng = np.random.default_rng(8)
    for _ in range(200):
        n_a, n_b = (int(x) for x in rng.integers(200, 20000, 2))
        p_a = rng.uniform(0.05, 0.3)
        p_b = min(p_a * rng.uniform(0.8, 1.3), 0.95)
        a = ProportionStats("A", n_a, int(rng.binomial(n_a, p_a)))
        b = ProportionStats("B", n_b, int(rng.binomial(n_b, p_b)))
        r = msprt(a, b, planned_n=20000)
        excludes = r.relative_ci_low > 0 or r.relative_ci_high < 0
        assert excludes == (r.decision == "reject")


def test_msprt_relative_sequence_covers_at_every_look():
    """Time-uniform coverage of the ratio 1.05 over 20 looks of 200 users per arm (normal
    data, seeded): the share of 1,000 paths whose sequence ever excludes it is at most α plus
    3 Monte Carlo SE (0.021)."""
    rng = np.random.default_rng(21)
    paths, looks, step = 1000, 20, 200
    misses = 0
    for _ in range(paths):
        xa = rng.normal(10.0, 4.0, (looks, step))
        xb = rng.normal(10.5, 4.0, (looks, step))
        for k in range(1, looks + 1):
            fa, fb = xa[:k].ravel(), xb[:k].ravel()
            r = msprt(
                MeanStats("A", fa.size, fa.mean(), fa.std(ddof=1)),
                MeanStats("B", fb.size, fb.mean(), fb.std(ddof=1)),
                tau=0.5,
            )
            if not r.relative_ci_low <= 0.05 <= r.relative_ci_high:
                misses += 1
                break
    assert misses / paths <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / paths)


def test_streaming_relative_sequence_is_the_running_intersection():
    """SequentialTest: the first look's relative sequence is msprt()'s at the same tau; later
    bounds only tighten (the running intersection of the per-look sequences)."""
    rng = np.random.default_rng(31)
    test = SequentialTest(metric="proportion", tau=0.02)
    lows, highs = [], []
    users = conv_a = conv_b = 0
    for _ in range(12):
        ca, cb = int(rng.binomial(500, 0.10)), int(rng.binomial(500, 0.115))
        r = test.update(users_a=500, conversions_a=ca, users_b=500, conversions_b=cb)
        users, conv_a, conv_b = users + 500, conv_a + ca, conv_b + cb
        if not lows:
            first = msprt(
                ProportionStats("A", users, conv_a), ProportionStats("B", users, conv_b), tau=0.02
            )
            assert (r.relative_ci_low, r.relative_ci_high) == pytest.approx(
                (first.relative_ci_low, first.relative_ci_high), rel=1e-12
            )
        lows.append(r.relative_ci_low)
        highs.append(r.relative_ci_high)
    assert r.relative_lift == pytest.approx(conv_b / conv_a - 1, rel=1e-12)
    assert all(b >= a for a, b in itertools.pairwise(lows))
    assert all(b <= a for a, b in itertools.pairwise(highs))
