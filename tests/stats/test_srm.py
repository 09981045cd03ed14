"""The anytime-valid SRM e-process (Lindon & Malek 2022) against closed forms and by seeded
simulation of continuous monitoring."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from scipy.special import gammaln

from stats.abtest import analyze
from stats.errors import InvalidInput
from stats.experiment_analysis import analyze_experiment, expected_exposures
from stats.srm import sequential_srm
from stats.sufficient import ProportionStats as P


def _dm_over_multinomial(x: list[int], theta: list[float], k: float) -> float:
    """log of the Dirichlet-multinomial pmf over the multinomial pmf, both written out
    with gammaln (the multinomial coefficient appears in both and is kept)."""
    n = sum(x)
    a = [k * t for t in theta]
    coef = gammaln(n + 1) - sum(gammaln(xi + 1) for xi in x)
    log_dm = (
        coef
        + gammaln(k)
        - gammaln(k + n)
        + sum(gammaln(ai + xi) - gammaln(ai) for ai, xi in zip(a, x, strict=True))
    )
    log_mult = coef + sum(xi * math.log(t) for xi, t in zip(x, theta, strict=True))
    return float(log_dm - log_mult)


def test_e_value_matches_the_closed_form_and_scipy() -> None:
    x, theta, k = [7, 3, 5], [0.5, 0.25, 0.25], 100.0
    got = sequential_srm([x], [[2, 1, 1]], concentration=k)
    assert got.log_e == pytest.approx(_dm_over_multinomial(x, theta, k), rel=1e-12)
    ref = sps.dirichlet_multinomial.logpmf(
        x, [k * t for t in theta], sum(x)
    ) - sps.multinomial.logpmf(x, sum(x), theta)
    assert got.log_e == pytest.approx(ref, rel=1e-10)
    assert got.pvalue == pytest.approx(min(1.0, math.exp(-ref)), rel=1e-10)
    assert got.n == 15


def test_one_unit_e_value_is_one() -> None:
    """The prior predictive of a first unit equals the null probability: E_1 = 1."""
    assert sequential_srm([[0, 1]], [[0.3, 0.7]]).log_e == pytest.approx(0.0, abs=1e-12)


def test_periods_multiply() -> None:
    x1, x2 = [40, 60], [30, 10]
    got = sequential_srm([x1, x2], [[0.5, 0.5], [0.8, 0.2]], concentration=10)
    expected = _dm_over_multinomial(x1, [0.5, 0.5], 10) + _dm_over_multinomial(x2, [0.8, 0.2], 10)
    assert got.log_e == pytest.approx(expected, rel=1e-12)


def test_unit_in_a_zero_weight_variant_is_a_certain_mismatch() -> None:
    got = sequential_srm([[10, 1]], [[1.0, 0.0]])
    assert got.pvalue == 0.0 and got.flagged
    assert sequential_srm([[10, 0]], [[1.0, 0.0]]).pvalue == 1.0


@pytest.mark.parametrize(
    ("counts", "weights", "field"),
    [
        ([[1, 2]], [[1, 1], [1, 1]], "period_counts"),
        ([[1, 2]], [[1, 1, 1]], "period_counts"),
        ([[-1, 2]], [[1, 1]], "period_counts"),
        ([[1, 2]], [[0, 0]], "period_weights"),
    ],
)
def test_invalid_input_names_the_field(
    counts: list[list[int]], weights: list[list[float]], field: str
) -> None:
    with pytest.raises(InvalidInput) as exc:
        sequential_srm(counts, weights)
    assert exc.value.field == field


def _monitored_log_e(draws: np.ndarray, theta: np.ndarray, k: float) -> np.ndarray:
    """log E after every unit, for each replicate row of category ``draws``."""
    onehot = draws[..., None] == np.arange(theta.size)
    counts = np.cumsum(onehot, axis=1)
    n = counts.sum(axis=2)
    a = k * theta
    return (
        gammaln(k)
        - gammaln(k + n)
        + (gammaln(a + counts) - gammaln(a)).sum(axis=2)
        - (counts * np.log(theta)).sum(axis=2)
    )


def test_type_one_error_under_continuous_monitoring() -> None:
    """Checked after every single unit, the alarm at 1/E <= alpha fires in at most alpha of
    the null runs (Ville). The per-unit formula is checked against ``sequential_srm`` at the
    last look, then the crossing rate against alpha + 3 Monte Carlo SE."""
    rng = np.random.default_rng(20261205)
    theta = np.array([0.5, 0.3, 0.2])
    reps, units, alpha = 2_000, 600, 0.05
    draws = rng.choice(3, size=(reps, units), p=theta)
    log_e = _monitored_log_e(draws, theta, 100.0)
    last = [int((draws[0] == i).sum()) for i in range(3)]
    assert log_e[0, -1] == pytest.approx(sequential_srm([last], [theta.tolist()]).log_e, rel=1e-9)
    crossed = (log_e >= math.log(1 / alpha)).any(axis=1).mean()
    se = math.sqrt(alpha * (1 - alpha) / reps)
    assert crossed <= alpha + 3 * se
    # The fixed-horizon chi-square, read at every 50th unit, is not valid this way.
    looks = np.cumsum(draws[..., None] == np.arange(3), axis=1)[:, 49::50, :]
    expected = looks.sum(axis=2, keepdims=True) * theta
    chi2 = ((looks - expected) ** 2 / expected).sum(axis=2)
    peeked = (sps.chi2.sf(chi2, 2) < alpha).any(axis=1).mean()
    assert peeked > alpha + 3 * se


def test_power_against_a_known_mismatch() -> None:
    """A 45/55 split against a planned 50/50 is flagged at the default threshold (0.001) by
    5,000 units in nearly every run; 50/50 itself almost never is."""
    rng = np.random.default_rng(7)
    reps, units = 400, 5_000
    flagged = [
        sequential_srm([list(rng.multinomial(units, [0.45, 0.55]))], [[1, 1]]).flagged
        for _ in range(reps)
    ]
    assert np.mean(flagged) >= 0.95
    null = [
        sequential_srm([list(rng.multinomial(units, [0.5, 0.5]))], [[1, 1]]).flagged
        for _ in range(reps)
    ]
    assert np.mean(null) <= 0.001 + 3 * math.sqrt(0.001 * 0.999 / reps)


def test_experiment_analysis_alarms_on_the_sequential_test() -> None:
    """445/555 at 50/50: the chi-square (p = 5e-4) is below 0.001, but read at an unplanned
    look it is not valid; the e-process (p = 1/E, E from the closed form) is not, so no
    alarm. 4000/6000 trips both."""
    near = analyze_experiment([P("control", 445, 40), P("B", 555, 60)], [0.5, 0.5])
    assert near.srm.flagged and not near.srm_sequential.flagged
    assert near.srm_sequential.log_e == pytest.approx(
        _dm_over_multinomial([445, 555], [0.5, 0.5], 100.0), rel=1e-12
    )
    assert near.decision != "srm"
    far = analyze_experiment([P("control", 4000, 400), P("B", 6000, 780)], [0.5, 0.5])
    assert far.srm_sequential.flagged and far.decision == "srm" and far.winner is None


def test_experiment_analysis_uses_the_weight_periods() -> None:
    weights, exposures = [[0.5, 0.5], [0.2, 0.8]], [[100, 100], [50, 200]]
    a = analyze_experiment(
        [P("control", 150, 10), P("B", 300, 30)],
        [0.2, 0.8],
        expected_exposures(weights, exposures),
        period_weights=weights,
        period_exposures=exposures,
    )
    expected = _dm_over_multinomial([100, 100], [0.5, 0.5], 100.0) + _dm_over_multinomial(
        [50, 200], [0.2, 0.8], 100.0
    )
    assert a.srm_sequential.log_e == pytest.approx(expected, rel=1e-12)
    assert a.srm_sequential.n == 450


def test_ab_analyzer_reports_the_sequential_srm_beside_the_chi_square() -> None:
    a = analyze([P("A", 1000, 100), P("B", 1100, 120)], control="A", planned_split=[1, 1])
    assert a.srm_sequential is not None
    expected = _dm_over_multinomial([1000, 1100], [0.5, 0.5], 100.0)
    assert a.srm_sequential.log_e == pytest.approx(expected, rel=1e-12)
    assert a.srm_sequential.threshold == a.srm.threshold
