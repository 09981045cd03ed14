"""Thompson-sampling weights against closed forms and integrals, with Monte Carlo tolerances.

``prob_best`` is a mean of ``draws`` indicator variables, so its standard error is
sqrt(p (1 - p) / draws). Each comparison allows 4.5 standard errors: a correct implementation
fails a single check with probability about 7e-6 (and the seeds make every run identical).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from stats.bandit import MAX_DRAWS, thompson_weights
from stats.errors import InvalidInput
from stats.sufficient import ProportionStats, proportion_variants
from stats.warnings import Code


def arms(users: list[int], conversions: list[int]) -> tuple[ProportionStats, ...]:
    """The variants as the bandit takes them, parsed from records as a caller's JSON would be."""
    records = [
        {"name": f"V{i}", "users": u, "conversions": c}
        for i, (u, c) in enumerate(zip(users, conversions, strict=True))
    ]
    return proportion_variants(records)


Z_TOL = 4.5


def mc_tolerance(p: float, draws: int) -> float:
    return Z_TOL * math.sqrt(p * (1 - p) / draws)


def prob_b_beats_a(a_a: int, b_a: int, a_b: int, b_b: int) -> float:
    """Evan Miller, "Formulas for Bayesian A/B Testing" (2015), closed form for integer a_b:
    P(p_B > p_A) = sum_{i=0}^{a_b - 1} B(a_a + i, b_a + b_b) /
                   ((b_b + i) B(1 + i, b_b) B(a_a, b_a))."""
    i = np.arange(a_b)
    log_terms = (
        special.betaln(a_a + i, b_a + b_b)
        - np.log(b_b + i)
        - special.betaln(1 + i, b_b)
        - special.betaln(a_a, b_a)
    )
    return float(np.exp(log_terms).sum())


def prob_best_by_integral(a: list[float], b: list[float], i: int) -> float:
    """P(arm i is best) = integral of f_i(x) * prod_{j != i} F_j(x) dx over [0, 1]."""
    others = [j for j in range(len(a)) if j != i]

    def integrand(x: float) -> float:
        value = stats.beta.pdf(x, a[i], b[i])
        for j in others:
            value *= stats.beta.cdf(x, a[j], b[j])
        return float(value)

    result, _ = integrate.quad(integrand, 0, 1, limit=200, points=[a[i] / (a[i] + b[i])])
    return float(result)


def test_two_arms_match_evan_miller_closed_form() -> None:
    draws = 200_000
    result = thompson_weights(arms([1000, 1000], [100, 120]), draws=draws, seed=1)
    # Beta(1 + 120, 1 + 880) for B against Beta(1 + 100, 1 + 900) for A.
    expected = prob_b_beats_a(101, 901, 121, 881)
    assert 0.85 < expected < 0.95  # a case where neither arm is a foregone conclusion
    assert result.prob_best[1] == pytest.approx(expected, abs=mc_tolerance(expected, draws))
    assert result.prob_best[0] == pytest.approx(1 - expected, abs=mc_tolerance(expected, draws))


def test_closed_form_agrees_with_integral() -> None:
    # Guards the reference itself: the two independent formulas agree.
    assert prob_b_beats_a(11, 41, 16, 36) == pytest.approx(
        prob_best_by_integral([11, 16], [41, 36], 1), rel=1e-8
    )


def test_three_arms_match_numerical_integral() -> None:
    draws = 200_000
    users, conversions = [400, 500, 450], [40, 60, 52]
    result = thompson_weights(arms(users, conversions), prior=(2.0, 3.0), draws=draws, seed=7)
    a = [2.0 + c for c in conversions]
    b = [3.0 + u - c for u, c in zip(users, conversions, strict=True)]
    assert result.alpha == tuple(a)
    assert result.beta == tuple(b)
    for i in range(3):
        expected = prob_best_by_integral(a, b, i)
        assert result.prob_best[i] == pytest.approx(expected, abs=mc_tolerance(expected, draws))
    assert sum(result.weights) == pytest.approx(1.0, abs=1e-12)


