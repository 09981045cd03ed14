"""CUPED: tighter intervals for a difference in means from pre-experiment data.

Deng, Xu, Kohavi & Walker (2013), "Improving the sensitivity of online controlled experiments
by utilizing pre-experiment data", WSDM '13 (below: *Deng 2013*). A covariate ``X`` measured
before assignment has the same mean in every arm, so subtracting ``θ(X̄_i − X̄)`` from each
arm's outcome mean ``Ȳ_i`` leaves the difference unbiased while removing the share ``ρ²`` of
its variance that ``X`` explains (eq. 3 for ``θ = cov(Y, X) / var(X)``, eq. 4 for
``Var = Var(Ȳ)(1 − ρ²)``).

Everything works on per-arm sufficient statistics (``n``, means, variances and the
covariance), so the same code serves 100 rows or 100 million and a warehouse can hand in its
own aggregates. Several covariates go through :func:`regression_adjustment` (Lin 2013).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from stats import _validate
from stats.comparisons import Comparison, compare_means, comparison_from_estimate
from stats.errors import InvalidInput
from stats.power import solve_power_means
from stats.relative import fieller_lift
from stats.sufficient import MeanStats, stats_records
from stats.warnings import Code, ResultWarning, warning

FloatArray = NDArray[np.float64]
Codes = NDArray[np.integer[Any]]
"""Arm codes 0, 1, … (−1 for missing before checks): any integer width, as a dictionary-encoded
column or a categorical carries them (int8, int32) or intp."""
Order = NDArray[np.intp]

BALANCE_ALPHA = 0.001
"""The covariate-balance test flags an assignment problem below this p-value."""

NEAR_PERFECT_RHO = 0.995
"""Above this |ρ| the covariate looks like the outcome itself; the result warns."""

MAX_ARMS = 50
"""Cap on the number of arms in row-level data (more usually means the wrong column)."""

RHO_GRID = np.arange(96) / 100
"""The ρ values 0, 0.01, …, 0.95 a planning chart is drawn on."""

MAX_RHO_GRID = 10_001
MAX_COVARIATES = 20
"""Most covariates in one regression adjustment."""
"""Cap on the number of ρ values :func:`cuped_planning` evaluates."""

MAX_N_PER_GROUP = 10**12
"""Cap on :func:`cuped_planning`'s ``n_per_group`` (keeps the required sizes in int64)."""

OUTCOME_ITSELF = "must be a pre-experiment measurement, not the outcome itself"


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class CovariateStats:
    """Per-arm sufficient statistics of an outcome ``Y`` and a pre-experiment covariate ``X``.

    ``n`` users (a whole number >= 2), the means, the sample variances (ddof = 1) and the
    sample covariance of ``Y`` and ``X``. Construction validates; messages start with the
    field name (``n``, ``mean_y``, ``var_x``, ``cov_xy`` …).
    """

    name: str
    n: int
    mean_y: float
    mean_x: float
    var_y: float
    var_x: float
    cov_xy: float

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidInput(f"name must be a non-empty string, got {self.name!r}", field="name")
        object.__setattr__(self, "n", _validate.count("n", self.n, minimum=2))
        # Means at most MAX_ABS_VALUE (the cap on an uploaded value), second moments at most
        # its square: beyond that (n − 1)·var overflows and the results turn to NaN.
        for field in ("mean_y", "mean_x"):
            object.__setattr__(self, field, _validate.bounded(field, getattr(self, field)))
        for field in ("var_y", "var_x", "cov_xy"):
            value = _validate.bounded(field, getattr(self, field), _validate.MAX_ABS_VALUE**2)
            object.__setattr__(self, field, value)
        for field in ("var_y", "var_x"):
            object.__setattr__(self, field, _validate.non_negative(field, getattr(self, field)))
        bound = math.sqrt(self.var_x * self.var_y)
        if abs(self.cov_xy) > bound * (1.0 + 1e-9) + 1e-300:
            raise InvalidInput(
                f"cov_xy must satisfy |cov_xy| <= sqrt(var_x * var_y) ({bound:.6g}), "
                f"got {self.cov_xy!r}",
                field="cov_xy",
            )


@dataclass(frozen=True, slots=True)
class AdjustedComparison:
    """One non-control arm against the control: adjusted beside unadjusted.

    Two :class:`stats.comparisons.Comparison` of the same arms, variant minus control:
    ``adjusted`` (CUPED's Welch t, or the regression adjustment's HC2 z) and ``unadjusted``
    (the same test without the covariate). The read-through properties give the adjusted
    ``estimate``, ``statistic``, two-sided ``pvalue`` and ``1 − alpha`` interval
    ``ci_low``/``ci_high``, and the same quantities of the plain analysis as
    ``unadjusted_*``; :meth:`as_dict` is the JSON form, with those eleven keys.
    """

    variant: str
    adjusted: Comparison
    unadjusted: Comparison

    @property
    def estimate(self) -> float:
        return self.adjusted.estimate

    @property
    def statistic(self) -> float:
        return self.adjusted.statistic

    @property
    def pvalue(self) -> float:
        return self.adjusted.pvalue

    @property
    def ci_low(self) -> float:
        return self.adjusted.ci_low

    @property
    def ci_high(self) -> float:
        return self.adjusted.ci_high

    @property
    def unadjusted_estimate(self) -> float:
        return self.unadjusted.estimate

    @property
    def unadjusted_statistic(self) -> float:
        return self.unadjusted.statistic

    @property
    def unadjusted_pvalue(self) -> float:
        return self.unadjusted.pvalue

    @property
    def unadjusted_ci_low(self) -> float:
        return self.unadjusted.ci_low

    @property
    def unadjusted_ci_high(self) -> float:
        return self.unadjusted.ci_high

    def as_dict(self) -> dict[str, str | float]:
        """``variant`` and the adjusted and ``unadjusted_`` estimate, statistic, p-value,
        interval and relative lift with its interval (Fieller's, on the adjusted means for
        the adjusted comparison; the ``/api/cuped`` comparison object)."""
        out: dict[str, str | float] = {"variant": self.variant}
        for prefix, c in (("", self.adjusted), ("unadjusted_", self.unadjusted)):
            out[f"{prefix}estimate"] = c.estimate
            out[f"{prefix}statistic"] = c.statistic
            out[f"{prefix}pvalue"] = c.pvalue
            out[f"{prefix}ci_low"] = c.ci_low
            out[f"{prefix}ci_high"] = c.ci_high
            out[f"{prefix}relative_lift"] = c.relative_lift
            out[f"{prefix}relative_ci_low"] = c.relative_ci_low
            out[f"{prefix}relative_ci_high"] = c.relative_ci_high
        return out


@dataclass(frozen=True, slots=True)
class ArmSummary:
    """One arm: ``n`` users, outcome mean, CUPED-adjusted mean and covariate mean, and
    ``adjusted_sd``, the within-arm standard deviation of the adjusted outcome ``Y − θ·Z``
    (the residual the adjusted test weighs).

    With missing covariates ``mean_x`` is the mean over the users who have one (NaN if none).
    """

    name: str
    n: int
    mean_y: float
    adjusted_mean: float
    mean_x: float
    adjusted_sd: float = math.nan


