"""Group-sequential designs: exact boundaries, the exact cost of naive peeking, monitoring.

Everything rests on :func:`crossing_probability`, the recursive numerical integration of
Armitage, McPherson & Rowe (1969, "Repeated significance tests on accumulating data",
JRSS A 132) in the form of Jennison & Turnbull (2000, *Group Sequential Methods with
Applications to Clinical Trials*, ch. 19): the z-statistics Z_1..Z_K at information fractions
t_1 < ... < t_K = 1 are a Gaussian process with Cov(Z_j, Z_k) = sqrt(t_j / t_k) and
E[Z_k] = drift * sqrt(t_k) (J&T section 3.1, the "canonical joint distribution"), so the
density of Z_k on the continuation region follows from the density at look k - 1 by one
Gaussian convolution (J&T section 19.2). No simulation is involved.

scipy has no group-sequential routines and statsmodels none either; the reference
implementations are R's gsDesign (``gsDesign::gsBound``, same grid) and rpact, whose
published boundary values the tests reproduce.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special

from stats import _validate
from stats.errors import InvalidInput
from stats.sufficient import MeanStats, ProportionStats
from stats.vocabulary import BOUNDARY_SPENDINGS, METRICS, SPENDING_FUNCTIONS
from stats.warnings import Code, ResultWarning, warning

MAX_LOOKS = 100

# Grid size of J&T section 19.2: r points per unit near the mean; they report errors below
# 1e-6 in boundary crossing probabilities for r = 16 (gsDesign uses r = 18). Checked against
# r = 64 in the tests.
_GRID_R = 18
# Bounds are searched on [lower, _B_MAX]; Phi(-40) underflows to 0, so beyond it is "never".
_B_MAX = 40.0

Float = NDArray[np.float64]


# --------------------------------------------------------------------------- validation


# Below this the spending increments of early looks underflow and the grid's tails (J&T
# section 19.2 reach 3 + 4 log r sd past the mean) no longer hold the mass that matters:
# at 100 looks the final O'Brien-Fleming-type bound drifts from 1.06 times the fixed z at
# alpha 1e-6 to 1.19 times at 1e-8 (0.05: 1.12, 1e-3: 1.05). No experiment needs less.
MIN_ALPHA = 1e-6


def design_alpha(value: float) -> float:
    """A design alpha in [1e-6, 0.5): at 0.5 a two-sided bound would be 0."""
    x = _validate.finite("alpha", value)
    if not MIN_ALPHA <= x < 0.5:
        raise InvalidInput(f"alpha must be in [{MIN_ALPHA:g}, 0.5), got {value!r}", field="alpha")
    return x


def _fractions(fractions: Sequence[float], *, final: bool) -> Float:
    """Information fractions: 1..100 values, strictly increasing in (0, 1], last 1 if final."""
    if isinstance(fractions, str | bytes) or not isinstance(fractions, Sequence | np.ndarray):
        raise InvalidInput(
            f"fractions must be a list of numbers, got {fractions!r}", field="fractions"
        )
    if not 1 <= len(fractions) <= MAX_LOOKS:
        raise InvalidInput(
            f"fractions must have 1 to {MAX_LOOKS} values, got {len(fractions)}", field="fractions"
        )
    t = np.array([_validate.finite(f"fractions[{i}]", f) for i, f in enumerate(fractions)])
    for i, x in enumerate(t):
        if not 0.0 < x <= 1.0:
            raise InvalidInput(
                f"fractions[{i}] must be in (0, 1], got {fractions[i]!r}", field=f"fractions[{i}]"
            )
        if i and x <= t[i - 1]:
            raise InvalidInput(
                f"fractions[{i}] must be greater than fractions[{i - 1}] ({t[i - 1]:g}), "
                f"got {fractions[i]!r}",
                field=f"fractions[{i}]",
            )
    if final and t[-1] != 1.0:
        raise InvalidInput(
            f"fractions must end at 1 (the final analysis), got {fractions[-1]!r}",
            field="fractions",
        )
    return t


def _gamma(value: float) -> float:
    x = _validate.finite("gamma", value)
    if not -40.0 <= x <= 40.0:
        raise InvalidInput(f"gamma must be in [-40, 40], got {value!r}", field="gamma")
    return x


# --------------------------------------------------------------------------- the recursion


def _grid(mean: float, lo: float, hi: float) -> tuple[Float, Float]:
    """Integration points and Simpson weights on (lo, hi) (J&T section 19.2).

    6r - 1 points: uniform spacing 3 / (2r) within 3 of the mean, log-spaced tails out to
    mean +- (3 + 4 log r); trimmed to (lo, hi) with the bounds themselves as end points, then
    midpoints added so that Simpson's rule applies on every pair of intervals.
    """
    r = _GRID_R
    i = np.arange(1, 6 * r, dtype=float)
    x = np.where(
        i < r,
        -3.0 - 4.0 * np.log(r / i),
        np.where(i <= 5 * r, -3.0 + 3.0 * (i - r) / (2 * r), 3.0 + 4.0 * np.log(r / (6 * r - i))),
    )
    x = mean + x
    pts = x[(x > lo) & (x < hi)]
    if lo > x[0]:
        pts = np.concatenate(([lo], pts))
    if hi < x[-1]:
        pts = np.concatenate((pts, [hi]))
    if pts.size < 2:  # an empty or degenerate continuation region
        return np.zeros(0), np.zeros(0)
    d = np.diff(pts)
    z = np.empty(2 * pts.size - 1)
    z[0::2] = pts
    z[1::2] = pts[:-1] + d / 2
    w = np.zeros_like(z)
    w[0:-1:2] += d / 6
    w[1::2] += 4 * d / 6
    w[2::2] += d / 6
    return z, w


def _phi(x: Float) -> Float:
    return np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


@dataclass(slots=True)
class _Recursion:
    """Density of Z_k on its continuation region, on a grid, times the Simpson weights.

    ``hw`` integrates to P(no crossing at looks 1..k); ``z`` is the grid at look k
    (``t`` = 0 before look 1; an empty grid once the continuation region is empty).
    """

    drift: float
    two_sided: bool
    t: float = 0.0
    z: Float = field(default_factory=lambda: np.zeros(0))
    hw: Float = field(default_factory=lambda: np.zeros(0))

    def exits(self, t: float, b: float) -> tuple[float, float]:
        """P(continue to look k - 1, then Z_k >= b) and P(..., Z_k <= -b) (J&T section 19.2)."""
        mean = self.drift * math.sqrt(t)
        lower_b = b if self.two_sided else math.inf
        if self.t == 0.0:  # look 1: Z_1 ~ N(drift sqrt(t_1), 1)
            return float(special.ndtr(mean - b)), float(special.ndtr(-lower_b - mean))
        if self.z.size == 0:
            return 0.0, 0.0
        sd = math.sqrt(t - self.t)
        shift = self.z * math.sqrt(self.t) + self.drift * (t - self.t)
        up = special.ndtr((shift - b * math.sqrt(t)) / sd)
        down = special.ndtr((-lower_b * math.sqrt(t) - shift) / sd) if self.two_sided else 0 * up
        return float(up @ self.hw), float(down @ self.hw)

    def upper_bound(self, t: float, target: float, lo: float, guess: float) -> float:
        """The b in [lo, _B_MAX] with P(continue, then Z_k >= b) = target (after look 1).

        Newton steps on log P, which is close to linear in b, from ``guess`` and kept inside
        a bisection bracket (P decreases in b), bisecting where P underflows to 0 (tiny
        spending increments); ``inf`` when even _B_MAX exits with more.
        """
        if target <= 0 or self.exits(t, _B_MAX)[0] >= target:
            return math.inf
        sd = math.sqrt(t - self.t)
        shift = (self.z * math.sqrt(self.t) + self.drift * (t - self.t)) / sd
        scale = math.sqrt(t) / sd
        low, high = lo, _B_MAX
        b = min(max(guess, low), high)
        for _ in range(100):
            x = shift - b * scale
            up = float(special.ndtr(x) @ self.hw)
            if up > target:
                low = b
            else:
                high = b
            slope = scale * float(_phi(x) @ self.hw)  # -dP/db
            if not (up > 0 and slope > 0):  # underflow far out in the tail: bisect inwards
                if high - low < 1e-12:
                    return b
                b = (low + high) / 2
                continue
            step = (math.log(up) - math.log(target)) * up / slope
            if abs(step) < 1e-12 or high - low < 1e-12:
                return b + step
            b = b + step if low < b + step < high else (low + high) / 2
        return b

    def advance(self, t: float, b: float) -> None:
        """Move to look k with continuation region (-b, b) (or (-inf, b)) (J&T section 19.2)."""
        lo = -b if self.two_sided else -math.inf
        z, w = _grid(self.drift * math.sqrt(t), lo, b)
        if self.t == 0.0:
            hw = _phi(z - self.drift * math.sqrt(t)) * w
        elif self.z.size == 0 or z.size == 0:
            z, hw = np.zeros(0), np.zeros(0)
        else:
            sd = math.sqrt(t - self.t)
            arg = (
                z[:, None] * math.sqrt(t)
                - self.z[None, :] * math.sqrt(self.t)
                - self.drift * (t - self.t)
            ) / sd
            hw = (_phi(arg) @ self.hw) * (math.sqrt(t) / sd) * w
        self.t, self.z, self.hw = t, z, hw


def _exit_probabilities(
    bounds: Float, t: Float, drift: float, two_sided: bool
) -> tuple[Float, Float]:
    rec = _Recursion(drift, two_sided)
    upper, lower = np.zeros(t.size), np.zeros(t.size)
    for k in range(t.size):
        upper[k], lower[k] = rec.exits(t[k], bounds[k])
        if k + 1 < t.size:
            rec.advance(t[k], bounds[k])
    return upper, lower


def crossing_probability(
    bounds: Sequence[float],
    fractions: Sequence[float],
    drift: float = 0.0,
    two_sided: bool = True,
) -> tuple[Float, Float]:
    """Exact probability of first crossing each boundary, per look and cumulatively.

    ``bounds`` are upper z-bounds b_k (``inf`` = no stopping at that look); two-sided designs
    also stop at Z_k <= -b_k. ``drift`` is E[Z] at fraction 1 (E[Z_k] = drift * sqrt(t_k)).
    Recursive numerical integration (Armitage, McPherson & Rowe 1969; Jennison & Turnbull
    2000, section 19.2, Simpson's rule on their grid). Fractions need not end at 1.
    """
    t = _fractions(fractions, final=False)
    b = np.array([float(x) for x in bounds], dtype=float)
    if b.shape != t.shape or np.isnan(b).any():
        raise InvalidInput(
            f"bounds must be {t.size} numbers (one per fraction), got {bounds!r}", field="bounds"
        )
    drift = _validate.finite("drift", drift)
    upper, lower = _exit_probabilities(b, t, drift, two_sided)
    per_look = upper + lower
    return per_look, np.cumsum(per_look)


# --------------------------------------------------------------------------- spending


def spent_alpha(t: Float, alpha_side: float, spending: str, gamma: float) -> Float:
    """Cumulative one-sided alpha spent at fractions ``t`` (Lan & DeMets 1983).

    - obrien-fleming: 2 - 2 Phi(z_{1 - a/2} / sqrt(t)) (Lan & DeMets 1983, Biometrika 70,
      eq. 2.1; gsDesign ``sfLDOF``, rpact ``asOF`` applied to the one-sided level a).
    - pocock: a log(1 + (e - 1) t) (Lan & DeMets 1983; gsDesign ``sfLDPocock``).
    - hsd: a (1 - exp(-gamma t)) / (1 - exp(-gamma)), a t at gamma = 0 (Hwang, Shih &
      DeCani 1990, Stat. Med. 9, eq. 2; gsDesign ``sfHSD``).
    """
    if spending == "obrien-fleming":
        z = -special.ndtri(alpha_side / 2)  # z_{1 - a/2}, finite even for tiny a
        return np.asarray(2 * special.ndtr(-z / np.sqrt(t)), dtype=float)
    if spending == "pocock":
        return np.asarray(alpha_side * np.log1p((math.e - 1) * t), dtype=float)
    if gamma == 0:
        return np.asarray(alpha_side * t, dtype=float)
    return np.asarray(alpha_side * np.expm1(-gamma * t) / math.expm1(-gamma), dtype=float)


def _spending_bounds(
    t: Float, alpha_side: float, spending: str, gamma: float, two_sided: bool
) -> Float:
    """Solve b_k look by look so that the upper crossing probability at look k under H0
    equals the spending increment (J&T section 7.2; two-sided designs are symmetric, so
    each side spends alpha/2, as gsDesign ``test.type = 2`` and rpact do)."""
    targets = np.diff(spent_alpha(t, alpha_side, spending, gamma), prepend=0.0)
    rec = _Recursion(0.0, two_sided)
    bounds = np.empty(t.size)
    lo = 0.0 if two_sided else -_B_MAX
    for k in range(t.size):
        target = float(targets[k])
        if k == 0:
            b = float(-special.ndtri(target)) if target > 0 else math.inf
        else:
            guess = bounds[k - 1] if np.isfinite(bounds[k - 1]) else -special.ndtri(target)
            b = rec.upper_bound(t[k], target, lo, float(guess))
        bounds[k] = b
        if k + 1 < t.size:
            rec.advance(t[k], b)
    return bounds


def _classical_bounds(t: Float, alpha_total: float, spending: str, two_sided: bool) -> Float:
    """Pocock (1977) constant C, or O'Brien & Fleming (1979) C / sqrt(t_k) (= C sqrt(K/k)
    at equal fractions), with C solved so that the exact type I error is alpha (J&T
    sections 2.4-2.5; Wang & Tsiatis 1987 with Delta = 0.5 and 0)."""
    shape = 1 / np.sqrt(t) if spending == "classical-obrien-fleming" else np.ones_like(t)

    def excess(c: float) -> float:
        upper, lower = _exit_probabilities(c * shape, t, 0.0, two_sided)
        return float(upper.sum() + lower.sum()) - alpha_total

    # C lies between the fixed design's z (the last look alone) and the Bonferroni z over
    # K looks (every bound is at least C): a bracket that keeps brentq off the far tails.
    sides = 2 if two_sided else 1
    low = float(-special.ndtri(alpha_total / sides))
    high = float(-special.ndtri(alpha_total / (sides * t.size)))
    c = optimize.brentq(excess, low, high, xtol=1e-12) if t.size > 1 else low
    return np.asarray(c * shape, dtype=float)


def critical_values(t: Float, alpha: float, two_sided: bool, spending: str, gamma: float) -> Float:
    """Upper z bounds b_k (unsigned) at already validated fractions ``t``: the engine of
    :func:`group_sequential_bounds`, :func:`monitor` and the peeking simulation, without
    the power calculation. Two-sided designs spend alpha/2 per side."""
    if spending in SPENDING_FUNCTIONS:
        return _spending_bounds(t, alpha / 2 if two_sided else alpha, spending, gamma, two_sided)
    return _classical_bounds(t, alpha, spending, two_sided)


def _power_drift(bounds: Float, t: Float, power: float, two_sided: bool, fixed: float) -> float:
    """Drift at which P(cross an upper bound) = power (J&T section 2.4, used for R).

    ``fixed`` = z_{1-a} + z_power, the fixed design's drift, brackets it from below (no
    sequential test of the same level is more powerful than the fixed one-sided test).
    """

    def shortfall(drift: float) -> float:
        return float(_exit_probabilities(bounds, t, drift, two_sided)[0].sum()) - power

    if shortfall(fixed) >= 0:  # the fixed design itself, up to rounding
        return fixed
    high = 2 * fixed if shortfall(2 * fixed) > 0 else 30.0
    return float(optimize.brentq(shortfall, fixed, high, xtol=1e-9))


# --------------------------------------------------------------------------- design


@dataclass(frozen=True, slots=True)
class Boundaries:
    """A group-sequential design.

    ``z_bounds`` are critical values on the z scale in the direction of the alternative:
    reject when |Z_k| >= b_k (two-sided), Z_k >= b_k (larger), Z_k <= b_k (smaller, so the
    bounds are negative); ``inf`` means the look cannot stop. ``nominal_p`` is the p-value
    threshold at each look with the design's own sidedness (two-sided p for a two-sided
    design; one-sided for larger/smaller): an ordinary p-value at look k below it stops.
    ``alpha_spent`` is the exact probability under H0 of stopping at each look (both sides
    together) and ``cumulative_alpha`` its running sum. ``max_n_inflation`` is the maximum
    sample size over that of a fixed design with the same alpha and power; ``drift`` is the
    E[Z at the final look] that gives ``power``. ``constant`` is C for classical designs.
    """

    fractions: tuple[float, ...]
    z_bounds: tuple[float, ...]
    nominal_p: tuple[float, ...]
    alpha_spent: tuple[float, ...]
    cumulative_alpha: tuple[float, ...]
    max_n_inflation: float
    drift: float
    alpha: float
    power: float
    alternative: str
    spending: str
    gamma: float | None
    constant: float | None
    warnings: tuple[ResultWarning, ...] = ()


def _design_fractions(looks: int | None, fractions: Sequence[float] | None) -> Float:
    if looks is None and fractions is None:
        raise InvalidInput("looks must be given (or fractions), got None", field="looks")
    if looks is not None:
        k = _validate.count("looks", looks, minimum=1)
        if k > MAX_LOOKS:
            raise InvalidInput(
                f"looks must be a whole number in [1, {MAX_LOOKS}], got {looks!r}", field="looks"
            )
        if fractions is None:
            return np.arange(1, k + 1) / k
        if len(fractions) != k:
            raise InvalidInput(
                f"fractions must have looks ({k}) values when both are given, got {len(fractions)}",
                field="fractions",
            )
    assert fractions is not None
    return _fractions(fractions, final=True)


def group_sequential_bounds(
    *,
    looks: int | None = None,
    fractions: Sequence[float] | None = None,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    spending: str = "obrien-fleming",
    gamma: float = -4.0,
    power: float = 0.8,
) -> Boundaries:
    """Exact boundaries for ``looks`` equally spaced analyses or at ``fractions``.

    ``spending``: Lan-DeMets spending functions ``obrien-fleming``, ``pocock``, ``hsd``
    (Hwang-Shih-DeCani with ``gamma``; see :func:`spent_alpha`) solved look by look, or the
    classical constants ``classical-obrien-fleming`` (C / sqrt(t_k)) and ``classical-pocock``
    (C) with C solved for an exact type I error of alpha. Two-sided designs are symmetric and
    spend alpha/2 on each side (gsDesign, rpact). Crossing probabilities are computed by
    :func:`crossing_probability`. ``max_n_inflation`` = (drift / (z_{1-a} + z_power))^2 with
    a = alpha/2 two-sided or alpha one-sided: J&T's R (tables 2.4 and 2.5).
    """
    t = _design_fractions(looks, fractions)
    alpha = design_alpha(alpha)
    alternative = _validate.alternative(alternative)
    spending = _validate.choice("spending", spending, BOUNDARY_SPENDINGS)
    power = _validate.finite("power", power)
    if not alpha < power < 1.0:
        raise InvalidInput(
            f"power must be in (alpha, 1) = ({alpha:g}, 1), got {power!r}", field="power"
        )
    gamma = _gamma(gamma) if spending == "hsd" else gamma
    two_sided = alternative == "two-sided"
    alpha_side = alpha / 2 if two_sided else alpha
    bounds = critical_values(t, alpha, two_sided, spending, gamma)
    constant = None if spending in SPENDING_FUNCTIONS else float(bounds[-1])
    upper, lower = _exit_probabilities(bounds, t, 0.0, two_sided)
    spent = upper + lower
    fixed = float(-special.ndtri(alpha_side) + special.ndtri(power))
    drift = _power_drift(bounds, t, power, two_sided, fixed)
    tail = special.ndtr(-bounds)
    warnings: tuple[ResultWarning, ...] = ()
    if np.isinf(bounds).any():
        warnings = (
            warning(
                Code.NEVER_STOPS,
                "Some looks spend no alpha (their bound is infinite): they cannot stop.",
            ),
        )
    sign = -1.0 if alternative == "smaller" else 1.0
    return Boundaries(
        fractions=tuple(float(x) for x in t),
        z_bounds=tuple(float(sign * b) for b in bounds),
        nominal_p=tuple(float(p) for p in (2 * tail if two_sided else tail)),
        alpha_spent=tuple(float(x) for x in spent),
        cumulative_alpha=tuple(float(x) for x in np.cumsum(spent)),
        max_n_inflation=(drift / fixed) ** 2,
        drift=drift,
        alpha=alpha,
        power=power,
        alternative=alternative,
        spending=spending,
        gamma=gamma if spending == "hsd" else None,
        constant=constant,
        warnings=warnings,
    )


# --------------------------------------------------------------------------- naive peeking


@lru_cache(maxsize=32)
def _naive_curve(alpha: float) -> tuple[float, ...]:
    """Exact P(|Z_j| >= z_{1-alpha/2} for some j <= k), k = 1..100, in one recursion.

    Looks at equal information increments: the Z-statistics at looks 1..k of any design with
    equally spaced looks have the same joint law (Cov(Z_i, Z_j) = sqrt(i/j) depends only on
    the look numbers, J&T section 3.1), so the first k looks of a 100-look recursion give the
    k-look answer. Armitage, McPherson & Rowe (1969), table 2: 0.083, 0.107, 0.142, 0.193.
    """
    k = np.arange(1, MAX_LOOKS + 1)
    c = np.full(MAX_LOOKS, float(-special.ndtri(alpha / 2)))
    upper, lower = _exit_probabilities(c, k / MAX_LOOKS, 0.0, True)
    return tuple(float(x) for x in np.cumsum(upper + lower))


def naive_peeking_curve(alpha: float = 0.05) -> tuple[float, ...]:
    """Exact false positive rate of testing at nominal two-sided ``alpha`` at each of k
    equally spaced looks, for k = 1..100 (element k - 1); see :func:`naive_peeking_rate`."""
    return _naive_curve(design_alpha(alpha))


def naive_peeking_rate(looks: int, alpha: float = 0.05) -> float:
    """Exact false positive rate of a two-sided z-test at nominal ``alpha`` repeated at
    ``looks`` equally spaced looks (Armitage, McPherson & Rowe 1969; J&T table 1.1):
    2 -> 0.0831, 3 -> 0.1073, 5 -> 0.1417, 10 -> 0.1934, 20 -> 0.2479 at alpha 0.05."""
    k = _validate.count("looks", looks, minimum=1)
    if k > MAX_LOOKS:
        raise InvalidInput(
            f"looks must be a whole number in [1, {MAX_LOOKS}], got {looks!r}", field="looks"
        )
    return naive_peeking_curve(alpha)[k - 1]


# --------------------------------------------------------------------------- monitoring


@dataclass(frozen=True, slots=True)
class MonitorResult:
    """Interim analyses of a running experiment against spending-function boundaries.

    Per analysed look: ``fractions`` (information fraction), ``estimates`` (difference
    B - A of rates or means), ``z_statistics``, ``z_bounds`` (signed as in
    :class:`Boundaries`), ``nominal_p`` and ``cumulative_alpha``. ``decision`` is
    ``continue``, ``stop-efficacy`` (a bound was crossed at ``stop_look``, 1-based) or
    ``stop-final`` (the planned sample size was reached without crossing). Looks after a
    stop are not analysed (a warning says so). ``estimate``/``statistic``/``pvalue`` are
    those of the last analysed look (``pvalue`` is its nominal fixed-sample p-value, not
    adjusted for the sequential design), ``n`` its total users.
    """

    fractions: tuple[float, ...]
    estimates: tuple[float, ...]
    z_statistics: tuple[float, ...]
    z_bounds: tuple[float, ...]
    nominal_p: tuple[float, ...]
    cumulative_alpha: tuple[float, ...]
    decision: str
    stop_look: int | None
    estimate: float
    statistic: float
    pvalue: float
    n: int
    alpha: float
    alternative: str
    spending: str
    warnings: tuple[ResultWarning, ...] = ()


def _look_arms(
    look: Mapping[str, Any], i: int, metric: str
) -> tuple[ProportionStats | MeanStats, ProportionStats | MeanStats]:
    """Parse ``{"users": [a, b], "conversions": [a, b]}`` (or mean, sd) of look i."""
    keys = ("users", "conversions") if metric == "proportion" else ("users", "mean", "sd")
    if not isinstance(look, Mapping):
        raise InvalidInput(
            f"looks[{i}] must be an object with {', '.join(keys)}, got {look!r}",
            field=f"looks[{i}]",
        )
    for key in keys:
        v = look.get(key)
        if isinstance(v, str | bytes) or not isinstance(v, Sequence) or len(v) != 2:
            raise InvalidInput(
                f"looks[{i}].{key} must be a pair [A, B], got {v!r}", field=f"looks[{i}].{key}"
            )
    arms: list[ProportionStats | MeanStats] = []
    for j in range(2):
        try:
            if metric == "proportion":
                arms.append(ProportionStats("AB"[j], look["users"][j], look["conversions"][j]))
            else:
                arms.append(MeanStats("AB"[j], look["users"][j], look["mean"][j], look["sd"][j]))
        except InvalidInput as exc:
            arg = exc.field or ""
            rest = exc.message.removeprefix(f"{arg} ")
            key = "users" if arg == "n" else arg
            raise InvalidInput(
                f"looks[{i}].{key}[{j}] {rest}", field=f"looks[{i}].{key}[{j}]"
            ) from None
    return arms[0], arms[1]


def _z_statistic(a: ProportionStats | MeanStats, b: ProportionStats | MeanStats) -> float:
    """Pooled two-proportion z (statsmodels ``proportions_ztest``) or Welch z for means."""
    if isinstance(a, ProportionStats) and isinstance(b, ProportionStats):
        p = (a.conversions + b.conversions) / (a.users + b.users)
        var = p * (1 - p) * (1 / a.users + 1 / b.users)
    else:
        var = a.var / a.n + b.var / b.n
    return (b.mean - a.mean) / math.sqrt(var) if var > 0 else math.nan


def monitor(
    looks: Sequence[Mapping[str, Any]],
    *,
    planned_n_per_arm: int,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    spending: str = "obrien-fleming",
    gamma: float = -4.0,
    metric: str = "proportion",
) -> MonitorResult:
    """Analyse the looks so far with boundaries recomputed for the observed information.

    Each look holds cumulative per-arm data, A (control) first:
    ``{"users": [a, b], "conversions": [a, b]}`` or ``{"users": [a, b], "mean": [a, b],
    "sd": [a, b]}``. Information fraction t_k = harmonic mean of the two arm sizes /
    ``planned_n_per_arm`` (the information of a difference is proportional to
    1 / (1/n_A + 1/n_B); equal arms give n_k / planned), capped at 1. The look that reaches
    the plan is the final analysis: it gets t = 1 and spends all the remaining alpha; looks
    after it are an error. Bounds come from the spending function at the observed fractions
    (Lan & DeMets 1983; J&T section 7.2), so unequal or unplanned look times keep the type
    I error at alpha. Z: pooled two-proportion z or Welch z for means (B - A).
    """
    planned = _validate.count("planned_n_per_arm", planned_n_per_arm, minimum=1)
    alpha = design_alpha(alpha)
    alternative = _validate.alternative(alternative)
    spending = _validate.choice("spending", spending, SPENDING_FUNCTIONS)
    gamma = _gamma(gamma) if spending == "hsd" else gamma
    metric = _validate.choice("metric", metric, METRICS)
    if isinstance(looks, str | bytes) or not isinstance(looks, Sequence) or not looks:
        raise InvalidInput(f"looks must be a non-empty list of looks, got {looks!r}", field="looks")
    if len(looks) > MAX_LOOKS:
        raise InvalidInput(
            f"looks must have at most {MAX_LOOKS} entries, got {len(looks)}", field="looks"
        )

    arms = [_look_arms(look, i, metric) for i, look in enumerate(looks)]
    t: list[float] = []
    for i, (a, b) in enumerate(arms):
        if a.n == 0 or b.n == 0:
            raise InvalidInput(
                f"looks[{i}].users must be >= 1 in each arm, got [{a.n}, {b.n}]",
                field=f"looks[{i}].users",
            )
        if i:
            pa, pb = arms[i - 1]
            if a.n < pa.n or b.n < pb.n or a.n + b.n == pa.n + pb.n:
                raise InvalidInput(
                    f"looks[{i}].users must increase from look to look (cumulative counts), "
                    f"got [{a.n}, {b.n}] after [{pa.n}, {pb.n}]",
                    field=f"looks[{i}].users",
                )
            if t[-1] == 1.0:
                raise InvalidInput(
                    f"looks[{i}].users comes after the final look: look {i} already reached "
                    f"planned_n_per_arm ({planned})",
                    field=f"looks[{i}].users",
                )
        t.append(min(2 / (1 / a.n + 1 / b.n) / planned, 1.0))

    two_sided = alternative == "two-sided"
    bounds = critical_values(np.array(t), alpha, two_sided, spending, gamma)
    z = np.array([_z_statistic(a, b) for a, b in arms])
    sign = -1.0 if alternative == "smaller" else 1.0
    directed = np.abs(z) if two_sided else sign * z
    crossed = np.flatnonzero(np.nan_to_num(directed, nan=-np.inf) >= bounds)
    warnings: list[ResultWarning] = []
    if np.isnan(z).any():
        warnings.append(
            warning(
                Code.ZERO_VARIANCE, "Some looks have zero variance: their z statistic is undefined."
            )
        )
    stop_look: int | None
    if crossed.size:
        last = int(crossed[0])
        decision, stop_look = "stop-efficacy", last + 1
        if last + 1 < len(arms):
            warnings.append(
                warning(
                    Code.STOPPED_EARLY,
                    f"The test stopped at look {last + 1}; later looks are ignored.",
                )
            )
    else:
        last = len(arms) - 1
        final = t[-1] == 1.0
        decision = "stop-final" if final else "continue"
        stop_look = len(arms) if final else None
    keep = slice(0, last + 1)
    upper, lower = _exit_probabilities(bounds[keep], np.array(t[keep]), 0.0, two_sided)
    tail = special.ndtr(-bounds[keep])
    a, b = arms[last]
    z_last = float(z[last])
    if two_sided:
        pvalue = float(2 * special.ndtr(-abs(z_last)))
    else:
        pvalue = float(special.ndtr(-sign * z_last))
    return MonitorResult(
        fractions=tuple(t[keep]),
        estimates=tuple(float(y.mean - x.mean) for x, y in arms[keep]),
        z_statistics=tuple(float(x) for x in z[keep]),
        z_bounds=tuple(float(sign * x) for x in bounds[keep]),
        nominal_p=tuple(float(p) for p in (2 * tail if two_sided else tail)),
        cumulative_alpha=tuple(float(x) for x in np.cumsum(upper + lower)),
        decision=decision,
        stop_look=stop_look,
        estimate=float(b.mean - a.mean),
        statistic=z_last,
        pvalue=pvalue,
        n=a.n + b.n,
        alpha=alpha,
        alternative=alternative,
        spending=spending,
        warnings=tuple(warnings),
    )
