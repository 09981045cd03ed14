"""Closed forms (Miller, Stucchio) against quadrature and draws; grids; joint summaries."""

import math

import numpy as np
import pytest
from scipy import integrate, optimize
from scipy import stats as st

from stats.bayes.decision import (
    CELLS_PER_WIDTH,
    GRID_TAIL,
    GridDistribution,
    JointSummary,
    _grid_masses,
    decide,
    expected_loss_beta,
    joint_summary,
    lift_distribution,
    pair_summary,
    prob_beta_greater,
)
from stats.bayes.models import BetaPosterior, GammaPosterior, StudentTPosterior

# Reference values from the issue (Beta(1, 1) prior), also given by Evan Miller's calculator.
REFERENCE = [
    # (users A, conv A, users B, conv B, P(B > A))
    (1000, 100, 1000, 120, 0.923183),
    (100, 10, 100, 15, 0.853284),
    (500, 50, 500, 50, 0.5),
]


def quad_prob_greater(a1, b1, a2, b2):
    """P(X > Y) = ∫ f_Y(y) P(X > y) dy with scipy.stats and adaptive quadrature."""
    y, x = st.beta(a2, b2), st.beta(a1, b1)
    lo, hi = y.ppf(1e-14), y.isf(1e-14)
    return integrate.quad(lambda t: y.pdf(t) * x.sf(t), lo, hi, limit=200, epsabs=1e-13)[0]


def quad_loss(aa, ba, ab, bb):
    """E[max(θA − θB, 0)] = ∫ f_B(y) E[(θA − y)+] dy, with the Beta partial expectation
    E[(θA − y)+] = m_A·P(Beta(aA + 1, bA) > y) − y·P(θA > y), by adaptive quadrature."""
    a, a1, b = st.beta(aa, ba), st.beta(aa + 1, ba), st.beta(ab, bb)
    m = aa / (aa + ba)
    lo, hi = b.ppf(1e-14), b.isf(1e-14)
    return integrate.quad(
        lambda y: b.pdf(y) * (m * a1.sf(y) - y * a.sf(y)), lo, hi, limit=200, epsabs=1e-15
    )[0]


@pytest.mark.parametrize(("na", "ca", "nb", "cb", "expected"), REFERENCE)
def test_miller_reproduces_reference_values(na, ca, nb, cb, expected):
    a, b = (1 + ca, 1 + na - ca), (1 + cb, 1 + nb - cb)
    p = prob_beta_greater(*b, *a)
    assert p == pytest.approx(expected, abs=5e-7)
    assert p == pytest.approx(quad_prob_greater(*b, *a), abs=1e-9)


def test_stucchio_loss_reproduces_reference_and_quadrature():
    # Issue reference: A 100/1,000 vs B 120/1,000 -> expected loss of shipping B 0.00048461.
    loss = expected_loss_beta(101, 901, 121, 881)
    assert loss == pytest.approx(0.00048461, abs=5e-9)
    assert loss == pytest.approx(quad_loss(101, 901, 121, 881), rel=1e-7)
    # Equal data: equal losses, and P(B > A) exactly one half (to rounding).
    assert expected_loss_beta(51, 451, 51, 451) == pytest.approx(quad_loss(51, 451, 51, 451))
    assert prob_beta_greater(51, 451, 51, 451) == pytest.approx(0.5, abs=1e-10)


