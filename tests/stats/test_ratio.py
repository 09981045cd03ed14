"""Ratio metrics: the delta-method variance of a ratio of means with the numerator–denominator
covariance, against the closed form, a seeded bootstrap and the type I error of its z-test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from stats.abtest import analyze
from stats.comparisons import compare_ratios, noninferiority
from stats.errors import InvalidInput
from stats.sufficient import RatioStats, ratio_variants


def _users(rng: np.random.Generator, n: int, orders: float, spend: float):
    """Per-user orders (Poisson) and revenue (a sum of lognormal order values)."""
    y = rng.poisson(orders, n).astype(float)
    x = np.array([rng.lognormal(math.log(spend), 0.6, int(k)).sum() for k in y])
    return x, y


def _stats(name: str, x: np.ndarray, y: np.ndarray) -> RatioStats:
    return RatioStats.from_sums(name, x.size, x.sum(), y.sum(), x @ x, y @ y, x @ y)


def test_from_sums_are_the_sample_moments():
    rng = np.random.default_rng(1)
    x, y = _users(rng, 500, 2.0, 30.0)
    s = _stats("A", x, y)
    assert s.numerator_mean == pytest.approx(x.mean(), rel=1e-12)
    assert s.denominator_sd == pytest.approx(y.std(ddof=1), rel=1e-10)
    assert s.covariance == pytest.approx(np.cov(x, y)[0, 1], rel=1e-10)


def test_delta_variance_is_the_closed_form():
    """Var(x̄/ȳ) ≈ Var(x̄)/μy² − 2μx Cov(x̄,ȳ)/μy³ + μx² Var(ȳ)/μy⁴ (Deng, Knoblich & Lu 2018,
    eq. 4), term by term from numpy's covariance matrix."""
    rng = np.random.default_rng(2)
    x, y = _users(rng, 800, 1.5, 20.0)
    s = _stats("A", x, y)
    c = np.cov(x, y) / x.size
    mx, my = x.mean(), y.mean()
    want = c[0, 0] / my**2 - 2 * mx * c[0, 1] / my**3 + mx**2 * c[1, 1] / my**4
    assert s.se**2 == pytest.approx(want, rel=1e-10)
    assert s.mean == pytest.approx(x.sum() / y.sum(), rel=1e-12)


def test_delta_se_agrees_with_a_seeded_bootstrap():
    """2,000 bootstrap resamples of 2,000 users: the bootstrap SD of the ratio estimates the
    same SE with relative error about 1/sqrt(2B) = 1.6%; allow 4 of those plus 2% for the
    delta method's first-order approximation."""
    rng = np.random.default_rng(3)
    x, y = _users(rng, 2000, 1.2, 25.0)
    s = _stats("A", x, y)
    reps = 2000
    idx = rng.integers(0, x.size, (reps, x.size))
    boot = x[idx].sum(axis=1) / y[idx].sum(axis=1)
    sd = boot.std(ddof=1)
    assert s.se == pytest.approx(sd, rel=4 / math.sqrt(2 * reps) + 0.02)


def test_ratio_comparison_is_the_z_test_of_the_difference_of_ratios():
    a = RatioStats("A", 1000, 20.0, 2.0, 15.0, 1.2, 10.0)
    b = RatioStats("B", 1200, 22.0, 2.1, 16.0, 1.3, 11.0)
    res = compare_ratios(a, b)
    se = math.sqrt(a.var / 1000 + b.var / 1200)
    z = (b.mean - a.mean) / se
    assert res.statistic == pytest.approx(z, rel=1e-12)
    assert res.pvalue == pytest.approx(2 * sps.norm.sf(abs(z)), rel=1e-10)
    crit = sps.norm.ppf(0.975)
    assert (res.ci_low, res.ci_high) == pytest.approx(
        (b.mean - a.mean - crit * se, b.mean - a.mean + crit * se), rel=1e-12
    )
    assert res.relative_method == "fieller"
    assert (res.relative_ci_low > 0) == (res.pvalue < 0.05)


def test_ratio_z_test_holds_its_type_one_error():
    """Equal true ratios (same order rate and order value): 2,000 seeded experiments of 400
    users per arm; the rejection rate is 5% within 3 Monte Carlo SE (0.0146)."""
    rng = np.random.default_rng(4)
    sims, n = 2000, 400
    rejections = 0
    for _ in range(sims):
        # Orders Poisson(1.5); order values normal(30, 10) summed per user: exact moments.
        ya, yb = rng.poisson(1.5, n).astype(float), rng.poisson(1.5, n).astype(float)
        xa = 30 * ya + 10 * np.sqrt(ya) * rng.standard_normal(n)
        xb = 30 * yb + 10 * np.sqrt(yb) * rng.standard_normal(n)
        rejections += compare_ratios(_stats("A", xa, ya), _stats("B", xb, yb)).pvalue < 0.05
    assert abs(rejections / sims - 0.05) <= 3 * math.sqrt(0.05 * 0.95 / sims)


def test_analyze_takes_ratio_metrics_and_guardrails():
    a = RatioStats("A", 1000, 20.0, 2.0, 15.0, 1.2, 10.0)
    b = RatioStats("B", 1000, 22.0, 2.0, 16.0, 1.2, 11.0)
    result = analyze([a, b], control="A")
    assert result.kind == "ratio" and result.verdict == "ship"
    assert result.variants[0].estimate == pytest.approx(10.0)
    ni = noninferiority(a, b, margin=0.5)
    assert ni.holds and ni.ci_low > -0.5


def test_invalid_ratio_inputs_name_the_field():
    good = {
        "name": "A",
        "users": 10,
        "numerator_mean": 5.0,
        "denominator_mean": 1.0,
        "numerator_sd": 2.0,
        "denominator_sd": 1.0,
        "covariance": 1.0,
    }
    for key, value in (("denominator_mean", 0.0), ("covariance", 3.0), ("numerator_sd", -1.0)):
        with pytest.raises(InvalidInput) as err:
            ratio_variants([good, {**good, "name": "B", key: value}])
        assert err.value.field == f"variants[1].{key}"


def test_bayesian_ratio_posterior_is_the_normal_approximation():
    """P(B > A) for independent normal posteriors N(R, se²) is Φ(ΔR / sqrt(se_A² + se_B²))
    (closed form); the engine integrates it numerically on a grid (to about 1e-5)."""
    from stats.bayes.engine import analyze_bayesian
    from stats.bayes.models import normal_ratio_posterior

    a = RatioStats("A", 1000, 60.0, 2.0, 45.0, 1.2, 40.0)
    b = RatioStats("B", 1000, 61.0, 2.0, 46.0, 1.2, 41.0)
    post = normal_ratio_posterior(a)
    assert post.interval(0.95) == pytest.approx(
        (a.mean - sps.norm.ppf(0.975) * a.se, a.mean + sps.norm.ppf(0.975) * a.se), rel=1e-12
    )
    result = analyze_bayesian("ratio", [a, b], control="A", threshold=0.1, seed=1)
    want = sps.norm.cdf((b.mean - a.mean) / math.hypot(a.se, b.se))
    assert result.comparisons[0].prob_better == pytest.approx(want, abs=1e-4)
