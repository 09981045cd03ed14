"""CUPED for a ratio metric: revenue per order adjusted by last period's revenue per order.

Deng, Knoblich & Lu (2018), "Applying the Delta Method in Metric Analytics", KDD (the delta method for CUPED): a
ratio ``R = ȳ / n̄`` (numerator ``y``, denominator ``n`` per user) is adjusted by the same
ratio before the experiment, ``R_pre = x̄ / m̄``, as CUPED adjusts a mean by its covariate
(Deng, Xu, Kohavi & Walker 2013): ``R_adj = R − θ (R_pre − R̄_pre)``. Both ratios are
linearised by the delta method on the four per-user means ``(ȳ, n̄, x̄, m̄)`` with their 4 × 4
covariance ``Λ / n``: ``Var(R_adj) = ∇ᵀ Λ ∇ / n`` with
``∇ = (1/n̄, −ȳ/n̄², −θ/m̄, θ x̄/m̄²)`` — the construction of gbstats'
``RegressionAdjustedRatioStatistic`` (growthbook/growthbook, ``packages/stats``) — and
``θ = Σ_arms Cov(R, R_pre) / Σ_arms Var(R_pre)`` with the per-user delta-method variances and
covariance pooled over the arms (gbstats ``compute_theta_regression_adjusted_ratio``). Only
``θ`` and the centring ``R̄_pre`` (the pre-period ratio of all users, so the adjusted ratios
keep the metric's level for a relative lift) differ from the unadjusted ratio; both are
treated as known, as CUPED treats θ, which is exact to O(1/n).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from stats import _validate
from stats.comparisons import compare_ratios
from stats.cuped import (
    AdjustedComparison,
    ArmSummary,
    CupedResult,
    FloatArray,
    _arm_rows,
    _balance,
    _balance_warning,
    _contrast,
    _correlation,
    _float_rows,
    _result,
)
from stats.errors import InvalidInput
from stats.sufficient import RatioStats
from stats.warnings import Code, ResultWarning, warning

COLUMNS = ("numerator", "denominator", "numerator_pre", "denominator_pre")
"""The four per-user values of a ratio CUPED, in the order of :attr:`RatioCovariateStats.mean`."""


@dataclass(frozen=True, slots=True)
class RatioCovariateStats:
    """One arm's ``n`` users and the means and 4 × 4 sample covariance (ddof = 1) of their
    numerator, denominator, pre-period numerator and pre-period denominator (:data:`COLUMNS`).
    Build it from rows with :meth:`from_rows`."""

    name: str
    n: int
    mean: tuple[float, float, float, float]
    cov: tuple[tuple[float, ...], ...]

    @classmethod
    def from_rows(cls, name: str, rows: ArrayLike) -> RatioCovariateStats:
        """From an ``(n, 4)`` array of one arm's users (numpy mean and ``cov``, ddof = 1)."""
        x = np.asarray(rows, dtype=float)
        n = _validate.count("n", x.shape[0], minimum=2)
        mean = x.mean(axis=0)
        cov = np.cov(x, rowvar=False, ddof=1)
        return cls(name, n, tuple(map(float, mean)), tuple(tuple(map(float, r)) for r in cov))  # type: ignore[arg-type]

    def gradients(self) -> tuple[FloatArray, FloatArray]:
        """∂R/∂(ȳ, n̄, x̄, m̄) and ∂R_pre/∂(ȳ, n̄, x̄, m̄) at the means."""
        y, n, x, m = self.mean
        return np.array([1 / n, -y / n**2, 0.0, 0.0]), np.array([0.0, 0.0, 1 / m, -x / m**2])

    def ratio(self) -> RatioStats:
        """The unadjusted ratio metric (numerator over denominator) of this arm."""
        c = self.cov
        return RatioStats(
            self.name,
            self.n,
            self.mean[0],
            self.mean[1],
            math.sqrt(max(c[0][0], 0.0)),
            math.sqrt(max(c[1][1], 0.0)),
            c[0][1],
        )


def _check(arms: Sequence[RatioCovariateStats], control: str) -> int:
    names = [a.name for a in arms]
    if len(arms) < 2 or len(set(names)) != len(names):
        raise InvalidInput(
            f"variant must hold at least 2 distinct arms, got {names!r}", field="variant"
        )
    if control not in names:
        raise InvalidInput(
            f"control must be one of {', '.join(names)}, got {control!r}", field="control"
        )
    for a in arms:
        for k in (1, 3):
            if not a.mean[k] > 0:
                raise InvalidInput(
                    f"{COLUMNS[k]} must average > 0 in every arm, got {a.mean[k]!r} in {a.name}",
                    field=COLUMNS[k],
                )
    return names.index(control)