@dataclass(frozen=True, slots=True)
class Balance:
    """Does the covariate's mean differ between arms? One-way ANOVA F across arms.

    ``flagged`` when ``pvalue < BALANCE_ALPHA`` (0.001): the covariate was measured before
    assignment, so a difference points at an assignment bug.
    """

    statistic: float
    pvalue: float
    flagged: bool


@dataclass(frozen=True, slots=True)
class CupedResult:
    """CUPED analysis of every non-control arm against the control.

    ``theta`` is the adjustment slope, ``rho`` the pooled within-arm correlation of outcome
    and covariate (with missing covariates: the multiple correlation, signed like ``theta``),
    ``variance_reduction = 1 − ρ²`` the factor the variance is multiplied by (0.47 means the
    adjusted variance is 47% of the unadjusted one) and ``effective_multiplier = 1/(1 − ρ²)``
    the sample-size equivalent ("as if you had 1.9× as many users"). ``n`` counts all users
    and ``n_missing_covariate`` those without a pre-period value (kept, see
    :func:`cuped_rows`).
    """

    control: str
    alpha: float
    theta: float
    rho: float
    variance_reduction: float
    effective_multiplier: float
    comparisons: tuple[AdjustedComparison, ...]
    arms: tuple[ArmSummary, ...]
    balance: Balance
    n: int
    n_missing_covariate: int
    warnings: tuple[ResultWarning, ...] = ()


@dataclass(frozen=True, slots=True)
class RegressionAdjustmentResult:
    """Lin (2013) regression adjustment with several covariates.

    ``balance[j]`` is the balance test of ``covariates[j]`` (on the users who have it);
    ``r_squared`` of the adjusted model; other fields as in :class:`CupedResult`.
    """

    control: str
    alpha: float
    covariates: tuple[str, ...]
    comparisons: tuple[AdjustedComparison, ...]
    balance: tuple[Balance, ...]
    r_squared: float
    n: int
    n_missing_covariate: int
    warnings: tuple[ResultWarning, ...] = ()


@dataclass(frozen=True, slots=True)
class CupedPlanning:
    """What a correlation ``rho`` buys at the planned size, one entry per grid value.

    ``half_width`` of the ``1 − alpha`` interval for the difference with ``n_per_group``
    users per arm; ``mde`` the effect detected with probability ``power``;
    ``n_per_group_required`` the users per arm CUPED needs for the precision the plain
    analysis gets from ``n_per_group``; ``effective_multiplier = 1/(1 − ρ²)``.
    """

    rho: tuple[float, ...]
    half_width: tuple[float, ...]
    mde: tuple[float, ...]
    n_per_group_required: tuple[int, ...]
    effective_multiplier: tuple[float, ...]
    n_per_group: int
    sd: float
    alpha: float
    power: float


# --------------------------------------------------------------------------- internals


@dataclass(frozen=True, slots=True)
class _Moments:
    """Per-arm moments of ``Y`` and a covariate vector ``Z`` (``a`` arms, ``k`` covariates).

    ``n``, ``mean_y``, ``var_y`` have shape ``(a,)``; ``mean_z`` ``(a, k)``; ``cov_zz``
    ``(a, k, k)``; ``cov_zy`` ``(a, k)``. Variances and covariances use ddof = 1.
    """

    n: FloatArray
    mean_y: FloatArray
    var_y: FloatArray
    mean_z: FloatArray
    cov_zz: FloatArray
    cov_zy: FloatArray

    def select(self, keep: NDArray[np.bool_]) -> _Moments:
        """The same moments restricted to the covariates where ``keep`` is true."""
        return _Moments(
            self.n,
            self.mean_y,
            self.var_y,
            self.mean_z[:, keep],
            self.cov_zz[:, keep][:, :, keep],
            self.cov_zy[:, keep],
        )

    def arms(self, order: NDArray[np.intp]) -> _Moments:
        """The same moments with the arms in ``order``."""
        return _Moments(
            self.n[order],
            self.mean_y[order],
            self.var_y[order],
            self.mean_z[order],
            self.cov_zz[order],
            self.cov_zy[order],
        )


_CHUNK = 1 << 15
"""Rows per block in :func:`_arm_moments` (a few columns of these fit in a core's cache)."""


