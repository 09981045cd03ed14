"""Comparing variants with a control: tests, intervals, effect sizes, SRM.

Works on :mod:`stats.sufficient` statistics. A comparison is always ``treatment − control``.

Conversion metrics: the two-proportion z-test with the pooled standard error (statsmodels
``proportions_ztest``), or Fisher's exact test (``scipy.stats.fisher_exact``) when any
expected cell count of the 2×2 table is below 5. The interval for the difference is the
Farrington–Manning score interval (see :func:`score_interval_diff`): unlike the Wald
interval it inverts the very z-test that gives the p-value (at a difference of 0 the score
statistic *is* the pooled z statistic), so an interval never excludes zero while the test
says "not significant". ``interval="wald"`` gives the unpooled Wald interval instead
(statsmodels ``confint_proportions_2indep(method="wald")``), which can disagree with the
test near the significance boundary.

Continuous metrics: Welch's t-test from summary statistics (scipy
``ttest_ind_from_stats(equal_var=False)``), interval with Welch–Satterthwaite df.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import special
from scipy import stats as sps
from scipy.optimize import brentq
from statsmodels.stats.multitest import fdrcorrection

from stats import _validate
from stats.errors import InvalidInput
from stats.relative import (
    RELATIVE_INTERVALS,
    RelativeInterval,
    RelativeMethod,
    fieller_lift,
    score_interval_ratio,
)
from stats.sufficient import MeanStats, ProportionStats, RatioStats
from stats.vocabulary import Alternative
from stats.warnings import Code, ResultWarning, warning

from ._text import p_is

Direction = Literal["higher", "lower"]
Arm = ProportionStats | MeanStats | RatioStats
"""One variant's sufficient statistics: a conversion count, a mean or a ratio metric."""
Interval = Literal["score", "wald"]
Test = Literal["z", "fisher", "welch"]
Correction = Literal["holm", "bonferroni", "bh"]
CORRECTIONS: tuple[Correction, ...] = ("holm", "bonferroni", "bh")
"""Multiplicity corrections across comparisons (:func:`adjust_pvalues`)."""
PairMode = Literal["control", "all"]
PAIR_MODES: tuple[PairMode, ...] = ("control", "all")
"""Which pairs are compared: each variant against control, or every pair (:func:`variant_pairs`)."""

FISHER_MIN_EXPECTED = 5.0
"""Fisher's exact test replaces the z-test when any expected 2×2 cell count is below this."""
SRM_THRESHOLD = 0.001
"""Sample ratio mismatch is flagged when the chi-square p-value is below this."""


@dataclass(frozen=True, slots=True)
class NonInferiority:
    """One-sided test that a variant is no worse than control by more than ``margin``.

    ``pvalue`` tests H0 "worse by at least margin" (small → non-inferior, ``holds``);
    ``pvalue_worse`` = 1 − ``pvalue`` tests H0 "not worse beyond margin" (small →
    ``worse``: significantly worse beyond the margin). ``ci_low``/``ci_high`` bound the
    difference at level 1 − 2α, so ``holds``/``worse`` read off them as well.
    """

    margin: float
    direction: Direction
    statistic: float
    pvalue: float
    pvalue_worse: float
    holds: bool
    worse: bool
    ci_low: float
    ci_high: float
    alpha: float


@dataclass(frozen=True, slots=True)
class Comparison:
    """A variant against control. ``estimate`` is the absolute difference.

    ``ci_level`` is the (Bonferroni-adjusted, when several variants) level of both
    intervals; one-sided alternatives give one-sided intervals (an infinite bound).
    ``statistic`` is z, t, or for Fisher the sample odds ratio; ``effect_size`` is
    Cohen's h (proportions) or d (means); ``significant`` is ``pvalue_adjusted < alpha``.
    """

    variant: str
    control: str
    estimate: float
    ci_low: float
    ci_high: float
    relative_lift: float
    relative_ci_low: float
    relative_ci_high: float
    pvalue: float
    pvalue_adjusted: float
    test: Test
    statistic: float
    effect_size: float
    significant: bool
    ci_level: float
    alternative: Alternative
    df: float | None = None
    noninferiority: NonInferiority | None = None
    warnings: tuple[ResultWarning, ...] = ()
    relative_method: RelativeMethod = "delta"


@dataclass(frozen=True, slots=True)
class VariantEstimate:
    """A variant's rate (Wilson interval) or mean (t interval) at level ``ci_level``."""

    name: str
    n: int
    estimate: float
    ci_low: float
    ci_high: float
    ci_level: float


@dataclass(frozen=True, slots=True)
class SampleRatioMismatch:
    """Chi-square goodness of fit of users per variant against the planned split, with
    ``df`` degrees of freedom (one less than the variants planned to get traffic)."""

    statistic: float
    pvalue: float
    flagged: bool
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    threshold: float
    explanation: str
    df: int = 0


# ---------------------------------------------------------------------------------------------
# Shared pieces


def _critical(alpha: float, alternative: str, df: float | None = None) -> float:
    """Quantile for a two-sided (α/2 each tail) or one-sided (α) interval; normal or t.

    ``scipy.special.ndtri`` / ``stdtrit``: the very functions ``scipy.stats.norm.ppf`` and
    ``t.ppf`` call, without their ~100 µs of argument checking on a scalar."""
    q = 1.0 - (alpha / 2 if alternative == "two-sided" else alpha)
    return float(special.ndtri(q) if df is None else special.stdtrit(df, q))


def _open_side(low: float, high: float, alternative: str) -> tuple[float, float]:
    """Drop the bound a one-sided alternative does not test (``larger`` keeps the lower)."""
    if alternative == "larger":
        return low, math.inf
    if alternative == "smaller":
        return -math.inf, high
    return low, high


