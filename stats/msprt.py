"""Mixture sequential probability ratio test (mSPRT) for the difference of two arms.

Robbins (1970, "Statistical methods related to the law of the iterated logarithm", Ann.
Math. Statist. 41) mixes the likelihood ratio over the alternative; Johari, Pekelis & Walsh
(2022, "Always valid inference: continuous monitoring of A/B tests", Operations Research
70(3), section 4, the normal-mixture mSPRT for two-stream data) turn it into an always-valid
p-value and a confidence sequence that may be looked at after every observation. With a
N(0, tau^2) mixing distribution on the difference, an estimate d with variance v gives

    Lambda = sqrt(v / (v + tau^2)) * exp(tau^2 d^2 / (2 v (v + tau^2)))

(their eq. for H = N(theta_0, tau^2) with v = 2 sigma^2 / n). The p-value is the running
minimum of 1 / Lambda, and {theta : Lambda(theta) < 1/alpha} is the confidence sequence

    d +- sqrt(v (v + tau^2) / tau^2 * (log((v + tau^2) / v) + 2 log(1 / alpha))).

The variance is the plug-in estimate (unpooled for proportions), as Johari et al. do; the
guarantee is asymptotic in the number of users. scipy/statsmodels have no mSPRT.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

from stats import _validate
from stats.errors import InvalidInput
from stats.relative import fieller_lift
from stats.sufficient import ProportionStats
from stats.vocabulary import METRICS
from stats.warnings import Code, ResultWarning, warning

_METRIC_ALIASES = {"binary": "proportion", "continuous": "mean"}
"""Earlier names of :class:`SequentialTest`'s metrics, still accepted."""


class ArmStats(Protocol):
    """What :func:`msprt` needs from an arm: the protocol of :mod:`stats.sufficient`."""

    @property
    def n(self) -> int: ...
    @property
    def mean(self) -> float: ...
    @property
    def var(self) -> float: ...


def mixture_log_lr(estimate: ArrayLike, variance: ArrayLike, tau: float) -> NDArray[np.floating]:
    """log Lambda of the normal-mixture SPRT for H0: difference = 0 (module docstring).

    Elementwise on arrays, keeping float32 as float32 (the peeking simulation uses it).
    Where the variance is 0 there is no evidence to weigh and the result is 0.
    """
    d, v = np.asarray(estimate), np.asarray(variance)
    tau2 = tau * tau
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = tau2 / v
        out = -0.5 * np.log1p(ratio) + 0.5 * (d * d / v) * (ratio / (1 + ratio))
    return np.where(v > 0, out, out.dtype.type(0))


def cs_halfwidth(variance: float, tau: float, alpha: float) -> float:
    """Half-width of the mSPRT confidence sequence (Johari et al. 2022, section 4)."""
    if variance <= 0:
        return math.inf
    tau2 = tau * tau
    return math.sqrt(
        variance * (variance + tau2) / tau2 * (math.log1p(tau2 / variance) - 2 * math.log(alpha))
    )


@lru_cache(maxsize=64)
def _optimal_ratio(alpha: float) -> float:
    """x* = tau^2 / v_N that makes the confidence sequence narrowest at v = v_N.

    The squared half-width over v_N is (1 + 1/x)(log(1 + x) + 2L), L = log(1/alpha); its
    derivative vanishes at x = log(1 + x) + 2L, which has one root in (2L, 4L + 10).
    """
    two_l = -2 * math.log(alpha)
    return float(optimize.brentq(lambda x: x - math.log1p(x) - two_l, two_l, 4 * two_l + 10))


