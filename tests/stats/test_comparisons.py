"""stats.comparisons against statsmodels/scipy, a numerical MLE, and seeded simulation."""

from __future__ import annotations

import math
import warnings
from collections import Counter

import numpy as np
import pytest
from scipy import optimize
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportion_effectsize,
    proportions_ztest,
)
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW, ttest_ind

from stats.comparisons import (
    compare_means,
    compare_proportions,
    compare_to_control,
    holm_adjust,
    noninferiority,
    relative_lift,
    sample_ratio_mismatch,
    score_interval_diff,
    score_statistic_diff,
    two_proportion_test,
    variant_estimate,
)
from stats.sufficient import MeanStats, ProportionStats
from stats.vocabulary import ALTERNATIVES
from stats.warnings import Code

PAIRS = [((1000, 120), (1000, 160)), ((2500, 300), (1800, 190)), ((400, 40), (600, 75))]


def _mean_stats(name: str, x: np.ndarray) -> MeanStats:
    return MeanStats(name, len(x), float(x.mean()), float(x.std(ddof=1)))


# --- proportions ---------------------------------------------------------------------------


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize(("c", "t"), PAIRS)
def test_z_test_matches_statsmodels(c, t, alternative):
    control, treat = ProportionStats("A", *c), ProportionStats("B", *t)
    res = compare_proportions(control, treat, alternative=alternative)
    z, p = proportions_ztest([t[1], c[1]], [t[0], c[0]], alternative=alternative)
    assert res.test == "z"
    assert res.statistic == pytest.approx(z, rel=1e-6)
    assert res.pvalue == pytest.approx(p, rel=1e-6)
    assert res.estimate == pytest.approx(t[1] / t[0] - c[1] / c[0], rel=1e-12)


@pytest.mark.parametrize(("c", "t"), PAIRS)
def test_wald_interval_matches_statsmodels(c, t):
    res = compare_proportions(
        ProportionStats("A", *c), ProportionStats("B", *t), alpha=0.1, interval="wald"
    )
    low, high = confint_proportions_2indep(t[1], t[0], c[1], c[0], method="wald", alpha=0.1)
    assert (res.ci_low, res.ci_high) == pytest.approx((low, high), rel=1e-6)
    assert res.ci_level == pytest.approx(0.9)


def _mle_score_z(c1: int, n1: int, c0: int, n0: int, d: float) -> float:
    """Reference: the restricted MLE p0 under p1 = p0 + d solves the score equation
    dℓ/dp0 = 0 (ℓ is concave), found by brentq; then z = (p̂1 − p̂0 − d) / SE(p̃)."""

    def score(p0: float) -> float:
        p1 = p0 + d
        return c1 / p1 - (n1 - c1) / (1 - p1) + c0 / p0 - (n0 - c0) / (1 - p0)

    eps = 1e-12
    p0 = optimize.brentq(score, max(0.0, -d) + eps, min(1.0, 1 - d) - eps, xtol=1e-15)
    p1 = p0 + d
    return (c1 / n1 - c0 / n0 - d) / math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)


def test_score_statistic_matches_numerical_mle():
    rng = np.random.default_rng(11)
    for _ in range(200):
        n1, n0 = (int(x) for x in rng.integers(20, 5000, 2))
        c1, c0 = int(rng.integers(1, n1)), int(rng.integers(1, n0))
        d = float(rng.uniform(-0.95, 0.95))
        if not max(0.0, -d) < min(1.0, 1 - d):
            continue
        ref = _mle_score_z(c1, n1, c0, n0, d)
        assert float(score_statistic_diff(c1, n1, c0, n0, d)) == pytest.approx(ref, rel=1e-7)


@pytest.mark.parametrize(("c", "t"), PAIRS)
def test_score_statistic_at_zero_is_the_pooled_z(c, t):
    z, _ = proportions_ztest([t[1], c[1]], [t[0], c[0]])
    assert float(score_statistic_diff(t[1], t[0], c[1], c[0], 0.0)) == pytest.approx(z, rel=1e-9)