def _pvalue(stat: float, alternative: str, df: float | None = None) -> float:
    """p-value of a z (``df=None``) or t statistic for the alternative.

    Survival functions as ``scipy.stats`` computes them (``norm.sf(x) = ndtr(−x)``,
    ``t.sf(x, df) = stdtr(df, −x)``), called on the scalar directly."""

    def sf(x: float) -> float:
        return float(special.ndtr(-x) if df is None else special.stdtr(df, -x))

    if alternative == "larger":
        return float(sf(stat))
    if alternative == "smaller":
        return float(sf(-stat))
    return float(min(1.0, 2 * sf(abs(stat))))


def relative_lift(
    control: Arm,
    treatment: Arm,
    crit: float,
    alternative: str,
) -> tuple[float, float, float]:
    """Relative lift ``m_t / m_c − 1`` and its delta-method interval ``lift ± crit·se``.

    ``se² = se_t² / m_c² + m_t² se_c² / m_c⁴`` for independent samples (Deng, Knoblich &
    Lu 2018, "Applying the Delta Method in Metric Analytics", KDD, §3 eq. 3; Kohavi, Tang &
    Xu 2020, *Trustworthy Online Controlled Experiments*, ch. 18). NaN when the control mean
    is 0.
    """
    mc, mt = control.mean, treatment.mean
    if mc == 0:
        return math.nan, math.nan, math.nan
    lift = mt / mc - 1.0
    # The same sum, as a hypotenuse of ratios: no overflow or underflow of powers of mc.
    se = math.hypot(treatment.se / mc, (mt / mc) * (control.se / mc))
    return (lift, *_open_side(lift - crit * se, lift + crit * se, alternative))


def _relative(
    control: Arm,
    treatment: Arm,
    crit: float,
    alternative: str,
    method: RelativeInterval,
) -> tuple[float, float, float, RelativeMethod, list[ResultWarning]]:
    """Relative lift with the interval ``method`` asks for, the method used and warnings.

    ``dual``: the interval dual to the test at the same critical value (Welch's df for
    means), from :mod:`stats.relative`: the score interval for the risk ratio for
    conversions, Fieller's for means; ``delta``: :func:`relative_lift`. The lift is NaN (and
    the interval with it) when the control mean is 0.
    """
    lift, low, high = relative_lift(control, treatment, crit, alternative)
    if method == "delta" or math.isnan(lift):
        return lift, low, high, "delta", []
    if isinstance(control, ProportionStats) and isinstance(treatment, ProportionStats):
        args = (treatment.conversions, treatment.users, control.conversions, control.users)
        low, high = score_interval_ratio(*args, crit, alternative)
        return lift, low - 1.0, high - 1.0, "score", []
    lift, low, high = fieller_lift(
        treatment.mean, treatment.se**2, control.mean, control.se**2, crit, alternative
    )
    warnings = []
    if math.isinf(low) and math.isinf(high):
        warnings.append(
            warning(
                Code.RELATIVE_UNBOUNDED,
                f"the relative interval of {treatment.name} is unbounded: the mean of "
                f"{control.name} is not significantly different from 0 at this level, so "
                "Fieller's interval for the ratio has no finite bounds",
            )
        )
    return lift, low, high, "fieller", warnings


def _finish(
    control: Arm,
    treatment: Arm,
    *,
    estimate: float,
    interval: tuple[float, float],
    pvalue: float,
    test: Test,
    statistic: float,
    effect_size: float,
    crit: float,
    alpha: float,
    alternative: Alternative,
    relative: RelativeInterval,
    undefined: str,
    warnings: list[ResultWarning],
    df: float | None = None,
) -> Comparison:
    """The :class:`Comparison` of a test, with its relative lift from :func:`_relative` at the
    test's critical value ``crit``; when the lift is NaN, a ``LIFT_UNDEFINED`` warning saying
    why (``undefined``) comes after ``warnings`` and before those of the relative interval.
    """
    lift, rel_low, rel_high, rel_method, rel_warnings = _relative(
        control, treatment, crit, alternative, relative
    )
    if math.isnan(lift):
        warnings.append(warning(Code.LIFT_UNDEFINED, f"relative lift is undefined: {undefined}"))
    warnings.extend(rel_warnings)
    return Comparison(
        variant=treatment.name,
        control=control.name,
        estimate=estimate,
        ci_low=interval[0],
        ci_high=interval[1],
        relative_lift=lift,
        relative_ci_low=rel_low,
        relative_ci_high=rel_high,
        pvalue=pvalue,
        pvalue_adjusted=pvalue,
        test=test,
        statistic=statistic,
        effect_size=effect_size,
        significant=pvalue < alpha,
        ci_level=1 - alpha,
        alternative=alternative,
        df=df,
        warnings=tuple(warnings),
        relative_method=rel_method,
    )


# ---------------------------------------------------------------------------------------------
# Proportions