def _arm_moments(codes: Codes, arms: int, y: FloatArray, z: FloatArray) -> _Moments:
    """Means, variances and covariances per arm from one grouped pass of sums.

    Sums, sums of squares and cross-products per arm, then
    ``cov(a, b) = (Σab − n ā b̄) / (n − 1)``. To avoid the cancellation of that formula when
    the mean is large against the spread, every column is first shifted by its first value
    (the "shifted data" algorithm: Chan, Golub & LeVeque 1983, "Algorithms for computing the
    sample variance", section 3); a constant column then gives exactly zero variance. Arms
    with fewer than 2 rows get zero (co)variances, and NaN means when empty.

    Each arm's sums are sums and dot products of its columns masked to 0 outside the arm
    (vectorised, single-threaded ``np.einsum``), block by block of :data:`_CHUNK` rows so
    the data is read from memory once and the work stays in cache, rather than
    ``np.bincount`` with weights, whose scatter into a few accumulators is latency-bound:
    about 4× faster on 1,000,000 rows.
    """
    rows, p = len(y), 1 + z.shape[1]
    shift = np.concatenate([y[:1], z[0]]) if rows else np.zeros(p)
    n = np.zeros(arms)
    sums = np.zeros((arms, p))
    cross = np.zeros((arms, p, p))
    block = np.empty((p, min(rows, _CHUNK)))
    product = np.empty(block.shape[1])
    for start in range(0, rows, _CHUNK):
        stop = min(start + _CHUNK, rows)
        m = stop - start
        cols, buf = block[:, :m], product[:m]
        np.subtract(y[start:stop], shift[0], out=cols[0])
        np.subtract(z[start:stop].T, shift[1:, None], out=cols[1:])
        part = codes[start:stop]
        for a in range(arms):
            member = part == a
            n[a] += np.count_nonzero(member)
            for j in range(p):
                np.multiply(cols[j], member, out=buf)  # the column, 0 outside the arm
                sums[a, j] += buf.sum()
                for k in range(j, p):
                    cross[a, j, k] += np.einsum("i,i->", buf, cols[k])
    cross = np.triu(cross) + np.triu(cross, 1).transpose(0, 2, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = sums / n[:, None]
        centred = cross - n[:, None, None] * means[:, :, None] * means[:, None, :]
        cov = centred / (n - 1.0)[:, None, None]
    cov[n < 2] = 0.0
    diag = np.arange(p)
    cov[:, diag, diag] = np.maximum(cov[:, diag, diag], 0.0)
    means += shift
    return _Moments(n, means[:, 0], cov[:, 0, 0], means[:, 1:], cov[:, 1:, 1:], cov[:, 1:, 0])


def _welch(
    names: tuple[str, ...],
    mean: FloatArray,
    var: FloatArray,
    n: FloatArray,
    i: int,
    c: int,
    alpha: float,
) -> Comparison:
    """Arm ``i`` against arm ``c`` by Welch's t.

    The one Welch test, :func:`stats.comparisons.compare_means` (scipy
    ``ttest_ind_from_stats(equal_var=False)``; Welch 1947, eq. 9), on each arm's ``n``,
    (adjusted) mean and (residual) standard deviation. With a zero standard error the
    interval collapses to the estimate and the p-value is 1 (no difference) or 0.
    """
    arm, control = (
        MeanStats(names[k], int(n[k]), float(mean[k]), math.sqrt(var[k])) for k in (i, c)
    )
    return compare_means(control, arm, alpha=alpha)


def _balance(n: FloatArray, mean: FloatArray, var: FloatArray) -> Balance:
    """One-way ANOVA F test that the covariate means are equal across arms.

    ``F = [Σ n_i (x̄_i − x̄)² / (a − 1)] / [Σ (n_i − 1) s_i² / (N − a)]`` (Fisher's one-way
    analysis of variance, e.g. Montgomery, *Design and Analysis of Experiments*, 8th ed.,
    section 3.3), from sufficient statistics. Under correct randomisation the covariate has
    the same distribution in every arm, so the equal-variance assumption holds under the null
    (for two arms ``F`` is the square of the pooled two-sample t). Arms without data are left
    out; with fewer than two arms left or no within-arm degrees of freedom the statistic is
    NaN and nothing is flagged.
    """
    ok = n > 0
    n, mean, var = n[ok], mean[ok], var[ok]
    a, total = n.size, n.sum()
    if a < 2 or total - a < 1:
        return Balance(math.nan, math.nan, False)
    grand = float(n @ mean / total)
    between = float(n @ (mean - grand) ** 2) / (a - 1)
    within = float((n - 1) @ var) / (total - a)
    if within == 0.0:
        stat = 0.0 if between == 0.0 else math.inf
        pvalue = 1.0 if between == 0.0 else 0.0
    else:
        stat = float(between / within)
        pvalue = float(special.fdtrc(a - 1, total - a, stat))
    return Balance(stat, pvalue, pvalue < BALANCE_ALPHA)


def _balance_warning(balance: Balance, what: str = "The covariate") -> tuple[ResultWarning, ...]:
    if not balance.flagged:
        return ()
    return (
        warning(
            Code.COVARIATE_IMBALANCE,
            f"{what}'s mean differs between arms (balance p = {balance.pvalue:.2g} < "
            f"{BALANCE_ALPHA:g}). It was measured before assignment, so this points at an "
            "assignment bug (bucketing, logging or a filter applied after assignment); check the "
            "randomisation before trusting any result.",
        ),
    )


def _correlation(
    r2: float, theta: float, what: str, check: str
) -> tuple[float, tuple[ResultWarning, ...]]:
    """``ρ = sign(θ)·√r2`` and, when ``|ρ| >= NEAR_PERFECT_RHO``, the warning that ``what``
    predicts the outcome almost perfectly, followed by ``check``."""
    rho = math.copysign(math.sqrt(r2), theta)
    if abs(rho) >= NEAR_PERFECT_RHO:
        text = f"{what} almost perfectly (rho = {rho:.4f}){check}"
        return rho, (warning(Code.COVARIATE_NEAR_PERFECT, text),)
    return rho, ()


def _result(
    control: str,
    alpha: float,
    theta: float,
    rho: float,
    r2: float,
    comparisons: tuple[AdjustedComparison, ...],
    arms: tuple[ArmSummary, ...],
    balance: Balance,
    n_missing: int,
    warnings: Sequence[ResultWarning],
) -> CupedResult:
    """The :class:`CupedResult` of a fit whose adjustment explains the share ``r2 = ρ²`` of
    the outcome's within-arm variance: ``variance_reduction = 1 − ρ²`` and
    ``effective_multiplier = 1/(1 − ρ²)`` (infinite at ρ² = 1; Deng et al. 2013, section
    3.1: the adjusted variance is ``(1 − ρ²)`` times the plain one); ``n`` sums the arms'.
    """
    return CupedResult(
        control=control,
        alpha=alpha,
        theta=theta,
        rho=rho,
        variance_reduction=1.0 - r2,
        effective_multiplier=1.0 / (1.0 - r2) if r2 < 1.0 else math.inf,
        comparisons=comparisons,
        arms=arms,
        balance=balance,
        n=sum(a.n for a in arms),
        n_missing_covariate=n_missing,
        warnings=tuple(warnings),
    )


def _analyse(
    names: tuple[str, ...],
    moments: _Moments,
    *,
    control: str,
    alpha: float,
    mean_x: FloatArray,
    balance: Balance,
    n_missing: int,
    notes: tuple[ResultWarning, ...],
) -> CupedResult:
    """CUPED from per-arm moments of ``Y`` and covariates ``Z`` (the first one is ``X``).

    ``θ`` (a vector when ``Z`` holds a missing-value indicator too) is the pooled
    *within-arm* least-squares slope, ``θ = [Σ_i (n_i − 1) S_zz,i]⁻¹ Σ_i (n_i − 1) s_zy,i``:
    the control-variate coefficient of Deng 2013 eq. 3 estimated, as section 3.2.2 asks,
    with one θ for all arms from their pooled data. Pooling *within* arms rather than over
    the overall sample keeps the treatment effect itself out of ``cov(Y, X)``, and makes
    the estimate exactly the treatment coefficient of the OLS fit ``y ~ arm + X``
    (ANCOVA). Covariates with zero within-arm variance are dropped (no adjustment possible).

    Adjusted means ``Ȳ_i − θ·(Z̄_i − Z̄)`` with ``Z̄`` the mean over all users. The
    difference of adjusted means is compared by Welch's t on the per-arm residual variances
    ``s²_y − 2θ·s_zy + θ'S_zzθ`` (the variance of ``Y − θ·Z``: Deng 2013, section 3.2.1),
    treating θ as known, which is asymptotically exact (its error is O(1/n) in the
    estimate). The relative lift is Fieller's interval for the ratio of the adjusted means
    with the same variances and df (:func:`stats.comparisons.compare_means`): the adjusted
    means are the arms' means of ``Y − θ·(Z − Z̄)``, so the ratio is the one the adjusted test
    compares, and the interval excludes 0 exactly when the adjusted Welch test rejects.
    ``ρ² = θ·Σ(n_i−1)s_zy / Σ(n_i−1)s²_y`` is the pooled within-arm R².
    """
    c = names.index(control)
    warnings: list[ResultWarning] = list(notes)
    w = moments.n - 1.0
    keep = np.einsum("a,akk->k", w, moments.cov_zz) > 0.0
    if moments.mean_z.shape[1] and not keep[0]:
        keep[:] = False
        warnings.append(
            warning(
                Code.NO_ADJUSTMENT,
                "The covariate does not vary within arms, so no adjustment is possible: theta is "
                "0 and the adjusted results equal the unadjusted ones.",
            )
        )
    used = moments.select(keep)
    w_zz = np.einsum("a,ajk->jk", w, used.cov_zz)
    w_zy = w @ used.cov_zy
    w_yy = float(w @ moments.var_y)
    beta = np.linalg.lstsq(w_zz, w_zy, rcond=None)[0] if keep.any() else np.zeros(0)
    theta = float(beta[0]) if beta.size else 0.0
    if w_yy > 0.0:
        r2 = min(max(float(beta @ w_zy) / w_yy, 0.0), 1.0)
    else:
        r2 = 0.0
        warnings.append(
            warning(
                Code.ZERO_VARIANCE,
                "The outcome does not vary within arms; there is nothing to adjust.",
            )
        )
    rho, near_perfect = _correlation(
        r2,
        theta,
        "The covariate predicts the outcome",
        ". Check that it was measured before the experiment started: a covariate the treatment "
        "can affect biases the adjusted estimate.",
    )
    warnings.extend(near_perfect)
    grand_z = moments.n @ used.mean_z / moments.n.sum()
    adjusted = moments.mean_y - (used.mean_z - grand_z) @ beta
    resid_var = np.maximum(
        moments.var_y - 2.0 * used.cov_zy @ beta + np.einsum("j,ajk,k->a", beta, used.cov_zz, beta),
        0.0,
    )
    n, y, vy = moments.n, moments.mean_y, moments.var_y
    comparisons = []
    for i, name in enumerate(names):
        if i != c:
            comparisons.append(
                AdjustedComparison(
                    name,
                    _welch(names, adjusted, resid_var, n, i, c, alpha),
                    _welch(names, y, vy, n, i, c, alpha),
                )
            )
    if w_yy > 0.0 and not resid_var.any():
        warnings.append(
            warning(
                Code.ZERO_VARIANCE,
                "The adjusted outcome does not vary within arms, so the intervals have zero width.",
            )
        )
    warnings.extend(_balance_warning(balance))
    arms = tuple(
        ArmSummary(
            name,
            int(n[i]),
            float(y[i]),
            float(adjusted[i]),
            float(mean_x[i]),
            math.sqrt(float(resid_var[i])),
        )
        for i, name in enumerate(names)
    )
    return _result(
        control, alpha, theta, rho, r2, tuple(comparisons), arms, balance, n_missing, warnings
    )


def _check_arms(arms: Sequence[CovariateStats], control: str) -> tuple[str, ...]:
    """Names of ``arms``; at least two, unique, all ``CovariateStats``, ``control`` among them."""
    if isinstance(arms, str | bytes) or not isinstance(arms, Sequence):
        raise InvalidInput(
            f"variants must be a list of per-arm statistics, got {arms!r}", field="variants"
        )
    for i, arm in enumerate(arms):
        if not isinstance(arm, CovariateStats):
            raise InvalidInput(
                f"variants[{i}] must be CovariateStats, got {arm!r}", field=f"variants[{i}]"
            )
    if len(arms) < 2:
        raise InvalidInput(f"variants must hold at least 2 arms, got {len(arms)}", field="variants")
    names = tuple(arm.name for arm in arms)
    for i, name in enumerate(names):
        if name in names[:i]:
            raise InvalidInput(
                f"variants[{i}].name must be unique, got {name!r} twice",
                field=f"variants[{i}].name",
            )
    _validate.choice("control", control, names)
    return names


def _is_outcome_itself(arms: Sequence[CovariateStats]) -> bool:
    """True when every arm's covariate statistics equal its outcome statistics."""
    return all(
        math.isclose(a.mean_x, a.mean_y, rel_tol=1e-12, abs_tol=0.0)
        and math.isclose(a.var_x, a.var_y, rel_tol=1e-12, abs_tol=0.0)
        and math.isclose(a.cov_xy, a.var_y, rel_tol=1e-12, abs_tol=0.0)
        for a in arms
    )


def cuped(arms: Sequence[CovariateStats], *, control: str, alpha: float = 0.05) -> CupedResult:
    """CUPED (Deng 2013) from per-arm sufficient statistics.

    ``θ = cov(Y, X) / var(X)`` pooled within arms (Deng 2013 eq. 3, section 3.2.2; see
    :func:`_analyse` for why within arms), adjusted means ``Ȳ_i − θ(X̄_i − X̄)``, and for each
    non-control arm the adjusted difference with a Welch t interval beside the unadjusted
    one (Welch t on the raw variances, as ``scipy.stats.ttest_ind(equal_var=False)``). The
    balance check is a one-way ANOVA F on the covariate means (:func:`_balance`).

    Raises ``ValueError`` for fewer than two arms, duplicate names, an unknown ``control``,
    a bad ``alpha``, or covariate statistics identical to the outcome's in every arm.
    """
    names = _check_arms(arms, control)
    alpha = _validate.alpha(alpha)
    if _is_outcome_itself(arms):
        raise InvalidInput(f"covariate {OUTCOME_ITSELF}", field="covariate")
    n = np.array([a.n for a in arms], dtype=np.float64)
    mean_x = np.array([a.mean_x for a in arms])
    var_x = np.array([a.var_x for a in arms])
    moments = _Moments(
        n,
        np.array([a.mean_y for a in arms]),
        np.array([a.var_y for a in arms]),
        mean_x[:, None],
        var_x[:, None, None],
        np.array([[a.cov_xy] for a in arms]),
    )
    return _analyse(
        names,
        moments,
        control=control,
        alpha=alpha,
        mean_x=mean_x,
        balance=_balance(n, mean_x, var_x),
        n_missing=0,
        notes=(),
    )


def covariate_variants(
    records: Sequence[Mapping[str, Any]], field: str = "variants"
) -> tuple[CovariateStats, ...]:
    """Parse ``[{"name", "users", "mean_y", "mean_x", "var_y", "var_x", "cov_xy"}, ...]``.

    The JSON twin of :class:`CovariateStats` (the API calls ``n`` ``users``, as everywhere
    else); errors read like ``variants[1].var_x must be >= 0, got -1``.
    """
    keys = {
        "name": "name",
        "users": "n",
        "mean_y": "mean_y",
        "mean_x": "mean_x",
        "var_y": "var_y",
        "var_x": "var_x",
        "cov_xy": "cov_xy",
    }
    return stats_records(records, CovariateStats, keys, field)


# --------------------------------------------------------------------------- row-level data


def _float_rows(values: ArrayLike, field: str, rows: int) -> FloatArray:
    """``values`` as a one-dimensional float64 array of ``rows`` entries (NaN where missing);
    infinite values are refused, naming the (1-based) row."""
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} must be an array of numbers", field=field) from None
    if x.ndim != 1 or x.size != rows:
        raise InvalidInput(
            f"{field} must hold one number per row ({rows}), got shape {x.shape}", field=field
        )
    infinite = np.isinf(x)
    if infinite.any():
        i = int(np.flatnonzero(infinite)[0])
        raise InvalidInput(
            f"{field} must hold finite numbers, got {x[i]!r} in row {i + 1}", field=field
        )
    return x


