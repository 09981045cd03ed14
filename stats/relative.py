"""Relative lift intervals that agree with the test of the difference.

The relative lift of a treatment over control is ``ρ − 1`` with ``ρ = m_t / m_c``. Each
interval here is the set of ratios ``ρ`` that a test of H0 ``m_t = ρ·m_c`` does not reject,
built from the same test that gives the p-value at ``ρ = 1``, so the relative interval
excludes 0 exactly when the absolute test rejects (the delta method, still available as
``"delta"``, does not have that property):

- conversions: the score interval for the risk ratio (Miettinen & Nurminen 1985,
  "Comparative analysis of two rates", *Statistics in Medicine* 4, pp. 213–226, §3 and
  Appendix; Farrington & Manning 1990), whose statistic at ``ρ = 1`` is the pooled z;
- means and ratio metrics: Fieller's interval (Fieller 1954, "Some problems in interval
  estimation", *J. R. Statist. Soc. B* 16, pp. 175–185), whose statistic at ``ρ = 1`` is the
  Welch (or z) statistic of the difference.

Fieller's set is bounded only when the control mean is significantly different from 0 at
the interval's level; otherwise it is unbounded and reported as ``(−∞, ∞)`` with a
``relative_unbounded`` warning rather than as a misleading finite interval.
"""

from __future__ import annotations

import math
from typing import Literal

from scipy.optimize import brentq

RelativeInterval = Literal["dual", "delta"]
RELATIVE_INTERVALS: tuple[RelativeInterval, ...] = ("dual", "delta")
"""``dual``: the interval dual to the test (score for conversions, Fieller for means and
ratio metrics); ``delta``: the delta-method interval ``lift ± crit·se``."""
RelativeMethod = Literal["score", "fieller", "delta"]
"""The method a result's relative interval was computed by."""

_XTOL = 1e-13
"""Absolute tolerance of the log-ratio at each score bound."""


def ratio_score_z(c1: float, n1: float, c0: float, n0: float, ratio: float) -> float:
    """Score statistic for H0 ``p1 = ratio·p0`` (``ratio`` > 0).

    ``z = (p̂1 − ρ p̂0) / sqrt(p̃1(1 − p̃1)/n1 + ρ² p̃0(1 − p̃0)/n0)`` with the restricted
    maximum-likelihood estimates ``p̃0 = (−B − sqrt(B² − 4AC)) / (2A)``, ``p̃1 = ρ p̃0``,
    ``A = ρN``, ``B = −(ρ n1 + c1 + n0 + ρ c0)``, ``C = c1 + c0`` (Miettinen & Nurminen 1985,
    Appendix; Farrington & Manning 1990, *Statistics in Medicine* 9, eq. 13). Without
    Miettinen–Nurminen's ``N/(N − 1)`` variance factor, so that at ``ρ = 1`` (where ``p̃`` is
    the pooled rate) ``z`` is exactly the pooled two-proportion z statistic; statsmodels
    ``score_test_proportions_2indep(compare="ratio", correction=False)`` computes the same.
    """
    n = n1 + n0
    a = ratio * n
    b = -(ratio * n1 + c1 + n0 + ratio * c0)
    c = c1 + c0
    disc = max(b * b - 4 * a * c, 0.0)
    # The smaller root, as 2C / (−B + sqrt(disc)) (no cancellation when A·C is small).
    p0 = 2 * c / (-b + math.sqrt(disc)) if c > 0 else 0.0
    p0 = min(max(p0, 0.0), 1.0)
    p1 = min(ratio * p0, 1.0)
    diff = c1 / n1 - ratio * c0 / n0
    if diff == 0:
        return 0.0
    var = p1 * (1 - p1) / n1 + ratio * ratio * p0 * (1 - p0) / n0
    return diff / math.sqrt(var) if var > 0 else math.copysign(math.inf, diff)