def score_statistic_diff(
    count1: ArrayLike, nobs1: ArrayLike, count0: ArrayLike, nobs0: ArrayLike, value: ArrayLike
) -> np.ndarray:
    """Farrington–Manning score statistic for H0 ``p1 − p0 = δ``, vectorised in ``δ``.

    ``z = (p̂1 − p̂0 − δ) / sqrt(p̃1(1−p̃1)/n1 + p̃0(1−p̃0)/n0)`` where ``p̃1 = p̃0 + δ`` are
    the maximum likelihood estimates under H0, from the closed-form cubic root of
    Farrington & Manning (1990, *Statistics in Medicine* 9, pp. 1447–1454, eq. for
    ``p̃1`` with θ = n0/n1; the Miettinen & Nurminen 1985 statistic without its
    ``N/(N−1)`` factor). At ``δ = 0`` the MLE is the pooled rate, so ``z`` is the pooled
    z statistic. Hand-written because statsmodels' ``score_test_proportions_2indep``
    takes one ``δ`` at a time and, for some ``δ`` far below the estimate, picks a cubic
    root outside [0, 1] (the tests check this version against a numerical MLE).
    """
    d = np.asarray(value, dtype=float)
    c1, n1, c0, n0 = (np.asarray(x, dtype=float) for x in (count1, nobs1, count0, nobs0))
    r1, r0, th = c1 / n1, c0 / n0, n0 / n1
    a = 1 + th
    b = -(1 + th + r1 + th * r0 + d * (th + 2))
    c = d * d + d * (2 * r1 + th + 1) + r1 + th * r0
    e = -r1 * d * (1 + d)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = b**3 / (27 * a**3) - b * c / (6 * a**2) + e / (2 * a)
        # u takes the sign of v, + at v = 0 (np.sign(0) = 0 made u = 0 and p̃1 NaN, so the
        # pooled rate replaced the root wherever v rounded to exactly 0, e.g. 10/10 vs 0/10
        # at δ = 0.67); u³ = 0 (a triple root, or underflow) means v/u³ → +1.
        u = np.where(v < 0, -1.0, 1.0) * np.sqrt(np.maximum(b * b / (9 * a * a) - c / (3 * a), 0.0))
        u3 = u**3
        ratio = np.where(u3 != 0, v / np.where(u3 != 0, u3, 1.0), 1.0)
        w = (np.pi + np.arccos(np.clip(ratio, -1.0, 1.0))) / 3
        pooled = (c1 + c0) / (n1 + n0)
        p1 = np.where(d == 0, pooled, 2 * u * np.cos(w) - b / (3 * a))
        p1 = np.clip(np.where(np.isfinite(p1), p1, pooled), 0.0, 1.0)
        p0 = np.clip(p1 - d, 0.0, 1.0)
        var = p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0
        diff = r1 - r0 - d
        z = diff / np.sqrt(var)
    return np.where(diff == 0, 0.0, z)


def _score_z(c1: float, n1: float, c0: float, n0: float, d: float) -> float:
    """:func:`score_statistic_diff` for one ``δ`` in plain float arithmetic (no numpy).

    The same closed-form restricted MLE (the cubic of Farrington & Manning 1990, *Statistics
    in Medicine* 9, pp. 1447–1454, solved by the trigonometric formula as in Miettinen &
    Nurminen 1985, *Statistics in Medicine* 4, pp. 213–226, Appendix 1), step for step,
    including the degenerate branches (``v = 0``, ``u³ = 0``, a non-finite root, zero
    variance), so both give the same number; about 3 µs a call instead of 40 µs of numpy
    overhead on scalars.
    """
    r1, r0, th = c1 / n1, c0 / n0, n0 / n1
    a = 1 + th
    b = -(1 + th + r1 + th * r0 + d * (th + 2))
    c = d * d + d * (2 * r1 + th + 1) + r1 + th * r0
    e = -r1 * d * (1 + d)
    pooled = (c1 + c0) / (n1 + n0)
    if d == 0:
        p1 = pooled
    else:
        v = b**3 / (27 * a**3) - b * c / (6 * a**2) + e / (2 * a)
        u = math.sqrt(max(b * b / (9 * a * a) - c / (3 * a), 0.0))
        u = math.copysign(u, v)
        u3 = u**3
        # u³ = 0: a triple root (u = 0) or an underflow, where v / u³ would be +inf: cos(π/3)
        ratio = 1.0 if u3 == 0 else min(max(v / u3, -1.0), 1.0)
        p1 = 2 * u * math.cos((math.pi + math.acos(ratio)) / 3) - b / (3 * a)
        if not math.isfinite(p1):
            p1 = pooled
    p1 = min(max(p1, 0.0), 1.0)
    p0 = min(max(p1 - d, 0.0), 1.0)
    diff = r1 - r0 - d
    if diff == 0:
        return 0.0
    var = p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0
    return diff / math.sqrt(var) if var > 0 else math.copysign(math.inf, diff)


_XTOL = 1e-14
"""Absolute tolerance of each score-interval bound (brentq; its relative tolerance is 4 ulp)."""


def _score_bound(
    c1: float, n1: float, c0: float, n0: float, target: float, lo: float, hi: float
) -> float:
    """The ``δ`` in ``[lo, hi]`` where the decreasing :func:`_score_z` falls through ``target``.

    ``brentq`` (Brent 1973, *Algorithms for Minimization without Derivatives*, ch. 4) on
    ``z(δ) − target``, capped to ±1e12 so the infinite ``z`` at the ends of [−1, 1] (zero
    variance under H0) keeps its sign without poisoning the interpolation. When ``z`` does
    not cross ``target`` inside the bracket (a bracket of zero width, or every ``z`` on the
    same side) the bound is the end of the bracket on that side, as a grid search would say.
    """
    if hi <= lo:
        return lo

    def g(d: float) -> float:
        z = _score_z(c1, n1, c0, n0, d) - target
        return min(max(z, -1e12), 1e12) if z == z else -1e12

    g_lo, g_hi = g(lo), g(hi)
    if g_lo <= 0:
        return lo
    if g_hi > 0:
        return hi
    return float(brentq(g, lo, hi, xtol=_XTOL))


def _score_interval(
    c1: float, n1: float, c0: float, n0: float, crit: float, alternative: str
) -> tuple[float, float]:
    """One score interval at critical value ``crit``; see :func:`score_interval_diff`."""
    est = c1 / n1 - c0 / n0
    low = -math.inf if alternative == "smaller" else _score_bound(c1, n1, c0, n0, crit, -1.0, est)
    high = math.inf if alternative == "larger" else _score_bound(c1, n1, c0, n0, -crit, est, 1.0)
    return low, high