def cuped_ratio(
    arms: Sequence[RatioCovariateStats], *, control: str, alpha: float = 0.05
) -> CupedResult:
    """CUPED for a ratio metric (module docstring): each arm against ``control`` by the z test
    of the adjusted ratios with Fieller's relative interval (:func:`stats.cuped._contrast`),
    beside the unadjusted ratio comparison (:func:`stats.comparisons.compare_ratios`).

    ``rho`` and ``variance_reduction`` are the pooled ``ρ² = θ·ΣCov / ΣVar(R)`` (the share of
    the ratio's per-user variance the pre-period ratio explains), as for a mean; the balance
    check is the one-way F of the pre-period ratios on their delta-method variances.
    """
    alpha = _validate.alpha(alpha)
    c = _check(arms, control)
    lam = [np.array(a.cov) for a in arms]
    grads = [a.gradients() for a in arms]
    var_post = np.array([g @ L @ g for (g, _), L in zip(grads, lam, strict=True)])
    var_pre = np.array([h @ L @ h for (_, h), L in zip(grads, lam, strict=True)])
    cov = np.array([g @ L @ h for (g, h), L in zip(grads, lam, strict=True)])
    theta = float(cov.sum() / var_pre.sum()) if var_pre.sum() > 0 else 0.0
    warnings: list[ResultWarning] = []
    if var_pre.sum() <= 0:
        warnings.append(
            warning(
                Code.NO_ADJUSTMENT,
                "The pre-period ratio does not vary, so no adjustment is possible: theta is 0.",
            )
        )
    r2 = min(max(theta * cov.sum() / var_post.sum(), 0.0), 1.0) if var_post.sum() > 0 else 0.0
    rho, near_perfect = _correlation(
        r2,
        theta,
        "The pre-period ratio predicts the ratio",
        ": check that it was measured before the experiment started.",
    )
    warnings.extend(near_perfect)
    n = np.array([a.n for a in arms], dtype=float)
    post = np.array([a.mean[0] / a.mean[1] for a in arms])
    pre = np.array([a.mean[2] / a.mean[3] for a in arms])
    grand_pre = sum(a.n * a.mean[2] for a in arms) / sum(a.n * a.mean[3] for a in arms)
    adjusted = post - theta * (pre - grand_pre)
    var_adj = np.maximum(var_post - 2 * theta * cov + theta * theta * var_pre, 0.0)
    balance = _balance(n, pre, var_pre)
    warnings.extend(_balance_warning(balance, "The pre-period ratio"))
    names = [a.name for a in arms]
    comparisons = tuple(
        AdjustedComparison(
            names[i],
            _contrast(
                names[i],
                control,
                (float(adjusted[i]), float(var_adj[i] / n[i])),
                (float(adjusted[c]), float(var_adj[c] / n[c])),
                alpha,
            ),
            compare_ratios(arms[c].ratio(), arms[i].ratio(), alpha=alpha),
        )
        for i in range(len(arms))
        if i != c
    )
    summaries = tuple(
        ArmSummary(
            names[i],
            arms[i].n,
            float(post[i]),
            float(adjusted[i]),
            float(pre[i]),
            math.sqrt(float(var_adj[i])),
        )
        for i in range(len(arms))
    )
    return _result(control, alpha, theta, rho, r2, comparisons, summaries, balance, 0, warnings)


def cuped_ratio_rows(
    codes: ArrayLike,
    names: Sequence[str],
    values: Sequence[ArrayLike],
    *,
    control: str,
    alpha: float = 0.05,
) -> CupedResult:
    """:func:`cuped_ratio` from row-level arrays: ``codes[i]`` indexes user ``i``'s arm in
    ``names``; ``values`` holds the four per-user columns of :data:`COLUMNS` (no missing
    values: a ratio's pre-period needs both its parts; errors name the column)."""
    codes, names, order = _arm_rows(codes, names)
    columns = []
    for field, v in zip(COLUMNS, values, strict=True):
        x = _float_rows(v, field, codes.size)
        if np.isnan(x).any():
            raise InvalidInput(
                f"{field} has {int(np.isnan(x).sum())} missing values "
                f"(first in row {int(np.flatnonzero(np.isnan(x))[0]) + 1}); every user needs one",
                field=field,
            )
        columns.append(x)
    table = np.column_stack(columns)
    arms = [RatioCovariateStats.from_rows(names[k], table[codes == k]) for k in order]
    return cuped_ratio(arms, control=control, alpha=alpha)