def _outcome_rows(values: ArrayLike, rows: int) -> FloatArray:
    """The outcome: finite numbers, none missing."""
    y = _float_rows(values, "outcome", rows)
    missing = np.isnan(y)
    if missing.any():
        raise InvalidInput(
            f"outcome has {int(missing.sum())} missing values "
            f"(first in row {int(np.flatnonzero(missing)[0]) + 1}); every user needs one",
            field="outcome",
        )
    return y


def _covariate_rows(values: ArrayLike, field: str, y: FloatArray) -> FloatArray:
    """A covariate (NaN where missing) that is not the outcome itself (the same values)."""
    x = _float_rows(values, field, y.size)
    if x.size and x[0] == y[0] and np.array_equal(x, y):
        raise InvalidInput(f"{field} {OUTCOME_ITSELF} (the values are identical)", field=field)
    return x


def _arm_rows(codes: ArrayLike, names: Sequence[str]) -> tuple[Codes, tuple[str, ...], Order]:
    """Checked arm codes: 2 to ``MAX_ARMS`` distinct names, each row's code an index into
    ``names`` (no missing arm), at least 2 rows per arm. Returns the codes, the names and the
    order that sorts the names (results list the arms by name; the rows are not renumbered)."""
    codes = np.asarray(codes)
    if codes.ndim != 1 or codes.dtype.kind not in "iu":
        raise InvalidInput("variant codes must be a one-dimensional integer array", field="variant")
    if isinstance(names, str | bytes) or not all(isinstance(n, str) for n in names):
        raise InvalidInput(f"variant names must be text, got {names!r}", field="variant")
    names = tuple(names)
    if codes.size and codes.min() < 0:
        missing = codes < 0
        raise InvalidInput(
            f"variant has {int(missing.sum())} rows with no value "
            f"(first in row {int(np.flatnonzero(missing)[0]) + 1})",
            field="variant",
        )
    if len(names) > MAX_ARMS:
        raise InvalidInput(
            f"variant must hold at most {MAX_ARMS} arms, got {len(names)} distinct values "
            "(is it the right column?)",
            field="variant",
        )
    if len(set(names)) < len(names):
        raise InvalidInput(
            f"variant labels must be distinct as text, got {list(names)!r}", field="variant"
        )
    if len(names) < 2:
        raise InvalidInput(
            f"variant must hold at least 2 distinct arms, got {list(names)!r}", field="variant"
        )
    if codes.size and codes.max() >= len(names):
        raise InvalidInput(
            f"variant codes must index the {len(names)} names, got {int(codes.max())}",
            field="variant",
        )
    order = np.array(sorted(range(len(names)), key=names.__getitem__), dtype=np.intp)
    if len(names) <= 8:  # a compare per arm beats bincount's cast of every code to intp
        sizes = np.array([np.count_nonzero(codes == a) for a in range(len(names))])
    else:
        sizes = np.bincount(codes, minlength=len(names))
    sizes = sizes[order]
    if sizes.min() < 2:
        small = names[int(order[int(sizes.argmin())])]
        raise InvalidInput(
            f"variant {small!r} has {int(sizes.min())} row; every arm needs at least 2",
            field="variant",
        )
    return codes, names, order