def score_interval_diff(
    count1: ArrayLike,
    nobs1: ArrayLike,
    count0: ArrayLike,
    nobs0: ArrayLike,
    alpha: float,
    alternative: str = "two-sided",
) -> tuple[np.ndarray, np.ndarray]:
    """Score interval for ``p1 − p0``: all ``δ`` the score test at level α does not reject.

    Inverts :func:`score_statistic_diff` (Farrington & Manning 1990; Newcombe 1998,
    *Statistics in Medicine* 17, method 10 without correction), which decreases in ``δ``:
    the lower bound is the root of ``z(δ) = z_crit`` in ``(−1, p̂1 − p̂0]``, the upper the
    root of ``z(δ) = −z_crit`` in ``[p̂1 − p̂0, 1)``, each found by ``brentq`` to 1e-14
    (:func:`_score_bound`) on the closed-form restricted MLE (:func:`_score_z`). Counts may
    be arrays (one interval per element, for simulation); returns arrays (0-d for scalars)
    of lower and upper bounds, the untested side infinite for one-sided alternatives. Same
    design as statsmodels ``confint_proportions_2indep(method="score", correction=False)``;
    see :func:`score_statistic_diff` for why it does not call it.
    """
    crit = _critical(alpha, alternative)
    c1, n1, c0, n0 = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (count1, nobs1, count0, nobs0))
    )
    shape = c1.shape
    low, high = np.empty(shape), np.empty(shape)
    for i, (a1, m1, a0, m0) in enumerate(zip(c1.flat, n1.flat, c0.flat, n0.flat, strict=True)):
        low.flat[i], high.flat[i] = _score_interval(
            float(a1), float(m1), float(a0), float(m0), crit, alternative
        )
    return low, high


def _min_expected_count(control: ProportionStats, treatment: ProportionStats) -> float:
    """Smallest expected count of the 2×2 table under independence: the smallest row total
    times the smallest column total over the grand total."""
    conversions = treatment.conversions + control.conversions
    total = treatment.users + control.users
    return min(treatment.users, control.users) * min(conversions, total - conversions) / total


def two_proportion_test(
    control: ProportionStats, treatment: ProportionStats, alternative: Alternative = "two-sided"
) -> tuple[Test, float, float]:
    """``(test, statistic, pvalue)`` of H0 ``p_t = p_c``: the pooled z-test (statsmodels
    ``proportions_ztest``), or Fisher's exact test (``scipy.stats.fisher_exact``, statistic
    = sample odds ratio) when any expected 2×2 count is below :data:`FISHER_MIN_EXPECTED`."""
    ct, nt, cc, nc = treatment.conversions, treatment.users, control.conversions, control.users
    if _min_expected_count(control, treatment) < FISHER_MIN_EXPECTED:
        side = {"two-sided": "two-sided", "larger": "greater", "smaller": "less"}[alternative]
        res = sps.fisher_exact([[ct, nt - ct], [cc, nc - cc]], alternative=side)
        return "fisher", float(res.statistic), float(res.pvalue)
    # statsmodels proportions_ztest(value=0), its arithmetic on floats: every expected count is
    # at least 5 here, so the pooled rate is strictly inside (0, 1) and the SE positive.
    pooled = (ct + cc) / (nt + nc)
    z = (ct / nt - cc / nc) / math.sqrt(pooled * (1 - pooled) * (1.0 / nt + 1.0 / nc))
    return "z", z, _pvalue(z, alternative)


def compare_proportions(
    control: ProportionStats,
    treatment: ProportionStats,
    *,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    interval: Interval = "score",
    relative: RelativeInterval = "dual",
) -> Comparison:
    """Two-proportion comparison, interval at level 1 − α.

    Test: pooled z (statsmodels ``proportions_ztest``, ``prop_var=False``), or Fisher's
    exact test when an expected count is below :data:`FISHER_MIN_EXPECTED` (the result says
    ``test="fisher"``, ``statistic`` the odds ratio). Interval: score (default, dual to the
    z-test) or Wald (unpooled SE, statsmodels ``confint_proportions_2indep(method="wald")``).
    Relative lift by the delta method, effect size Cohen's h ``2 asin √p_t − 2 asin √p_c``
    (statsmodels ``proportion_effectsize``; Cohen 1988, §6.2). Scalar arithmetic throughout
    (about 60 µs a call): the same formulas as the statsmodels/scipy calls they replace,
    which ``tests/stats/test_fast_paths.py`` checks against a frozen copy of that code.
    """
    alpha = _validate.alpha(alpha)
    alternative = _validate.alternative(alternative)  # type: ignore[assignment]
    _validate.choice("interval", interval, ("score", "wald"))
    _validate.choice("relative_interval", relative, RELATIVE_INTERVALS)
    for name, v in (("control", control), ("treatment", treatment)):
        if v.users < 1:
            raise InvalidInput(f"{name}.users must be >= 1, got {v.users}", field=f"{name}.users")
    warnings: list[ResultWarning] = []
    ct, nt, cc, nc = treatment.conversions, treatment.users, control.conversions, control.users
    estimate = treatment.rate - control.rate
    test, statistic, pvalue = two_proportion_test(control, treatment, alternative)
    crit = _critical(alpha, alternative)
    if test == "fisher":
        warnings.append(
            warning(
                Code.FISHER_EXACT,
                f"Fisher's exact test was used for {treatment.name} vs {control.name} because an "
                f"expected cell count is below {FISHER_MIN_EXPECTED:g}",
            )
        )
    if interval == "score":
        bounds = _score_interval(ct, nt, cc, nc, crit, alternative)
    else:
        se = math.sqrt(treatment.var / nt + control.var / nc)
        bounds = _open_side(estimate - crit * se, estimate + crit * se, alternative)
    return _finish(
        control,
        treatment,
        estimate=estimate,
        interval=bounds,
        pvalue=pvalue,
        test=test,
        statistic=statistic,
        effect_size=2 * (math.asin(math.sqrt(treatment.rate)) - math.asin(math.sqrt(control.rate))),
        crit=crit,
        alpha=alpha,
        alternative=alternative,
        relative=relative,
        undefined=f"{control.name} has no conversions",
        warnings=warnings,
    )


