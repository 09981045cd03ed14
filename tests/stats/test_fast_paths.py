"""Issue 16: the fast paths give the same answers as the code they replaced.

Each test calls a frozen copy of the OLD algorithm, kept only here (never imported from
``stats``), so the check is independent of the new code:

- the Farrington–Manning score interval by the old vectorised section search (64 sections ×
  10 rounds), to 1e-9 absolute, over a grid of counts, levels and alternatives, including
  zero and full conversion; except all-against-none with equal arms, where the old
  statistic was wrong and a closed form is the reference (see :func:`_reference_interval`);
- CUPED's per-arm moments against the old weighted-``bincount`` code, and CUPED from a
  categorical arm column (codes used as they are) against the same rows as text;
- the whole ``compare_proportions`` result against the old statsmodels/scipy composition
  (``proportions_ztest``, ``fisher_exact``, ``norm.ppf``, ``proportion_effectsize``);
- SRM against ``scipy.stats.chisquare``;
- P(best) and expected loss of k closed-form posteriors by fixed quadrature against scipy's
  adaptive quadrature at tight tolerances, and for two Beta arms against Evan Miller's exact
  sum and Stucchio's expected loss.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy import stats as sps
from statsmodels.stats.proportion import (
    proportion_confint,
    proportion_effectsize,
    proportions_ztest,
)

from sources.cuped import cuped_from_frame
from stats.bayes.decision import best_by_quadrature, expected_loss_beta, prob_beta_greater
from stats.bayes.engine import analyze_bayesian, variant_stats
from stats.bayes.models import BetaPosterior, GammaPosterior, StudentTPosterior
from stats.comparisons import (
    _critical,
    _pvalue,
    _score_z,
    compare_proportions,
    sample_ratio_mismatch,
    score_interval_diff,
    score_statistic_diff,
    variant_estimate,
)
from stats.cuped import _arm_moments
from stats.sufficient import MeanStats, ProportionStats
from stats.vocabulary import ALTERNATIVES

# ------------------------------------------------------------------ frozen old algorithm


def _old_score_statistic(c1, n1, c0, n0, value):
    """Frozen copy of ``score_statistic_diff`` as of commit dc81c05."""
    d = np.asarray(value, dtype=float)
    c1, n1, c0, n0 = (np.asarray(x, dtype=float) for x in (c1, n1, c0, n0))
    r1, r0, th = c1 / n1, c0 / n0, n0 / n1
    a = 1 + th
    b = -(1 + th + r1 + th * r0 + d * (th + 2))
    c = d * d + d * (2 * r1 + th + 1) + r1 + th * r0
    e = -r1 * d * (1 + d)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = b**3 / (27 * a**3) - b * c / (6 * a**2) + e / (2 * a)
        u = np.sign(v) * np.sqrt(np.maximum(b * b / (9 * a * a) - c / (3 * a), 0.0))
        w = (np.pi + np.arccos(np.clip(v / u**3, -1.0, 1.0))) / 3
        pooled = (c1 + c0) / (n1 + n0)
        p1 = np.where(d == 0, pooled, 2 * u * np.cos(w) - b / (3 * a))
        p1 = np.clip(np.where(np.isfinite(p1), p1, pooled), 0.0, 1.0)
        p0 = np.clip(p1 - d, 0.0, 1.0)
        var = p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0
        diff = r1 - r0 - d
        z = diff / np.sqrt(var)
    return np.where(diff == 0, 0.0, z)


def _old_score_interval(c1, n1, c0, n0, alpha, alternative="two-sided"):
    """Frozen copy of the section search of ``score_interval_diff`` as of commit dc81c05."""
    sections, rounds = 64, 10
    q = 1.0 - (alpha / 2 if alternative == "two-sided" else alpha)
    crit = float(sps.norm.ppf(q))
    c1, n1, c0, n0 = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (c1, n1, c0, n0)))
    shape = c1.shape
    c1, n1, c0, n0 = (x.reshape(1, -1, 1) for x in (c1, n1, c0, n0))
    est = (c1 / n1 - c0 / n0)[..., 0]
    lo = np.concatenate([np.full_like(est, -1.0), est])
    hi = np.concatenate([est, np.ones_like(est)])
    target = np.array([crit, -crit]).reshape(2, 1, 1)
    frac = np.arange(1, sections) / sections
    for _ in range(rounds):
        grid = lo[..., None] + (hi - lo)[..., None] * frac
        k = (_old_score_statistic(c1, n1, c0, n0, grid) > target).sum(axis=2)
        below = np.take_along_axis(grid, np.maximum(k - 1, 0)[..., None], axis=2)[..., 0]
        above = np.take_along_axis(grid, np.minimum(k, sections - 2)[..., None], axis=2)[..., 0]
        lo, hi = np.where(k > 0, below, lo), np.where(k < sections - 1, above, hi)
    low, high = ((lo + hi) / 2).reshape(2, *shape)
    if alternative == "larger":
        high = np.full(shape, np.inf)
    elif alternative == "smaller":
        low = np.full(shape, -np.inf)
    return low, high


def _reference_interval(c1, n1, c0, n0, alpha, alternative="two-sided"):
    """The old section search, except where the old statistic was wrong.

    All against none with equal arms (``n/n`` vs ``0/n``, or ``0/n`` vs ``n/n``): the cubic's
    ``v`` is 0 in exact arithmetic, rounds to exactly 0 at some ``δ``, and the old code's
    ``np.sign(0) = 0`` replaced the restricted MLE by the pooled rate there, so its ``z(δ)``
    was not monotone and the search stopped at a wrong crossing (0.690 instead of 0.678 for
    10/10 vs 0/10). There the MLE under ``p1 − p0 = δ`` is ``p̃1 = (1 + δ)/2`` (maximise
    ``n log p1 + n log(1 − p0)``), so ``z² = 2n(1 − δ)/(1 + δ)`` and the bound solving
    ``z = z_crit`` is ``(2n − z_crit²)/(2n + z_crit²)``: that closed form is the reference.
    """
    if n1 == n0 and {c1, c0} == {0, n1}:
        q = 1.0 - (alpha / 2 if alternative == "two-sided" else alpha)
        z2 = float(sps.norm.ppf(q)) ** 2
        bound = (2 * n1 - z2) / (2 * n1 + z2)
        est = 1.0 if c1 == n1 else -1.0
        low, high = (bound, est) if c1 == n1 else (est, -bound)
        if alternative == "larger":
            high = math.inf
        elif alternative == "smaller":
            low = -math.inf
        return np.array(low), np.array(high)
    return _old_score_interval(c1, n1, c0, n0, alpha, alternative)


def _old_compare(c: ProportionStats, t: ProportionStats, alpha: float, alternative: str):
    """Frozen copy of the numbers ``compare_proportions`` returned as of commit dc81c05."""
    ct, nt, cc, nc = t.conversions, t.users, c.conversions, c.users
    table = np.array([[ct, nt - ct], [cc, nc - cc]], dtype=float)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    if expected.min() < 5.0:
        side = {"two-sided": "two-sided", "larger": "greater", "smaller": "less"}[alternative]
        res = sps.fisher_exact([[ct, nt - ct], [cc, nc - cc]], alternative=side)
        test, stat, p = "fisher", float(res.statistic), float(res.pvalue)
    else:
        z, pz = proportions_ztest([ct, cc], [nt, nc], value=0, alternative=alternative)
        test, stat, p = "z", float(z), float(pz)
    low, high = map(float, _reference_interval(ct, nt, cc, nc, alpha, alternative))
    crit = float(sps.norm.ppf(1.0 - (alpha / 2 if alternative == "two-sided" else alpha)))
    mc, mt = c.rate, t.rate
    if mc == 0:
        lift = rl = rh = math.nan
    else:
        lift = mt / mc - 1.0
        se = math.hypot(t.se / mc, (mt / mc) * (c.se / mc))
        rl, rh = lift - crit * se, lift + crit * se
        if alternative == "larger":
            rh = math.inf
        elif alternative == "smaller":
            rl = -math.inf
    h = float(proportion_effectsize(t.rate, c.rate))
    return {
        "test": test,
        "statistic": stat,
        "pvalue": p,
        "ci_low": low,
        "ci_high": high,
        "relative_lift": lift,
        "relative_ci_low": rl,
        "relative_ci_high": rh,
        "effect_size": h,
        "estimate": t.rate - c.rate,
    }


# ------------------------------------------------------------------ the grid

COUNTS = [
    (0, 10, 0, 10),
    (0, 40, 3, 35),
    (3, 40, 0, 35),
    (10, 10, 0, 10),
    (10, 10, 10, 10),
    (0, 1, 1, 1),
    (1, 1, 0, 1),
    (1, 2, 1, 3),
    (16, 20, 513, 2642),
    (120, 1000, 160, 1000),
    (160, 1000, 120, 1000),
    (300, 2500, 190, 1800),
    (1000, 10000, 1100, 10000),
    (5, 100000, 0, 100000),
    (99990, 100000, 99999, 100000),
    (500_000, 1_000_000, 500_500, 1_000_000),
    (12, 50_000, 48_000, 50_000),
]


def _random_counts(k: int, seed: int) -> list[tuple[int, int, int, int]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(k):
        n1, n0 = (int(x) for x in rng.integers(1, 20_000, 2))
        p1, p0 = rng.uniform(0, 1, 2) ** rng.choice([1, 3])
        out.append((int(rng.binomial(n1, p1)), n1, int(rng.binomial(n0, p0)), n0))
    return out


GRID = COUNTS + _random_counts(60, seed=16)


@pytest.mark.parametrize("alpha", [0.05, 0.001, 0.2, 1e-8])
@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_score_interval_equals_the_old_section_search(alpha, alternative):
    for c1, n1, c0, n0 in GRID:
        old = _reference_interval(c1, n1, c0, n0, alpha, alternative)
        new = score_interval_diff(c1, n1, c0, n0, alpha, alternative)
        for o, n in zip(old, new, strict=True):
            assert float(n) == pytest.approx(float(o), abs=1e-9, rel=0), (c1, n1, c0, n0)


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_vectorised_score_interval_equals_the_old_section_search(alternative):
    c1, n1, c0, n0 = (np.array(col) for col in zip(*GRID, strict=True))
    old = [
        np.array(x)
        for x in zip(*(_reference_interval(*g, 0.05, alternative) for g in GRID), strict=True)
    ]
    new = score_interval_diff(c1, n1, c0, n0, 0.05, alternative)
    for o, n in zip(old, new, strict=True):
        assert n.shape == o.shape
        np.testing.assert_allclose(n, o, rtol=0, atol=1e-9)


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_compare_proportions_equals_the_old_composition(alternative, alpha):
    for c1, n1, c0, n0 in GRID:
        control, treatment = ProportionStats("A", n0, c0), ProportionStats("B", n1, c1)
        got = compare_proportions(
            control, treatment, alpha=alpha, alternative=alternative, relative="delta"
        )
        want = _old_compare(control, treatment, alpha, alternative)
        assert got.test == want.pop("test")
        for field, value in want.items():
            assert _same(getattr(got, field), value), (field, c1, n1, c0, n0)


def test_srm_equals_scipy_chisquare():
    rng = np.random.default_rng(3)
    for k in (2, 3, 5):
        for _ in range(20):
            users = [int(u) for u in rng.integers(1, 100_000, k)]
            split = [float(w) for w in rng.uniform(0.1, 1, k)]
            variants = [ProportionStats(f"V{i}", u, 0) for i, u in enumerate(users)]
            for planned in (None, split):
                got = sample_ratio_mismatch(variants, planned)
                w = np.ones(k) if planned is None else np.asarray(planned)
                res = sps.chisquare(users, sum(users) * w / w.sum())
                assert got.statistic == pytest.approx(float(res.statistic), rel=1e-12)
                assert got.pvalue == pytest.approx(float(res.pvalue), rel=1e-9, abs=1e-300)
    means = [MeanStats("A", 500, 1.0, 1.0), MeanStats("B", 560, 1.0, 1.0)]
    res = sps.chisquare([500, 560])
    assert sample_ratio_mismatch(means).pvalue == pytest.approx(float(res.pvalue), rel=1e-12)


def test_grid_is_not_trivial():
    # Guards the grid itself: every alternative meets finite bounds somewhere.
    assert len(GRID) > 70
    # the old search really was wrong on the all-against-none case the closed form covers
    old_low = float(_old_score_interval(10, 10, 0, 10, 0.05)[0])
    assert abs(old_low - float(_reference_interval(10, 10, 0, 10, 0.05)[0])) > 0.01
    assert any(c1 == n1 for c1, n1, _, _ in GRID) and any(c0 == 0 for _, _, c0, _ in GRID)
    assert all(itertools.starmap(lambda c1, n1, c0, n0: 0 <= c1 <= n1 and 0 <= c0 <= n0, GRID))


def test_wilson_interval_equals_statsmodels():
    for c1, n1, c0, n0 in GRID:
        for count, nobs in ((c1, n1), (c0, n0)):
            for alpha in (0.05, 0.001):
                got = variant_estimate(ProportionStats("A", nobs, count), alpha)
                low, high = proportion_confint(count, nobs, alpha=alpha, method="wilson")
                assert (got.ci_low, got.ci_high) == pytest.approx((low, high), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_p_values_and_quantiles_equal_scipy_stats(alternative):
    for x in (-40.0, -3.0, -0.5, 0.0, 1.2, 8.0):
        for df in (None, 3.5, 100.0):
            got = _pvalue(x, alternative, df)
            dist = sps.norm() if df is None else sps.t(df)
            sf = dist.sf
            want = {"larger": sf(x), "smaller": sf(-x), "two-sided": min(1.0, 2 * sf(abs(x)))}
            assert got == pytest.approx(float(want[alternative]), rel=1e-14, abs=0)
    for alpha in (0.5, 0.05, 1e-6):
        q = 1 - (alpha / 2 if alternative == "two-sided" else alpha)
        assert _critical(alpha, alternative) == float(sps.norm.ppf(q))
        assert _critical(alpha, alternative, 7.0) == float(sps.t.ppf(q, 7.0))


def test_scalar_score_statistic_equals_the_vectorised_one():
    rng = np.random.default_rng(1)
    for c1, n1, c0, n0 in GRID:
        deltas = np.concatenate([rng.uniform(-1, 1, 20), [0.0, -0.5, 0.5, 0.67]])
        vector = score_statistic_diff(c1, n1, c0, n0, deltas)
        for d, z in zip(deltas, vector, strict=True):
            assert _score_z(c1, n1, c0, n0, float(d)) == pytest.approx(float(z), rel=1e-12)


# ------------------------------------------------------------------ CUPED moments and codes


def _old_arm_moments(codes, arms, y, z):
    """Frozen copy of ``stats.cuped._arm_moments`` (weighted ``np.bincount``) as of dc81c05."""
    cols = np.column_stack([y, z])
    shift = cols[0].copy() if len(cols) else np.zeros(cols.shape[1])
    cols -= shift
    p = cols.shape[1]
    n = np.bincount(codes, minlength=arms).astype(np.float64)
    sums = np.column_stack([np.bincount(codes, cols[:, j], arms) for j in range(p)])
    cross = np.empty((arms, p, p))
    for j in range(p):
        for k in range(j, p):
            cross[:, j, k] = cross[:, k, j] = np.bincount(codes, cols[:, j] * cols[:, k], arms)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = sums / n[:, None]
        centred = cross - n[:, None, None] * means[:, :, None] * means[:, None, :]
        cov = centred / (n - 1.0)[:, None, None]
    cov[n < 2] = 0.0
    diag = np.arange(p)
    cov[:, diag, diag] = np.maximum(cov[:, diag, diag], 0.0)
    means += shift
    return n, means, cov


@pytest.mark.parametrize(("rows", "arms", "k"), [(5, 3, 1), (100_003, 3, 2), (70_000, 2, 0)])
def test_arm_moments_equal_the_old_bincount_version(rows, arms, k):
    # Sizes straddle the block boundary (_CHUNK rows); one arm may be empty or tiny.
    rng = np.random.default_rng(rows)
    codes = rng.integers(0, arms, rows)
    codes[codes == arms - 1] = 0 if rows < 10 else arms - 1
    y = 1e6 + rng.normal(0, 3, rows)
    z = rng.gamma(2.0, 10.0, (rows, k)) + np.arange(k)
    got = _arm_moments(codes, arms, y, z)
    n, means, cov = _old_arm_moments(codes, arms, y, z)
    np.testing.assert_array_equal(got.n, n)
    np.testing.assert_allclose(got.mean_y, means[:, 0], rtol=1e-13)
    np.testing.assert_allclose(got.mean_z, means[:, 1:], rtol=1e-13)
    np.testing.assert_allclose(got.var_y, cov[:, 0, 0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got.cov_zz, cov[:, 1:, 1:], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got.cov_zy, cov[:, 1:, 0], rtol=1e-9, atol=1e-9)


def test_cuped_from_a_categorical_column_equals_text_labels():
    rng = np.random.default_rng(8)
    rows = 50_000
    arm = rng.choice(np.array(["treatment", "control", "b"]), rows)
    x = rng.gamma(2.0, 10.0, rows)
    y = 5.0 + 0.8 * x + 0.5 * (arm == "treatment") + rng.normal(0.0, 11.0, rows)
    x[rng.random(rows) < 0.1] = np.nan
    text = pd.DataFrame({"variant": arm, "y": y, "x": x})
    unused = pd.Categorical(arm, categories=["zz", "treatment", "a", "control", "b"])
    for variant in (text["variant"].astype("category"), unused, text["variant"].astype(object)):
        frame = text.assign(variant=variant)
        want = cuped_from_frame(
            text, variant="variant", outcome="y", covariate="x", control="control"
        )
        got = cuped_from_frame(
            frame, variant="variant", outcome="y", covariate="x", control="control"
        )
        assert got == want


# ------------------------------------------------------------------ P(best) by quadrature


def _quad_reference(posts, lo: float, hi: float) -> tuple[list[float], float, float]:
    """P(best)_i and E[max] by scipy's adaptive quadrature (QUADPACK qags) at tight
    tolerances, breakpoints at every mean; returns also the largest error estimate."""
    points = sorted(p.mean for p in posts)
    err_max = 0.0

    def others(x: float, i: int) -> float:
        return math.prod(float(q.cdf(x)) for j, q in enumerate(posts) if j != i)

    best = []
    e_max = 0.0
    for i, p in enumerate(posts):
        kw = {"points": points, "limit": 1000, "epsabs": 1e-14, "epsrel": 1e-12}
        v, e = integrate.quad(lambda x, i=i, p=p: float(p.pdf(x)) * others(x, i), lo, hi, **kw)
        m, e2 = integrate.quad(lambda x, i=i, p=p: x * float(p.pdf(x)) * others(x, i), lo, hi, **kw)
        best.append(v)
        e_max += m
        err_max = max(err_max, e, e2)
    return best, e_max, err_max


TEN_ARMS = [BetaPosterior(1 + 1000 + 7 * i, 1 + 9000 - 7 * i) for i in range(10)]
MIXED_ARMS = [
    BetaPosterior(3, 40),
    BetaPosterior(1 + 5000, 1 + 45_000),
    BetaPosterior(0.5 + 120, 0.5 + 880),
    BetaPosterior(1 + 9, 1 + 91),
]


@pytest.mark.parametrize("posts", [TEN_ARMS, MIXED_ARMS], ids=["ten-similar", "mixed-widths"])
def test_prob_best_by_quadrature_equals_adaptive_quadrature(posts):
    got = best_by_quadrature(posts)
    assert got is not None
    best, e_max, err = _quad_reference(posts, 0.0, 1.0)
    # QUADPACK's own error estimates are below 1e-11 here; ours is checked to 1e-9.
    assert err < 1e-10
    np.testing.assert_allclose(got[0], best, rtol=0, atol=1e-9 + 10 * err)
    expected_loss = [e_max - p.mean for p in posts]
    np.testing.assert_allclose(got[1], expected_loss, rtol=0, atol=1e-9 + 10 * err)
    assert sum(got[0]) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    "a", [(101, 901, 121, 881), (3, 40, 5001, 45_001), (1, 1, 2, 1), (7001, 3001, 6990, 3010)]
)
def test_prob_best_by_quadrature_equals_millers_closed_form_for_two_arms(a):
    # Evan Miller's sum (prob_beta_greater) is exact for integer parameters.
    got = best_by_quadrature([BetaPosterior(a[0], a[1]), BetaPosterior(a[2], a[3])])
    assert got is not None
    want = prob_beta_greater(a[2], a[3], a[0], a[1])
    assert got[0][1] == pytest.approx(want, abs=1e-10)
    # expected_loss_beta(A, B) is the loss of choosing B: here B is arm 1
    assert got[1][1] == pytest.approx(expected_loss_beta(a[0], a[1], a[2], a[3]), abs=1e-10)
    assert got[1][0] == pytest.approx(expected_loss_beta(a[2], a[3], a[0], a[1]), abs=1e-10)


def test_prob_best_by_quadrature_for_t_and_gamma_posteriors():
    t_posts = [StudentTPosterior(999.0, 10.0 + 0.05 * i, 0.1 + 0.02 * i) for i in range(5)]
    g_posts = [GammaPosterior(50.0 + 3 * i, 10.0) for i in range(4)]
    for posts, lo, hi in ((t_posts, 5.0, 15.0), (g_posts, 0.0, 30.0)):
        got = best_by_quadrature(posts)
        assert got is not None
        best, _, err = _quad_reference(posts, lo, hi)
        np.testing.assert_allclose(got[0], best, rtol=0, atol=1e-8 + 10 * err)


def test_ten_arm_analysis_reports_the_exact_prob_best():
    rows = [{"name": f"V{i}", "users": 10_000, "conversions": 1000 + 7 * i} for i in range(10)]
    stats = variant_stats("proportion", rows)
    r = analyze_bayesian("proportion", stats, control="V0", threshold=0.001, seed=1)
    exact = best_by_quadrature(TEN_ARMS)
    assert exact is not None
    assert tuple(v.prob_best for v in r.variants) == exact[0]
    assert tuple(v.expected_loss for v in r.variants) == exact[1]


def test_prob_best_by_quadrature_declines_point_masses():
    # All observations equal: the t posteriors are point masses, no quadrature applies; the
    # analysis then falls back to draws.
    assert best_by_quadrature([StudentTPosterior(9.0, 1.0, 0.0)] * 2) is None