def test_score_interval_bounds_solve_the_score_equation():
    crit = sps.norm.ppf(0.975)
    for c1, n1, c0, n0 in [(160, 1000, 120, 1000), (3, 40, 0, 35), (16, 20, 513, 2642)]:
        low, high = score_interval_diff(c1, n1, c0, n0, 0.05)
        assert float(score_statistic_diff(c1, n1, c0, n0, low)) == pytest.approx(crit, rel=1e-6)
        assert float(score_statistic_diff(c1, n1, c0, n0, high)) == pytest.approx(-crit, rel=1e-6)


def test_score_interval_is_dual_to_the_pooled_z_test():
    # The interval excludes 0 exactly when the z-test rejects, at every alternative.
    rng = np.random.default_rng(5)
    n = 800
    c1, c0 = rng.binomial(n, 0.11, 400), rng.binomial(n, 0.1, 400)
    for alternative in ALTERNATIVES:
        low, high = score_interval_diff(c1, n, c0, n, 0.05, alternative)
        for i in range(0, 400, 4):
            _, p = proportions_ztest([c1[i], c0[i]], [n, n], alternative=alternative)
            assert (low[i] > 0 or high[i] < 0) == (p < 0.05)


def test_score_interval_covers_the_true_difference():
    # 5,000 seeded experiments, n = 1,000 per arm, p = 0.12 vs 0.10. Monte Carlo SE of the
    # coverage is sqrt(0.95·0.05/5000) = 0.0031, so ±1% is 3.2 SE.
    rng = np.random.default_rng(2024)
    sims, n = 5000, 1000
    c1, c0 = rng.binomial(n, 0.12, sims), rng.binomial(n, 0.10, sims)
    low, high = score_interval_diff(c1, n, c0, n, 0.05)
    coverage = np.mean((low <= 0.02) & (high >= 0.02))
    assert abs(coverage - 0.95) <= 0.01


def test_z_test_type_one_error_is_five_percent():
    # 15,000 A/A experiments, n = 1,000 per arm, p = 0.1: MC SE of the rejection rate is
    # sqrt(0.05·0.95/15000) = 0.0018, so ±0.6% is 3.4 SE. Identical count pairs give identical
    # p-values, so each distinct pair is tested once and weighted by its frequency.
    rng = np.random.default_rng(7)
    sims, n = 15_000, 1000
    pairs = Counter(zip(rng.binomial(n, 0.1, sims), rng.binomial(n, 0.1, sims), strict=True))
    rejected = 0
    for (ct, cc), k in pairs.items():
        test, _, p = two_proportion_test(ProportionStats("A", n, cc), ProportionStats("B", n, ct))
        assert test == "z"
        rejected += k * (p < 0.05)
    assert abs(rejected / sims - 0.05) <= 0.006


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_fisher_is_used_when_an_expected_count_is_small(alternative):
    control, treat = ProportionStats("A", 40, 1), ProportionStats("B", 40, 7)
    res = compare_proportions(control, treat, alternative=alternative)
    side = {"two-sided": "two-sided", "larger": "greater", "smaller": "less"}[alternative]
    ref = sps.fisher_exact([[7, 33], [1, 39]], alternative=side)
    assert res.test == "fisher"
    assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-9)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-9)
    assert any(w.code == Code.FISHER_EXACT and "Fisher" in w.message for w in res.warnings)


def test_zero_conversions_everywhere_is_a_warning_not_nan_soup():
    res = compare_proportions(ProportionStats("A", 500, 0), ProportionStats("B", 500, 0))
    assert res.test == "fisher" and res.pvalue == pytest.approx(1.0)
    assert res.estimate == 0 and res.ci_low < 0 < res.ci_high
    assert math.isnan(res.relative_lift)
    assert any(
        w.code == Code.LIFT_UNDEFINED and "relative lift is undefined" in w.message
        for w in res.warnings
    )


def test_cohens_h_matches_statsmodels():
    res = compare_proportions(ProportionStats("A", 1000, 120), ProportionStats("B", 1000, 160))
    assert res.effect_size == pytest.approx(proportion_effectsize(0.16, 0.12), rel=1e-12)