# ---------------------------------------------------------------------------------------------
# Means


def _welch(control: MeanStats, treatment: MeanStats) -> tuple[float, float, float]:
    """Difference, its standard error and the Welch–Satterthwaite df (Welch 1947, eq. 9)."""
    vt, vc = treatment.var / treatment.n, control.var / control.n
    se = math.sqrt(vt + vc)
    denom = vt**2 / (treatment.n - 1) + vc**2 / (control.n - 1)
    df = (vt + vc) ** 2 / denom if denom > 0 else float(treatment.n + control.n - 2)
    return treatment.mean - control.mean, se, df


def _at_least_two(
    control: MeanStats | RatioStats, treatment: MeanStats | RatioStats, metric: str, field: str
) -> None:
    """Raise :class:`InvalidInput` on ``<arm>.<field>`` unless both arms have n >= 2 (a
    sample variance needs two observations)."""
    for name, v in (("control", control), ("treatment", treatment)):
        if v.n < 2:
            raise InvalidInput(
                f"{name}.{field} must be >= 2 for a {metric} metric, got {v.n}",
                field=f"{name}.{field}",
            )


def _zero_variance(
    control: MeanStats | RatioStats, treatment: MeanStats | RatioStats
) -> ResultWarning:
    return warning(
        Code.ZERO_VARIANCE,
        f"{treatment.name} and {control.name} both have zero variance; the test is degenerate",
    )


def _t_statistic(diff: float, se: float) -> float:
    if se > 0:
        return diff / se
    return 0.0 if diff == 0 else math.copysign(math.inf, diff)


def compare_means(
    control: MeanStats,
    treatment: MeanStats,
    *,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    relative: RelativeInterval = "dual",
) -> Comparison:
    """Welch's t-test from summary statistics, interval ``diff ± t_{df}·se`` at level 1 − α.

    Matches scipy ``ttest_ind_from_stats(equal_var=False)``; the interval uses the same SE
    and Welch–Satterthwaite df, so it is dual to the test. Relative lift by the delta method
    (same critical value); effect size Cohen's d with the pooled SD (Cohen 1988, §2.5).
    """
    alpha = _validate.alpha(alpha)
    alternative = _validate.alternative(alternative)  # type: ignore[assignment]
    _at_least_two(control, treatment, "mean", "n")
    warnings: list[ResultWarning] = []
    diff, se, df = _welch(control, treatment)
    if se == 0:
        warnings.append(_zero_variance(control, treatment))
    stat = _t_statistic(diff, se)
    pvalue = _pvalue(stat, alternative, df)
    crit = _critical(alpha, alternative, df)
    _validate.choice("relative_interval", relative, RELATIVE_INTERVALS)
    pooled = math.sqrt(
        ((treatment.n - 1) * treatment.var + (control.n - 1) * control.var)
        / (treatment.n + control.n - 2)
    )
    return _finish(
        control,
        treatment,
        estimate=diff,
        interval=_open_side(diff - crit * se, diff + crit * se, alternative),
        pvalue=pvalue,
        test="welch",
        statistic=stat,
        effect_size=diff / pooled if pooled > 0 else math.nan,
        crit=crit,
        alpha=alpha,
        alternative=alternative,
        relative=relative,
        undefined=f"the mean of {control.name} is 0",
        warnings=warnings,
        df=df,
    )


def compare_ratios(
    control: RatioStats,
    treatment: RatioStats,
    *,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    relative: RelativeInterval = "dual",
) -> Comparison:
    """A ratio metric (revenue per order, clicks per impression): the z-test of
    ``R_t − R_c`` with the delta-method standard errors of each arm's ratio, which include
    the numerator–denominator covariance (Deng, Knoblich & Lu 2018, §3; the variance of
    gbstats' ``RatioStatistic``, which gbstats tests with a t at Welch's df: the same at the
    sample sizes a delta method needs), interval ``diff ± z·se``.
    The relative lift is Fieller's interval for ``R_t / R_c`` at the same ``z`` (dual to the
    test), or the delta method. Effect size: the difference over the root mean per-user
    variance of the ratio (a standardised difference, as Cohen's d).
    """
    alpha = _validate.alpha(alpha)
    alternative = _validate.alternative(alternative)  # type: ignore[assignment]
    _validate.choice("relative_interval", relative, RELATIVE_INTERVALS)
    _at_least_two(control, treatment, "ratio", "users")
    diff = treatment.mean - control.mean
    se = math.hypot(treatment.se, control.se)
    base = comparison_from_estimate(
        treatment.name, control.name, diff, se, alpha=alpha, alternative=alternative
    )
    crit = _critical(alpha, alternative)
    lift, low, high, method, warnings = _relative(control, treatment, crit, alternative, relative)
    if se == 0:
        warnings.append(_zero_variance(control, treatment))
    spread = math.sqrt((treatment.var + control.var) / 2)
    return replace(
        base,
        relative_lift=lift,
        relative_ci_low=low,
        relative_ci_high=high,
        relative_method=method,
        effect_size=diff / spread if spread > 0 else math.nan,
        warnings=tuple(warnings),
    )