def covariate_stats(
    codes: ArrayLike, names: Sequence[str], y: ArrayLike, x: ArrayLike
) -> tuple[CovariateStats, ...]:
    """One :class:`CovariateStats` per arm (sorted by name) from row-level arrays.

    ``codes[i]`` indexes ``names`` for row ``i``; ``y`` the outcome, ``x`` the covariate. A
    single grouped pass of sums, sums of squares and cross-products (see
    :func:`_arm_moments`). Rows with a missing covariate are refused here; use
    :func:`cuped_rows`, which keeps them with a missing-value indicator.
    """
    codes, names, order = _arm_rows(codes, names)
    y = _outcome_rows(y, codes.size)
    x = _covariate_rows(x, "covariate", y)
    n_missing = int(np.isnan(x).sum())
    if n_missing:
        raise InvalidInput(
            f"covariate has {n_missing} missing values; cuped_rows keeps those users "
            "with a missing-value indicator",
            field="covariate",
        )
    m = _arm_moments(codes, len(names), y, x[:, None]).arms(order)
    return tuple(
        CovariateStats(
            names[a],
            int(m.n[i]),
            float(m.mean_y[i]),
            float(m.mean_z[i, 0]),
            float(m.var_y[i]),
            float(m.cov_zz[i, 0, 0]),
            float(m.cov_zy[i, 0]),
        )
        for i, a in enumerate(order)
    )


def cuped_rows(
    codes: ArrayLike,
    names: Sequence[str],
    y: ArrayLike,
    x: ArrayLike,
    *,
    control: str,
    alpha: float = 0.05,
) -> CupedResult:
    """CUPED from row-level arrays, one entry per user: ``codes[i]`` is user ``i``'s arm, an
    index into ``names`` (in any order: results list the arms sorted by name; small integer
    codes, as a dictionary-encoded column carries them, are used without a copy), ``y`` the
    outcome and ``x`` the pre-period covariate (NaN where missing). :mod:`sources.cuped`
    builds these from a data frame or an upload.

    Users without a pre-period value (NaN covariate) are kept, following Deng 2013 section
    4.2: the covariate is filled with its mean over the users who have one and a 0/1
    missing-value indicator joins it as a second covariate, so the adjustment is the pooled
    within-arm OLS of ``y`` on ``[x_filled, missing]`` — in Deng's words, stratifying users
    by whether they have pre-period data, with CUPED among those who do. The estimate does
    not depend on the fill value (filling with ``c`` instead shifts ``x_filled`` by a
    multiple of the indicator, which the regression absorbs). ``theta`` is then the slope on ``x_filled`` and ``rho`` the multiple correlation;
    the balance check uses the users who have a pre-period value; ``n_missing_covariate``
    says how many did not. Without missing values this is exactly
    ``cuped(covariate_stats(...))``.

    Raises ``ValueError`` naming ``variant``, ``outcome``, ``covariate``, ``control`` or
    ``alpha``: infinite values, missing outcomes or arm codes, a single arm or an arm with
    fewer than 2 rows, an unknown control, or a covariate equal to the outcome.
    """
    codes, names, order = _arm_rows(codes, names)
    y = _outcome_rows(y, codes.size)
    x = _covariate_rows(x, "covariate", y)
    sorted_names = tuple(names[i] for i in order)
    _validate.choice("control", control, sorted_names)
    alpha = _validate.alpha(alpha)
    arms = len(names)
    missing = np.isnan(x)
    n_missing = int(np.count_nonzero(missing))
    if not n_missing:
        moments = _arm_moments(codes, arms, y, x[:, None])
        observed = moments
        notes: tuple[ResultWarning, ...] = ()
    else:
        have = ~missing
        observed = _arm_moments(codes[have], arms, y[have], x[have, None])
        share = f"{n_missing} of {y.size} users ({n_missing / y.size:.1%})"
        if have.any():
            fill = float(x[have].mean())
            z = np.column_stack([np.where(missing, fill, x), missing.astype(np.float64)])
            notes = (
                warning(
                    Code.MISSING_COVARIATE,
                    f"{share} have no pre-period value. They are kept: the covariate is filled "
                    "with its mean and a missing-value indicator joins the adjustment.",
                ),
            )
        else:
            z = np.zeros((y.size, 1))
            notes = (warning(Code.MISSING_COVARIATE, f"{share} have no pre-period value."),)
        moments = _arm_moments(codes, arms, y, z)
    moments, observed = moments.arms(order), observed.arms(order)
    mean_x, var_x = observed.mean_z[:, 0], observed.cov_zz[:, 0, 0]
    return _analyse(
        sorted_names,
        moments,
        control=control,
        alpha=alpha,
        mean_x=mean_x,
        balance=_balance(observed.n, mean_x, var_x),
        n_missing=n_missing,
        notes=notes,
    )