def test_identical_arms_share_traffic_equally() -> None:
    draws = 100_000
    result = thompson_weights(arms([300] * 4, [30] * 4), draws=draws, seed=3)
    for p in result.prob_best:
        assert p == pytest.approx(0.25, abs=mc_tolerance(0.25, draws))


def test_floor_keeps_every_arm_alive_and_weights_sum_to_one() -> None:
    # B is far worse: without a floor it wins essentially none of the draws.
    bare = thompson_weights(arms([1000, 1000, 1000], [500, 100, 480]), draws=20_000, seed=5)
    assert bare.prob_best[1] == 0.0
    assert bare.weights[1] == 0.0
    assert any(w.code == Code.STARVED_VARIANTS and "floor" in w.message for w in bare.warnings)

    floored = thompson_weights(
        arms([1000, 1000, 1000], [500, 100, 480]), draws=20_000, seed=5, floor=0.05
    )
    assert floored.warnings == ()
    # Same seed, same draws: the floor is the mixture floor + (1 - k floor) prob_best.
    for w, p in zip(floored.weights, bare.prob_best, strict=True):
        assert w == pytest.approx(0.05 + 0.85 * p, abs=1e-12)
    assert min(floored.weights) >= 0.05
    assert sum(floored.weights) == pytest.approx(1.0, abs=1e-12)

    uniform = thompson_weights(arms([1000, 1000], [500, 100]), draws=1000, seed=5, floor=0.5)
    assert uniform.weights == pytest.approx((0.5, 0.5), abs=1e-12)


def test_seed_makes_results_reproducible() -> None:
    first = thompson_weights(arms([100, 100], [10, 12]), seed=42)
    again = thompson_weights(arms([100, 100], [10, 12]), seed=42)
    assert first == again
    assert first.n == 10_000


def test_chunked_draws_stay_within_memory_bound() -> None:
    # 3 arms x 500,000 draws crosses the internal chunk size; the estimate is still correct.
    draws = 500_000
    result = thompson_weights(arms([200, 200, 200], [20, 20, 20]), draws=draws, seed=11)
    assert sum(result.prob_best) == pytest.approx(1.0, abs=1e-12)
    for p in result.prob_best:
        assert p == pytest.approx(1 / 3, abs=mc_tolerance(1 / 3, draws))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"users": [100], "conversions": [10]}, r"^variants must hold at least 2"),
        ({"users": [100, -1], "conversions": [10, 0]}, r"^variants\[1\]\.users must be"),
        ({"users": [100, 10.5], "conversions": [10, 0]}, r"^variants\[1\]\.users must be"),
        ({"users": [100, 100], "conversions": [10, -2]}, r"^variants\[1\]\.conversions must be"),
        ({"users": [100, 10], "conversions": [10, 11]}, r"^variants\[1\]\.conversions must be <="),
        ({"prior": (0.0, 1.0)}, r"^prior\.alpha must be > 0"),
        ({"prior": (1.0, float("nan"))}, r"^prior\.beta must be a finite"),
        ({"prior": (1.0,)}, r"^prior must be a pair"),
        ({"draws": 0}, r"^draws must be a whole number >= 1"),
        ({"draws": MAX_DRAWS + 1}, r"^draws must be <= "),
        ({"floor": -0.1}, r"^floor must be >= 0"),
        ({"floor": 0.6}, r"^floor must be in \[0, 1/2\]"),
    ],
)
def test_invalid_input_names_the_parameter(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"users": [100, 100], "conversions": [10, 12], **kwargs}
    with pytest.raises(ValueError, match=message):
        variants = arms(args.pop("users"), args.pop("conversions"))  # type: ignore[arg-type]
        thompson_weights(variants, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("prior", "field"),
    [((0.0, 1.0), "prior.alpha"), ((1.0, -2.0), "prior.beta"), ((1.0, float("inf")), "prior.beta")],
)
def test_each_prior_parameter_is_its_own_field(prior: tuple[float, float], field: str) -> None:
    """The two Beta prior parameters are checked under their own names (issue 13), the
    names the Bayesian engine uses (``prior.alpha``, ``prior.beta``)."""
    with pytest.raises(InvalidInput) as raised:
        thompson_weights(arms([100, 100], [10, 12]), prior=prior)
    assert raised.value.field == field