def comparison_from_estimate(
    variant: str,
    control: str,
    estimate: float,
    se: float,
    *,
    df: float | None = None,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
) -> Comparison:
    """A :class:`Comparison` from a difference and its standard error alone.

    For estimators that are not one of the tests above (e.g. a regression coefficient with a
    robust standard error): the statistic ``estimate / se``, its p-value and the interval
    ``estimate ± q·se`` from the normal (``df=None``, ``test="z"``) or t distribution
    (``test="welch"``). An estimate and SE alone carry no relative lift or effect size: those
    are NaN. With a zero SE the statistic is ±inf, or NaN (and so the p-value) when the
    estimate is 0 too.
    """
    alpha = _validate.alpha(alpha)
    alternative = _validate.alternative(alternative)  # type: ignore[assignment]
    infinite = math.copysign(math.inf, estimate) if estimate else math.nan
    stat = estimate / se if se > 0 else infinite
    pvalue = math.nan if math.isnan(stat) else _pvalue(stat, alternative, df)
    crit = _critical(alpha, alternative, df)
    low, high = _open_side(estimate - crit * se, estimate + crit * se, alternative)
    return Comparison(
        variant=variant,
        control=control,
        estimate=estimate,
        ci_low=low,
        ci_high=high,
        relative_lift=math.nan,
        relative_ci_low=math.nan,
        relative_ci_high=math.nan,
        pvalue=pvalue,
        pvalue_adjusted=pvalue,
        test="z" if df is None else "welch",
        statistic=stat,
        effect_size=math.nan,
        significant=pvalue < alpha,
        ci_level=1 - alpha,
        alternative=alternative,
        df=df,
    )


# ---------------------------------------------------------------------------------------------
# Several variants, non-inferiority, SRM, per-variant estimates


