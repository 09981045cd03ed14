"""Conjugate posteriors: parameters, closed forms against scipy.stats, draws, calibration."""

import numpy as np
import pytest
from scipy import stats as st

from stats.bayes.models import (
    BetaPosterior,
    GammaPosterior,
    StudentTPosterior,
    beta_binomial_posterior,
    gamma_poisson_posterior,
    normal_mean_posterior,
    revenue_posterior,
    revenue_stats,
)

X = np.array([0.05, 0.1, 0.13, 0.2])
Q = np.array([1e-6, 0.025, 0.5, 0.975])


def test_beta_binomial_update():
    # BDA3 §2.4: Beta(a, b) prior, c of n -> Beta(a + c, b + n - c)
    assert beta_binomial_posterior(1000, 100) == BetaPosterior(101.0, 901.0)
    assert beta_binomial_posterior(10, 0, 0.5, 2.0) == BetaPosterior(0.5, 12.0)


@pytest.mark.parametrize(
    ("post", "ref"),
    [
        (BetaPosterior(101.0, 901.0), st.beta(101, 901)),
        (BetaPosterior(0.5, 12.0), st.beta(0.5, 12)),
        (StudentTPosterior(9.0, 0.12, 0.02), st.t(9, loc=0.12, scale=0.02)),
        (GammaPosterior(300.5, 500.0), st.gamma(300.5, scale=1 / 500)),
    ],
)
def test_closed_forms_match_scipy_stats(post, ref):
    assert post.mean == pytest.approx(ref.mean(), rel=1e-12)
    np.testing.assert_allclose(post.cdf(X), ref.cdf(X), rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(post.ppf(Q), ref.ppf(Q), rtol=1e-9)
    np.testing.assert_allclose(post.pdf(X), ref.pdf(X), rtol=1e-9, atol=1e-300)
    assert post.interval(0.9) == pytest.approx(ref.interval(0.9), rel=1e-9)


@pytest.mark.parametrize(
    "post",
    [BetaPosterior(101.0, 901.0), StudentTPosterior(30.0, 5.0, 0.3), GammaPosterior(40.0, 80.0)],
)
def test_draws_match_mean_and_variance(post):
    # 200,000 draws: sample mean within 5 standard errors sd/sqrt(n); the sample
    # variance within 5 of its own standard errors, sqrt((m4 - sd^4)/n) ~ sd^2 sqrt(2/n)
    # for near-normal shapes (here widened to sqrt(3/n) for the t's heavier tails).
    n = 200_000
    x = post.draws(np.random.default_rng(7), n)
    ref_var = {
        BetaPosterior: lambda p: st.beta(p.alpha, p.beta).var(),
        StudentTPosterior: lambda p: st.t(p.df, p.loc, p.scale).var(),
        GammaPosterior: lambda p: st.gamma(p.shape, scale=1 / p.rate).var(),
    }[type(post)](post)
    sd = np.sqrt(ref_var)
    assert abs(x.mean() - post.mean) < 5 * sd / np.sqrt(n)
    assert abs(x.var() - ref_var) < 5 * ref_var * np.sqrt(3 / n)


def test_beta_credible_interval_is_calibrated_under_its_prior():
    # With p ~ Beta(1, 1) and data ~ Binomial(n, p), P(p in the 95% credible interval) = 0.95
    # exactly (averaged over the prior). 20,000 replicates: SE sqrt(.95 * .05 / 20000) =
    # 0.0015; tolerance 4 SE.
    rng = np.random.default_rng(11)
    reps, n = 20_000, 50
    p = rng.beta(1, 1, reps)
    c = rng.binomial(n, p)
    post = BetaPosterior(1.0 + c, 1.0 + n - c)
    lo, hi = post.ppf(0.025), post.ppf(0.975)
    assert abs(np.mean((lo <= p) & (p <= hi)) - 0.95) < 4 * 0.0015


def test_t_interval_has_frequentist_coverage_for_normal_data():
    # The reference-prior t interval is the classical t interval: exact 95% coverage for
    # normal data. 20,000 replicates of n = 8; tolerance 4 SE = 0.006.
    rng = np.random.default_rng(12)
    reps, n = 20_000, 8
    x = rng.normal(3.0, 2.0, (reps, n))
    post = StudentTPosterior(n - 1.0, x.mean(axis=1), x.std(axis=1, ddof=1) / np.sqrt(n))
    lo, hi = post.ppf(0.025), post.ppf(0.975)
    assert abs(np.mean((lo <= 3.0) & (hi >= 3.0)) - 0.95) < 0.006


def test_normal_mean_posterior_is_the_t_of_bda_3_2():
    post = normal_mean_posterior(25, 10.0, 5.0)
    assert (post.df, post.loc, post.scale) == (24.0, 10.0, 1.0)


def test_gamma_poisson_update_and_coverage():
    assert gamma_poisson_posterior(500, 300) == GammaPosterior(300.5, 500.0)
    assert gamma_poisson_posterior(10, 4, 2.0, 1.0) == GammaPosterior(6.0, 11.0)
    # Jeffreys-prior Gamma intervals have close to nominal frequentist coverage for a
    # Poisson rate (Brown, Cai & DasGupta 2003 discuss the Jeffreys Poisson interval):
    # 20,000 replicates, rate 0.3 per user, 200 users; allow 0.94-0.96.
    rng = np.random.default_rng(13)
    totals = rng.poisson(0.3 * 200, 20_000)
    post = GammaPosterior(0.5 + totals, 200.0)
    lo, hi = post.ppf(0.025), post.ppf(0.975)
    assert 0.94 < np.mean((lo <= 0.3) & (hi >= 0.3)) < 0.96


def test_revenue_stats_and_posterior_concentrate_on_the_truth():
    amounts = [0, 0, 10.0, 0, 20.0, 40.0]
    s = revenue_stats(amounts)
    logs = np.log([10.0, 20.0, 40.0])
    assert (s.users, s.buyers) == (6, 3)
    assert s.log_mean == pytest.approx(logs.mean())
    assert s.log_sd == pytest.approx(logs.std(ddof=1))
    # Large sample: the posterior of p * exp(mu + sigma^2 / 2) concentrates on the true mean
    # revenue per user, 0.1 * exp(3 + 0.5) = 3.3115; with 200,000 users its posterior sd is
    # about 1.5% of that, so the posterior median must be within 6% and the 95% interval
    # must contain the truth (true parameters, seeded data).
    rng = np.random.default_rng(14)
    n = 200_000
    amt = np.where(rng.random(n) < 0.1, rng.lognormal(3.0, 1.0, n), 0.0)
    x = revenue_posterior(revenue_stats(amt)).draws(np.random.default_rng(15), 50_000)
    truth = 0.1 * np.exp(3.5)
    assert np.median(x) == pytest.approx(truth, rel=0.06)
    lo, hi = np.quantile(x, [0.025, 0.975])
    assert lo < truth < hi


def test_revenue_with_a_single_price_is_a_scaled_beta():
    # All buyers pay 9.99: sigma^2 = 0, so revenue per user = 9.99 * p exactly.
    amt = [9.99] * 40 + [0.0] * 60
    x = revenue_posterior(revenue_stats(amt)).draws(np.random.default_rng(1), 10_000)
    y = 9.99 * BetaPosterior(41.0, 61.0).draws(np.random.default_rng(1), 10_000)
    np.testing.assert_allclose(x, y, rtol=1e-12)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: beta_binomial_posterior(-1, 0), "users must be a whole number >= 0"),
        (lambda: beta_binomial_posterior(10, -1), "conversions must be a whole number >= 0"),
        (lambda: beta_binomial_posterior(10, 11), r"conversions must be <= users \(10\)"),
        (lambda: beta_binomial_posterior(10, 1, 0.0), "prior.alpha must be > 0"),
        (lambda: beta_binomial_posterior(10, 1, 1.0, -2), "prior.beta must be > 0"),
        (lambda: normal_mean_posterior(1, 0.0, 1.0), "users must be a whole number >= 2"),
        (lambda: normal_mean_posterior(5, float("nan"), 1.0), "mean must be a finite number"),
        (lambda: normal_mean_posterior(5, 0.0, -1.0), "sd must be >= 0"),
        (lambda: gamma_poisson_posterior(0, 1), "users must be a whole number >= 1"),
        (lambda: gamma_poisson_posterior(5, -1), "total must be a whole number >= 0"),
        (lambda: gamma_poisson_posterior(5, 1, 0.0), "prior.shape must be > 0"),
        (lambda: gamma_poisson_posterior(5, 1, 1.0, -1.0), "prior.rate must be >= 0"),
        (lambda: revenue_stats([1.0, -2.0, 3.0]), "amounts must be a non-empty list"),
        (lambda: revenue_stats([]), "amounts must be a non-empty list"),
        (lambda: revenue_stats([0.0, 5.0]), "amounts must contain at least 2 positive"),
    ],
)
def test_invalid_input_names_the_field(call, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        call()


def test_revenue_overflow_probability_matches_simulated_sigma2():
    # P(σ²/2 > log(max float) − ȳ) with σ² = (k − 1)s²/χ²_{k−1}: a seeded simulation of the
    # χ² draw. p ≈ 0.06 here; with 200,000 draws the standard error is 0.00053, so 5 SE < 0.003.
    post = revenue_posterior(revenue_stats([0.0, 0.01, 1e6, 5.0]))
    dof = post.buyers - 1
    chi2 = np.random.default_rng(21).chisquare(dof, 200_000)
    sigma2 = dof * post.log_sd**2 / chi2
    simulated = np.mean(sigma2 / 2 > np.log(np.finfo(float).max) - post.log_mean)
    assert post.overflow_probability() == pytest.approx(simulated, abs=0.003)
    # Thirty buyers with an ordinary spread never overflow.
    many = revenue_posterior(revenue_stats(np.exp(np.linspace(1.0, 5.0, 30))))
    assert many.overflow_probability() < 1e-30
