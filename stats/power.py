"""Power, sample size and minimum detectable effect for A/B tests with one control arm.

Two metrics, each solving for exactly one unknown of ``mde``, ``n_per_group`` and ``power``
(``statsmodels.stats.power`` style: the unknown is the argument left as ``None``):

- conversion rates (two proportions): the Fleiss formula, pooled variance under H0 and
  unpooled under H1, optionally with the Fleiss-Tytun-Ury continuity correction;
- continuous metrics (difference of means): the two-sample t-test with pooled variance,
  noncentral t exactly as ``statsmodels.stats.power.TTestIndPower``.

Conventions shared by every function here:

- ``mde`` is the absolute effect, treatment minus control (a difference of rates or of means).
  With ``alternative="larger"`` or ``"smaller"`` the alternative fixes the direction and only
  ``|mde|`` is used (``"smaller"`` with ``mde=0.02`` means a drop of 0.02); results report the
  signed effect, so ``"smaller"`` results carry a negative ``mde``. ``"two-sided"`` keeps the
  sign given, and solving for the MDE returns the increase (``mde > 0``).
- ``n_per_group`` is the control-arm size; each of the ``arms`` treatment arms gets
  ``ratio * n_per_group`` (statsmodels' ``nobs2 = ratio * nobs1``) and is compared with control.
  The arithmetic uses that exact ratio; reported arm sizes are rounded up, so the power at the
  reported sizes is at least the power stated.
- ``bonferroni=True`` tests each arm at ``alpha / arms``; the power stated is per comparison.
- ``rho`` is the correlation with a pre-experiment covariate (CUPED): the variance of the
  estimated effect is multiplied by ``1 - rho**2`` (Deng, Xu, Kohavi & Walker 2013, "Improving
  the sensitivity of online controlled experiments by utilizing pre-experiment data", WSDM,
  section 3.2), so the sample size scales by the same factor.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

import numpy as np
from scipy import special

from stats import _validate
from stats.errors import InvalidInput
from stats.warnings import Code, ResultWarning, warning

FloatOrArray = Any  # a float or a numpy array of floats (numpy typing does not follow ufuncs)

MAX_ARMS = 20
MAX_N_PER_GROUP = 10**12  # beyond this a sample size is meaningless (and loses precision in JSON)
MAX_POINTS = 10_000  # cap on the length of the arrays handed to the curve helpers
LONG_RUN_DAYS = 365
HUGE_TOTAL = 100_000_000
MIN_EXPECTED_COUNT = 5  # rule of thumb for the normal approximation to the binomial
MAX_EFFECT_SIZE = 1e3  # |mde| / sd beyond this is not a planning question
_MDE_GRID = 256  # cells scanned for the first rate that reaches the target power
_UNIT_GRID = np.linspace(0.0, 1.0, _MDE_GRID + 1)  # the scan's cells as fractions of the room
_UNIT_GRID.flags.writeable = False
TARGETS = (0.8, 0.9, 0.95)  # power targets whose MDE at n_per_group the curves mark
MDE_FACTORS = (0.75, 1.0, 1.25)  # the sample-size curves are drawn at these multiples of mde
CURVE_POINTS = 60  # effects on the power curve
SIZE_POINTS = 30  # power targets on each sample-size curve
# the curves' points as fractions (np.linspace costs ~6 us a call, this one product 1 us)
_CURVE_RAMP = np.linspace(0.01, 1.0, CURVE_POINTS)
_SIZE_RAMP = np.linspace(0.0, 1.0, SIZE_POINTS)
_CURVE_RAMP.flags.writeable = _SIZE_RAMP.flags.writeable = False


@dataclass(frozen=True, slots=True)
class PowerCurves:
    """The design as curves (the power page's two charts), from the same power functions.

    - ``mde``, ``power``: the power at ``n_per_group`` for signed effects from 1% to 2.5× the
      design's ``mde`` (for rates, kept inside the room the baseline leaves).
    - ``target_power``, ``target_mde``: the signed effect, in the direction of ``mde``, that
      reaches each of ``TARGETS`` at ``n_per_group``, for the targets this size can reach.
    - ``size_power``, ``size_mde``, ``size_n``: the exact control-arm size (unrounded, floored
      at 2; NaN beyond ``MAX_N_PER_GROUP``) for each power target in ``size_power``, one row per
      effect in ``size_mde`` (``MDE_FACTORS`` × ``mde``, those that keep a rate inside (0, 1)).
    """

    mde: tuple[float, ...]
    power: tuple[float, ...]
    target_power: tuple[float, ...]
    target_mde: tuple[float, ...]
    size_power: tuple[float, ...]
    size_mde: tuple[float, ...]
    size_n: tuple[tuple[float, ...], ...]


@dataclass(frozen=True, slots=True)
class PowerResult:
    """A solved power calculation; see the module docstring for the conventions."""

    metric: str  # "proportion" | "mean"
    solved_for: str  # "n_per_group" | "power" | "mde"
    n_per_group: int  # control-arm size, rounded up when solved for
    n_treatment: int  # size of each treatment arm, ceil(ratio * n_per_group)
    n_total: int  # n_per_group + arms * n_treatment
    n_exact: float  # unrounded n_per_group (floored at 2) when solved for, else as given
    power: float  # target power, or the power at n_per_group when solved for power
    achieved_power: float  # power at the rounded n_per_group
    mde: float  # signed absolute effect, treatment - control
    mde_relative: float | None  # mde / baseline (or / baseline_mean for means), else None
    baseline: float | None  # control rate for proportions, None for means
    sd: float | None  # standard deviation for means, None for proportions
    alpha: float
    alpha_per_test: float  # alpha / arms with Bonferroni, else alpha
    alternative: str
    ratio: float
    arms: int  # number of treatment arms
    bonferroni: bool
    rho: float  # CUPED correlation, 0 = none
    method: str  # "fleiss", "fleiss-cc" or "t-test"
    days: int | None  # ceil(n_total / daily_traffic) when daily_traffic is given
    daily_traffic: float | None
    warnings: tuple[ResultWarning, ...] = ()
    baseline_mean: float | None = None  # control mean for means when given, else None
    curves: PowerCurves | None = None  # the design as curves; None when asked for none


class DesignOptions(TypedDict, total=False):
    """The design keywords every public function here takes (see the module docstring),
    with their defaults: ``alpha=0.05``, ``alternative="two-sided"``, ``ratio=1.0``,
    ``arms=1``, ``bonferroni=False``, ``rho=0.0``."""

    alpha: float
    alternative: str
    ratio: float
    arms: int
    bonferroni: bool
    rho: float


@dataclass(frozen=True, slots=True)
class _Design:
    """Validated settings shared by both metrics, with the two constants every formula reads
    (computed once: the solvers and curves read them dozens of times a request)."""

    alpha: float
    alpha_per_test: float
    alternative: str
    ratio: float
    arms: int
    bonferroni: bool
    rho: float
    z_alpha: float = field(init=False)
    """Critical value of the tested tail (alpha/2 per tail when two-sided)."""
    variance_factor: float = field(init=False)
    """``1 - rho**2``: CUPED's variance reduction."""

    def __post_init__(self) -> None:
        tail = self.alpha_per_test / 2 if self.alternative == "two-sided" else self.alpha_per_test
        object.__setattr__(self, "z_alpha", float(special.ndtri(1.0 - tail)))
        object.__setattr__(self, "variance_factor", 1.0 - self.rho**2)


# --------------------------------------------------------------------------------------------
# Validation


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise InvalidInput(f"{name} must be true or false, got {value!r}", field=name)
    return bool(value)


def _design(
    alpha: float = 0.05,
    alternative: str = "two-sided",
    ratio: float = 1.0,
    arms: int = 1,
    bonferroni: bool = False,
    rho: float = 0.0,
) -> _Design:
    a = _validate.alpha(alpha)
    alt = _validate.alternative(alternative)
    r = _validate.positive("ratio", ratio)
    k = _validate.finite("arms", arms)
    if k != int(k) or not 1 <= k <= MAX_ARMS:
        raise InvalidInput(
            f"arms must be a whole number from 1 to {MAX_ARMS}, got {arms!r}", field="arms"
        )
    bonf = _flag("bonferroni", bonferroni)
    c = _validate.finite("rho", rho)
    if not 0.0 <= c < 1.0:
        raise InvalidInput(f"rho must be in [0, 1), got {rho!r}", field="rho")
    return _Design(a, a / int(k) if bonf else a, alt, r, int(k), bonf, c)


def _givens(
    power: float | None,
    n_per_group: float | None,
    daily_traffic: float | None,
    options: DesignOptions,
) -> tuple[_Design, float | None, float | None, int | None]:
    """What both solvers check alike: the design, the daily traffic, and the target power
    and group size when given."""
    design = _design(**options)
    traffic = _daily_traffic(daily_traffic)
    target = None if power is None else _power(power, design)
    return design, traffic, target, None if n_per_group is None else _n_per_group(n_per_group)


def _unknown(mde: float | None, n_per_group: float | None, power: float | None) -> str:
    """The name of the one argument left as None."""
    given = {"mde": mde, "n_per_group": n_per_group, "power": power}
    missing = [name for name, value in given.items() if value is None]
    if not missing:
        raise InvalidInput(
            "power must be left out to solve for it (or leave out mde or n_per_group): "
            "exactly one of mde, n_per_group, power must be left out, got none left out",
            field="power",
        )
    if len(missing) > 1:
        raise InvalidInput(
            f"{missing[0]} is required: exactly one of mde, n_per_group, power must be left "
            f"out, got {' and '.join(missing)} left out",
            field=missing[0],
        )
    return missing[0]


def _n_per_group(value: float, name: str = "n_per_group") -> int:
    n = _validate.count(name, value, minimum=2)
    if n > MAX_N_PER_GROUP:
        raise InvalidInput(
            f"{name} must be a whole number from 2 to {MAX_N_PER_GROUP:,}, got {n}", field=name
        )
    return n


def _power(value: float, design: _Design, name: str = "power") -> float:
    p = _validate.finite(name, value)
    if not design.alpha < p < 1.0:
        raise InvalidInput(
            f"{name} must be in (alpha, 1) = ({design.alpha:g}, 1), got {value!r}", field=name
        )
    return p


def _powers(values: FloatOrArray, design: _Design) -> np.ndarray:
    p = _points("powers", values)
    if np.any((p <= design.alpha) | (p >= 1.0)):
        bad = p[(p <= design.alpha) | (p >= 1.0)][0]
        raise InvalidInput(
            f"powers must be in (alpha, 1) = ({design.alpha:g}, 1), got {bad:g}", field="powers"
        )
    return p


def _points(name: str, values: FloatOrArray) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or not 1 <= x.size <= MAX_POINTS:
        raise InvalidInput(f"{name} must be a 1-d array of 1 to {MAX_POINTS} numbers", field=name)
    if not np.all(np.isfinite(x)):
        raise InvalidInput(f"{name} must be finite numbers", field=name)
    return x


def _nonzero_mde(value: float) -> float:
    m = _validate.finite("mde", value)
    if m == 0.0:
        raise InvalidInput(f"mde must be non-zero, got {value!r}", field="mde")
    return m


def _directed(mde: FloatOrArray, alternative: str) -> FloatOrArray:
    """Apply the sign convention: one-sided alternatives fix the direction of the effect."""
    if alternative == "larger":
        return np.abs(mde)
    if alternative == "smaller":
        return -np.abs(mde)
    return mde


def _treatment_rate_check(baseline: float, delta: FloatOrArray, name: str) -> None:
    # plain floats: numpy's scalar operations cost microseconds each on a one-number request
    for d in np.ravel(delta).tolist():
        if not 0.0 < baseline + d < 1.0:
            raise InvalidInput(
                f"{name} must keep the treatment rate baseline + mde in (0, 1), got "
                f"{baseline:g} + {d:g} = {baseline + d:g}",
                field=name,
            )


def _ceil(x: float) -> int:
    """Round up, ignoring floating-point noise in the last digits (110.00000000000001 -> 110)."""
    return math.ceil(round(x, 6))


# --------------------------------------------------------------------------------------------
# Proportions: Fleiss


def _fleiss_sds(baseline: float, delta: FloatOrArray, design: _Design) -> tuple[Any, Any]:
    """Standard deviations of the difference of rates under H0 and H1, per sqrt(n_control).

    Fleiss, Levin & Paik (2003), Statistical Methods for Rates and Proportions, 3rd ed.,
    eq. 4.14 with unequal sizes as in section 4.4 (n_t = r n_c): pooled
    ``pbar = (p_c + r p_t) / (1 + r)`` under H0, unpooled under H1; identical to statsmodels'
    ``_std_2prop_power``. Both are scaled by ``sqrt(1 - rho**2)`` for CUPED.
    """
    r, k = design.ratio, design.variance_factor
    p_t = baseline + delta
    p_bar = baseline + delta * (r / (1.0 + r))  # (p_c + r p_t) / (1 + r)
    # the scalars folded first: each numpy operation on a curve's array costs ~1 µs, and
    # ** 0.5 keeps a float a float (numpy's scalars are slow in Newton's loop)
    sd0 = (p_bar * (1.0 - p_bar) * (k * (1.0 + 1.0 / r))) ** 0.5
    sd1 = (k * baseline * (1.0 - baseline) + p_t * (1.0 - p_t) * (k / r)) ** 0.5
    return sd0, sd1


def _power_proportions(
    baseline: float, delta: FloatOrArray, n: float, design: _Design, cc: bool
) -> FloatOrArray:
    """Power of the pooled z-test, the closed-form inverse of :func:`_n_proportions`.

    ``Phi((|delta| sqrt(n) - cc - z_alpha sd0) / sd1)`` with the Yates/Fleiss continuity
    shift ``cc = (r + 1) / (2 r sqrt(n))`` when corrected. Like statsmodels'
    ``samplesize_proportions_2indep_onetail`` only the tail the effect points to counts, so
    the two-sided power ignores the far tail (negligible once power is useful; at mde = 0 the
    two-sided value is alpha/2, not alpha).
    """
    return special.ndtr(_z_proportions(baseline, delta, n, design, cc))


def _z_proportions(
    baseline: float, delta: FloatOrArray, n: float, design: _Design, cc: bool
) -> FloatOrArray:
    """The normal quantile of :func:`_power_proportions` (nearly linear in ``delta``)."""
    sd0, sd1 = _fleiss_sds(baseline, delta, design)
    r = design.ratio
    shift = (r + 1.0) / (2.0 * r * math.sqrt(n)) if cc else 0.0
    return (np.abs(delta) * math.sqrt(n) - shift - design.z_alpha * sd0) / sd1


def _n_proportions(
    baseline: float, delta: float, power: FloatOrArray, design: _Design, cc: bool
) -> FloatOrArray:
    """Exact control-arm size for the target power(s).

    Fleiss et al. (2003) eq. 4.14: ``n = (z_alpha sd0 + z_beta sd1)^2 / delta^2``, matching
    ``statsmodels.stats.proportion.samplesize_proportions_2indep_onetail``. With continuity
    correction, Fleiss, Tytun & Ury (1980), Biometrics 36:343-346, eq. 3 (eq. 4.15 in the
    book): ``n' = n/4 (1 + sqrt(1 + 2(r+1)/(r n |delta|)))^2``, computed here in the
    algebraically identical form ``sqrt(n') = (A + sqrt(A^2 + 2 |delta| (r+1)/r)) / (2 |delta|)``
    with ``A = sqrt(n) |delta|``, which stays finite when ``n`` is 0.
    """
    return _checked_n(_n_proportions_unchecked(baseline, delta, power, design, cc))


def _n_proportions_unchecked(
    baseline: float, delta: FloatOrArray, power: FloatOrArray, design: _Design, cc: bool
) -> FloatOrArray:
    """:func:`_n_proportions` without the MAX_N_PER_GROUP check (broadcasts over both)."""
    sd0, sd1 = _fleiss_sds(baseline, delta, design)
    a = np.maximum(design.z_alpha * sd0 + special.ndtri(power) * sd1, 0.0)
    e = np.abs(delta)
    r = design.ratio
    with np.errstate(over="ignore"):  # absurdly small effects: caught by _checked_n
        if not cc:
            return (a / e) ** 2
        return ((a + np.sqrt(a**2 + 2.0 * e * (r + 1.0) / r)) / (2.0 * e)) ** 2


def power_curve_proportions(
    baseline: float,
    mdes: FloatOrArray,
    n_per_group: int,
    *,
    continuity_correction: bool = False,
    **options: Unpack[DesignOptions],
) -> np.ndarray:
    """Power at each absolute effect in ``mdes`` (vectorised, for charts); see
    :func:`_power_proportions` for the formula. Every ``baseline + mde`` must lie in (0, 1)."""
    b = _validate.in_open_unit("baseline", baseline)
    design = _design(**options)
    cc = _flag("continuity_correction", continuity_correction)
    delta = _directed(_points("mdes", mdes), design.alternative)
    _treatment_rate_check(b, delta, "mdes")
    n = _n_per_group(n_per_group)
    return np.asarray(_power_proportions(b, delta, n, design, cc), dtype=float)


def sample_size_curve_proportions(
    baseline: float,
    mde: float,
    powers: FloatOrArray,
    *,
    continuity_correction: bool = False,
    **options: Unpack[DesignOptions],
) -> np.ndarray:
    """Exact (unrounded, floored at 2) control-arm size for each target power in ``powers``
    (vectorised, closed form); ``mde`` is the absolute effect. See :func:`_n_proportions`."""
    b = _validate.in_open_unit("baseline", baseline)
    design = _design(**options)
    cc = _flag("continuity_correction", continuity_correction)
    delta = float(_directed(_nonzero_mde(mde), design.alternative))
    _treatment_rate_check(b, delta, "mde")
    n = _n_proportions(b, delta, _powers(powers, design), design, cc)
    return np.maximum(np.asarray(n, dtype=float), 2.0)


def solve_power_proportions(
    baseline: float,
    mde: float | None = None,
    n_per_group: int | None = None,
    power: float | None = None,
    *,
    mde_type: str = "absolute",
    continuity_correction: bool = False,
    daily_traffic: float | None = None,
    curves: bool = True,
    **options: Unpack[DesignOptions],
) -> PowerResult:
    """Solve the two-proportion design for whichever of mde, n_per_group, power is None.

    ``baseline`` is the control conversion rate; ``mde`` is absolute (0.02 = +2 points) or, with
    ``mde_type="relative"``, a fraction of the baseline (0.2 = +20%). Sample size and power are
    closed form (Fleiss et al. 2003 eq. 4.14; Fleiss, Tytun & Ury 1980 with
    ``continuity_correction``); the MDE is found by :func:`_mdes_proportions` on the same
    power function. With ``curves=True`` (the default) the result carries the design's
    :class:`PowerCurves`.
    """
    unknown = _unknown(mde, n_per_group, power)
    b = _validate.in_open_unit("baseline", baseline)
    kind = _validate.choice("mde_type", mde_type, ("absolute", "relative"))
    design, traffic, target, n_given = _givens(power, n_per_group, daily_traffic, options)
    cc = _flag("continuity_correction", continuity_correction)
    delta = None
    if mde is not None:
        m = _nonzero_mde(mde)
        delta = float(_directed(m * b if kind == "relative" else m, design.alternative))
        _treatment_rate_check(b, delta, "mde")

    if unknown == "mde":
        assert n_given is not None and target is not None
        delta = _mde_proportions(b, n_given, target, design, cc)
    assert delta is not None
    if unknown == "n_per_group":
        assert target is not None
        n_exact = float(_n_proportions(b, delta, target, design, cc))
    else:
        assert n_given is not None
        n_exact = float(n_given)

    def power_at(n: int) -> float:
        return float(_power_proportions(b, delta, n, design, cc))

    return _result(
        metric="proportion",
        solved_for=unknown,
        n_exact=n_exact,
        target=target,
        power_at=power_at,
        mde=delta,
        baseline=b,
        sd=None,
        design=design,
        method="fleiss-cc" if cc else "fleiss",
        daily_traffic=traffic,
        curves=(lambda n: _curves_proportions(b, delta, n, design, cc)) if curves else None,
    )


def _mde_proportions(baseline: float, n: int, target: float, design: _Design, cc: bool) -> float:
    """Smallest |effect| reaching the target power at n, signed by the alternative."""
    sign = -1.0 if design.alternative == "smaller" else 1.0
    root = float(_mdes_proportions(baseline, n, np.array([target]), design, cc, sign)[0])
    if math.isnan(root):
        room = baseline if sign < 0 else 1.0 - baseline
        grid = room * _UNIT_GRID
        best = float(np.max(_power_proportions(baseline, sign * grid, n, design, cc)))
        raise InvalidInput(
            f"n_per_group {n} is too small to reach power {target:g} for any treatment rate "
            f"between the baseline {baseline:g} and {0 if sign < 0 else 1} (the most is "
            f"{best:.3g}); increase n_per_group or lower power",
            field="n_per_group",
        )
    return sign * root


def _mdes_proportions(
    baseline: float, n: int, targets: np.ndarray, design: _Design, cc: bool, sign: float
) -> np.ndarray:
    """Smallest |effect| in the direction ``sign`` reaching each target power at n (NaN for a
    target no treatment rate reaches): targets of at least 1/2 by :func:`_mde_convex`, lower
    ones by :func:`_mdes_scan`."""
    roots = np.array(
        [
            _mde_convex(baseline, n, t, design, cc, sign) if t >= 0.5 else math.nan
            for t in targets.tolist()
        ]
    )
    rest = targets < 0.5
    if rest.any():
        roots[rest] = _mdes_scan(baseline, n, targets[rest], design, cc, sign)
    return roots


def _mde_convex(
    baseline: float, n: int, target: float, design: _Design, cc: bool, sign: float
) -> float:
    """Smallest |effect| ``e`` in the direction ``sign`` reaching a target power of at least
    1/2 at n, by Newton's method (NaN when no treatment rate reaches it).

    :func:`_z_proportions` equals ``z_beta = Phi^-1(target)`` where
    ``f(e) = e sqrt(n) - cc - z_alpha sd0(e) - z_beta sd1(e)`` is zero. Each sd is the square
    root of a concave quadratic in ``e`` (:func:`_fleiss_sds`), hence concave, so with
    ``z_alpha, z_beta >= 0`` ``f`` is convex, and ``f(0) < 0``: ``f`` has one root in the room
    the baseline leaves if ``f >= 0`` at its end and none otherwise, and Newton's iterates
    from any point where ``f >= 0`` decrease monotonically (and quadratically near it) to
    that root (Fourier's condition; Atkinson 1989, An Introduction to Numerical Analysis,
    2nd ed., ch. 2). The first point is the Newton step from ``e = 0`` (right of the root by
    convexity, up to rounding), else the room's end.
    """
    r, k = design.ratio, design.variance_factor
    root_n = math.sqrt(n)
    shift = (r + 1.0) / (2.0 * r * root_n) if cc else 0.0
    z_a, z_b = design.z_alpha, float(special.ndtri(target))

    def newton_step(e: float) -> tuple[float, float]:
        """``f(e)`` and the Newton step ``f(e) / f'(e)`` (infinite where ``f' <= 0``)."""
        sd0, sd1 = _fleiss_sds(baseline, sign * e, design)
        p_t = baseline + sign * e
        p_bar = (baseline + r * p_t) / (1.0 + r)
        slope0 = k * (1.0 + 1.0 / r) * (1.0 - 2.0 * p_bar) * sign * r / (1.0 + r) / (2.0 * sd0)
        slope1 = k * (1.0 - 2.0 * p_t) * sign / r / (2.0 * sd1)
        f = e * root_n - shift - z_a * sd0 - z_b * sd1
        slope = root_n - z_a * slope0 - z_b * slope1
        return f, f / slope if slope > 0 else math.inf

    room = baseline if sign < 0 else 1.0 - baseline
    f, step = newton_step(0.0)
    e = -step
    if not 0.0 < e < room:
        e = room
    f, step = newton_step(e)
    if f < 0:  # at the room's end: no rate reaches the target; elsewhere e is the root
        return math.nan if e == room else e
    for _ in range(100):
        if f <= 0 or step <= 4e-16 * e:
            break
        e -= step
        f, step = newton_step(e)
    return e


def _mdes_scan(
    baseline: float, n: int, targets: np.ndarray, design: _Design, cc: bool, sign: float
) -> np.ndarray:
    """:func:`_mdes_proportions` for any targets.

    Power need not rise all the way to a treatment rate of 0 or 1 (at tiny n the pooled H0
    variance can grow faster than the effect), so one vectorised scan over the feasible rates
    finds, for every target, the first grid cell where it is reached, and the roots inside
    those cells are refined together by :func:`_bracketed_roots`.
    """
    room = baseline if sign < 0 else 1.0 - baseline
    grid = room * _UNIT_GRID
    z = _z_proportions(baseline, sign * grid, n, design, cc)
    reached = special.ndtr(z)[None, :] >= targets[:, None]
    ok = np.flatnonzero(reached.any(axis=1))
    k = reached[ok].argmax(axis=1)  # k >= 1: at mde = 0 the power is at most alpha < target
    goal = special.ndtri(targets[ok])

    def gap(m: np.ndarray, i: np.ndarray) -> np.ndarray:
        # in normal quantiles, where the power is nearly linear in the effect
        return np.asarray(_z_proportions(baseline, sign * m, n, design, cc)) - goal[i]

    roots = np.full(targets.shape, np.nan)
    if ok.size:
        lo, hi = grid[k - 1], grid[k]
        roots[ok] = _bracketed_roots(gap, lo, hi, z[k - 1] - goal, z[k] - goal, ftol=1e-13)
    return roots


def _bracketed_roots(
    gap: Callable[[np.ndarray, np.ndarray], np.ndarray],
    lo: np.ndarray,
    hi: np.ndarray,
    f_lo: np.ndarray,
    f_hi: np.ndarray,
    *,
    xtol: float = 1e-11,
    ftol: float = 1e-11,
) -> np.ndarray:
    """A root of ``gap`` inside each bracket ``[lo, hi]`` (``f_lo``, ``f_hi`` of opposite signs),
    all solved at once.

    ``scipy.optimize.brentq`` is scalar (a loop takes ~25 ms for 50 points) and
    ``scipy.optimize.elementwise.find_root`` costs ~10 ms for 50 points here, so this runs the
    Anderson-Bjorck variant of regula falsi (Anderson & Bjorck 1973, BIT 13:253-264)
    vectorised over the points, evaluating only the points not yet converged (``gap(x, i)``
    is the function at ``x`` for the points ``i``). A point has converged when two successive
    iterates agree to ``xtol`` relative, or ``|gap| <= ftol``.
    """
    a, b, fa, fb = (np.array(v, dtype=float) for v in (lo, hi, f_lo, f_hi))
    x = b.copy()  # each point's latest finite iterate
    idx = np.arange(a.size)  # the points not yet converged; a, b, fa, fb, prev hold theirs
    prev = x.copy()
    for _ in range(100):
        if idx.size == 0:
            break
        c = b - fb * (b - a) / (fb - fa)
        fc = gap(c, idx)
        same_side = np.sign(fc) == np.sign(fb)
        # Anderson-Bjorck step: shrink the stale end's value when the new point lands on the
        # same side (by 1 - fc/fb, or by half when that is not in (0, 1)).
        with np.errstate(divide="ignore", invalid="ignore"):
            m = 1.0 - fc / fb
        m = np.where((m > 0) & (m < 1), m, 0.5)
        a = np.where(same_side, a, b)
        fa = np.where(same_side, fa * m, fb)
        b, fb = c, fc
        finite = np.isfinite(c)
        converged = (np.abs(c - prev) <= xtol * np.abs(c)) | (np.abs(fc) <= ftol) | ~finite
        prev = np.where(finite, c, prev)
        x[idx] = prev
        if converged.any():  # only the points still moving are evaluated next time
            keep = ~converged
            a, b, fa, fb, prev, idx = a[keep], b[keep], fa[keep], fb[keep], prev[keep], idx[keep]
    return x


# --------------------------------------------------------------------------------------------
# Means: two-sample t-test


def _nct_cdf(df: FloatOrArray, nc: FloatOrArray, t: FloatOrArray) -> FloatOrArray:
    """``scipy.special.nctdtr`` with its deep-tail failures repaired.

    scipy >= 1.15 (Boost) returns NaN, or tiny negative values, when the probability is within
    ~1e-9 of 0 or 1 (scipy issue #25470, boostorg/math #1430); there the limit 0 or 1 is exact
    to that accuracy, decided by the side of ``t`` relative to ``nc``.
    """
    p = special.nctdtr(df, nc, t)
    return np.clip(np.where(np.isnan(p), np.greater(t, nc).astype(float), p), 0.0, 1.0)


def _miss_means(d: FloatOrArray, n: FloatOrArray, design: _Design) -> FloatOrArray:
    """Type II error (1 - power) of the pooled two-sample t-test at effect size ``d = mde / sd``.

    Noncentral t exactly as ``statsmodels.stats.power.TTestIndPower.power``:
    ``nobs = 1 / (1/n + 1/(r n))``, ``df = n (1 + r) - 2``, noncentrality ``d sqrt(nobs)``;
    two-sided power includes both tails. By symmetry only ``|d|`` matters once the sign
    convention is applied. CUPED shrinks the standard deviation by ``sqrt(1 - rho**2)``.
    Returned as the miss probability so that tiny values keep their precision.
    """
    r = design.ratio
    df = n * (1.0 + r) - 2.0
    nc = np.abs(d) / math.sqrt(design.variance_factor) * np.sqrt(n * r / (1.0 + r))
    if design.alternative == "two-sided":
        crit = special.stdtrit(df, 1.0 - design.alpha_per_test / 2)
        return np.maximum(_nct_cdf(df, nc, crit) - _nct_cdf(df, nc, -crit), 0.0)
    crit = special.stdtrit(df, 1.0 - design.alpha_per_test)
    return _nct_cdf(df, nc, crit)


def _power_means(d: FloatOrArray, n: FloatOrArray, design: _Design) -> FloatOrArray:
    """Power of the two-sample t-test; see :func:`_miss_means`."""
    return 1.0 - _miss_means(d, n, design)


def _n_means(d: FloatOrArray, powers: np.ndarray, design: _Design) -> np.ndarray:
    """Exact control-arm size for each target power (and effect size ``d``, a scalar or one
    per power), all points solved at once by :func:`_bracketed_roots`.

    It solves ``Phi^-1(power(u^2)) = Phi^-1(target)`` in ``u = sqrt(n)``, where the function is
    nearly linear (exactly linear for a z-test), so a few steps suffice. The bracket is centred
    on the normal approximation with Guenther's t correction,
    ``n = (z_alpha + z_beta)^2 (1 + 1/r) / d'^2 + z_alpha^2 / (2 (1 + r))``
    (Guenther 1981, The American Statistician 35:243), and widened until it holds the root.
    Solutions below 2 per group are returned as 2.
    """
    r = design.ratio
    z_a = design.z_alpha
    z_target = special.ndtri(powers)
    d_abs = np.broadcast_to(np.abs(d), powers.shape)
    d_eff = d_abs / math.sqrt(design.variance_factor)
    with np.errstate(over="ignore", divide="ignore"):  # absurdly small effects
        guess = (z_a + z_target) ** 2 * (1.0 + 1.0 / r) / d_eff**2
    guess = np.sqrt(_checked_n(guess + z_a**2 / (2.0 * (1.0 + r))))
    u_min = math.sqrt(2.0)

    def gap(u: np.ndarray, i: np.ndarray) -> np.ndarray:
        # clipped so that a power of exactly 0 or 1 far from the root stays finite
        return -np.clip(special.ndtri(_miss_means(d_abs[i], u**2, design)), -40, 40) - z_target[i]

    every = np.arange(powers.size)
    width = 0.15 + 5e-4 * guess
    lo, hi = np.maximum(guess - width, u_min), guess + width
    f_lo, f_hi = gap(lo, every), gap(hi, every)
    for _ in range(64):  # widen; 64 doublings exceed any sample size below MAX_N_PER_GROUP
        low_bad = np.flatnonzero((f_lo > 0) & (lo > u_min))
        high_bad = np.flatnonzero(f_hi < 0)
        if low_bad.size == 0 and high_bad.size == 0:
            break
        width = 2.0 * width
        lo[low_bad] = np.maximum(lo[low_bad] - width[low_bad], u_min)
        hi[high_bad] = hi[high_bad] + width[high_bad]
        f_lo[low_bad] = gap(lo[low_bad], low_bad)
        f_hi[high_bad] = gap(hi[high_bad], high_bad)
    x = np.where(f_lo >= 0, u_min, hi)  # f_lo >= 0 at the minimum size: already powered there
    todo = np.flatnonzero(f_lo < 0)
    if todo.size:

        def gap_todo(u: np.ndarray, i: np.ndarray) -> np.ndarray:
            return gap(u, todo[i])

        x[todo] = _bracketed_roots(gap_todo, lo[todo], hi[todo], f_lo[todo], f_hi[todo])
    return np.where(x <= u_min, 2.0, x**2)


def _n_means_curves(d: np.ndarray, powers: np.ndarray, design: _Design) -> np.ndarray:
    """:func:`_n_means` for every effect size in ``d`` (rows) and power (columns) in one
    solve; NaN where the size would exceed MAX_N_PER_GROUP."""
    d_all = np.repeat(d, powers.size)
    p_all = np.tile(powers, d.size)
    with np.errstate(over="ignore", divide="ignore"):
        z = design.z_alpha + special.ndtri(p_all)
        guess = z**2 * (1.0 + 1.0 / design.ratio) * design.variance_factor / d_all**2
    # the t-test needs a little more than the normal approximation: leave room for it
    feasible = np.flatnonzero(guess <= MAX_N_PER_GROUP / 2)
    n = np.full(d_all.shape, np.nan)
    if feasible.size:
        n[feasible] = _n_means(d_all[feasible], p_all[feasible], design)
    return n.reshape(d.size, powers.size)


def power_curve_means(
    sd: float,
    mdes: FloatOrArray,
    n_per_group: int,
    **options: Unpack[DesignOptions],
) -> np.ndarray:
    """Power at each absolute effect in ``mdes`` (vectorised, for charts); see
    :func:`_power_means` for the formula."""
    s = _validate.positive("sd", sd)
    design = _design(**options)
    d = _points("mdes", mdes) / s
    n = _n_per_group(n_per_group)
    return np.asarray(_power_means(d, float(n), design), dtype=float)


def sample_size_curve_means(
    sd: float,
    mde: float,
    powers: FloatOrArray,
    **options: Unpack[DesignOptions],
) -> np.ndarray:
    """Exact (unrounded, floored at 2) control-arm size for each target power in ``powers``;
    see :func:`_n_means`."""
    s = _validate.positive("sd", sd)
    design = _design(**options)
    d = _effect_size(_nonzero_mde(mde), s)
    return _n_means(d, _powers(powers, design), design)


def solve_power_means(
    sd: float,
    mde: float | None = None,
    n_per_group: int | None = None,
    power: float | None = None,
    *,
    daily_traffic: float | None = None,
    baseline_mean: float | None = None,
    mde_type: str = "absolute",
    curves: bool = True,
    **options: Unpack[DesignOptions],
) -> PowerResult:
    """Solve the two-sample t-test design for whichever of mde, n_per_group, power is None.

    ``sd`` is the standard deviation of the metric (per user, both arms), ``mde`` the absolute
    difference of means or, with ``mde_type="relative"``, a fraction of the control mean
    ``baseline_mean`` (0.1 = +10%, so the absolute difference is 0.1 * baseline_mean).
    Power is the noncentral t of ``TTestIndPower``; n is solved by :func:`_n_means` and the MDE
    by :func:`_mdes_means` on the effect size. With ``curves=True`` (the default) the result
    carries the design's :class:`PowerCurves`.
    """
    unknown = _unknown(mde, n_per_group, power)
    s = _validate.positive("sd", sd)
    kind = _validate.choice("mde_type", mde_type, ("absolute", "relative"))
    base = None if baseline_mean is None else _validate.finite("baseline_mean", baseline_mean)
    if kind == "relative" and base is None:
        raise InvalidInput(
            "baseline_mean is required for a relative mde: the control mean the lift is a "
            "fraction of",
            field="baseline_mean",
        )
    if kind == "relative" and base is not None and base <= 0:
        raise InvalidInput(
            f"baseline_mean must be positive for a relative mde, got {baseline_mean!r}; give "
            "the mde as an absolute difference instead",
            field="baseline_mean",
        )
    design, traffic, target, n_given = _givens(power, n_per_group, daily_traffic, options)
    d = None
    if mde is not None:
        m = _nonzero_mde(mde)
        d = _effect_size(m * base if kind == "relative" and base is not None else m, s)

    if unknown == "mde":
        assert n_given is not None and target is not None
        d = _mde_means(n_given, target, design)
    assert d is not None
    effect = d
    if unknown == "n_per_group":
        assert target is not None
        n_exact = float(_n_means(effect, np.array([target]), design)[0])
    else:
        assert n_given is not None
        n_exact = float(n_given)

    def power_at(n: int) -> float:
        return float(_power_means(effect, float(n), design))

    return _result(
        metric="mean",
        solved_for=unknown,
        n_exact=n_exact,
        target=target,
        power_at=power_at,
        mde=float(_directed(effect * s, design.alternative)),
        baseline=None,
        sd=s,
        design=design,
        method="t-test",
        daily_traffic=traffic,
        baseline_mean=base,
        curves=(lambda n: _curves_means(effect, s, n, design)) if curves else None,
    )


def _effect_size(mde: float, sd: float) -> float:
    d = mde / sd
    if not abs(d) <= MAX_EFFECT_SIZE:
        raise InvalidInput(
            f"mde must be at most {MAX_EFFECT_SIZE:g} standard deviations, got mde {mde:g} "
            f"with sd {sd:g}",
            field="mde",
        )
    return d


def _mde_means(n: int, target: float, design: _Design) -> float:
    """Smallest effect size reaching the target power at n; see :func:`_mdes_means`."""
    root = float(_mdes_means(n, np.array([target]), design)[0])
    if math.isnan(root):
        raise InvalidInput(
            f"n_per_group {n} is too small to reach power {target:g} for any effect below "
            f"{MAX_EFFECT_SIZE:g} standard deviations; increase n_per_group or lower power",
            field="n_per_group",
        )
    return root


def _mdes_means(n: int, targets: np.ndarray, design: _Design) -> np.ndarray:
    """Smallest effect size reaching each target power at n (NaN beyond MAX_EFFECT_SIZE).

    Solves ``Phi^-1(power(d)) = Phi^-1(target)`` with :func:`_bracketed_roots` on ``[0, hi]``,
    ``hi`` starting at 1.5 times the normal approximation
    ``(z_alpha + z_beta) sqrt((1 + 1/r)(1 - rho^2) / n)`` and doubled until it holds the root.
    """
    r = design.ratio
    z_target = special.ndtri(targets)

    def gap(d: np.ndarray, i: np.ndarray) -> np.ndarray:
        # clipped so that a power of exactly 0 or 1 far from the root stays finite
        miss = _miss_means(d, float(n), design)
        return -np.clip(special.ndtri(miss), -40, 40) - z_target[i]

    every = np.arange(targets.size)
    z = design.z_alpha + z_target
    hi = np.maximum(1.5 * z * math.sqrt((1.0 + 1.0 / r) * design.variance_factor / n), 1e-6)
    lo = np.zeros_like(hi)
    f_hi = gap(hi, every)
    for _ in range(64):
        short = np.flatnonzero((f_hi < 0) & (hi <= MAX_EFFECT_SIZE))
        if short.size == 0:
            break
        lo[short] = hi[short]
        hi[short] *= 2.0
        f_hi[short] = gap(hi[short], short)
    ok = np.flatnonzero(f_hi >= 0)
    roots = np.full(targets.shape, np.nan)
    if ok.size:

        def gap_ok(d: np.ndarray, i: np.ndarray) -> np.ndarray:
            return gap(d, ok[i])

        roots[ok] = _bracketed_roots(
            gap_ok, lo[ok], hi[ok], gap(lo[ok], ok), f_hi[ok], xtol=1e-13, ftol=1e-13
        )
    return roots


# --------------------------------------------------------------------------------------------
# Curves: the design drawn, every curve solved at once


def _curve_mdes(mde: float, baseline: float | None) -> np.ndarray:
    """Effects from 1% to 2.5 times ``mde``, kept inside the room a rate's baseline leaves."""
    top = 2.5 * mde
    if baseline is not None:
        limit = (1.0 - baseline if mde > 0 else -baseline) * 0.999
        top = top if abs(top) < abs(limit) else limit
    return top * _CURVE_RAMP


def _size_powers(design: _Design) -> np.ndarray:
    low = max(0.5, design.alpha_per_test + 0.01)
    return low + (0.99 - low) * _SIZE_RAMP


def _targets(design: _Design) -> np.ndarray:
    return np.array([t for t in TARGETS if t > design.alpha_per_test])


def _tuple(x: np.ndarray) -> tuple[float, ...]:
    return tuple(np.asarray(x, dtype=float).tolist())


def _curves(
    mdes: np.ndarray,
    powers: np.ndarray,
    targets: np.ndarray,
    target_mdes: np.ndarray,
    size_powers: np.ndarray,
    size_mdes: np.ndarray,
    sizes: np.ndarray,
) -> PowerCurves:
    reached = np.isfinite(target_mdes)
    return PowerCurves(
        mde=_tuple(mdes),
        power=_tuple(powers),
        target_power=_tuple(targets[reached]),
        target_mde=_tuple(target_mdes[reached]),
        size_power=_tuple(size_powers),
        size_mde=_tuple(size_mdes),
        size_n=tuple(_tuple(row) for row in sizes),
    )


def _curves_proportions(
    baseline: float, delta: float, n: int, design: _Design, cc: bool
) -> PowerCurves:
    """:class:`PowerCurves` of a two-proportion design: closed-form power and sizes over
    every point at once, the target MDEs by one scan and one vectorised refinement."""
    sign = -1.0 if delta < 0 else 1.0
    mdes = _curve_mdes(delta, baseline)
    targets = _targets(design)
    size_powers = _size_powers(design)
    size_mdes = delta * np.array(MDE_FACTORS)
    size_mdes = size_mdes[(baseline + size_mdes > 0.0) & (baseline + size_mdes < 1.0)]
    sizes = np.asarray(
        _n_proportions_unchecked(baseline, size_mdes[:, None], size_powers[None, :], design, cc),
        dtype=float,
    ).reshape(size_mdes.size, size_powers.size)
    return _curves(
        mdes,
        np.asarray(_power_proportions(baseline, mdes, n, design, cc), dtype=float),
        targets,
        sign * _mdes_proportions(baseline, n, targets, design, cc, sign),
        size_powers,
        size_mdes,
        np.where(sizes > MAX_N_PER_GROUP, np.nan, np.maximum(sizes, 2.0)),
    )


def _curves_means(d: float, sd: float, n: int, design: _Design) -> PowerCurves:
    """:class:`PowerCurves` of a t-test design: the power curve in one noncentral t call, the
    target effect sizes in one vectorised solve and every sample size in another."""
    mde = float(_directed(d * sd, design.alternative))
    sign = -1.0 if mde < 0 else 1.0
    mdes = _curve_mdes(mde, None)
    targets = _targets(design)
    size_powers = _size_powers(design)
    size_mdes = mde * np.array(MDE_FACTORS)
    return _curves(
        mdes,
        np.asarray(_power_means(mdes / sd, float(n), design), dtype=float),
        targets,
        sign * sd * _mdes_means(n, targets, design),
        size_powers,
        size_mdes,
        _n_means_curves(size_mdes / sd, size_powers, design),
    )


# --------------------------------------------------------------------------------------------
# Shared result assembly


def _daily_traffic(value: float | None) -> float | None:
    return None if value is None else _validate.positive("daily_traffic", value)


def _checked_n(n: FloatOrArray) -> FloatOrArray:
    """Refuse sample sizes beyond MAX_N_PER_GROUP (the effect is too small to plan for)."""
    if not np.all(n <= MAX_N_PER_GROUP):
        raise InvalidInput(
            f"mde is too small to detect: it needs more than {MAX_N_PER_GROUP:,} users per "
            "group; use a larger mde",
            field="mde",
        )
    return n


def _result(
    *,
    metric: str,
    solved_for: str,
    n_exact: float,
    target: float | None,
    power_at: Callable[[int], float],
    mde: float,
    baseline: float | None,
    sd: float | None,
    design: _Design,
    method: str,
    daily_traffic: float | None,
    baseline_mean: float | None = None,
    curves: Callable[[int], PowerCurves] | None = None,
) -> PowerResult:
    warnings: list[ResultWarning] = []
    if solved_for == "n_per_group" and n_exact <= 2.0:
        warnings.append(
            warning(
                Code.MINIMUM_SIZE,
                "The effect is so large that the minimum of 2 users per group already reaches the "
                "target power; at such tiny sizes the approximations behind this are rough.",
            )
        )
        n_exact = 2.0
    n = _ceil(n_exact) if solved_for == "n_per_group" else int(n_exact)
    n_treatment = _ceil(design.ratio * n)
    n_total = n + design.arms * n_treatment
    achieved = power_at(n)
    days = None
    if daily_traffic is not None:
        span = n_total / daily_traffic
        if span > MAX_N_PER_GROUP:
            raise InvalidInput(
                f"daily_traffic {daily_traffic:g} is too small for {n_total:,} users: it would "
                "take more than a trillion days",
                field="daily_traffic",
            )
        days = max(1, _ceil(span))  # a run lasts at least a day
    lever = "a larger MDE or more traffic" if design.rho > 0 else "a larger MDE or CUPED"
    if days is not None and days > LONG_RUN_DAYS:
        warnings.append(
            warning(
                Code.LARGE_SAMPLE, f"This needs {days:,} days at your traffic; consider {lever}."
            )
        )
    elif n_total > HUGE_TOTAL:
        warnings.append(
            warning(Code.LARGE_SAMPLE, f"This needs {n_total:,} users in total; consider {lever}.")
        )
    if baseline is not None:
        warnings.extend(_small_count_warnings(baseline, mde, n, n_treatment))
    return PowerResult(
        metric=metric,
        solved_for=solved_for,
        n_per_group=n,
        n_treatment=n_treatment,
        n_total=n_total,
        n_exact=n_exact,
        power=achieved if target is None else target,
        achieved_power=achieved,
        mde=mde,
        mde_relative=(
            mde / baseline
            if baseline is not None
            else mde / baseline_mean
            if baseline_mean
            else None
        ),
        baseline=baseline,
        sd=sd,
        alpha=design.alpha,
        alpha_per_test=design.alpha_per_test,
        alternative=design.alternative,
        ratio=design.ratio,
        arms=design.arms,
        bonferroni=design.bonferroni,
        rho=design.rho,
        method=method,
        days=days,
        daily_traffic=daily_traffic,
        warnings=tuple(warnings),
        baseline_mean=baseline_mean,
        curves=None if curves is None else curves(n),
    )


def _small_count_warnings(
    baseline: float, mde: float, n: int, n_treatment: int
) -> list[ResultWarning]:
    expected = {
        "conversions in the control group": n * baseline,
        "non-conversions in the control group": n * (1.0 - baseline),
        "conversions in each treatment group": n_treatment * (baseline + mde),
        "non-conversions in each treatment group": n_treatment * (1.0 - baseline - mde),
    }
    what, fewest = min(expected.items(), key=lambda item: item[1])
    if fewest >= MIN_EXPECTED_COUNT:
        return []
    return [
        warning(
            Code.SMALL_COUNTS,
            f"Expect only about {fewest:.2g} {what}; the normal approximation behind this "
            "calculation is rough at such small counts, so treat the result as indicative.",
        )
    ]