@pytest.mark.parametrize(
    "params",
    [
        (16.0, 86.0, 11.0, 91.0),  # integer: the shortest Miller sum
        (16.5, 85.5, 11.5, 90.5),  # Jeffreys prior: no integer parameter, quadrature
        (3.0, 2000.5, 2.5, 1500.5),  # only alpha_x integer
        (7.5, 300.0, 9.5, 280.0),  # only the betas integer
    ],
)
def test_every_path_agrees_with_quadrature_and_draws(params):
    p = prob_beta_greater(*params)
    assert p == pytest.approx(quad_prob_greater(*params), abs=1e-9)
    assert p + prob_beta_greater(*params[2:], *params[:2]) == pytest.approx(1.0, abs=1e-10)
    # 400,000 draws: SE sqrt(p(1 - p)/n) <= 0.0008; tolerance 4 SE.
    rng = np.random.default_rng(3)
    n = 400_000
    x, y = rng.beta(*params[:2], n), rng.beta(*params[2:], n)
    assert abs(np.mean(x > y) - p) < 4 * math.sqrt(p * (1 - p) / n)
    loss = expected_loss_beta(*params[2:], *params[:2])  # choosing X: E[max(Y - X, 0)]
    d = np.maximum(y - x, 0.0)
    assert abs(d.mean() - loss) < 4 * d.std() / math.sqrt(n)


def test_pair_summary_matches_joint_draws_for_two_beta_arms():
    a, b = BetaPosterior(101, 901), BetaPosterior(121, 881)
    exact = pair_summary(lift_distribution(a, b), a, b)
    n = 400_000
    rng = np.random.default_rng(5)
    draws = np.vstack([a.draws(rng, n), b.draws(rng, n)])
    mc = joint_summary(draws)
    loss = draws.max(axis=0) - draws
    for i in range(2):
        se_p = math.sqrt(exact.prob_best[i] * (1 - exact.prob_best[i]) / n)
        assert abs(mc.prob_best[i] - exact.prob_best[i]) < 4 * se_p
        assert abs(mc.expected_loss[i] - exact.expected_loss[i]) < 4 * loss[i].std() / n**0.5
        # CVaR: mean of the top 5% of the loss; its SE is about sd(top tail)/sqrt(0.05 n)
        # plus the quantile's; 4 x sd(loss)/sqrt(0.05 n) bounds both.
        assert abs(mc.cvar[i] - exact.cvar[i]) < 4 * loss[i].std() / math.sqrt(0.05 * n)
    assert exact.prob_best[1] == pytest.approx(0.923183, abs=5e-7)


def test_joint_summary_against_a_plain_python_computation():
    rng = np.random.default_rng(9)
    draws = rng.normal([[0.0], [0.2], [0.1]], 1.0, (3, 40))
    got = joint_summary(draws)
    n = draws.shape[1]
    columns = [list(draws[:, j]) for j in range(n)]
    wins = [sum(1 for c in columns if max(c) == c[i]) / n for i in range(3)]
    losses = [[max(c) - c[i] for c in columns] for i in range(3)]
    k = math.ceil(0.05 * n)
    assert got.prob_best == pytest.approx(wins)
    assert got.expected_loss == pytest.approx([sum(v) / n for v in losses])
    assert got.cvar == pytest.approx([sum(sorted(v)[-k:]) / k for v in losses])


def test_joint_summary_splits_no_credit_twice_on_ties():
    draws = np.array([[1.0, 1.0, 2.0, 0.0], [1.0, 0.0, 1.0, 3.0]])
    assert sum(joint_summary(draws).prob_best) == pytest.approx(1.0)


def test_relative_lift_needs_positive_posteriors():
    near_zero = StudentTPosterior(9.0, 1.0, 1.0)
    assert lift_distribution(near_zero, StudentTPosterior(9.0, 2.0, 1.0), relative=True) is None


def test_grid_hdi_of_a_normal_and_a_skewed_beta():
    # Normal: HDI = mean ± 1.959964 sd. Beta(2, 30): the shortest interval found by
    # minimising ppf(u + 0.95) − ppf(u) over u (scipy.optimize, independent of the grid).
    normal = StudentTPosterior(1e9, 1.0, 2.0)
    point = StudentTPosterior(1e9, 0.0, 0.0)
    lo, hi = lift_distribution(point, normal).hdi()
    assert (lo, hi) == pytest.approx((1.0 - 3.919928, 1.0 + 3.919928), abs=0.02)
    beta = st.beta(2, 30)
    u = optimize.minimize_scalar(
        lambda u: beta.ppf(u + 0.95) - beta.ppf(u), bounds=(0, 0.05), method="bounded"
    ).x
    grid = lift_distribution(StudentTPosterior(1e9, 0.0, 0.0), BetaPosterior(2, 30))
    # Cells are 1/200 of the 95% width (0.12 here): endpoints exact to about one cell.
    assert grid.hdi() == pytest.approx((beta.ppf(u), beta.ppf(u + 0.95)), abs=6e-4)


