"""Tests for stats.msprt: the closed form against quadrature, tuning against a numerical
optimum, and the always-valid guarantees by seeded simulation with a look after every pair."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy import integrate, optimize, stats
from statsmodels.stats.power import NormalIndPower

from stats.msprt import (
    SequentialTest,
    cs_halfwidth,
    mixture_log_lr,
    msprt,
    msprt_from_estimate,
    msprt_projection,
    tau_for_planned_n,
)
from stats.sufficient import MeanStats, ProportionStats

ALPHA = 0.05
A, B = ProportionStats("A", 5000, 500), ProportionStats("B", 3000, 330)
HORIZON = 10_000  # users per arm; a look after every pair


def one_sided_limit(p: float, sims: int) -> float:
    """p + 3 Monte Carlo SE: a rate whose truth is <= p exceeds this with prob ~0.0013."""
    return p + 3 * math.sqrt(p * (1 - p) / sims)


def binary_paths(rng, sims, p_a, p_b, tau, theta0=0.0, chunk=200):
    """mSPRT of H0: difference = theta0 after every pair of users, HORIZON pairs.

    Vectorised: a (chunk x HORIZON) block of Bernoulli draws per arm, cumulative rates and
    the unpooled variance at every n, as :func:`msprt` computes them. float32 is exact for
    the counts (< 2^24). Returns (rejected, stopping n) per experiment.
    """
    n = np.arange(1, HORIZON + 1, dtype=np.float32)
    rejected, stop = np.zeros(sims, bool), np.full(sims, HORIZON)
    for s in range(0, sims, chunk):
        m = min(chunk, sims - s)
        ra = np.cumsum(rng.random((m, HORIZON), dtype=np.float32) < p_a, 1, np.float32) / n
        rb = np.cumsum(rng.random((m, HORIZON), dtype=np.float32) < p_b, 1, np.float32) / n
        var = (ra * (1 - ra) + rb * (1 - rb)) / n
        hit = mixture_log_lr(rb - ra - np.float32(theta0), var, tau) >= -math.log(ALPHA)
        rejected[s : s + m] = hit.any(axis=1)
        stop[s : s + m] = np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, HORIZON)
    return rejected, stop


# --------------------------------------------------------------------------- formulas


@pytest.mark.parametrize(("d", "v", "tau"), [(0.01, 1e-4, 0.02), (-0.3, 0.05, 0.1), (0, 1, 3)])
def test_mixture_log_lr_equals_the_mixture_integral(d, v, tau):
    """Lambda = int N(d; theta, v) / N(d; 0, v) dN(theta; 0, tau^2), by quadrature."""

    def integrand(theta: float) -> float:
        ratio = stats.norm.pdf(d, theta, math.sqrt(v)) / stats.norm.pdf(d, 0, math.sqrt(v))
        return ratio * stats.norm.pdf(theta, 0, tau)

    lam, _ = integrate.quad(integrand, -12 * tau, 12 * tau, epsabs=0, epsrel=1e-11, limit=200)
    assert float(mixture_log_lr(d, v, tau)) == pytest.approx(math.log(lam), abs=1e-8)


def test_confidence_sequence_is_where_lambda_reaches_one_over_alpha():
    d, v, tau = 0.012, 2e-5, 0.01
    half = cs_halfwidth(v, tau, ALPHA)
    for theta in (d - half, d + half):
        assert float(mixture_log_lr(d - theta, v, tau)) == pytest.approx(-math.log(ALPHA))
    assert float(mixture_log_lr(d - (d + 0.9 * half), v, tau)) < -math.log(ALPHA)


@pytest.mark.parametrize("alpha", [0.05, 0.01, 0.2])
def test_tau_for_planned_n_minimises_the_halfwidth_at_the_horizon(alpha):
    unit_variance, planned_n = 0.18, 20_000
    v_n = 2 * unit_variance / planned_n
    best = optimize.minimize_scalar(
        lambda log_tau: cs_halfwidth(v_n, math.exp(log_tau), alpha),
        bounds=(math.log(1e-4), math.log(1.0)),
        method="bounded",
        options={"xatol": 1e-10},
    )
    tau = tau_for_planned_n(unit_variance, planned_n, alpha)
    assert tau == pytest.approx(math.exp(best.x), rel=1e-4)
    assert tau**2 / v_n == pytest.approx(math.log1p(tau**2 / v_n) - 2 * math.log(alpha))


def test_msprt_on_proportions_uses_the_unpooled_difference():
    a, b = ProportionStats("A", 5000, 500), ProportionStats("B", 5000, 560)
    res = msprt(a, b, planned_n=20_000)
    var = 0.1 * 0.9 / 5000 + 0.112 * 0.888 / 5000
    tau = tau_for_planned_n(0.1 * 0.9 + 0.112 * 0.888, 20_000)
    assert res.estimate == pytest.approx(0.012)
    assert res.se == pytest.approx(math.sqrt(var))
    assert res.tau == pytest.approx(tau)
    assert res.log_lr == pytest.approx(float(mixture_log_lr(0.012, var, tau)))
    assert res.pvalue == pytest.approx(min(1.0, math.exp(-res.log_lr)))
    assert res.ci_high - res.estimate == pytest.approx(cs_halfwidth(var, tau, ALPHA))
    assert res.threshold == pytest.approx(math.log(20))
    assert res.decision == ("reject" if res.pvalue <= ALPHA else "continue")
    assert res.n == 10_000


def test_msprt_on_means_and_from_estimate_agree():
    a, b = MeanStats("A", 400, 10.0, 2.0), MeanStats("B", 500, 10.6, 3.0)
    res = msprt(a, b, tau=0.5)
    var = 4 / 400 + 9 / 500
    direct = msprt_from_estimate(0.6, var, tau=0.5, n=900)
    assert res.log_lr == pytest.approx(direct.log_lr)
    assert (res.ci_low, res.ci_high) == pytest.approx((direct.ci_low, direct.ci_high))
    assert res.statistic == pytest.approx(0.6 / math.sqrt(var))


def test_zero_variance_gives_a_warning_not_nan():
    res = msprt(ProportionStats("A", 100, 0), ProportionStats("B", 100, 0), planned_n=1000)
    assert res.log_lr == 0.0 and res.pvalue == 1.0 and res.decision == "continue"
    assert (res.ci_low, res.ci_high) == (-1.0, 1.0)
    assert res.warnings and math.isnan(res.tau)


# --------------------------------------------------------------------------- guarantees


def test_null_rejection_rate_with_a_look_after_every_pair_is_at_most_alpha():
    """4,000 experiments at p = 0.10, 10,000 users per arm, tau tuned to 20,000 users.

    The always-valid guarantee is P(ever reject) <= alpha; the check allows 3 MC SE above
    alpha (SE = sqrt(0.05 * 0.95 / 4000) = 0.0034).
    """
    sims = 4000
    tau = tau_for_planned_n(2 * 0.1 * 0.9, 2 * HORIZON)
    rejected, _ = binary_paths(np.random.default_rng(4), sims, 0.1, 0.1, tau)
    assert rejected.mean() <= one_sided_limit(ALPHA, sims)


def test_null_rejection_rate_for_normal_data_with_estimated_variance():
    """1,000 experiments of N(0, 1) data, plug-in sample variances, look after every pair."""
    sims, chunk = 1000, 100
    tau = tau_for_planned_n(2.0, 2 * HORIZON)
    rng = np.random.default_rng(5)
    n = np.arange(1, HORIZON + 1, dtype=float)
    hits = 0
    for _ in range(sims // chunk):
        means, variances = [], []
        for _arm in range(2):
            x = rng.standard_normal((chunk, HORIZON))
            total, total_sq = np.cumsum(x, axis=1), np.cumsum(x * x, axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                variances.append(np.maximum(total_sq - total * total / n, 0) / (n - 1) / n)
            means.append(total / n)
        var = np.nan_to_num(variances[0] + variances[1])
        llr = mixture_log_lr(means[1] - means[0], var, tau)
        hits += int((llr >= -math.log(ALPHA)).any(axis=1).sum())
    assert hits / sims <= one_sided_limit(ALPHA, sims)


def test_power_and_expected_stopping_time_at_a_real_effect(capsys):
    """p = 0.10 vs 0.12: the mSPRT rejects with high probability, and on average stops
    before a fixed-horizon test with the same power would even look (statsmodels)."""
    sims = 1000
    tau = tau_for_planned_n(2 * 0.1 * 0.9, 2 * HORIZON)
    rejected, stop = binary_paths(np.random.default_rng(6), sims, 0.10, 0.12, tau)
    power = rejected.mean()
    assert power >= 0.9
    sd = math.sqrt((0.1 * 0.9 + 0.12 * 0.88) / 2)
    fixed_n = NormalIndPower().solve_power(0.02 / sd, power=power, alpha=ALPHA)
    assert stop.mean() < fixed_n
    with capsys.disabled():
        print(f"\nmSPRT 0.10 vs 0.12: power {power:.3f}, mean stop {stop.mean():.0f} per arm "
              f"(fixed design with that power: {fixed_n:.0f})")  # fmt: skip


def test_confidence_sequence_covers_the_true_difference_at_all_times():
    """Coverage failure at any time <=> the mSPRT of H0: diff = truth rejects."""
    sims = 1000
    tau = tau_for_planned_n(2 * 0.1 * 0.9, 2 * HORIZON)
    missed, _ = binary_paths(np.random.default_rng(7), sims, 0.10, 0.12, tau, theta0=0.02)
    assert 1 - missed.mean() >= 1 - one_sided_limit(ALPHA, sims)


# --------------------------------------------------------------------------- streaming


def test_sequential_test_keeps_running_minimum_and_intersection():
    test = SequentialTest(metric="binary", tau=0.01)
    batches = [(1000, 100, 1000, 130), (1000, 100, 1000, 90), (1000, 100, 1000, 100)]
    for ua, ca, ub, cb in batches:
        test.update(users_a=ua, conversions_a=ca, users_b=ub, conversions_b=cb)
    history = test.history()
    snapshots = [
        msprt(ProportionStats("A", 1000 * k, sum(b[1] for b in batches[:k])),
              ProportionStats("B", 1000 * k, sum(b[3] for b in batches[:k])), tau=0.01)
        for k in (1, 2, 3)
    ]  # fmt: skip
    for k, (h, s) in enumerate(zip(history, snapshots, strict=True)):
        assert h.log_lr == pytest.approx(s.log_lr)
        assert h.pvalue == pytest.approx(min(x.pvalue for x in snapshots[: k + 1]))
        assert h.ci_low == pytest.approx(max(x.ci_low for x in snapshots[: k + 1]))
        assert h.ci_high == pytest.approx(min(x.ci_high for x in snapshots[: k + 1]))
    assert test.result() == history[-1]


def test_sequential_test_rejection_sticks():
    test = SequentialTest(metric="binary", tau=0.02)
    first = test.update(users_a=3000, conversions_a=300, users_b=3000, conversions_b=420)
    assert first.decision == "reject"
    later = test.update(users_a=20000, conversions_a=2000, users_b=20000, conversions_b=1900)
    assert later.decision == "reject" and later.pvalue == first.pvalue


def test_sequential_test_arrays_match_counts_and_mean_stats():
    rng = np.random.default_rng(8)
    xa, xb = rng.random(700) < 0.1, rng.random(800) < 0.15
    by_arrays = SequentialTest(metric="binary", planned_n=4000)
    by_arrays.update(a=xa[:300], b=xb[:300])
    by_arrays.update(a=xa[300:], b=xb[300:])
    by_counts = SequentialTest(metric="binary", tau=by_arrays.result().tau)
    by_counts.update(users_a=700, conversions_a=int(xa.sum()), users_b=800,
                     conversions_b=int(xb.sum()))  # fmt: skip
    assert by_arrays.result().log_lr == pytest.approx(by_counts.result().log_lr)

    ya, yb = rng.normal(5, 2, 500), rng.normal(5.3, 2, 450)
    cont = SequentialTest(metric="continuous", tau=0.3)
    for lo, hi in ((0, 100), (100, 450)):
        cont.update(a=ya[lo:hi], b=yb[lo:hi])
    cont.update(a=ya[450:])
    ref = msprt(MeanStats("A", 500, ya.mean(), ya.std(ddof=1)),
                MeanStats("B", 450, yb.mean(), yb.std(ddof=1)), tau=0.3)  # fmt: skip
    assert cont.result().log_lr == pytest.approx(ref.log_lr, rel=1e-10)
    assert cont.result().estimate == pytest.approx(ref.estimate, rel=1e-10)


def test_sequential_test_fixes_tau_at_the_first_informative_update():
    test = SequentialTest(metric="binary", planned_n=10_000)
    assert math.isnan(test.update(users_a=50, users_b=50).tau)
    tau = test.update(users_a=50, conversions_a=5, users_b=50, conversions_b=8).tau
    assert tau == pytest.approx(tau_for_planned_n(0.05 * 0.95 + 0.08 * 0.92, 10_000))
    assert test.update(users_a=500, conversions_a=200, users_b=500, conversions_b=10).tau == tau


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: msprt(ProportionStats("A", 0, 0), ProportionStats("B", 10, 1), tau=1),
         "variants[0].users"),
        (lambda: msprt(ProportionStats("A", 10, 1), MeanStats("B", 0, 0, 0), tau=1),
         "variants[1].users"),
        (lambda: msprt(ProportionStats("A", 10, 1), ProportionStats("B", 10, 1)), "tau"),
        (lambda: msprt(ProportionStats("A", 10, 1), ProportionStats("B", 10, 1), tau=1,
                       planned_n=100), "tau"),
        (lambda: msprt(ProportionStats("A", 10, 1), ProportionStats("B", 10, 1), tau=-1),
         "tau"),
        (lambda: msprt(ProportionStats("A", 10, 1), ProportionStats("B", 10, 1), tau=1e308),
         "tau"),
        (lambda: msprt(ProportionStats("A", 10, 1), ProportionStats("B", 10, 1), tau=5e-324),
         "tau"),  # tau² underflows to 0
        (lambda: msprt(ProportionStats("A", 10, 1), ProportionStats("B", 10, 1),
                       planned_n=1), "planned_n"),
        (lambda: msprt(ProportionStats("A", 10, 1), ProportionStats("B", 10, 1), tau=1,
                       alpha=0.7), "alpha"),
        (lambda: msprt_from_estimate(float("nan"), 1, tau=1), "estimate"),
        (lambda: msprt_from_estimate(0, -1, tau=1), "variance"),
        (lambda: tau_for_planned_n(0, 100), "unit_variance"),
        (lambda: SequentialTest(metric="ratio", tau=1), "metric"),
        (lambda: SequentialTest(alpha=0, tau=1), "alpha"),
        (lambda: SequentialTest(), "tau"),
        (lambda: SequentialTest(tau=1).update(users_a=10, conversions_a=11), "conversions_a"),
        (lambda: SequentialTest(tau=1).update(users_b=-1), "users_b"),
        (lambda: SequentialTest(tau=1).update(a=[0, 2], b=[1]), "a"),
        (lambda: SequentialTest(tau=1).update(a=[0, 1], b=[1, float("nan")]), "b"),
        (lambda: SequentialTest(tau=1).update(users_a=10, a=[1]), "a"),
        (lambda: SequentialTest(metric="continuous", tau=1).update(users_a=10), "users_a"),
        (lambda: SequentialTest(tau=1).update(users_a=10), "users_a"),
        (lambda: SequentialTest(tau=1).result(), "users_a"),
        (lambda: msprt_projection(A, B, tau=0, n_max=10), "tau"),
        (lambda: msprt_projection(A, B, tau=0.01, n_max=1), "n_max"),
        (lambda: msprt_projection(A, B, tau=0.01, n_max=10, points=501), "points"),
        (lambda: msprt_projection(ProportionStats("a", 0, 0), B, tau=0.01, n_max=10), "variants[0].users"),
    ],
)  # fmt: skip
def test_bad_input_raises_naming_the_field(call, field):
    with pytest.raises(ValueError, match=f"^{re.escape(field)} "):
        call()


def test_projection_scales_the_variance_with_n_and_matches_single_looks():
    """At each n the projection is the single-look mSPRT of the same difference with the
    variance v_obs * n_obs / n; the fixed interval is the Wald interval (scipy's quantile)."""
    tau = 0.02
    proj = msprt_projection(A, B, tau=tau, alpha=ALPHA, n_max=40_000, points=50)
    v_obs = 0.1 * 0.9 / 5000 + 0.11 * 0.89 / 3000
    assert proj.n[0] == 2000 and proj.n[-1] == 40_000 and list(proj.n) == sorted(set(proj.n))
    for i in (0, 17, len(proj.n) - 1):
        v = v_obs * 8000 / proj.n[i]
        one = msprt_from_estimate(0.01, v, tau=tau, alpha=ALPHA)
        assert proj.log_lr[i] == pytest.approx(one.log_lr, rel=1e-9)
        assert (proj.ci_low[i], proj.ci_high[i]) == pytest.approx((one.ci_low, one.ci_high))
        half = stats.norm.ppf(1 - ALPHA / 2) * math.sqrt(v)
        assert proj.fixed_high[i] - proj.fixed_low[i] == pytest.approx(2 * half)
    assert proj.threshold == pytest.approx(math.log(20))
    assert proj.estimate == pytest.approx(0.01)
    # the confidence sequence is always wider than the fixed-horizon interval
    assert all(c < f for c, f in zip(proj.ci_low, proj.fixed_low, strict=True))