def tau_for_planned_n(unit_variance: float, planned_n: int, alpha: float = 0.05) -> float:
    """Mixing sd tuned to the planned total sample size ``planned_n`` (half per arm).

    ``unit_variance`` = var_A + var_B per observation, so the difference has variance
    v_N = 2 unit_variance / planned_n at the horizon. tau^2 = x* v_N with x* the root of
    x = log(1 + x) + 2 log(1/alpha) (8.2 at alpha = 0.05): it minimises the confidence-sequence
    half-width at v_N, i.e. the smallest |effect| the test can reject by the planned horizon
    (derived in :func:`_optimal_ratio`; Howard, Ramdas, McAuliffe & Sekhon 2021,
    "Time-uniform, nonparametric, nonasymptotic confidence sequences", Ann. Statist. 49,
    tune their normal-mixture boundary to a target sample size the same way). Johari et al.
    (2022) instead match tau^2 to the spread of past effects: pass ``tau`` for that. A larger
    tau is most sensitive earlier (to large effects), a smaller one later (to small effects).
    """
    unit_variance = _validate.positive("unit_variance", unit_variance)
    planned_n = _validate.count("planned_n", planned_n, minimum=2)
    return math.sqrt(_optimal_ratio(_validate.alpha(alpha)) * 2 * unit_variance / planned_n)


@dataclass(frozen=True, slots=True)
class MSPRTResult:
    """One look of the mSPRT for the difference ``estimate`` = mean B - mean A.

    ``log_lr`` = log Lambda; ``threshold`` = log(1/alpha); ``pvalue`` the always-valid
    p-value (running minimum of 1/Lambda: at a single snapshot min(1, 1/Lambda));
    ``ci_low``/``ci_high`` the confidence sequence (running intersection when streaming;
    proportions clipped to [-1, 1]); ``decision`` ``reject`` once p <= alpha, else
    ``continue``; ``statistic`` the Wald z = estimate / se, ``se`` the standard error of the
    estimate (for a fixed-horizon interval beside the sequence); ``n`` total users.
    ``relative_lift`` = mean B / mean A − 1 with ``relative_ci_low``/``relative_ci_high`` its
    always-valid confidence sequence (:func:`relative_sequence`; NaN from an estimate alone,
    infinite bounds when it is unbounded).
    """

    estimate: float
    se: float
    statistic: float
    log_lr: float
    threshold: float
    pvalue: float
    ci_low: float
    ci_high: float
    decision: str
    tau: float
    alpha: float
    n: int
    warnings: tuple[ResultWarning, ...] = ()
    relative_lift: float = math.nan
    relative_ci_low: float = math.nan
    relative_ci_high: float = math.nan


def relative_sequence(
    mean_a: float,
    va: float,
    mean_b: float,
    vb: float,
    tau: float,
    alpha: float,
    rate: bool = False,
) -> tuple[float, float, float]:
    """Relative lift ``m_B / m_A − 1`` and its always-valid confidence sequence at one look,
    from each arm's mean and the variance of that mean (``v = var / n``).

    Construction: the set of ratios ρ that the mSPRT of H0 ``m_B − ρ·m_A = 0`` does not reject,
    where that test weighs the estimate ``m̂_B − ρ m̂_A`` (variance ``v_ρ = v_B + ρ² v_A``,
    ``v = var/n``) with the mixing variance ``τ_ρ² = τ² v_ρ / v_1``: the same mixture as the
    test of the difference on the standardised scale, so it *is* that test at ρ = 1 and the
    sequence excludes 0 exactly when the mSPRT rejects. The ratio ``v_ρ / v_1`` does not
    change with the sample size while the split and the per-user variances are stable, so
    each per-ρ test is a normal-mixture SPRT with a fixed mixture (Johari et al. 2022, §4),
    always valid under the same plug-in variance as the test itself, and the set of ρ it does
    not reject is a confidence sequence (the duality of Howard et al. 2021, §2). Its bound is
    ``|m̂_B − ρ m̂_A| ≤ k·sqrt(v_ρ)`` with ``k = halfwidth(v_1, τ) / sqrt(v_1)``: Fieller's
    interval (Fieller 1954) at critical value ``k`` (:func:`stats.relative.fieller_lift`),
    unbounded while ``|m̂_A| ≤ k·sqrt(v_A)``. Rates (``rate``) are ratios >= 0, so a rate's
    lift is >= −1. :class:`SequentialTest` keeps the running intersection over looks.
    """
    v1 = va + vb
    if v1 <= 0 or mean_a == 0:
        lift = mean_b / mean_a - 1.0 if mean_a else math.nan
        return lift, math.nan, math.nan
    k = cs_halfwidth(v1, tau, alpha) / math.sqrt(v1)
    lift, low, high = fieller_lift(mean_b, vb, mean_a, va, k, "two-sided")
    return lift, max(low, -1.0) if rate else low, high