def test_hdi_from_samples_is_the_shortest_window():
    # Sorted draws: the narrowest window spanning 95% of them (computed here by a loop).
    x = np.random.default_rng(2).gamma(2.0, size=2001)
    s = np.sort(x)
    m = math.ceil(0.95 * 2000)
    best = min(range(s.size - m), key=lambda i: s[i + m] - s[i])
    lo, hi = GridDistribution.from_samples(x).hdi()
    assert hi - lo == pytest.approx(s[best + m] - s[best], rel=1e-9)
    assert lo == pytest.approx(s[best])


@pytest.mark.parametrize(
    ("control", "variant"),
    [
        (BetaPosterior(101, 901), BetaPosterior(121, 881)),
        (GammaPosterior(300.5, 500.0), GammaPosterior(340.5, 500.0)),
        (StudentTPosterior(29.0, 10.0, 1.0), StudentTPosterior(20.0, 11.0, 0.5)),
    ],
)
def test_lift_grid_cdf_matches_quadrature(control, variant):
    # P(θv − θc <= t) = ∫ f_c(x) F_v(x + t) dx, by scipy.integrate.quad with scipy.stats.
    dist = {
        BetaPosterior: lambda p: st.beta(p.alpha, p.beta),
        GammaPosterior: lambda p: st.gamma(p.shape, scale=1 / p.rate),
        StudentTPosterior: lambda p: st.t(p.df, p.loc, p.scale),
    }
    c, v = dist[type(control)](control), dist[type(variant)](variant)
    lo, hi = c.ppf(1e-12), c.isf(1e-12)
    grid = lift_distribution(control, variant)
    rel = lift_distribution(control, variant, relative=True)
    spread = variant.ppf(0.9) - control.ppf(0.1)
    for t in np.array([-0.5, 0.0, 0.3, 0.7]) * spread:
        ref = integrate.quad(lambda x, t=t: c.pdf(x) * v.cdf(x + t), lo, hi, limit=200)[0]
        assert grid.cdf(t) == pytest.approx(ref, abs=2e-5)
    for r in (-0.1, 0.0, 0.1, 0.25):
        ref = integrate.quad(lambda x, r=r: c.pdf(x) * v.cdf((1 + r) * x), lo, hi, limit=200)[0]
        assert rel.cdf(r) == pytest.approx(ref, abs=2e-5)
    assert grid.mean == pytest.approx(variant.mean - control.mean, rel=1e-4)


def test_decide_follows_the_threshold_of_caring():
    names = ("A", "B", "C")
    s = JointSummary((0.1, 0.85, 0.05), (0.02, 0.0004, 0.03), (0.05, 0.008, 0.06))
    ship = decide(names, s, "A", 0.001)
    assert (ship.decision, ship.best) == ("ship", "B")
    assert "ship B" in ship.reasons[-1] and "85.0%" in ship.reasons[0]
    assert decide(names, s, "A", 0.0001).decision == "keep-collecting"
    assert decide(names, s, "A", 0.0).decision == "keep-collecting"
    keep = decide(names, s, "B", 0.001)
    assert (keep.decision, keep.best) == ("keep-control", "B")


def test_huge_counts_use_the_normal_limit_and_keep_the_direction():
    # B has one more conversion out of 1e12 users: P(B > A) is just above one half.
    # (The Miller sum would need 1e11 terms and quadrature of such a thin density fails.)
    p = prob_beta_greater(1e11 + 2.5, 9e11 + 0.5, 1e11 + 1.5, 9e11 + 1.5)
    assert 0.5 < p < 0.5001
    # Just above the switch the normal limit agrees with quadrature (Jeffreys-prior halves
    # keep the parameters non-integer, so the sum is not used).
    a = (1_500_000.5, 9_000_000.5, 1_498_000.5, 9_002_000.5)
    from stats.bayes.decision import _prob_greater_normal, _prob_greater_quad

    assert _prob_greater_normal(*a) == pytest.approx(_prob_greater_quad(*a), abs=2e-4)


