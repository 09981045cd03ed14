"""stats.experiment_analysis: SRM against the weights in force, tests, winner rule."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from stats.comparisons import SampleRatioMismatch, sample_ratio_mismatch
from stats.experiment_analysis import (
    analyze_experiment,
    expected_exposures,
)
from stats.sufficient import ProportionStats as P
from stats.warnings import Code


def srm_check(observed: list[int], expected: list[float]) -> SampleRatioMismatch:
    """The experiments' SRM check: the one SRM test, against expected exposures."""
    variants = [P(f"v{i}", n, 0) for i, n in enumerate(observed)]
    return sample_ratio_mismatch(variants, expected=expected)


def test_expected_exposures_sum_periods_times_weights() -> None:
    # 600 units under 50/50 then 600 under 90/10: 300 + 540 and 300 + 60 (by hand).
    got = expected_exposures([[0.5, 0.5], [0.9, 0.1]], [[310, 290], [530, 70]])
    assert got == pytest.approx((840.0, 360.0))
    # Weights need not be normalised.
    assert expected_exposures([[1, 3]], [[10, 30]]) == pytest.approx((10.0, 30.0))


def test_srm_is_scipy_chisquare_and_handles_zero_weights() -> None:
    check = srm_check([480, 520], [500.0, 500.0])
    ref = stats.chisquare([480, 520], [500, 500])
    assert (check.statistic, check.pvalue, check.df) == pytest.approx(
        (ref.statistic, ref.pvalue, 1)
    )
    assert not check.flagged
    # A variant with weight 0 throughout is left out of the test ...
    assert srm_check([500, 500, 0], [500.0, 500.0, 0.0]).pvalue == pytest.approx(1.0)
    # ... unless it received units: then the split is certainly broken.
    broken = srm_check([500, 490, 10], [500.0, 500.0, 0.0])
    assert broken.pvalue == 0.0 and broken.flagged
    assert math.isnan(srm_check([0, 0], [0.0, 0.0]).pvalue)
    assert srm_check([1000, 800], [900.0, 900.0]).flagged  # chi2 = 22.2, p = 2.4e-6


@pytest.mark.slow
def test_srm_against_moving_weights_keeps_its_level() -> None:
    """A bandit moves 50/50 -> 80/20 -> 20/80 with multinomial assignment. The pooled test
    against sum_p N_p w_p is conservative (docstring), so its rate of p < 0.05 over 3,000
    seeded runs is at most 0.05 + 3 SE, SE = sqrt(0.05 * 0.95 / 3000) = 0.004."""
    rng = np.random.default_rng(8)
    weights = np.array([[0.5, 0.5], [0.8, 0.2], [0.2, 0.8]])
    sizes = np.array([400, 300, 300])
    runs = 3000
    counts = np.stack(
        [rng.multinomial(n, w, size=runs) for n, w in zip(sizes, weights, strict=True)], 1
    )
    rejected = 0
    for per_period in counts:
        expected = expected_exposures(weights.tolist(), per_period.tolist())
        rejected += srm_check(per_period.sum(0).tolist(), expected).pvalue < 0.05
    assert rejected / runs <= 0.05 + 3 * 0.004