def _look(
    estimate: float,
    variance: float,
    tau: float | None,
    alpha: float,
    n: int,
    bounds: tuple[float, float],
) -> MSPRTResult:
    """One look; ``tau`` is None only while the variance is 0 (no evidence either way)."""
    warnings: tuple[ResultWarning, ...] = ()
    if variance == 0 or tau is None:
        warnings = (
            warning(
                Code.ZERO_VARIANCE,
                "The difference has zero variance so far (no spread in either arm): "
                "the test cannot weigh evidence yet.",
            ),
        )
        log_lr, half = 0.0, math.inf
    else:
        log_lr = float(mixture_log_lr(estimate, variance, tau))
        half = cs_halfwidth(variance, tau, alpha)
    pvalue = min(1.0, math.exp(-log_lr))
    se = math.sqrt(variance)
    return MSPRTResult(
        estimate=estimate,
        se=se,
        statistic=estimate / se if se > 0 else math.nan,
        log_lr=log_lr,
        threshold=-math.log(alpha),
        pvalue=pvalue,
        ci_low=max(estimate - half, bounds[0]),
        ci_high=min(estimate + half, bounds[1]),
        decision="reject" if pvalue <= alpha else "continue",
        tau=math.nan if tau is None else tau,
        alpha=alpha,
        n=n,
        warnings=warnings,
    )


def msprt_from_estimate(
    estimate: float,
    variance: float,
    *,
    tau: float,
    alpha: float = 0.05,
    n: int = 0,
) -> MSPRTResult:
    """The mSPRT at one look from a difference and its variance: any normal-theory
    estimate (difference of rates or means, a CUPED-adjusted difference, ...). ``n`` is
    only reported."""
    return _look(
        _validate.finite("estimate", estimate),
        _validate.non_negative("variance", variance),
        _tau(tau),
        _validate.alpha(alpha),
        _validate.count("n", n),
        (-math.inf, math.inf),
    )


MAX_TAU = 1e100
"""Above this tau² overflows and the mixture likelihood ratio is NaN."""
MIN_TAU = 1e-100
"""Below this tau² underflows to 0 (the mixture is a point mass and the ratio 0/0)."""


def _tau(value: float) -> float:
    """The mixing standard deviation: positive, and neither so large nor so small that tau²
    overflows or underflows."""
    tau = _validate.positive("tau", value)
    if not MIN_TAU <= tau <= MAX_TAU:
        raise InvalidInput(f"tau must be in [{MIN_TAU:g}, {MAX_TAU:g}], got {value!r}", field="tau")
    return tau


def _check_tau_choice(tau: float | None, planned_n: int | None) -> None:
    """Exactly one of tau and planned_n, each valid."""
    if (tau is None) == (planned_n is None):
        raise InvalidInput(
            f"tau must be given, or planned_n to derive it, but not both; "
            f"got tau={tau!r}, planned_n={planned_n!r}",
            field="tau",
        )
    if tau is not None:
        _tau(tau)
    else:
        _validate.count("planned_n", planned_n, minimum=2)  # type: ignore[arg-type]


def _resolve_tau(
    tau: float | None, planned_n: int | None, unit_variance: float, alpha: float
) -> float | None:
    """tau as given, or tuned to planned_n (None while the variance is still 0)."""
    _check_tau_choice(tau, planned_n)
    if tau is not None:
        return float(tau)
    assert planned_n is not None
    return tau_for_planned_n(unit_variance, planned_n, alpha) if unit_variance > 0 else None