@pytest.mark.parametrize(
    ("aa", "ba", "ab", "bb"),
    [(101, 901, 121, 881), (16.5, 85.5, 11.5, 90.5), (3.0, 2000.5, 2.5, 1500.5), (2, 3, 40, 2)],
)
def test_expected_loss_by_cooks_recurrence_matches_quadrature(aa, ba, ab, bb):
    # One P(X > Y) and Cook's recurrences against adaptive quadrature of the definition.
    assert expected_loss_beta(aa, ba, ab, bb) == pytest.approx(quad_loss(aa, ba, ab, bb), rel=1e-7)
    assert expected_loss_beta(ab, bb, aa, ba) == pytest.approx(quad_loss(ab, bb, aa, ba), rel=1e-7)


@pytest.mark.parametrize(
    ("post", "ref"),
    [
        (BetaPosterior(101, 901), st.beta(101, 901)),
        (BetaPosterior(2, 30), st.beta(2, 30)),
        (BetaPosterior(0.5, 100.5), st.beta(0.5, 100.5)),  # infinite at 0: CDF differences
        (GammaPosterior(340.5, 500.0), st.gamma(340.5, scale=1 / 500.0)),
        (GammaPosterior(0.5, 10.0), st.gamma(0.5, scale=1 / 10.0)),
        (StudentTPosterior(3.0, 10.0, 1.0), st.t(3.0, 10.0, 1.0)),
    ],
)
@pytest.mark.parametrize("relative", [False, True])
def test_grid_masses_match_the_closed_form_cdf(post, ref, relative):
    # Cell masses by two-point Gauss–Legendre against F(edge_{i+1}) − F(edge_i) from
    # scipy.stats, on the grid lift_distribution builds (200 cells per 95% width): within
    # 1e-10 of the total mass per cell (the rule's error, h⁴ f⁽⁴⁾ / 4320 per unit mass, is
    # ~1e-11 there; a density the rule cannot resolve falls back to the CDF itself).
    if relative and isinstance(post, StudentTPosterior):
        post, ref = StudentTPosterior(30.0, 10.0, 1.0), st.t(30.0, 10.0, 1.0)
    q = post.ppf(np.array([GRID_TAIL, 0.025, 0.975, 1 - GRID_TAIL]))
    lo, w_lo, w_hi, hi = np.log(q) if relative else q
    h = (w_hi - w_lo) / CELLS_PER_WIDTH
    start, masses = _grid_masses(post, relative, h, lo, hi, True)
    edges = start + h * np.arange(masses.size + 1)
    exact = np.diff(ref.cdf(np.exp(edges) if relative else edges))
    assert masses == pytest.approx(exact / exact.sum(), abs=1e-10)


@pytest.mark.parametrize(
    "params",
    [
        (1501.0, 8501.0, 1401.0, 8601.0),  # 1,401 terms: two blocks of the recurrence
        (2500.0, 7501.0, 2450.0, 7551.0),  # 2,450 terms in three blocks, P near one half
        (1025.0, 3000.5, 1100.5, 2900.5),  # 1,025 terms: one past the first block
    ],
)
def test_blocked_miller_sum_matches_quadrature(params):
    # Terms between the directly evaluated ones follow by their ratio; adaptive quadrature
    # of the definition (scipy.stats) is the reference, to 1e-9 as for the short sums.
    p = prob_beta_greater(*params)
    assert p == pytest.approx(quad_prob_greater(*params), abs=1e-9)
    assert p + prob_beta_greater(*params[2:], *params[:2]) == pytest.approx(1.0, abs=1e-10)