def _moment_array(field: str, values: ArrayLike, shape: tuple[int, ...]) -> FloatArray:
    """``values`` as a float64 array of ``shape`` (finiteness is checked by the caller)."""
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} must be an array of numbers", field=field) from None
    if a.shape != shape:
        raise InvalidInput(f"{field} must have shape {shape}, got {a.shape}", field=field)
    return a


def cuped_from_moments(
    names: Sequence[str],
    n: ArrayLike,
    mean_y: ArrayLike,
    var_y: ArrayLike,
    mean_z: ArrayLike,
    cov_zz: ArrayLike,
    cov_zy: ArrayLike,
    *,
    control: str,
    alpha: float = 0.05,
    n_x: ArrayLike | None = None,
    mean_x: ArrayLike | None = None,
    var_x: ArrayLike | None = None,
) -> CupedResult:
    """:func:`cuped_rows` from per-arm moments, for data reduced where it lives
    (:func:`sources.reduce.cuped_moments` computes these in the engine).

    Per arm ``i`` of ``names`` (``a`` arms, any order: results list them by name): ``n[i]``
    users, the outcome's mean and sample variance, and for the covariate vector ``Z`` (``k``
    columns) its means ``mean_z`` ``(a, k)``, sample covariance matrix ``cov_zz``
    ``(a, k, k)`` and covariances with the outcome ``cov_zy`` ``(a, k)`` (ddof = 1). ``Z`` is
    what :func:`cuped_rows` regresses on: the covariate alone when every user has one, else
    ``[x_filled, missing]`` (Deng 2013 section 4.2; the fill value does not change the
    result). ``n_x``, ``mean_x`` and ``var_x`` describe, per arm, the users who *have* a
    covariate (for the balance check and the arms' pre-period means; default: ``Z``'s first
    column, i.e. none missing); ``n − n_x`` users lack one. The analysis, balance check and
    warnings are :func:`cuped_rows`'s (:func:`_analyse`), so the same rows give the same
    result either way, up to the order of the sums.

    Raises ``ValueError`` as :func:`cuped_rows` does (``variant``, ``control``, ``alpha``,
    ``covariate``), or naming a malformed moment array.
    """
    if isinstance(names, str | bytes) or not all(isinstance(s, str) for s in names):
        raise InvalidInput(f"variant names must be text, got {names!r}", field="variant")
    names = tuple(names)
    a = len(names)
    if a > MAX_ARMS:
        raise InvalidInput(
            f"variant must hold at most {MAX_ARMS} arms, got {a} distinct values "
            "(is it the right column?)",
            field="variant",
        )
    if len(set(names)) < a:
        raise InvalidInput(
            f"variant labels must be distinct as text, got {list(names)!r}", field="variant"
        )
    if a < 2:
        raise InvalidInput(
            f"variant must hold at least 2 distinct arms, got {list(names)!r}", field="variant"
        )
    counts = _moment_array("n", n, (a,))
    z_means = np.atleast_2d(np.asarray(mean_z, dtype=np.float64))
    k = z_means.shape[1] if z_means.ndim == 2 and z_means.shape[0] == a else 0
    if k < 1:
        raise InvalidInput(f"mean_z must have shape ({a}, k), got {z_means.shape}", field="mean_z")
    m = _Moments(
        counts,
        _moment_array("mean_y", mean_y, (a,)),
        _moment_array("var_y", var_y, (a,)),
        z_means,
        _moment_array("cov_zz", cov_zz, (a, k, k)),
        _moment_array("cov_zy", cov_zy, (a, k)),
    )
    for field in ("n", "mean_y", "var_y", "mean_z", "cov_zz", "cov_zy"):
        if not np.isfinite(getattr(m, field)).all():
            raise InvalidInput(f"{field} must hold finite numbers", field=field)
    if (counts != np.round(counts)).any() or (counts < 0).any():
        raise InvalidInput(f"n must hold whole numbers >= 0, got {counts.tolist()}", field="n")
    order = np.array(sorted(range(a), key=names.__getitem__), dtype=np.intp)
    sizes = counts[order]
    if sizes.min() < 2:
        small = names[int(order[int(sizes.argmin())])]
        raise InvalidInput(
            f"variant {small!r} has {int(sizes.min())} row; every arm needs at least 2",
            field="variant",
        )
    sorted_names = tuple(names[i] for i in order)
    _validate.choice("control", control, sorted_names)
    alpha = _validate.alpha(alpha)
    if n_x is None:
        have = counts
        x_mean, x_var = m.mean_z[:, 0], m.cov_zz[:, 0, 0]
    else:
        if mean_x is None or var_x is None:
            raise InvalidInput("n_x needs mean_x and var_x", field="mean_x")
        have = _moment_array("n_x", n_x, (a,))
        if not ((have >= 0) & (have <= counts) & (have == np.round(have))).all():
            raise InvalidInput("n_x must hold whole numbers in [0, n]", field="n_x")
        x_mean = _moment_array("mean_x", mean_x, (a,))
        x_var = _moment_array("var_x", var_x, (a,))
        x_mean = np.where(have > 0, x_mean, np.nan)  # NaN for an arm with none, as cuped_rows
        x_var = np.where(have > 1, x_var, 0.0)
    total = int(counts.sum())
    n_missing = int(total - have.sum())
    if not n_missing:
        notes: tuple[ResultWarning, ...] = ()
        y, v, c = m.mean_y, m.var_y, m.cov_zy[:, 0]
        if all(
            math.isclose(m.mean_z[i, 0], y[i], rel_tol=1e-12, abs_tol=0.0)
            and math.isclose(m.cov_zz[i, 0, 0], v[i], rel_tol=1e-12, abs_tol=0.0)
            and math.isclose(c[i], v[i], rel_tol=1e-12, abs_tol=0.0)
            for i in range(a)
        ):
            raise InvalidInput(f"covariate {OUTCOME_ITSELF}", field="covariate")
    else:
        share = f"{n_missing} of {total} users ({n_missing / total:.1%})"
        if have.any():
            notes = (
                warning(
                    Code.MISSING_COVARIATE,
                    f"{share} have no pre-period value. They are kept: the covariate is filled "
                    "with its mean and a missing-value indicator joins the adjustment.",
                ),
            )
        else:  # as cuped_rows: a single all-zero covariate, so no adjustment
            m = _Moments(
                m.n, m.mean_y, m.var_y, np.zeros((a, 1)), np.zeros((a, 1, 1)), np.zeros((a, 1))
            )
            notes = (warning(Code.MISSING_COVARIATE, f"{share} have no pre-period value."),)
    x_mean, x_var, have = x_mean[order], x_var[order], have[order]
    return _analyse(
        sorted_names,
        m.arms(order),
        control=control,
        alpha=alpha,
        mean_x=x_mean,
        balance=_balance(have, x_mean, x_var),
        n_missing=n_missing,
        notes=notes,
    )