def msprt(
    a: ArmStats,
    b: ArmStats,
    *,
    alpha: float = 0.05,
    tau: float | None = None,
    planned_n: int | None = None,
) -> MSPRTResult:
    """Normal-mixture SPRT of arm ``b`` against control ``a`` at one look.

    ``a``, ``b``: :class:`~stats.sufficient.ProportionStats` or
    :class:`~stats.sufficient.MeanStats` (cumulative). Give ``tau`` (mixing sd on the scale
    of the difference) or ``planned_n`` (total users the test is tuned for, see
    :func:`tau_for_planned_n`, using the observed per-user variances). Difference of means
    (rates) with unpooled variance var_A/n_A + var_B/n_B (Johari et al. 2022, section 4).
    The p-value here is 1/Lambda at this look; :class:`SequentialTest` keeps the running
    minimum over looks. The relative lift's confidence sequence is :func:`relative_sequence`.
    """
    alpha = _validate.alpha(alpha)
    for i, arm in enumerate((a, b)):
        if arm.n < 1:
            raise InvalidInput(
                f"variants[{i}].users must be >= 1, got {arm.n!r}", field=f"variants[{i}].users"
            )
    resolved = _resolve_tau(tau, planned_n, a.var + b.var, alpha)
    look = _look(
        b.mean - a.mean,
        a.var / a.n + b.var / b.n,
        resolved,
        alpha,
        a.n + b.n,
        (-1.0, 1.0) if isinstance(a, ProportionStats) else (-math.inf, math.inf),
    )
    if resolved is None:
        return look
    rate = isinstance(a, ProportionStats)
    lift, low, high = relative_sequence(
        a.mean, a.var / a.n, b.mean, b.var / b.n, resolved, alpha, rate
    )
    return replace(look, relative_lift=lift, relative_ci_low=low, relative_ci_high=high)


def _running(pick: Callable[[float, float], float], before: float, now: float) -> float:
    """One bound of a running intersection; a NaN bound (no sequence yet) takes the other."""
    if math.isnan(before):
        return now
    return before if math.isnan(now) else pick(before, now)


MAX_PROJECTION_POINTS = 500


@dataclass(frozen=True, slots=True)
class MSPRTProjection:
    """The mSPRT over hypothetical sample sizes, for a chart (see :func:`msprt_projection`).

    ``n`` total users; ``log_lr``, ``ci_low``/``ci_high`` (confidence sequence) and
    ``fixed_low``/``fixed_high`` (fixed-horizon Wald interval at level 1 - alpha) at each n,
    if the observed difference ``estimate`` and per-user variances held there.
    """

    n: tuple[int, ...]
    log_lr: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    fixed_low: tuple[float, ...]
    fixed_high: tuple[float, ...]
    estimate: float
    threshold: float


