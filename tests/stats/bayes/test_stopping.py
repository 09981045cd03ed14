"""Honest-stopping simulation: normal-approximate loss, rates against a plain loop."""

import math

import numpy as np
import pytest

from stats.bayes.decision import expected_loss_beta
from stats.bayes.stopping import expected_loss_normal, simulate_loss_stopping


@pytest.mark.parametrize(
    ("na", "ca", "nb", "cb", "rel"),
    [
        (1000, 100, 1000, 120, 0.01),
        (1000, 100, 1000, 100, 0.01),
        (5000, 500, 5000, 520, 0.01),
        (200, 20, 200, 25, 0.02),
    ],
)
def test_normal_loss_approximates_stucchio(na, ca, nb, cb, rel):
    a, b = (1 + ca, 1 + na - ca), (1 + cb, 1 + nb - cb)
    ma, mb = a[0] / sum(a), b[0] / sum(b)
    va, vb = ma * (1 - ma) / (sum(a) + 1), mb * (1 - mb) / (sum(b) + 1)
    approx = float(expected_loss_normal(mb - ma, math.sqrt(va + vb)))
    assert approx == pytest.approx(expected_loss_beta(*a, *b), rel=rel)


def test_normal_loss_closed_form_against_draws():
    # E[max(−D, 0)] for D ~ N(0.01, 0.02²), 1,000,000 draws, 4 SE.
    d = np.random.default_rng(1).normal(0.01, 0.02, 1_000_000)
    loss = np.maximum(-d, 0)
    assert abs(float(expected_loss_normal(0.01, 0.02)) - loss.mean()) < 4 * loss.std() / 1000


def loop_reference(sims, seed, baseline=0.1, users=200, days=10, threshold=0.002):
    """Plain Python loop with Stucchio's exact loss: ship rates daily and at the end."""
    rng = np.random.default_rng(seed)
    daily = end = 0
    for _ in range(sims):
        ca = cb = 0
        decided = False
        for day in range(1, days + 1):
            ca += rng.binomial(users, baseline)
            cb += rng.binomial(users, baseline)
            n = users * day
            a, b = (1 + ca, 1 + n - ca), (1 + cb, 1 + n - cb)
            loss_b = expected_loss_beta(*a, *b)
            loss_a = expected_loss_beta(*b, *a)
            ship = loss_b < threshold and loss_b <= loss_a
            if not decided and (ship or loss_a < threshold):
                decided = True
                daily += ship
        end += ship
    return daily / sims, end / sims


def test_rates_match_a_plain_loop_within_monte_carlo_error():
    # Independent implementation (loop, exact loss, other seed). Rates differ by at most
    # 4 combined standard errors plus 0.02 for the normal approximation of the loss (it is
    # within 1-2% of the exact loss here, which moves only runs that sit at the threshold).
    r = simulate_loss_stopping(0.1, 200, 10, 0.002, simulations=4000, seed=3)
    daily, end = loop_reference(400, seed=4)
    se = math.sqrt(daily * (1 - daily) / 400 + r.ship_rate_daily_se**2)
    assert abs(r.ship_rate_daily - daily) < 4 * se + 0.02
    se = math.sqrt(end * (1 - end) / 400 + r.ship_rate_end_se**2)
    assert abs(r.ship_rate_end - end) < 4 * se + 0.02


def test_peeking_ships_more_often_than_deciding_once():
    r = simulate_loss_stopping(0.05, 500, 30, 0.0005, simulations=4000, seed=5)
    # Checking daily includes the last day, so every run that ships at the end also stopped
    # earlier or then: the daily rate is at least the end rate, here much larger.
    assert r.ship_rate_daily >= r.ship_rate_end
    assert r.ship_rate_daily - r.ship_rate_end > 4 * r.ship_rate_daily_se
    by_day = np.array(r.ship_rate_by_day)
    assert np.all(np.diff(by_day) >= 0) and by_day[-1] == pytest.approx(r.ship_rate_daily)
    assert r.ship_rate_daily_se == pytest.approx(
        math.sqrt(r.ship_rate_daily * (1 - r.ship_rate_daily) / 4000)
    )


def test_zero_threshold_never_stops():
    # A loss is never below 0, so nothing ships, and the result says why.
    r = simulate_loss_stopping(0.1, 100, 5, 0.0, simulations=200, seed=1)
    assert r.ship_rate_daily == r.ship_rate_end == 0.0 and r.warnings


def test_seeded_runs_are_reproducible():
    a = simulate_loss_stopping(0.1, 100, 5, 0.002, simulations=500, seed=9)
    assert a == simulate_loss_stopping(0.1, 100, 5, 0.002, simulations=500, seed=9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(baseline=1.0), r"baseline must be in \(0, 1\)"),
        (dict(daily_users=0), "daily_users must be a whole number >= 1"),
        (dict(days=0), "days must be a whole number >= 1"),
        (dict(days=400), "days must be <= 365"),
        (dict(threshold=-1), "threshold must be >= 0"),
        (dict(prior_alpha=0), r"prior\.alpha must be > 0"),
        (dict(prior_beta=-1), r"prior\.beta must be > 0"),
        (dict(simulations=10), "simulations must be a whole number >= 100"),
        (dict(simulations=200_000), "simulations must be <= 100,000"),
        (dict(simulations=100_000, days=30), "simulations × days must be <= 2,000,000"),
    ],
)
def test_invalid_input_names_the_field(kwargs, message):
    args = dict(baseline=0.1, daily_users=100, days=10, threshold=0.001)
    args.update(kwargs)
    with pytest.raises(ValueError, match=f"^{message}"):
        simulate_loss_stopping(**args)