def test_relative_lift_delta_method_covers():
    # Delta-method interval for p_t/p_c − 1 (true lift 0.2 at 0.12 vs 0.10, n = 2,000).
    # 4,000 runs: SE of coverage 0.0034; the delta method is first order, so allow 1.5% (4.4 SE).
    rng = np.random.default_rng(99)
    sims, n, hits = 4000, 2000, 0
    crit = sps.norm.ppf(0.975)
    for ct, cc in zip(rng.binomial(n, 0.12, sims), rng.binomial(n, 0.10, sims), strict=True):
        control, treat = ProportionStats("A", n, int(cc)), ProportionStats("B", n, int(ct))
        _, low, high = relative_lift(control, treat, crit, "two-sided")
        hits += low <= 0.2 <= high
    assert abs(hits / sims - 0.95) <= 0.015


def test_relative_lift_is_reported_at_the_interval_level():
    res = compare_proportions(
        ProportionStats("A", 1000, 120), ProportionStats("B", 1000, 160), relative="delta"
    )
    lift, low, high = relative_lift(
        ProportionStats("A", 1000, 120),
        ProportionStats("B", 1000, 160),
        sps.norm.ppf(0.975),
        "two-sided",
    )
    # se² = se_t²/p_c² + p_t² se_c²/p_c⁴ (Deng et al. 2018, eq. 3) by hand:
    se = math.sqrt(0.16 * 0.84 / 1000 / 0.12**2 + 0.16**2 * 0.12 * 0.88 / 1000 / 0.12**4)
    assert (res.relative_lift, res.relative_ci_low, res.relative_ci_high) == pytest.approx(
        (1 / 3, 1 / 3 - sps.norm.ppf(0.975) * se, 1 / 3 + sps.norm.ppf(0.975) * se), rel=1e-9
    )
    assert (lift, low, high) == pytest.approx(
        (res.relative_lift, res.relative_ci_low, res.relative_ci_high)
    )


# --- means ---------------------------------------------------------------------------------


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_welch_matches_scipy_and_statsmodels(alternative):
    rng = np.random.default_rng(3)
    x_c, x_t = rng.normal(10, 3, 80), rng.normal(11, 5, 120)
    control, treat = _mean_stats("A", x_c), _mean_stats("B", x_t)
    res = compare_means(control, treat, alternative=alternative, alpha=0.1)
    alt = {"two-sided": "two-sided", "larger": "greater", "smaller": "less"}[alternative]
    ref = sps.ttest_ind_from_stats(
        treat.mean, treat.sd, treat.n, control.mean, control.sd, control.n,
        equal_var=False, alternative=alt,
    )  # fmt: skip
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-6)
    assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-6)
    cm = CompareMeans(DescrStatsW(x_t), DescrStatsW(x_c))
    low, high = cm.tconfint_diff(alpha=0.1, alternative=alternative, usevar="unequal")
    assert (res.ci_low, res.ci_high) == pytest.approx((low, high), rel=1e-6)
    pooled = math.sqrt((79 * x_c.var(ddof=1) + 119 * x_t.var(ddof=1)) / 198)
    assert res.effect_size == pytest.approx((x_t.mean() - x_c.mean()) / pooled, rel=1e-9)


@pytest.mark.slow
def test_welch_interval_covers_the_true_difference():
    # Normal data drawn as sufficient statistics (mean ~ N, (n−1)s²/σ² ~ χ²), 5,000 runs:
    # coverage SE 0.0031, ±1% is 3.2 SE. Unequal n and σ, where Welch matters.
    rng = np.random.default_rng(17)
    sims, (n1, s1), (n2, s2) = 5000, (30, 1.0), (60, 3.0)
    m1, m2 = rng.normal(5, s1 / math.sqrt(n1), sims), rng.normal(5.5, s2 / math.sqrt(n2), sims)
    v1 = s1**2 * rng.chisquare(n1 - 1, sims) / (n1 - 1)
    v2 = s2**2 * rng.chisquare(n2 - 1, sims) / (n2 - 1)
    hits = 0
    for a, b, va, vb in zip(m1, m2, v1, v2, strict=True):
        res = compare_means(
            MeanStats("A", n1, a, math.sqrt(va)), MeanStats("B", n2, b, math.sqrt(vb))
        )
        hits += res.ci_low <= 0.5 <= res.ci_high
    assert abs(hits / sims - 0.95) <= 0.01


def test_zero_variance_means_warn():
    res = compare_means(MeanStats("A", 10, 1.0, 0.0), MeanStats("B", 10, 2.0, 0.0))
    assert res.pvalue == 0.0 and math.isinf(res.statistic)
    assert any(w.code == Code.ZERO_VARIANCE and "zero variance" in w.message for w in res.warnings)