def holm_adjust(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979, *Scand. J. Statist.* 6, pp. 65–70):
    sorted ascending, ``p_(i) · (m − i + 1)``, running maximum, capped at 1.

    Equals statsmodels ``multipletests(method="holm")[1]`` (checked in the tests), which is
    not called because it runs ``gc.collect()`` on every call (40–100 ms in a web worker).
    """
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p)
    m = len(p)
    stepped = np.minimum(np.maximum.accumulate(p[order] * np.arange(m, 0, -1)), 1.0)
    out = np.empty(m)
    out[order] = stepped
    return out


def adjust_pvalues(pvalues: Sequence[float], correction: Correction = "holm") -> np.ndarray:
    """Adjusted p-values for a family of ``m`` tests.

    ``holm``: Holm's step-down (:func:`holm_adjust`); ``bonferroni``: ``min(1, m·p)``;
    ``bh``: Benjamini–Hochberg's step-up false-discovery-rate adjustment (Benjamini &
    Hochberg 1995, *JRSS B* 57, pp. 289–300), statsmodels ``fdrcorrection`` (which, unlike
    ``multipletests``, runs no ``gc.collect()``).
    """
    _validate.choice("correction", correction, CORRECTIONS)
    p = np.asarray(pvalues, dtype=float)
    if correction == "holm":
        return holm_adjust(pvalues)
    if correction == "bonferroni":
        return np.minimum(p * len(p), 1.0)
    return np.asarray(fdrcorrection(p, alpha=0.05)[1], dtype=float)


def interval_alpha(pvalues: Sequence[float], alpha: float, correction: Correction) -> float:
    """The per-comparison α of the reported intervals for a family of ``m`` comparisons.

    Holm and Bonferroni: ``α/m`` (Bonferroni's simultaneous intervals; Holm has no dual
    interval, so its comparisons share Bonferroni's). BH: the false-coverage-rate adjusted
    level of Benjamini & Yekutieli (2005, *JASA* 100, pp. 71–81, Definition 1): ``R·α/m``
    with ``R`` the number of comparisons BH rejects at α, so the expected share of the
    selected intervals that miss their parameter is at most α. With nothing selected ``R``
    is taken as 1 (Bonferroni's level). A BH-selected comparison has ``p < R·α/m`` and an
    unselected one ``p ≥ R·α/m``, so each interval excludes 0 exactly when BH rejects.
    """
    m = len(pvalues)
    if correction != "bh":
        return alpha / m
    rejected = int(np.sum(adjust_pvalues(pvalues, "bh") < alpha))
    return alpha * max(rejected, 1) / m


def _compare_pair(
    base: Arm,
    v: Arm,
    alpha: float,
    alternative: Alternative,
    interval: Interval,
    relative: RelativeInterval = "dual",
) -> Comparison:
    if isinstance(base, ProportionStats) and isinstance(v, ProportionStats):
        return compare_proportions(
            base, v, alpha=alpha, alternative=alternative, interval=interval, relative=relative
        )
    if isinstance(base, MeanStats) and isinstance(v, MeanStats):
        return compare_means(base, v, alpha=alpha, alternative=alternative, relative=relative)
    if isinstance(base, RatioStats) and isinstance(v, RatioStats):
        return compare_ratios(base, v, alpha=alpha, alternative=alternative, relative=relative)
    raise InvalidInput(
        "variants must all be conversion counts, all means or all ratios, not a mix",
        field="variants",
    )


def variant_pairs(
    names: Sequence[str], control: str, comparisons: PairMode = "control"
) -> tuple[tuple[str, str], ...]:
    """The (base, variant) pairs compared: each variant against ``control``, or (``"all"``)
    every pair, control's pairs first, then the others in the order given (later − earlier)."""
    _validate.choice("comparisons", comparisons, PAIR_MODES)
    ordered = [control, *(n for n in names if n != control)]
    if comparisons == "control":
        return tuple((control, n) for n in ordered[1:])
    return tuple(
        (ordered[i], ordered[j]) for i in range(len(ordered)) for j in range(i + 1, len(ordered))
    )


def compare_to_control(
    variants: Sequence[ProportionStats] | Sequence[MeanStats] | Sequence[RatioStats],
    control: str,
    *,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    interval: Interval = "score",
    correction: Correction = "holm",
    comparisons: PairMode = "control",
    relative: RelativeInterval = "dual",
) -> tuple[Comparison, ...]:
    """Each variant against ``control`` (or, ``comparisons="all"``, every pair of variants:
    :func:`variant_pairs`), adjusted for the ``m`` comparisons made.

    ``pvalue_adjusted`` is :func:`adjust_pvalues` under ``correction`` (Holm by default),
    ``significant`` is ``pvalue_adjusted < alpha``, and the intervals are at level
    ``1 − α_int`` with ``α_int`` from :func:`interval_alpha`: ``α/m`` (Bonferroni) for Holm
    and Bonferroni, the Benjamini–Yekutieli FCR-adjusted ``R·α/m`` for BH. Because each
    interval is dual to its test, a Bonferroni interval excluding 0 means the Bonferroni
    p-value is below alpha, and Holm's adjusted p-value is never larger than Bonferroni's, so
    such a comparison is always ``significant``; a BH interval excludes 0 exactly when BH
    rejects (with Fisher's exact test the interval is the score interval, not the exact
    test's dual; a disagreement is reported as a warning). ``relative`` chooses the relative
    lift's interval (:data:`stats.relative.RELATIVE_INTERVALS`), at the same level.
    """
    alpha = _validate.alpha(alpha)
    _validate.choice("correction", correction, CORRECTIONS)
    _validate.choice("relative_interval", relative, RELATIVE_INTERVALS)
    names = [v.name for v in variants]
    if control not in names:
        raise InvalidInput(
            f"control must be one of {', '.join(names)}, got {control!r}", field="control"
        )
    if len(variants) < 2:
        raise InvalidInput(
            f"variants must hold at least 2 variants, got {len(variants)}", field="variants"
        )
    by_name = {v.name: v for v in variants}
    pairs = variant_pairs(names, control, comparisons)

    def run(level: float) -> list[Comparison]:
        return [
            _compare_pair(by_name[b], by_name[v], level, alternative, interval, relative)
            for b, v in pairs
        ]

    level = alpha / len(pairs)
    if correction == "bh":  # the FCR level depends on how many BH selects
        level = interval_alpha([c.pvalue for c in run(alpha)], alpha, "bh")
    raw = run(level)
    adjusted = adjust_pvalues([c.pvalue for c in raw], correction)
    out = []
    for c, p in zip(raw, adjusted, strict=True):
        significant = bool(p < alpha)
        warnings = c.warnings
        if c.test == "fisher" and not significant and (c.ci_low > 0 or c.ci_high < 0):
            warnings += (
                warning(
                    Code.EXACT_TEST_DISAGREES,
                    f"the score interval for {c.variant} excludes 0 but Fisher's exact test is "
                    "not significant; with counts this small, trust the exact test",
                ),
            )
        out.append(replace(c, pvalue_adjusted=float(p), significant=significant, warnings=warnings))
    return tuple(out)


def noninferiority(
    control: Arm,
    treatment: Arm,
    *,
    margin: float,
    direction: Direction = "higher",
    alpha: float = 0.05,
    field: str = "margin",
) -> NonInferiority:
    """One-sided test of H0 ``diff <= −margin`` (``direction="higher"``, higher is better) or
    H0 ``diff >= margin`` (lower is better), at level α.

    Proportions use the Farrington–Manning score test at the margin (Farrington & Manning
    1990; the recommended non-inferiority test for two rates), means a Welch t-test shifted
    by the margin, ratio metrics the delta-method z-test of :func:`compare_ratios` shifted by
    the margin. The 1 − 2α interval of the difference is returned with it (its bounds
    are the two one-sided α tests), computed by the same method, so the decisions agree.
    """
    alpha = _validate.alpha(alpha)
    margin = _validate.non_negative(field, margin)
    _validate.choice("direction", direction, ("higher", "lower"))
    bound = -margin if direction == "higher" else margin
    alt = "larger" if direction == "higher" else "smaller"
    if isinstance(control, ProportionStats) and isinstance(treatment, ProportionStats):
        if margin >= 1:
            raise InvalidInput(
                f"{field} must be < 1 for a conversion metric, got {margin!r}", field=field
            )
        args = (treatment.conversions, treatment.users, control.conversions, control.users)
        stat = _score_z(*args, bound)
        pvalue = _pvalue(stat, alt)
        low, high = _score_interval(*args, _critical(2 * alpha, "two-sided"), "two-sided")
    elif isinstance(control, MeanStats) and isinstance(treatment, MeanStats):
        diff, se, df = _welch(control, treatment)
        stat = _t_statistic(diff - bound, se)
        pvalue = _pvalue(stat, alt, df)
        crit = _critical(2 * alpha, "two-sided", df)
        low, high = diff - crit * se, diff + crit * se
    elif isinstance(control, RatioStats) and isinstance(treatment, RatioStats):
        diff, se = treatment.mean - control.mean, math.hypot(treatment.se, control.se)
        stat = _t_statistic(diff - bound, se)
        pvalue = _pvalue(stat, alt)
        crit = _critical(2 * alpha, "two-sided")
        low, high = diff - crit * se, diff + crit * se
    else:
        raise InvalidInput(
            "control and treatment must both be conversion counts, both means or both ratios",
            field="control",
        )
    holds = low > bound if direction == "higher" else high < bound
    worse = high < bound if direction == "higher" else low > bound
    return NonInferiority(
        margin=margin,
        direction=direction,
        statistic=stat,
        pvalue=pvalue,
        pvalue_worse=1.0 - pvalue,
        holds=bool(holds),
        worse=bool(worse),
        ci_low=low,
        ci_high=high,
        alpha=alpha,
    )


def _weights(values: Sequence[float], k: int) -> list[float] | None:
    """``values`` as k finite floats, or None when the count or a value is wrong."""
    try:
        weights = [float(w) for w in values]
    except (TypeError, ValueError):
        return None
    if len(weights) != k or not all(math.isfinite(w) for w in weights):
        return None
    return weights


def sample_ratio_mismatch(
    variants: Sequence[ProportionStats] | Sequence[MeanStats] | Sequence[RatioStats],
    planned_split: Sequence[float] | None = None,
    *,
    threshold: float = SRM_THRESHOLD,
    expected: Sequence[float] | None = None,
) -> SampleRatioMismatch:
    """Chi-square goodness of fit (``scipy.stats.chisquare``) of users per variant against
    ``planned_split`` (weights, normalised; default equal). Flagged at ``p < threshold``
    (0.001, as Fabijan et al. 2019, "Diagnosing Sample Ratio Mismatch in Online Controlled
    Experiments", KDD, recommend).

    Instead of a planned split, ``expected`` may give expected counts (the Experiments
    service passes the exposures the weights in force predict), where 0 is allowed: a
    variant expected to get no traffic is left out of the test unless it got users, and then
    the split is broken for certain (p = 0, statistic ∞). With fewer than two variants
    expected to get traffic p = 1; with no users yet p is NaN and nothing is flagged.
    """
    # Plain floats, not numpy arrays: a handful of variants costs less in Python than numpy's
    # per-call overhead (the SRM runs on every analysis).
    observed = [float(v.n) for v in variants]
    k = len(observed)
    if expected is not None:
        if planned_split is not None:
            raise InvalidInput("expected must not be given with planned_split", field="expected")
        weights = _weights(expected, k)
        if weights is None or any(w < 0 for w in weights):
            raise InvalidInput(
                f"expected must hold one count >= 0 per variant ({k}), got {list(expected)!r}",
                field="expected",
            )
    else:
        weights = [1.0] * k if planned_split is None else _weights(planned_split, k)
        if weights is None or any(w <= 0 for w in weights):
            raise InvalidInput(
                f"planned_split must hold one positive weight per variant ({k}), got "
                f"{list(planned_split or [])!r}",
                field="planned_split",
            )
    total = math.fsum(observed)
    weight_sum = math.fsum(weights)
    share = [w / weight_sum for w in weights] if weight_sum > 0 else weights
    expected_n = [total * s for s in share]
    live = [w > 0 for w in weights]
    df = sum(live) - 1
    if total == 0 or df < 1:
        statistic, pvalue, df = 0.0, math.nan if total == 0 else 1.0, 0
    elif any(o > 0 and not alive for o, alive in zip(observed, live, strict=True)):
        statistic, pvalue = math.inf, 0.0
    else:
        # scipy.stats.chisquare's arithmetic (power_divergence, lambda_=1) and its chi2.sf,
        # the regularised upper incomplete gamma special.chdtrc, without ~1 ms of
        # axis/NaN-policy wrapping per call (Pearson 1900; Abramowitz & Stegun 26.4.2).
        statistic = math.fsum(
            (o - e) ** 2 / e
            for o, e, alive in zip(observed, expected_n, live, strict=True)
            if alive
        )
        pvalue = float(special.chdtrc(df, statistic))
    flagged = bool(pvalue < threshold)
    names = [v.name for v in variants]
    shares = ", ".join(
        f"{name} {o / max(total, 1.0):.1%}" for name, o in zip(names, observed, strict=True)
    )
    planned = "/".join(f"{w:.1%}" for w in share)
    if total == 0:
        explanation = "No users yet, so the split cannot be checked."
    elif flagged:
        explanation = (
            f"Sample ratio mismatch: users split {shares} against a planned {planned} "
            f"({p_is(pvalue, 'chi-square p', 2)}, below {threshold:g}). A gap this large is very unlikely "
            "by chance, so assignment or logging is probably broken and the variants may not be "
            "comparable. Find the cause (redirects, bots, filters, crashes) and re-run."
        )
    else:
        explanation = (
            f"Users split {shares} against a planned {planned} ({p_is(pvalue, 'chi-square p', 2)}); "
            "no sign of a sample ratio mismatch."
        )
    return SampleRatioMismatch(
        statistic=statistic,
        pvalue=pvalue,
        flagged=flagged,
        observed=tuple(int(o) for o in observed),
        expected=tuple(float(e) for e in expected_n),
        threshold=threshold,
        explanation=explanation,
        df=df,
    )


def _wilson(count: int, nobs: int, alpha: float) -> tuple[float, float]:
    """Wilson score interval (Wilson 1927, *JASA* 22, pp. 209–212; Brown, Cai & DasGupta
    2001, eq. 4): statsmodels ``proportion_confint(method="wilson")``'s arithmetic, step for
    step, on floats (``norm.isf(α/2) = −ndtri(α/2)``), clipped to [0, 1]."""
    q = count / nobs
    crit = -float(special.ndtri(alpha / 2.0))
    crit2 = crit**2
    denom = 1 + crit2 / nobs
    center = (q + crit2 / (2 * nobs)) / denom
    dist = crit * math.sqrt(q * (1.0 - q) / nobs + crit2 / (4.0 * nobs**2)) / denom
    return min(max(center - dist, 0.0), 1.0), min(max(center + dist, 0.0), 1.0)


def variant_estimate(v: Arm, alpha: float = 0.05) -> VariantEstimate:
    """A variant's rate with the Wilson score interval (statsmodels ``proportion_confint``,
    ``method="wilson"``; Wilson 1927), or its mean with the t interval ``mean ± t·sd/√n``,
    or its ratio with the normal interval ``R ± z·se`` (delta-method SE). With no users (or one, for a mean) there is no interval: its bounds are NaN (``null``)."""
    alpha = _validate.alpha(alpha)
    if isinstance(v, ProportionStats) and v.users == 0:
        low = high = math.nan
    elif isinstance(v, ProportionStats):
        low, high = _wilson(v.conversions, v.users, alpha)
    elif v.n >= 2:
        df = None if isinstance(v, RatioStats) else v.n - 1  # a ratio's SE is asymptotic: z
        half = _critical(alpha, "two-sided", df) * v.se
        low, high = v.mean - half, v.mean + half
    else:
        low = high = math.nan
    return VariantEstimate(v.name, v.n, float(v.mean), float(low), float(high), 1 - alpha)
