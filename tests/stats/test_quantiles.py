"""Quantile differences: order-statistic ranks, standard errors, coverage, the bootstrap.

References: the binomial definition of the distribution-free interval (scipy ``binom.pmf``
summed directly) and the textbook ranks (x_(6), x_(15)) of the 95% interval for the median of
20 values (Conover 1999, *Practical Nonparametric Statistics*, Table A3: coverage 95.86%); the
asymptotic variance of a sample quantile, ``p(1 − p) / (n f(ξ_p)²)`` (Serfling 1980, §2.3),
with the log-normal density in closed form; and seeded coverage simulations on log-normal
arms with tolerances from their Monte Carlo standard error.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from stats.errors import InvalidInput
from stats.quantiles import (
    MAX_BOOTSTRAP_WORK,
    arm_quantile,
    order_statistic_ranks,
    quantile_differences,
)
from stats.warnings import Code


def test_median_of_20_has_the_textbook_ranks():
    low, high, coverage = order_statistic_ranks(20, 0.5)
    assert (low, high) == (6, 15)
    assert coverage == pytest.approx(0.9586, abs=5e-5)


@pytest.mark.parametrize(("n", "p"), [(50, 0.9), (137, 0.5), (1000, 0.99), (31, 0.25)])
def test_ranks_are_the_tightest_equal_tailed_ones(n, p):
    low, high, coverage = order_statistic_ranks(n, p)
    pmf = sps.binom.pmf(np.arange(n + 1), n, p)
    below = pmf[:low].sum()  # P(B < l)
    above = pmf[high:].sum()  # P(B >= u)
    assert below <= 0.025 and above <= 0.025
    assert pmf[: low + 1].sum() > 0.025  # one rank higher would break the tail bound
    assert pmf[high - 1 :].sum() > 0.025
    assert coverage == pytest.approx(pmf[low:high].sum(), abs=1e-12)


def lognormal_quantile_se(n: int, p: float, mu: float = 0.0, sigma: float = 1.0) -> float:
    """Asymptotic SE of the sample p-quantile of a log-normal(mu, sigma): √(p(1−p)/n) / f(ξ_p)."""
    xi = math.exp(mu + sigma * sps.norm.ppf(p))
    density = sps.lognorm.pdf(xi, sigma, scale=math.exp(mu))
    return math.sqrt(p * (1 - p) / n) / density


@pytest.mark.parametrize("p", [0.5, 0.9])
def test_arm_standard_error_matches_the_asymptotic_variance(p):
    rng = np.random.default_rng(7)
    n = 20_000
    ses = [arm_quantile("A", np.sort(rng.lognormal(0, 1, n)), p).se for _ in range(20)]
    # The interval's width/2z estimates the SE to ~1-2% at this n; its mean over 20 samples
    # is within 3% of the closed form.
    assert np.mean(ses) == pytest.approx(lognormal_quantile_se(n, p), rel=0.03)


def test_difference_is_the_normal_combination_of_the_arms():
    rng = np.random.default_rng(3)
    samples = {"A": rng.lognormal(0, 1, 800), "B": rng.lognormal(0.2, 1, 900)}
    (d,) = quantile_differences(samples, "A", [0.9]).differences
    c, v = d.arms
    assert d.estimate == pytest.approx(
        np.quantile(samples["B"], 0.9) - np.quantile(samples["A"], 0.9)
    )
    se = math.hypot(c.se, v.se)
    assert d.se == pytest.approx(se)
    assert d.ci_high - d.estimate == pytest.approx(sps.norm.ppf(0.975) * se)
    assert d.pvalue == pytest.approx(2 * sps.norm.sf(abs(d.estimate) / se))
    assert (d.control, d.variant, d.method) == ("A", "B", "order-statistic")


def test_coverage_on_lognormal_data_is_95_percent():
    # Two log-normal arms of 1,000 users, the variant shifted (mu 0.2): the true difference of
    # the p-quantiles is exp(0.2 + z_p) - exp(z_p). 2,500 seeded experiments: Monte Carlo SE
    # of a 95% coverage is 0.44%, so the 95% ± 1.5% band is 3.4 SEs wide each side.
    rng = np.random.default_rng(20261205)
    reps, n, levels = 2_500, 1_000, (0.5, 0.9)
    truth = {p: math.exp(0.2 + sps.norm.ppf(p)) - math.exp(sps.norm.ppf(p)) for p in levels}
    hits = dict.fromkeys(levels, 0)
    for _ in range(reps):
        samples = {"A": rng.lognormal(0, 1, n), "B": rng.lognormal(0.2, 1, n)}
        for d in quantile_differences(samples, "A", levels).differences:
            hits[d.quantile] += d.ci_low <= truth[d.quantile] <= d.ci_high
    for p in levels:
        assert hits[p] / reps == pytest.approx(0.95, abs=0.015), p


def test_bootstrap_is_seeded_and_agrees_with_the_closed_form_se():
    rng = np.random.default_rng(11)
    n = 4_000
    samples = {"A": rng.lognormal(0, 1, n), "B": rng.lognormal(0, 1, n)}
    run = lambda: quantile_differences(  # noqa: E731
        samples, "A", [0.9], method="bootstrap", resamples=2_000, seed=5
    )
    (d,), (again,) = run().differences, run().differences
    assert (d.ci_low, d.ci_high) == (again.ci_low, again.ci_high)
    assert d.pvalue is None and d.resamples == 2_000
    # Bootstrap SE of the difference against the asymptotic one (√2 × one arm's): the
    # bootstrap SE of a quantile is itself noisy (~10% at this n), so 20%.
    assert d.se == pytest.approx(math.sqrt(2) * lognormal_quantile_se(n, 0.9), rel=0.2)
    assert d.ci_low < d.estimate < d.ci_high


def test_bootstrap_work_limit_names_the_fix():
    n = MAX_BOOTSTRAP_WORK // 2_000  # two arms of n values, 2 levels: 4n × resamples
    samples = {"A": np.arange(n, dtype=float), "B": np.arange(n, dtype=float)}
    with pytest.raises(InvalidInput) as err:
        quantile_differences(samples, "A", [0.5, 0.9], method="bootstrap", resamples=1_000)
    assert err.value.field == "quantile_method"
    with pytest.raises(InvalidInput) as err:
        quantile_differences(samples, "A", [0.5], method="bootstrap", resamples=20_000)
    assert err.value.field == "bootstrap_resamples"
    assert "at most 1,000 resamples" in str(err.value)


def test_tiny_samples_give_an_unbounded_interval_and_a_warning():
    r = quantile_differences({"A": [1.0, 2.0, 3.0], "B": [2.0, 3.0, 4.0]}, "A", [0.99])
    (d,) = r.differences
    assert math.isinf(d.ci_high) and d.pvalue == 1.0
    assert [w.code for w in r.warnings] == [Code.QUANTILE_UNBOUNDED] * 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"quantiles": [0.5, 1.0]}, "quantiles[1]"),
        ({"quantiles": [0.5, 0.5]}, "quantiles"),
        ({"quantiles": []}, "quantiles"),
        ({"quantiles": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}, "quantiles"),
        ({"method": "jackknife"}, "quantile_method"),
        ({"method": "bootstrap", "resamples": 10}, "bootstrap_resamples"),
        ({"control": "Z"}, "control"),
    ],
)
def test_invalid_input_names_its_field(kwargs, field):
    args = {"control": "A", **kwargs}
    control = args.pop("control")
    with pytest.raises(InvalidInput) as err:
        quantile_differences({"A": [1.0, 2.0], "B": [3.0, 4.0]}, control, **args)
    assert err.value.field == field