# --- several variants ----------------------------------------------------------------------


def _random_variants(rng: np.random.Generator, kind: str) -> list:
    k = int(rng.integers(3, 6))
    if kind == "proportion":
        n = rng.integers(800, 3000, k)
        p = 0.1 + rng.normal(0, 0.012, k)
        return [
            ProportionStats(f"V{i}", int(n[i]), int(rng.binomial(n[i], p[i]))) for i in range(k)
        ]
    n = rng.integers(50, 400, k)
    return [
        MeanStats(f"V{i}", int(n[i]), float(rng.normal(0, 0.25)), float(rng.uniform(1, 2)))
        for i in range(k)
    ]


@pytest.mark.parametrize("kind", ["proportion", "mean"])
def test_bonferroni_interval_never_contradicts_holm(kind):
    # Over 150 seeded experiments with 3-5 variants near the significance boundary: an
    # interval that excludes 0 always comes with a significant Holm-adjusted p-value.
    rng = np.random.default_rng(31 if kind == "proportion" else 32)
    excluded = 0
    for _ in range(150):
        variants = _random_variants(rng, kind)
        comps = compare_to_control(variants, "V0", alpha=0.05)
        m = len(comps)
        for c in comps:
            assert c.ci_level == pytest.approx(1 - 0.05 / m)
            if c.ci_low > 0 or c.ci_high < 0:
                excluded += 1
                assert c.significant
    assert excluded > 20  # the property was exercised, not vacuous


@pytest.mark.parametrize(
    "pvalues", [[0.01, 0.04, 0.03], [0.2, 0.001, 0.5, 0.04], [0.9], [0.02, 0.02, 0.6, 0.011]]
)
def test_holm_matches_statsmodels(pvalues):
    ref = multipletests(pvalues, alpha=0.05, method="holm")[1]
    assert holm_adjust(pvalues) == pytest.approx(ref, rel=1e-12)


def test_adjusted_pvalues_are_holm():
    variants = [ProportionStats("A", 2000, 200)] + [
        ProportionStats(f"V{i}", 2000, 200 + 12 * i) for i in range(1, 4)
    ]
    comps = compare_to_control(variants, "A")
    ref = multipletests([c.pvalue for c in comps], method="holm")[1]
    assert [c.pvalue_adjusted for c in comps] == pytest.approx(ref, rel=1e-12)
    assert [c.significant for c in comps] == [bool(p < 0.05) for p in ref]


def test_one_sided_intervals_are_one_sided():
    variants = [ProportionStats("A", 1000, 100), ProportionStats("B", 1000, 130)]
    (c,) = compare_to_control(variants, "A", alternative="larger")
    assert math.isinf(c.ci_high) and c.ci_low > 0 and c.significant


# --- non-inferiority -----------------------------------------------------------------------


@pytest.mark.parametrize("direction", ["higher", "lower"])
def test_noninferiority_for_means_matches_statsmodels(direction):
    rng = np.random.default_rng(8)
    x_c, x_t = rng.normal(10, 2, 300), rng.normal(9.9, 2.5, 250)
    res = noninferiority(
        _mean_stats("A", x_c), _mean_stats("B", x_t), margin=0.5, direction=direction
    )
    value, alt = (-0.5, "larger") if direction == "higher" else (0.5, "smaller")
    stat, p, _ = ttest_ind(x_t, x_c, usevar="unequal", value=value, alternative=alt)
    assert res.statistic == pytest.approx(stat, rel=1e-6)
    assert res.pvalue == pytest.approx(p, rel=1e-6)
    assert res.holds == (p < 0.05)


def test_noninferiority_for_proportions_uses_the_score_test_at_the_margin():
    control, treat = ProportionStats("A", 5000, 600), ProportionStats("B", 5000, 585)
    res = noninferiority(control, treat, margin=0.02, direction="higher", alpha=0.05)
    ref_z = _mle_score_z(585, 5000, 600, 5000, -0.02)
    assert res.statistic == pytest.approx(ref_z, rel=1e-7)
    assert res.pvalue == pytest.approx(sps.norm.sf(ref_z), rel=1e-7)
    assert res.holds and not res.worse and res.ci_low > -0.02
    worse = noninferiority(control, ProportionStats("B", 5000, 400), margin=0.02)
    assert worse.worse and not worse.holds and worse.ci_high < -0.02


