"""Several metrics at once in the Bayesian engine: joint draws, lower-is-better, the composite
score and the informative normal prior on the effect.

References: the product of exact marginals (independent metrics); the bivariate normal orthant
probability of scipy ``multivariate_normal.cdf`` (correlated normal metrics); the
normal–normal conjugate posterior checked against numerical integration of prior × likelihood
(scipy ``integrate.quad``); direct Monte Carlo from scipy's distributions for the composite
and for lower-is-better losses. Monte Carlo tolerances are 4 standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as st

from stats.bayes.decision import prob_beta_greater
from stats.bayes.engine import analyze_bayesian, guardrail_specs, variant_stats
from stats.bayes.joint import EffectPrior, normal_update
from stats.errors import InvalidInput

AB = variant_stats(
    "proportion",
    [
        {"name": "A", "users": 1000, "conversions": 100},
        {"name": "B", "users": 1000, "conversions": 120},
    ],
)
N = 5_000  # users per variant of the mean metrics (Student-t posteriors with df 4,999: ~normal)


def means(*rows: tuple[str, float, float]) -> tuple:
    return variant_stats("mean", [{"name": n, "users": N, "mean": m, "sd": s} for n, m, s in rows])


def guard(name: str, rows: list[tuple[str, float, float]], tolerance: float, higher: bool) -> list:
    return list(
        guardrail_specs(
            [
                {
                    "name": name,
                    "metric": "mean",
                    "tolerance": tolerance,
                    "higher_is_better": higher,
                    "variants": [{"name": n, "users": N, "mean": m, "sd": s} for n, m, s in rows],
                }
            ]
        )
    )


def mc_tol(p: float, n: int) -> float:
    return 4 * math.sqrt(max(p * (1 - p), 1e-6) / n)


def test_independent_metrics_give_the_product_of_exact_marginals():
    g = guard("latency", [("A", 300, 40), ("B", 301, 40)], 1.0, higher=False)
    r = analyze_bayesian("proportion", AB, control="A", threshold=0.001, guardrails=g, seed=1)
    (c,), (j,), (risk,) = r.comparisons, r.joint, r.guardrails
    exact = prob_beta_greater(121, 881, 101, 901) * (1 - risk.prob_degrade)
    assert c.prob_better_and_safe == pytest.approx(exact, abs=mc_tol(exact, 100_000))
    assert j.prob_independent == pytest.approx(exact, abs=mc_tol(exact, 100_000))
    assert r.dependence == "independent"


@pytest.mark.parametrize("rho", [0.7, -0.5])
def test_correlated_normal_metrics_match_the_bivariate_orthant(rho):
    # Primary: revenue per user (higher better), guardrail: cost per user (lower better, 0.5
    # tolerated), measured on the same users with per-user correlation rho. Per variant the
    # means are bivariate normal with covariance rho·s1·s2/n, so the lifts D1, D2 are too, and
    # P(D1 > 0, D2 <= 0.5) is an orthant probability of N(mu, Sigma).
    s1, s2 = 20.0, 10.0
    primary = means(("A", 50.0, s1), ("B", 50.6, s1))
    g = guard("cost", [("A", 30.0, s2), ("B", 30.5, s2)], 0.5, higher=False)
    corr = [[1.0, rho], [rho, 1.0]]
    draws = 400_000
    r = analyze_bayesian(
        "mean",
        primary,
        control="A",
        threshold=0.01,
        guardrails=g,
        correlation=corr,
        draws=draws,
        seed=3,
    )
    var1, var2, cov = 2 * s1**2 / N, 2 * s2**2 / N, 2 * rho * s1 * s2 / N
    # P(D1 > 0, D2 <= 0.5) = P(-D1 < 0, D2 <= 0.5) with -D1 ~ N(-0.6, var1)
    ref = st.multivariate_normal(mean=[-0.6, 0.5], cov=[[var1, -cov], [-cov, var2]]).cdf([0.0, 0.5])
    (j,) = r.joint
    assert j.prob_win_and_safe == pytest.approx(ref, abs=mc_tol(ref, draws))
    assert r.comparisons[0].prob_better_and_safe == j.prob_win_and_safe
    assert r.dependence == "correlated"
    # the product of marginals is off by far more than the Monte Carlo error
    assert abs(j.prob_independent - ref) > 5 * mc_tol(ref, draws)


def test_lower_is_better_swaps_the_two_arm_losses():
    # Two Beta arms, lower better (e.g. a bounce rate): P(B better) = P(B < A) = 1 - Miller's
    # P(B > A); the loss of choosing B is E[max(B - A, 0)], here by direct Monte Carlo.
    r = analyze_bayesian("proportion", AB, control="A", threshold=0.001, higher_is_better=False)
    assert r.comparisons[0].prob_better == pytest.approx(1 - prob_beta_greater(121, 881, 101, 901))
    rng = np.random.default_rng(9)
    a, b = rng.beta(101, 901, 1_000_000), rng.beta(121, 881, 1_000_000)
    loss_b, loss_a = np.maximum(b - a, 0).mean(), np.maximum(a - b, 0).mean()
    assert r.variants[1].expected_loss == pytest.approx(loss_b, rel=0.01)
    assert r.variants[0].expected_loss == pytest.approx(loss_a, rel=0.02)
    assert r.variants[0].prob_best == pytest.approx((a < b).mean(), abs=2e-3)
    assert r.best == "A"


def test_lower_is_better_with_three_arms_uses_draws():
    abc = variant_stats(
        "proportion",
        [
            {"name": "A", "users": 2000, "conversions": 200},
            {"name": "B", "users": 2000, "conversions": 170},
            {"name": "C", "users": 2000, "conversions": 230},
        ],
    )
    r = analyze_bayesian(
        "proportion", abc, control="A", threshold=0.0001, higher_is_better=False, seed=2
    )
    rng = np.random.default_rng(10)
    d = np.vstack([rng.beta(1 + k, 1 + 2000 - k, 400_000) for k in (200, 170, 230)])
    best = (d == d.min(axis=0)).mean(axis=1)
    for v, p in zip(r.variants, best, strict=True):
        assert v.prob_best == pytest.approx(p, abs=mc_tol(p, 100_000) + mc_tol(p, 400_000))
    assert r.best == "B"


@pytest.mark.parametrize(
    ("prior_mean", "prior_sd", "data_mean", "data_sd"),
    [(0.0, 0.01, 0.02, 0.013), (0.5, 2.0, -1.0, 0.7), (0.0, 1e-3, 0.4, 0.2)],
)
def test_normal_update_is_the_conjugate_posterior(prior_mean, prior_sd, data_mean, data_sd):
    # Posterior ∝ N(d; mu0, s0) · N(m; d, s), integrated numerically.
    lo = min(prior_mean - 12 * prior_sd, data_mean - 12 * data_sd)
    hi = max(prior_mean + 12 * prior_sd, data_mean + 12 * data_sd)

    def post(d: float) -> float:
        return st.norm.pdf(d, prior_mean, prior_sd) * st.norm.pdf(data_mean, d, data_sd)

    pts = [prior_mean, data_mean]
    z = integrate.quad(post, lo, hi, points=pts, limit=200)[0]
    mean = integrate.quad(lambda d: d * post(d), lo, hi, points=pts, limit=200)[0] / z
    var = integrate.quad(lambda d: (d - mean) ** 2 * post(d), lo, hi, points=pts, limit=200)[0] / z
    m, s, w = normal_update(prior_mean, prior_sd, data_mean, data_sd)
    assert m == pytest.approx(mean, rel=1e-6, abs=1e-9)
    assert s == pytest.approx(math.sqrt(var), rel=1e-6)
    assert w == pytest.approx(data_sd**2 / (data_sd**2 + prior_sd**2))


def test_effect_prior_moves_the_lift_to_its_conjugate_posterior():
    primary = means(("A", 10.0, 5.0), ("B", 10.3, 5.0))
    prior = EffectPrior(0.0, 0.1)
    r = analyze_bayesian(
        "mean", primary, control="A", threshold=0.01, effect_prior=prior, seed=4, draws=200_000
    )
    (inf,) = r.prior_influence
    # data: B − A of two t posteriors, scale 5/√N each, df N − 1
    sd = math.sqrt(2 * 25 / N * (N - 1) / (N - 3))
    assert inf.data_mean == pytest.approx(0.3, abs=4 * sd / math.sqrt(200_000))
    assert inf.data_sd == pytest.approx(sd, rel=0.01)
    mean, post_sd, _ = normal_update(0.0, 0.1, 0.3, sd)
    assert inf.posterior_mean == pytest.approx(mean, abs=0.002)
    assert inf.posterior_sd == pytest.approx(post_sd, rel=0.01)
    c = r.comparisons[0]
    assert c.lift_mean == pytest.approx(mean, abs=0.002)
    assert c.prob_better == pytest.approx(st.norm.sf(0, mean, post_sd), abs=0.005)
    assert 0.3 < inf.prior_weight < 0.7  # the prior matters here
    # the chart's densities: each integrates to 1 over the shared grid (±4 sd of each)
    for pdf in (inf.prior_pdf, inf.data_pdf, inf.posterior_pdf):
        assert np.trapezoid(pdf, inf.grid) == pytest.approx(1.0, abs=1e-3)


def test_extreme_prior_scales_neither_overflow_nor_fail():
    primary = means(("A", 10.0, 5.0), ("B", 10.3, 5.0))
    for sd in (1e-300, 5e-324, 1e100):
        r = analyze_bayesian(
            "mean", primary, control="A", threshold=0.01, effect_prior=EffectPrior(0.0, sd)
        )
        (inf,) = r.prior_influence
        assert math.isfinite(inf.posterior_mean) and math.isfinite(inf.posterior_sd)
        assert 0.0 <= inf.prior_weight <= 1.0


def test_composite_score_against_direct_monte_carlo():
    # Primary conversion (weight 1) and a lower-is-better latency guardrail (weight 0.5):
    # composite = rel(conversion) - 0.5 rel(latency), per draw.
    g = guard("latency", [("A", 300, 40), ("B", 297, 40)], 5.0, higher=False)
    r = analyze_bayesian(
        "proportion", AB, control="A", threshold=0.001, guardrails=g, weights=[1.0, 0.5], seed=5
    )
    (j,) = r.joint
    rng = np.random.default_rng(12)
    n = 400_000
    ca, cb = rng.beta(101, 901, n), rng.beta(121, 881, n)
    scale = 40 / math.sqrt(N)
    la = 300 + scale * st.t.rvs(N - 1, size=n, random_state=rng)
    lb = 297 + scale * st.t.rvs(N - 1, size=n, random_state=rng)
    score = (cb / ca - 1) - 0.5 * (lb / la - 1)
    assert j.composite_mean == pytest.approx(score.mean(), abs=4 * score.std() / math.sqrt(100_000))
    p = (score > 0).mean()
    assert j.composite_prob_positive == pytest.approx(p, abs=mc_tol(p, 100_000) + mc_tol(p, n))
    assert j.composite_low < j.composite_mean < j.composite_high


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"correlation": [[1.0, 0.5]]}, "correlation"),
        ({"correlation": [[1.0, 1.5], [1.5, 1.0]]}, "correlation"),
        ({"correlation": [[1.0, 0.2], [0.3, 1.0]]}, "correlation"),
        ({"weights": [1.0]}, "weights"),
        ({"weights": [0.0, 0.0]}, "weights"),
        ({"effect_prior": EffectPrior(0.0, 0.0)}, "effect_prior.sd"),
        ({"higher_is_better": "no"}, "higher_is_better"),
    ],
)
def test_invalid_options_name_their_field(kwargs, field):
    g = guard("latency", [("A", 300, 40), ("B", 297, 40)], 5.0, higher=False)
    with pytest.raises(InvalidInput) as err:
        analyze_bayesian("proportion", AB, control="A", threshold=0.001, guardrails=g, **kwargs)
    assert err.value.field == field


def test_three_metrics_correlation_must_be_positive_semi_definite():
    g = guard("a", [("A", 1, 1), ("B", 1, 1)], 0.1, True) + guard(
        "b", [("A", 1, 1), ("B", 1, 1)], 0.1, True
    )
    bad = [[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]]
    with pytest.raises(InvalidInput, match="semi-definite"):
        analyze_bayesian(
            "proportion", AB, control="A", threshold=0.001, guardrails=g, correlation=bad
        )


def test_copula_quantile_table_matches_the_exact_quantile_function():
    # The copula reads each posterior's quantile function from a table on normal scores
    # (exact beyond |z| > 4): within 1e-5 of the posterior's 95% spread of scipy's inverse CDF.
    from scipy import special

    from stats.bayes.joint import from_scores
    from stats.bayes.models import (
        beta_binomial_posterior,
        gamma_poisson_posterior,
        normal_mean_posterior,
    )

    z = np.random.default_rng(1).standard_normal(400_000) * 1.3
    for post in (
        beta_binomial_posterior(1000, 100, 1, 1),
        beta_binomial_posterior(50, 1, 1, 1),
        beta_binomial_posterior(100_000, 3, 1, 1),
        normal_mean_posterior(6, 5.0, 2.0),
        normal_mean_posterior(5_000, 5.0, 2.0),
        gamma_poisson_posterior(100, 3, 0.5, 0.0),
        gamma_poisson_posterior(100, 0, 0.5, 0.0),
    ):
        exact = post.ppf(special.ndtr(z))
        lo, hi = post.ppf(np.array([0.025, 0.975]))
        assert np.max(np.abs(from_scores(post, z) - exact)) < 1e-5 * (hi - lo), post