# --------------------------------------------------------------------------- several covariates


def check_covariate_count(count: int) -> None:
    """Raise :class:`InvalidInput` on ``covariates`` unless it names 1 to
    :data:`MAX_COVARIATES` columns (also for :mod:`sources.cuped`'s column names)."""
    if count == 0:
        raise InvalidInput("covariates must name at least one column, got []", field="covariates")
    if count > MAX_COVARIATES:
        raise InvalidInput(
            f"covariates must name at most {MAX_COVARIATES} columns, got {count}",
            field="covariates",
        )


def _covariate_columns(covariates: Mapping[str, ArrayLike]) -> tuple[str, ...]:
    if not isinstance(covariates, Mapping):
        raise InvalidInput(
            f"covariates must map names to columns, got {type(covariates).__name__}",
            field="covariates",
        )
    check_covariate_count(len(covariates))
    return tuple(str(name) for name in covariates)


def regression_adjustment(
    codes: ArrayLike,
    names: Sequence[str],
    y: ArrayLike,
    covariates: Mapping[str, ArrayLike],
    *,
    control: str,
    alpha: float = 0.05,
) -> RegressionAdjustmentResult:
    """Regression adjustment with several covariates (Lin 2013), by OLS with HC2 errors.

    Row-level arrays as :func:`cuped_rows` takes them (``codes`` into ``names``, outcome
    ``y``) and ``covariates`` mapping each covariate's name to its column (NaN where
    missing); :func:`sources.cuped.regression_adjustment` reads them from a data frame.

    Lin, W. (2013), "Agnostic notes on regression adjustments to experimental data:
    reexamining Freedman's critique", *Annals of Applied Statistics* 7(1), 295–318: regress
    ``y`` on the treatment dummies, the covariates centred at their overall means and every
    dummy × centred-covariate interaction; the dummy coefficient is the adjusted effect
    (section 2). The fully interacted model is one OLS per arm, so it is fitted here in the
    equivalent cell-means form (one intercept and one slope vector per arm, covariates
    centred at the overall means) and each effect is the contrast of two arm intercepts:
    the arms' predictions at the overall covariate means. A covariate column that is
    constant within an arm gets no slope in that arm (its interaction would be collinear
    with the arm's intercept). Standard errors are sandwich (Huber–White) errors, which
    Lin shows are consistent or asymptotically conservative (abstract, section 4), in the
    HC2 variant, which without covariates equals Neyman's conservative variance (Samii &
    Aronow 2012, "On equivalencies between design-based and regression-based variance
    estimators for randomized experiments", *Statistics & Probability Letters* 82(2));
    intervals are normal, as statsmodels reports robust fits. The unadjusted comparison
    is the same OLS without covariates: the difference in means with Welch's (Neyman's)
    variance and a normal reference.

    Missing covariate values are kept as in :func:`cuped_rows`: mean-filled, with a
    missing-value indicator per covariate that has any (centred and interacted like the
    others). A covariate that does not vary is left out with a warning. A user with
    leverage 1 (e.g. the only user of an arm missing a covariate) has a zero residual and,
    numerically, adds nothing to the HC2 sandwich. ``r_squared`` is the centred R² of the
    adjusted fit.

    Raises ``ValueError`` naming ``variant``, ``outcome``, ``covariates`` (``covariates[j]``
    for one of them), ``control`` or ``alpha``.
    """
    names_in = _covariate_columns(covariates)
    codes, labels, order = _arm_rows(codes, names)
    names = tuple(labels[i] for i in order)
    if np.any(order != np.arange(len(names))):  # renumber the rows in name order
        rank = np.empty(len(names), dtype=np.intp)
        rank[order] = np.arange(len(names))
        codes = rank[codes]
    _validate.choice("control", control, names)
    alpha = _validate.alpha(alpha)
    y = _outcome_rows(y, codes.size)
    arms = len(names)
    warnings: list[ResultWarning] = []
    columns: list[FloatArray] = []
    balance: list[Balance] = []
    any_missing = np.zeros(y.size, dtype=bool)
    for j, (column, values) in enumerate(zip(names_in, covariates.values(), strict=True)):
        x = _covariate_rows(values, f"covariates[{j}]", y)
        missing = np.isnan(x)
        have = ~missing
        any_missing |= missing
        observed = _arm_moments(codes[have], arms, x[have], np.zeros((int(have.sum()), 0)))
        balance.append(_balance(observed.n, observed.mean_y, observed.var_y))
        warnings.extend(_balance_warning(balance[-1], f"Covariate {column!r}"))
        if have.any() and np.ptp(x[have]) > 0:
            columns.append(np.where(missing, x[have].mean(), x))
        else:
            warnings.append(
                warning(
                    Code.CONSTANT_COVARIATE,
                    f"Covariate {column!r} does not vary, so it is left out.",
                )
            )
        if missing.any() and have.any():
            columns.append(missing.astype(np.float64))
    n_missing = int(any_missing.sum())
    if n_missing:
        warnings.insert(
            0,
            warning(
                Code.MISSING_COVARIATE,
                f"{n_missing} of {y.size} users lack a value of some covariate. They are kept: "
                "each such covariate is filled with its mean and a missing-value indicator is "
                "added.",
            ),
        )
    k = len(columns)
    sizes = np.bincount(codes, minlength=arms)
    if sizes.min() < k + 2:
        raise InvalidInput(
            f"covariates give {k} adjustment columns, which need at least {k + 2} users in "
            f"every arm; arm {names[int(sizes.argmin())]!r} has {int(sizes.min())}",
            field="covariates",
        )
    z = np.column_stack(columns) if k else np.zeros((y.size, 0))
    z -= z.mean(axis=0)
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    adjusted_fits, raw_fits, ssr = [], [], 0.0
    for i in range(arms):
        rows = order[bounds[i] : bounds[i + 1]]
        zi = z[rows]
        keep = np.ptp(zi, axis=0) > 0 if k else np.zeros(0, dtype=bool)
        design = np.column_stack([np.ones(rows.size), zi[:, keep]])
        estimate, variance, residual_ss = _hc2_intercept(design, y[rows])
        adjusted_fits.append((estimate, variance))
        ssr += residual_ss
        raw_fits.append(_hc2_intercept(np.ones((rows.size, 1)), y[rows])[:2])
    c = names.index(control)
    others = [i for i in range(arms) if i != c]
    comparisons = tuple(
        AdjustedComparison(
            names[i],
            _contrast(names[i], names[c], adjusted_fits[i], adjusted_fits[c], alpha),
            _contrast(names[i], names[c], raw_fits[i], raw_fits[c], alpha),
        )
        for i in others
    )
    return RegressionAdjustmentResult(
        control=control,
        alpha=alpha,
        covariates=names_in,
        comparisons=comparisons,
        balance=tuple(balance),
        r_squared=float(1.0 - ssr / float(((y - y.mean()) ** 2).sum())),
        n=int(y.size),
        n_missing_covariate=n_missing,
        warnings=tuple(warnings),
    )