# --- SRM and per-variant estimates ---------------------------------------------------------


def test_srm_matches_chi_square_reference():
    # R: chisq.test(c(5000, 5200))  ->  X-squared = 3.9216, df = 1, p-value = 0.04767
    srm = sample_ratio_mismatch([ProportionStats("A", 5000, 1), ProportionStats("B", 5200, 1)])
    assert srm.statistic == pytest.approx(3.921569, rel=1e-6)
    assert srm.pvalue == pytest.approx(0.04767, rel=1e-3)
    assert not srm.flagged and "no sign" in srm.explanation


def test_srm_flags_a_broken_split_and_honours_the_plan():
    variants = [ProportionStats("A", 5000, 1), ProportionStats("B", 5400, 1)]
    srm = sample_ratio_mismatch(variants)
    assert srm.flagged and srm.pvalue < 0.001 and "re-run" in srm.explanation
    assert srm.expected == pytest.approx((5200.0, 5200.0))
    planned = sample_ratio_mismatch(
        [ProportionStats("A", 3400, 1), ProportionStats("B", 6600, 1)], planned_split=[1, 2]
    )
    assert not planned.flagged
    assert planned.pvalue == pytest.approx(
        sps.chisquare([3400, 6600], [10000 / 3, 20000 / 3]).pvalue
    )


def test_variant_estimates_match_statsmodels_and_scipy():
    est = variant_estimate(ProportionStats("A", 1000, 120), alpha=0.05)
    assert (est.ci_low, est.ci_high) == pytest.approx(
        proportion_confint(120, 1000, method="wilson"), rel=1e-9
    )
    m = variant_estimate(MeanStats("B", 25, 4.0, 2.0), alpha=0.05)
    half = sps.t.ppf(0.975, 24) * 2.0 / 5.0
    assert (m.ci_low, m.ci_high) == pytest.approx((4.0 - half, 4.0 + half), rel=1e-12)


def test_variant_without_users_has_no_interval_and_no_numpy_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # statsmodels' Wilson interval divides by zero at n = 0
        est = variant_estimate(ProportionStats("A", 0, 0))
    assert est.n == 0 and math.isnan(est.ci_low) and math.isnan(est.ci_high)


# --- invalid input -------------------------------------------------------------------------

P = [ProportionStats("A", 1000, 100), ProportionStats("B", 1000, 120)]
M = [MeanStats("A", 100, 1.0, 1.0), MeanStats("B", 100, 1.1, 1.0)]


@pytest.mark.parametrize(
    ("call", "prefix"),
    [
        (lambda: compare_proportions(P[0], P[1], alpha=0.7), "alpha must be in (0, 0.5]"),
        (lambda: compare_proportions(P[0], P[1], alternative="both"), "alternative must be"),
        (lambda: compare_proportions(P[0], P[1], interval="exact"), "interval must be one of"),
        (
            lambda: compare_proportions(ProportionStats("A", 0, 0), P[1]),
            "control.users must be >= 1",
        ),
        (lambda: compare_means(MeanStats("A", 1, 1.0, 0.0), M[1]), "control.n must be >= 2"),
        (lambda: compare_to_control(P, "Z"), "control must be one of A, B, got 'Z'"),
        (lambda: compare_to_control(P[:1], "A"), "variants must hold at least 2"),
        (lambda: compare_to_control([P[0], M[1]], "A"), "variants must all be"),
        (lambda: noninferiority(P[0], P[1], margin=-0.1), "margin must be >= 0"),
        (lambda: noninferiority(P[0], P[1], margin=1.0), "margin must be < 1"),
        (lambda: noninferiority(P[0], P[1], margin=0.1, direction="up"), "direction must be"),
        (lambda: noninferiority(P[0], M[1], margin=0.1), "control and treatment must both"),
        (lambda: sample_ratio_mismatch(P, planned_split=[1]), "planned_split must hold"),
        (lambda: sample_ratio_mismatch(P, planned_split=[1, -1]), "planned_split must hold"),
    ],
)
def test_invalid_input_names_the_parameter(call, prefix):
    with pytest.raises(ValueError) as err:
        call()
    assert str(err.value).startswith(prefix)