def msprt_projection(
    a: ArmStats,
    b: ArmStats,
    *,
    tau: float,
    alpha: float = 0.05,
    n_max: int,
    points: int = 120,
) -> MSPRTProjection:
    """log Lambda and the confidence sequence at total sizes n from ``n_max`` / 20 (at least 2)
    to ``n_max`` (log-spaced),
    holding the observed difference and per-user variances fixed and the allocation as
    observed: the variance of the difference is v_n = v_obs n_obs / n. A "what if this
    difference held" picture of one snapshot, not a record of the past; same formulas as
    :func:`msprt` (Johari et al. 2022, section 4). The fixed-horizon interval is
    d +- z_{1-alpha/2} sqrt(v_n), the ordinary Wald interval.
    """
    tau = _tau(tau)
    alpha = _validate.alpha(alpha)
    n_obs = a.n + b.n
    if a.n < 1 or b.n < 1:
        raise InvalidInput(
            f"variants[0].users must be >= 1 in each arm, got {a.n!r}, {b.n!r}",
            field="variants[0].users",
        )
    n_max = _validate.count("n_max", n_max, minimum=2)
    points = _validate.count("points", points, minimum=2)
    if points > MAX_PROJECTION_POINTS:
        raise InvalidInput(
            f"points must be <= {MAX_PROJECTION_POINTS}, got {points!r}", field="points"
        )
    n = np.unique(np.round(np.geomspace(max(2, n_max // 20), n_max, points)).astype(np.int64))
    estimate = b.mean - a.mean
    v = (a.var / a.n + b.var / b.n) * n_obs / n
    log_lr = mixture_log_lr(np.full(n.size, estimate), v, tau)
    half = np.array([cs_halfwidth(float(x), tau, alpha) for x in v])
    z = -float(special.ndtri(alpha / 2))
    wald = z * np.sqrt(v)
    return MSPRTProjection(
        n=tuple(int(x) for x in n),
        log_lr=tuple(float(x) for x in log_lr),
        ci_low=tuple(float(x) for x in estimate - half),
        ci_high=tuple(float(x) for x in estimate + half),
        fixed_low=tuple(float(x) for x in estimate - wald),
        fixed_high=tuple(float(x) for x in estimate + wald),
        estimate=float(estimate),
        threshold=-math.log(alpha),
    )


@dataclass(slots=True)
class _Arm:
    """Running n, mean and sum of squared deviations (Chan, Golub & LeVeque 1979 merge)."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, n: int, mean: float, m2: float) -> None:
        if n == 0:
            return
        total = self.n + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.n * n / total
        self.n = total

    @property
    def var(self) -> float:
        return self.m2 / (self.n - 1) if self.n > 1 else 0.0


@dataclass
class SequentialTest:
    """Streaming mSPRT for notebooks: feed new data with :meth:`update`, read :meth:`result`.

    ``metric="proportion"``: ``update(users_a=, conversions_a=, users_b=, conversions_b=)``
    with the NEW users and conversions since the last update (or ``a=``/``b=`` arrays of 0/1
    observations). ``metric="mean"``: ``update(a=[...], b=[...])`` with new
    observations. The result keeps the always-valid p-value as the running minimum over
    updates and the interval as the running intersection of the confidence sequence
    (Johari et al. 2022, section 4); once rejected, it stays rejected. With ``planned_n``,
    tau is fixed at the first update where both arms have a non-zero variance (see
    :func:`tau_for_planned_n`) and kept, so the mixture does not move with the data.

    The metric names are :data:`stats.vocabulary.METRICS`; the earlier ``"binary"`` and
    ``"continuous"`` are accepted for them.

    >>> test = SequentialTest(metric="proportion", planned_n=20000)
    >>> test.update(users_a=500, conversions_a=50, users_b=500, conversions_b=62).decision
    'continue'
    """

    metric: str = "proportion"
    alpha: float = 0.05
    tau: float | None = None
    planned_n: int | None = None
    _arms: tuple[_Arm, _Arm] = field(
        default_factory=lambda: (_Arm(), _Arm()), init=False, repr=False
    )
    _history: list[MSPRTResult] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        metric = _METRIC_ALIASES.get(self.metric, self.metric)
        self.metric = _validate.choice("metric", metric, METRICS)
        self.alpha = _validate.alpha(self.alpha)
        _check_tau_choice(self.tau, self.planned_n)

    def _add_counts(self, arm: _Arm, users: int, conversions: int, key: str) -> None:
        users = _validate.count(f"users_{key}", users)
        conversions = _validate.count(f"conversions_{key}", conversions)
        if conversions > users:
            raise InvalidInput(
                f"conversions_{key} must be <= users_{key} ({users}), got {conversions}",
                field=f"conversions_{key}",
            )
        if users:
            p = conversions / users
            arm.add(users, p, users * p * (1 - p))

    def _add_values(self, arm: _Arm, values: ArrayLike, key: str) -> None:
        x = np.asarray(values, dtype=float).ravel()
        if not np.isfinite(x).all():
            raise InvalidInput(f"{key} must contain finite numbers only", field=key)
        if self.metric == "proportion" and not np.isin(x, (0.0, 1.0)).all():
            raise InvalidInput(f"{key} must contain only 0 and 1 for a binary metric", field=key)
        if x.size:
            arm.add(x.size, float(x.mean()), float(((x - x.mean()) ** 2).sum()))

    def update(
        self,
        *,
        users_a: int = 0,
        conversions_a: int = 0,
        users_b: int = 0,
        conversions_b: int = 0,
        a: ArrayLike | None = None,
        b: ArrayLike | None = None,
    ) -> MSPRTResult:
        """Add new data to both arms and return :meth:`result`."""
        counts = any(v != 0 for v in (users_a, conversions_a, users_b, conversions_b))
        if self.metric == "mean" and counts:
            raise InvalidInput(
                "users_a must not be given for a mean metric; pass a= and b=", field="users_a"
            )
        if counts and (a is not None or b is not None):
            raise InvalidInput("a must not be given together with counts (users_a, ...)", field="a")
        if a is not None or b is not None:
            self._add_values(self._arms[0], [] if a is None else a, "a")
            self._add_values(self._arms[1], [] if b is None else b, "b")
        else:
            self._add_counts(self._arms[0], users_a, conversions_a, "a")
            self._add_counts(self._arms[1], users_b, conversions_b, "b")
        self._history.append(self._snapshot())
        return self.result()

    def _snapshot(self) -> MSPRTResult:
        arm_a, arm_b = self._arms
        if arm_a.n < 1 or arm_b.n < 1:
            raise InvalidInput(
                "users_a must be >= 1 in each arm before a result exists", field="users_a"
            )
        binary = self.metric == "proportion"
        # A binary arm's variance is p(1 - p) (ddof 0), as ProportionStats.var.
        var_a, var_b = ((arm.m2 / arm.n if binary else arm.var) for arm in (arm_a, arm_b))
        if self.tau is None and var_a + var_b > 0:
            assert self.planned_n is not None
            self.tau = tau_for_planned_n(var_a + var_b, self.planned_n, self.alpha)
        now = _look(
            arm_b.mean - arm_a.mean,
            var_a / arm_a.n + var_b / arm_b.n,
            self.tau,
            self.alpha,
            arm_a.n + arm_b.n,
            (-1.0, 1.0) if binary else (-math.inf, math.inf),
        )
        if self.tau is not None:
            lift, rel_low, rel_high = relative_sequence(
                arm_a.mean,
                var_a / arm_a.n,
                arm_b.mean,
                var_b / arm_b.n,
                self.tau,
                self.alpha,
                binary,
            )
            now = replace(
                now, relative_lift=lift, relative_ci_low=rel_low, relative_ci_high=rel_high
            )
        if not self._history:
            return now
        before = self._history[-1]
        pvalue = min(before.pvalue, now.pvalue)
        low, high = max(before.ci_low, now.ci_low), min(before.ci_high, now.ci_high)
        warnings = now.warnings
        if low > high:
            warnings += (
                warning(
                    Code.EMPTY_CONFIDENCE_SEQUENCE,
                    "The running intersection of the confidence sequence is empty "
                    "(a rare event, probability <= alpha under the model).",
                ),
            )
        return MSPRTResult(
            estimate=now.estimate,
            se=now.se,
            statistic=now.statistic,
            log_lr=now.log_lr,
            threshold=now.threshold,
            pvalue=pvalue,
            ci_low=low,
            ci_high=high,
            decision="reject" if pvalue <= self.alpha else "continue",
            tau=now.tau,
            alpha=self.alpha,
            n=now.n,
            warnings=warnings,
            relative_lift=now.relative_lift,
            relative_ci_low=_running(max, before.relative_ci_low, now.relative_ci_low),
            relative_ci_high=_running(min, before.relative_ci_high, now.relative_ci_high),
        )

    def result(self) -> MSPRTResult:
        """The latest look, with the running p-value and interval."""
        if not self._history:
            raise InvalidInput(
                "users_a must be >= 1 in each arm before a result exists", field="users_a"
            )
        return self._history[-1]

    def history(self) -> tuple[MSPRTResult, ...]:
        """Every update's result, in order (for charts of log LR and the sequence)."""
        return tuple(self._history)