def test_two_variants_against_statsmodels_and_the_msprt_formula() -> None:
    control, b = P("control", 5000, 500), P("B", 5000, 600)
    a = analyze_experiment([control, b], [0.5, 0.5], planned_n=10_000)
    _z, p = proportions_ztest([600, 500], [5000, 5000])
    (c,) = a.comparisons
    assert c.pvalue == pytest.approx(p, rel=1e-9) and a.pvalue == pytest.approx(p, rel=1e-9)
    # Normal-mixture mSPRT (Johari et al. 2022, sec. 4) by hand with the reported tau:
    # log L = -1/2 log(1 + tau^2/v) + d^2 tau^2 / (2 v (v + tau^2)), v unpooled.
    d, v = 0.12 - 0.10, 0.12 * 0.88 / 5000 + 0.10 * 0.90 / 5000
    tau2 = c.msprt_tau**2
    log_lr = -0.5 * math.log1p(tau2 / v) + d * d * tau2 / (2 * v * (v + tau2))
    assert a.msprt is not None and a.msprt.log_lr == pytest.approx(log_lr, rel=1e-9)
    assert a.msprt.pvalue == pytest.approx(min(1.0, math.exp(-log_lr)), rel=1e-9)
    # tau^2 = x* 2 (var_A + var_B) / planned_n with x* = 8.2 at alpha 0.05 (msprt docstring).
    assert tau2 == pytest.approx(8.2 * 2 * (0.12 * 0.88 + 0.09) / 10_000, rel=0.01)
    # Relative lift 0.12/0.10 - 1 with the score interval for the risk ratio (dual to the
    # pooled z-test; statsmodels, without Miettinen-Nurminen's N/(N - 1)).
    ratio = confint_proportions_2indep(
        600, 5000, 500, 5000, method="score", compare="ratio", correction=False
    )
    assert a.relative_lift is not None
    assert a.relative_lift.estimate == pytest.approx(0.2)
    assert a.relative_lift.ci_low == pytest.approx(ratio[0] - 1, rel=1e-6)
    assert a.relative_lift.ci_high == pytest.approx(ratio[1] - 1, rel=1e-6)
    low, high = proportion_confint(600, 5000, method="wilson")
    assert (a.variants[1].ci_low, a.variants[1].ci_high) == pytest.approx((low, high))
    assert (a.decision, a.winner) == ("winner", "B")
    assert a.recommendation.startswith("Ship B")


def test_no_winner_without_rejection_or_with_a_negative_lift() -> None:
    # z-test significant (p ~ 0.03) but the always-valid test is not convinced yet.
    a = analyze_experiment([P("control", 3000, 300), P("B", 3000, 350)], [0.5, 0.5])
    assert a.comparisons[0].pvalue < 0.05
    assert a.winner is None and a.decision == "continue"
    assert a.recommendation.startswith("Keep running")
    worse = analyze_experiment([P("control", 5000, 600), P("B", 5000, 500)], [0.5, 0.5])
    assert worse.winner is None and worse.decision == "worse"


def test_srm_blocks_the_winner() -> None:
    a = analyze_experiment([P("control", 4000, 400), P("B", 6000, 780)], [0.5, 0.5])
    assert a.srm.flagged and a.decision == "srm" and a.winner is None
    assert any(
        w.code == Code.SAMPLE_RATIO_MISMATCH and "Sample ratio mismatch" in w.message
        for w in a.warnings
    )


def test_several_treatments_are_bonferroni_adjusted() -> None:
    a = analyze_experiment(
        [P("control", 5000, 500), P("B", 5000, 540), P("C", 5000, 600)], [1, 1, 1]
    )
    assert a.best == "C"
    c = a.comparisons[1]
    assert c.pvalue_adjusted == pytest.approx(min(1.0, 2 * c.pvalue))
    assert c.msprt_pvalue_adjusted == pytest.approx(min(1.0, 2 * c.msprt_pvalue))
    assert a.msprt is not None and a.msprt.threshold == pytest.approx(math.log(2 / 0.05))


def test_variants_without_exposures_are_collecting() -> None:
    a = analyze_experiment([P("control", 0, 0), P("B", 0, 0)], [0.5, 0.5])
    assert a.decision == "collecting" and a.msprt is None and a.relative_lift is None
    assert math.isnan(a.pvalue) and math.isnan(a.variants[0].rate)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"variants": [P("control", 10, 1)], "weights": [1.0]}, "variants must hold"),
        ({"weights": [1.0]}, "weights must hold one weight per variant"),
        ({"expected": [1.0]}, "expected must hold one count"),
        ({"alpha": 0.7}, "alpha must be in (0, 0.5]"),
        ({"planned_n": 1}, "planned_n must be a whole number >= 2"),
    ],
)
def test_invalid_arguments(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"variants": [P("control", 10, 1), P("B", 10, 2)], "weights": [1, 1]}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("]", r"\]")):
        analyze_experiment(**{**args, **kwargs})


@pytest.mark.parametrize(
    ("weights", "exposures", "message"),
    [
        ([[0.5, 0.5]], [], "period_exposures must have one row per period"),
        ([[0.5, 0.5]], [[1, 2, 3]], "period_weights must be a periods x variants"),
        ([[0.0, 0.0]], [[1, 2]], "period_weights must be finite"),
        ([[0.5, 0.5]], [[-1, 2]], "period_exposures must be counts"),
    ],
)
def test_invalid_periods(weights: Any, exposures: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        expected_exposures(weights, exposures)