def _log_root(c1: float, n1: float, c0: float, n0: float, target: float, start: float) -> float:
    """The ratio where the decreasing :func:`ratio_score_z` falls through ``target``,
    searched from ``start`` outwards in log-ratio (down for a positive target, up for a
    negative one) and refined by ``brentq`` (Brent 1973, ch. 4)."""

    def g(u: float) -> float:
        z = ratio_score_z(c1, n1, c0, n0, math.exp(u)) - target
        return min(max(z, -1e12), 1e12)

    u0 = math.log(start)
    step = -1.0 if target > 0 else 1.0
    u1 = u0 + step
    while g(u1) * step > 0:  # still on the start's side of the crossing
        u0, u1 = u1, u1 + step
        step *= 2
        if abs(u1) > 700:
            return 0.0 if target > 0 else math.inf
    lo, hi = sorted((u0, u1))
    return math.exp(brentq(g, lo, hi, xtol=_XTOL))


def score_interval_ratio(
    c1: float, n1: float, c0: float, n0: float, crit: float, alternative: str
) -> tuple[float, float]:
    """Score interval for the risk ratio ``p1 / p0`` at critical value ``crit``.

    All ``ρ`` with ``−crit ≤ z(ρ) ≤ crit`` (:func:`ratio_score_z`, decreasing in ρ); one-sided
    alternatives keep one bound (``larger``: ``[low, ∞)``, ``smaller``: ``(0, high]``). With
    no treatment conversions the lower bound is 0; with no control conversions the ratio is
    undefined and both bounds are NaN. The same interval as statsmodels
    ``confint_proportions_2indep(method="score", compare="ratio", correction=False)``.
    """
    if c0 == 0:
        return math.nan, math.nan
    est = (c1 / n1) / (c0 / n0)
    start = est if est > 0 else 1e-300
    low = 0.0
    if alternative != "smaller" and c1 > 0:
        low = _log_root(c1, n1, c0, n0, crit, start)
    high = math.inf
    if alternative != "larger":
        high = _log_root(c1, n1, c0, n0, -crit, max(start, 1e-12))
    return low, high


def fieller_interval(
    num: float, var_num: float, den: float, var_den: float, crit: float, alternative: str
) -> tuple[float, float]:
    """Fieller's interval for ``num / den`` from independent estimates with variances.

    All ``ρ`` with ``(num − ρ·den)² ≤ crit² (var_num + ρ² var_den)`` (Fieller 1954, eq. 4;
    with ``cov = 0``): the roots of ``a ρ² − 2 num·den ρ + c = 0``, ``a = den² − crit² var_den``,
    ``c = num² − crit² var_num``. The statistic ``(num − ρ den) / sqrt(var_num + ρ² var_den)``
    is, at ``ρ = 1``, the statistic of the difference, so the interval excludes 1 exactly
    when that test rejects at ``crit``. When ``a ≤ 0`` (``den`` is not significantly
    different from 0) the set is unbounded: ``(−∞, ∞)``. One-sided alternatives keep the
    bound on the side where the statistic equals ``+crit`` (``larger``) or ``−crit``
    (``smaller``), i.e. the lower root for ``larger`` when ``den > 0``.
    """
    a = den * den - crit * crit * var_den
    if a <= 0 or not math.isfinite(a):
        return -math.inf, math.inf
    c = num * num - crit * crit * var_num
    half = math.sqrt(max((num * den) ** 2 - a * c, 0.0))
    low, high = (num * den - half) / a, (num * den + half) / a
    if alternative == "two-sided":
        return low, high
    if (alternative == "larger") == (den > 0):
        return low, math.inf
    return -math.inf, high


def fieller_lift(
    num: float, var_num: float, den: float, var_den: float, crit: float, alternative: str
) -> tuple[float, float, float]:
    """Relative lift ``num / den − 1`` with :func:`fieller_interval` shifted by −1; all NaN
    when ``den`` is 0."""
    if den == 0:
        return math.nan, math.nan, math.nan
    low, high = fieller_interval(num, var_num, den, var_den, crit, alternative)
    return num / den - 1.0, low - 1.0, high - 1.0