def _hc2_intercept(design: FloatArray, y: FloatArray) -> tuple[float, float, float]:
    """OLS of ``y`` on ``design`` (first column the intercept): the intercept, its HC2
    variance and the residual sum of squares.

    With ``P`` the pseudo-inverse of ``XᵀX`` (its eigendecomposition, dropping directions
    below numpy's rank tolerance for ``X``, as a pseudo-inverse does): the coefficients are
    ``P Xᵀ y``, the intercept is ``w·y`` with ``w = X P[:, 0]``, the leverages are
    ``hⱼ = xⱼᵀ P xⱼ``, and the HC2 variance is ``Σ wⱼ² eⱼ² / (1 − hⱼ)`` (MacKinnon & White
    1985; the sandwich's intercept entry). Cost O(n p²) and O(n p) memory, where a dense
    arms × covariates design matrix took O(n (arms·p)²). A row with leverage 1 has a zero
    residual and adds nothing.
    """
    evals, evecs = np.linalg.eigh(design.T @ design)
    tol = math.sqrt(max(evals.max(), 0.0)) * max(design.shape) * np.finfo(float).eps
    kept = evals > tol * tol
    pinv = (evecs[:, kept] / evals[kept]) @ evecs[:, kept].T
    xp = design @ pinv
    w = xp[:, 0]
    e = y - xp @ (design.T @ y)
    h = np.einsum("ij,ij->i", xp, design)
    room = 1.0 - h
    scaled = np.divide(e * e, room, out=np.zeros_like(e), where=room > 1e-10)
    return float(w @ y), float((w * w) @ scaled), float(e @ e)


def _contrast(
    variant: str,
    control: str,
    arm: tuple[float, float],
    base: tuple[float, float],
    alpha: float,
) -> Comparison:
    """The z test and normal interval of ``arm − base`` from independent arms' (estimate,
    variance) pairs (the robust covariance is block-diagonal by arm), with the relative lift
    ``arm / base − 1`` and Fieller's interval at the same normal quantile (Fieller 1954;
    :func:`stats.relative.fieller_interval`), which excludes 0 exactly when the z test rejects."""
    estimate = arm[0] - base[0]
    se = math.sqrt(arm[1] + base[1])
    c = comparison_from_estimate(variant, control, estimate, se, alpha=alpha)
    crit = float(special.ndtri(1.0 - alpha / 2))
    lift, low, high = fieller_lift(arm[0], arm[1], base[0], base[1], crit, "two-sided")
    return replace(
        c, relative_lift=lift, relative_ci_low=low, relative_ci_high=high, relative_method="fieller"
    )


# --------------------------------------------------------------------------- planning


def cuped_planning(
    rho_grid: Sequence[float] | FloatArray,
    *,
    n_per_group: int,
    sd: float,
    alpha: float = 0.05,
    power: float = 0.8,
) -> CupedPlanning:
    """What-if for planning: interval half-width, MDE and users needed against ρ.

    Two equal arms of ``n_per_group`` users, outcome standard deviation ``sd``. CUPED
    multiplies the variance of the difference by ``1 − ρ²`` (Deng 2013 eq. 4)::

        se           = sd · sqrt(2 / n) · sqrt(1 − ρ²)
        half_width   = z(1 − α/2) · se
        mde          = mde_t(n, α, power; sd) · sqrt(1 − ρ²)
        n_required   = ceil(n · (1 − ρ²))   (at least 2)

    The MDE is the power page's: :func:`stats.power.solve_power_means`, the two-sample t-test
    with the noncentral t (statsmodels ``TTestIndPower``), solved once for the plain design.
    The t-test's power depends on the effect only through ``mde / (sd·sqrt(1 − ρ²))`` (its
    degrees of freedom, ``2n − 2``, do not involve ρ), which is how the power solver applies
    its own ``rho``, so scaling that one MDE by ``sqrt(1 − ρ²)`` gives, for every ρ of the
    grid, the MDE ``solve_power_means(sd, n_per_group=n, power=power, rho=|ρ|)`` would
    give. The half-width is the normal (large-sample) interval, and ``n_required`` users per
    arm with CUPED match the precision (the variance of the difference) of ``n_per_group``
    without it. Vectorised over ``rho_grid`` (at most ``MAX_RHO_GRID`` values in (−1, 1));
    ``n_per_group`` is at most ``MAX_N_PER_GROUP``.
    """
    try:
        rho = np.asarray(rho_grid, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"rho_grid must be a list of numbers, got {rho_grid!r}", field="rho_grid"
        ) from None
    if rho.ndim != 1 or rho.size == 0:
        raise InvalidInput(
            f"rho_grid must be a non-empty list of numbers, got {rho_grid!r}", field="rho_grid"
        )
    if rho.size > MAX_RHO_GRID:
        raise InvalidInput(
            f"rho_grid must hold at most {MAX_RHO_GRID} values, got {rho.size}", field="rho_grid"
        )
    bad = ~(np.abs(rho) < 1.0)
    if bad.any():
        raise InvalidInput(
            f"rho_grid values must be in (-1, 1), got {float(rho[bad][0])!r}", field="rho_grid"
        )
    n = _validate.count("n_per_group", n_per_group, minimum=2)
    if n > MAX_N_PER_GROUP:
        raise InvalidInput(
            f"n_per_group must be <= {MAX_N_PER_GROUP:.0e}, got {n_per_group!r}",
            field="n_per_group",
        )
    sd = _validate.positive("sd", sd)
    alpha = _validate.alpha(alpha)
    power = _validate.in_open_unit("power", power)
    factor = 1.0 - rho**2
    se = sd * np.sqrt(2.0 / n * factor)
    z_alpha = float(special.ndtri(1.0 - alpha / 2.0))
    plain = solve_power_means(sd, n_per_group=n, power=power, alpha=alpha, curves=False)
    required = np.maximum(np.ceil(n * factor - 1e-9), 2).astype(int)
    return CupedPlanning(
        rho=tuple(rho.tolist()),
        half_width=tuple((z_alpha * se).tolist()),
        mde=tuple((plain.mde * np.sqrt(factor)).tolist()),
        n_per_group_required=tuple(required.tolist()),
        effective_multiplier=tuple((1.0 / factor).tolist()),
        n_per_group=n,
        sd=sd,
        alpha=alpha,
        power=power,
    )
