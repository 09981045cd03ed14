"""The peeking problem by simulation: naive looks, alpha spending and mSPRT on the same data.

Each simulated experiment is a path of cumulative sufficient statistics per arm at every look,
drawn as aggregated increments (binomial counts, or normal sums with chi-square sums of
squares): never one observation at a time. The same experiments are judged by four rules:
a two-sided z-test at nominal alpha at every look ("naive"), O'Brien-Fleming-type and
Pocock-type group-sequential bounds (:mod:`stats.group_sequential`), and the mSPRT
(:mod:`stats.msprt`) evaluated at the looks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import special
from scipy.stats import binom

from stats import _validate
from stats.errors import InvalidInput
from stats.group_sequential import (
    MAX_LOOKS,
    critical_values,
    design_alpha,
    naive_peeking_curve,
)
from stats.msprt import cs_halfwidth, mixture_log_lr, tau_for_planned_n
from stats.vocabulary import METRICS, PEEKING_SPENDINGS
from stats.warnings import Code, ResultWarning, warning

MAX_SIMULATIONS = 100_000
MAX_N_PER_ARM = 100_000_000
MAX_PATHS = 100

# Work per chunk (simulations x looks): small enough that the arrays stay in cache.
_CHUNK = 1 << 16
# Binomial increments are drawn from alias tables when the support (after trimming tails of
# total mass < 1e-18) has at most this many values; otherwise numpy's binomial sampler.
_MAX_TABLE = 1 << 16


@dataclass(frozen=True, slots=True)
class MethodSummary:
    """One decision rule over all simulated experiments.

    ``rejection_rate`` is the false positive rate under the null (effect 0) or the power
    otherwise, ``rejection_se`` its Monte Carlo standard error sqrt(r(1 - r)/simulations).
    ``mean_sample_size`` is the users per arm at stopping (the planned n when it never
    rejects). ``stop_look_counts[k]`` counts experiments stopped (rejected) at look k + 1;
    their running sum over simulations gives the rejection rate by each look.
    ``z_bounds`` are the two-sided |z| critical values per look; for mSPRT the |z| at which
    it rejects when the variance equals its design value (the data decide in the simulation).
    """

    rejection_rate: float
    rejection_se: float
    mean_sample_size: float
    stop_look_counts: tuple[int, ...]
    z_bounds: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class PeekingMethods:
    naive: MethodSummary
    obrien_fleming: MethodSummary
    pocock: MethodSummary
    msprt: MethodSummary


@dataclass(frozen=True, slots=True)
class NaiveCurve:
    """Exact false positive rate of naive peeking at 1..100 equally spaced looks."""

    looks: tuple[int, ...]
    rates: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class PeekingResult:
    """Simulated experiments judged by four rules (see :class:`MethodSummary`).

    ``look_n`` are the cumulative users per arm at each look; ``z_paths`` the pooled z
    statistics of the first ``paths`` experiments (rows) at each look, for a chart;
    ``tau`` the mSPRT mixing sd (tuned to 2 * n_per_arm users at the design variance);
    ``baseline`` the rate (or mean) in A, ``sd`` its per-user standard deviation
    (sqrt(p(1 - p)) for a proportion).
    """

    methods: PeekingMethods
    exact_naive_rate: float
    exact_naive_curve: NaiveCurve
    look_n: tuple[int, ...]
    z_paths: tuple[tuple[float, ...], ...]
    tau: float
    looks: int
    n_per_arm: int
    simulations: int
    metric: str
    baseline: float
    sd: float
    effect: float
    alpha: float
    spending: str
    seed: int | None
    warnings: tuple[ResultWarning, ...] = ()


# --------------------------------------------------------------------------- sampling


@dataclass(frozen=True, slots=True)
class _Binomial:
    """Exact Binomial(m, p) draws by Walker's alias method (Walker 1977, ACM TOMS 3;
    Vose 1991, IEEE TSE 17, the stable construction) from raw 64-bit generator output:
    the top bits pick a cell, the rest are compared with the cell's cut-off, so one draw
    costs a few vectorised integer operations instead of numpy's ~80 ns BTPE/inversion
    sample. Falls back to ``Generator.binomial`` for very wide supports."""

    m: int
    p: float
    offset: int
    bits: int
    cut: NDArray[np.uint64]
    alias: NDArray[np.int32]

    @classmethod
    def build(cls, m: int, p: float) -> _Binomial:
        if m > 1_000_000:
            return cls(m, p, 0, 0, np.zeros(0, np.uint64), np.zeros(0, np.int32))
        pmf = binom.pmf(np.arange(m + 1), m, p)
        cdf, tail = np.cumsum(pmf), np.cumsum(pmf[::-1])[::-1]
        keep = np.flatnonzero((cdf > 1e-18) & (tail > 1e-18))
        lo, hi = int(keep[0]), int(keep[-1])
        if hi - lo + 1 > _MAX_TABLE:
            return cls(m, p, 0, 0, np.zeros(0, np.uint64), np.zeros(0, np.int32))
        bits = max(1, math.ceil(math.log2(hi - lo + 1)))
        size = 1 << bits
        scaled = np.zeros(size)
        scaled[: hi - lo + 1] = pmf[lo : hi + 1] / pmf[lo : hi + 1].sum() * size
        cut = np.ones(size)
        alias = np.arange(size, dtype=np.int32)
        small = [i for i in range(size) if scaled[i] < 1.0]
        large = [i for i in range(size) if scaled[i] >= 1.0]
        while small and large:
            s, g = small.pop(), large.pop()
            cut[s], alias[s] = scaled[s], g
            scaled[g] -= 1.0 - scaled[s]
            (small if scaled[g] < 1.0 else large).append(g)
        # Leftovers are 1 up to rounding: always keep them.
        cut_int = np.minimum(cut * 2.0 ** (64 - bits), 2.0 ** (64 - bits)).astype(np.uint64)
        return cls(m, p, lo, bits, cut_int, alias)

    def draw(self, rng: np.random.Generator, shape: tuple[int, int]) -> NDArray[np.int32]:
        if not self.bits:
            return rng.binomial(self.m, self.p, size=shape).astype(np.int32)
        raw = rng.bit_generator.random_raw(shape)
        cell = (raw >> np.uint64(64 - self.bits)).astype(np.int32)
        frac = raw & np.uint64((1 << (64 - self.bits)) - 1)
        out = np.where(frac < self.cut[cell], cell, self.alias[cell])
        out += self.offset
        return out


# --------------------------------------------------------------------------- statistics


def _proportion_chunk(
    rng: np.random.Generator,
    samplers: list[tuple[NDArray[np.intp], _Binomial, _Binomial]],
    n: NDArray[np.float32],
    sims: int,
) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]:
    """Pooled z, difference and its unpooled variance per (experiment, look).

    With equal arms, z = (c_B - c_A) sqrt(2n / (s (2n - s))), s = c_A + c_B, which is the
    pooled two-proportion z (statsmodels ``proportions_ztest``) written so that float32
    only ever sees exact integers and products (no cancellation).
    """
    looks = n.size
    inc_a = np.empty((sims, looks), np.int32)
    inc_b = np.empty((sims, looks), np.int32)
    for cols, arm_a, arm_b in samplers:
        inc_a[:, cols] = arm_a.draw(rng, (sims, cols.size))
        inc_b[:, cols] = arm_b.draw(rng, (sims, cols.size))
    ca = np.cumsum(inc_a, axis=1, out=inc_a)
    cb = np.cumsum(inc_b, axis=1, out=inc_b)
    s = (ca + cb).astype(np.float32)
    diff = (cb - ca).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = diff * np.sqrt(2 * n / (s * (2 * n - s)))
    fa, fb = ca.astype(np.float32), cb.astype(np.float32)
    var = (fa * (n - fa) + fb * (n - fb)) / (n * n * n)
    return z, diff / n, var


def _mean_chunk(
    rng: np.random.Generator,
    m: NDArray[np.float32],
    n: NDArray[np.float32],
    sd: float,
    effect: float,
    sims: int,
) -> tuple[NDArray[np.floating], NDArray[np.floating], NDArray[np.floating]]:
    """Welch z, difference and its variance per (experiment, look) for normal data.

    A block of m observations has sum ~ N(m mu, m sd^2) and, independently, sum of squared
    deviations ~ sd^2 chi^2_{m-1} = 2 sd^2 Gamma((m - 1)/2) (Cochran's theorem), so the
    cumulative means and sample variances follow exactly without drawing observations.
    Both arms are simulated centred at 0 and the effect added to the difference (z and
    the variances are translation invariant), which keeps float32 free of cancellation.
    """
    diff = np.zeros((sims, m.size), np.float32)
    var = np.zeros((sims, m.size), np.float32)
    for sign in (-1, 1):
        sums = rng.standard_normal((sims, m.size), dtype=np.float32) * (np.sqrt(m) * sd)
        ss = rng.standard_gamma((m - 1) / 2, (sims, m.size), dtype=np.float32) * (2 * sd * sd)
        total = np.cumsum(sums, axis=1)
        ssd = np.cumsum(ss + sums * sums / m, axis=1) - total * total / n
        with np.errstate(divide="ignore", invalid="ignore"):
            var += np.maximum(ssd, 0) / ((n - 1) * n)
        diff += sign * total / n
    diff += np.float32(effect)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = diff / np.sqrt(var)
    return z, diff, var


@dataclass(slots=True)
class _Tally:
    """Running counts of one rule's stopping looks and stopping sample sizes."""

    looks: int
    stops: NDArray[np.int64]
    n_sum: float = 0.0

    def add(self, crossed: NDArray[np.bool_], n: NDArray[np.int64], n_final: int) -> None:
        hit = crossed.any(axis=1)
        first = crossed.argmax(axis=1)[hit]
        self.stops += np.bincount(first, minlength=self.looks)
        self.n_sum += float(n[first].sum()) + n_final * float((~hit).sum())

    def summary(self, sims: int, bounds: NDArray[np.float64]) -> MethodSummary:
        rate = float(self.stops.sum()) / sims
        return MethodSummary(
            rejection_rate=rate,
            rejection_se=math.sqrt(rate * (1 - rate) / sims),
            mean_sample_size=self.n_sum / sims,
            stop_look_counts=tuple(int(x) for x in self.stops),
            z_bounds=tuple(float(b) for b in bounds),
        )


# --------------------------------------------------------------------------- simulation


def simulate_peeking(
    *,
    looks: int = 10,
    n_per_arm: int = 10_000,
    metric: str = "proportion",
    baseline: float | None = None,
    sd: float = 1.0,
    effect: float = 0.0,
    alpha: float = 0.05,
    simulations: int = 20_000,
    seed: int | None = None,
    spending: str = "lan-demets",
    paths: int = 50,
) -> PeekingResult:
    """Simulate ``simulations`` A/B tests with ``looks`` equally spaced two-sided analyses.

    ``metric="proportion"``: conversion rate ``baseline`` in A and ``baseline + effect`` in
    B (``effect`` an absolute difference). ``metric="mean"``: normal data with standard
    deviation ``sd``, mean ``baseline`` (default 0) in A and ``baseline + effect`` in B.
    Look k is at n_k = round(k n_per_arm / looks) users per arm. Rules: naive |z| >= z_{1-a/2}
    at every look; O'Brien-Fleming- and Pocock-type bounds at the actual fractions n_k / n
    (``spending="lan-demets"`` spending functions, or ``"classical"`` constants; see
    :func:`stats.group_sequential.group_sequential_bounds`); mSPRT with tau from
    :func:`stats.msprt.tau_for_planned_n` at 2 n_per_arm users and the design variance
    (baseline rate, or sd). Caps: ``simulations`` <= 100,000 and ``looks`` <= 100, so the
    work is at most 10,000,000 experiment-looks (under a second), drawn in chunks of about
    65,000. ``exact_naive_rate`` comes from the recursion, not from the simulation.
    """
    k = _validate.count("looks", looks, minimum=1)
    if k > MAX_LOOKS:
        raise InvalidInput(
            f"looks must be a whole number in [1, {MAX_LOOKS}], got {looks!r}", field="looks"
        )
    n_arm = _validate.count("n_per_arm", n_per_arm, minimum=k)
    if n_arm > MAX_N_PER_ARM:
        raise InvalidInput(
            f"n_per_arm must be <= {MAX_N_PER_ARM:,}, got {n_per_arm!r}", field="n_per_arm"
        )
    metric = _validate.choice("metric", metric, METRICS)
    effect = _validate.finite("effect", effect)
    alpha = design_alpha(alpha)
    sims = _validate.count("simulations", simulations, minimum=1)
    if sims > MAX_SIMULATIONS:
        raise InvalidInput(
            f"simulations must be <= {MAX_SIMULATIONS:,}, got {simulations!r}", field="simulations"
        )
    if seed is not None:
        seed = _validate.count("seed", seed)
    spending = _validate.choice("spending", spending, PEEKING_SPENDINGS)
    n_paths = _validate.count("paths", paths)
    if n_paths > MAX_PATHS:
        raise InvalidInput(f"paths must be <= {MAX_PATHS}, got {paths!r}", field="paths")
    warnings: list[ResultWarning] = []
    if metric == "proportion":
        if baseline is None:
            raise InvalidInput(
                "baseline must be in (0, 1) for a proportion metric, got None", field="baseline"
            )
        p_a = _validate.in_open_unit("baseline", baseline)
        p_b = p_a + effect
        if not 0.0 < p_b < 1.0:
            raise InvalidInput(
                f"effect must keep baseline + effect in (0, 1), got {effect!r}", field="effect"
            )
        unit_variance = 2 * p_a * (1 - p_a)
        if p_a * n_arm / k < 10:
            warnings.append(
                warning(
                    Code.SMALL_COUNTS,
                    "Fewer than 10 expected conversions per arm at the first look: early z "
                    "statistics are far from normal.",
                )
            )
    else:
        p_a = 0.0 if baseline is None else _validate.finite("baseline", baseline)  # A's mean
        sd = _validate.positive("sd", sd)
        unit_variance = 2 * sd * sd

    look_n = (2 * np.arange(1, k + 1) * n_arm + k) // (2 * k)
    inc = np.diff(look_n, prepend=0)
    t = look_n / n_arm
    z_naive = float(-special.ndtri(alpha / 2))
    family = "" if spending == "lan-demets" else "classical-"
    b_obf = critical_values(t, alpha, True, f"{family}obrien-fleming", 0.0)
    b_poc = critical_values(t, alpha, True, f"{family}pocock", 0.0)
    tau = tau_for_planned_n(unit_variance, 2 * n_arm, alpha)
    v_design = unit_variance / look_n
    b_msprt = np.array([cs_halfwidth(v, tau, alpha) / math.sqrt(v) for v in v_design])
    threshold = -math.log(alpha)

    rng = np.random.default_rng(seed)
    tallies = [_Tally(k, np.zeros(k, np.int64)) for _ in range(4)]
    z_rows: list[NDArray[np.floating]] = []
    chunk = max(1, _CHUNK // k)
    if metric == "proportion":
        samplers = [
            (np.flatnonzero(inc == m), _Binomial.build(int(m), p_a), _Binomial.build(int(m), p_b))
            for m in np.unique(inc)
        ]
        n32 = look_n.astype(np.float32)
        bounds = [np.float32(z_naive), b_obf.astype(np.float32), b_poc.astype(np.float32)]
    else:
        m32, n32 = inc.astype(np.float32), look_n.astype(np.float32)
        bounds = [np.float32(z_naive), b_obf.astype(np.float32), b_poc.astype(np.float32)]
    for start in range(0, sims, chunk):
        size = min(chunk, sims - start)
        if metric == "proportion":
            z, diff, var = _proportion_chunk(rng, samplers, n32, size)
        else:
            z, diff, var = _mean_chunk(rng, m32, n32, sd, effect, size)
        if len(z_rows) * chunk < n_paths:
            z_rows.append(z[: n_paths - start])
        az = np.abs(z)
        for tally, bound in zip(tallies[:3], bounds, strict=True):
            tally.add(az >= bound, look_n, n_arm)
        tallies[3].add(mixture_log_lr(diff, var, tau) >= threshold, look_n, n_arm)

    z_paths = np.concatenate(z_rows)[:n_paths] if z_rows else np.zeros((0, k))
    summaries = [
        tally.summary(sims, b)
        for tally, b in zip(tallies, (np.full(k, z_naive), b_obf, b_poc, b_msprt), strict=True)
    ]
    curve = naive_peeking_curve(alpha)
    return PeekingResult(
        methods=PeekingMethods(*summaries),
        exact_naive_rate=curve[k - 1],
        exact_naive_curve=NaiveCurve(tuple(range(1, MAX_LOOKS + 1)), curve),
        look_n=tuple(int(x) for x in look_n),
        z_paths=tuple(tuple(float(x) for x in row) for row in z_paths),
        tau=tau,
        looks=k,
        n_per_arm=n_arm,
        simulations=sims,
        metric=metric,
        baseline=p_a,
        sd=sd if metric == "mean" else math.sqrt(p_a * (1 - p_a)),
        effect=effect,
        alpha=alpha,
        spending=spending,
        seed=seed,
        warnings=tuple(warnings),
    )
