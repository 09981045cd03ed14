"""Per-segment effects, their heterogeneity, and partial pooling across segments.

Given one effect estimate and its standard error per segment (device, country, …), for one
treatment against control:

* **Per-segment results**: the normal (Wald) interval and two-sided p-value of each segment,
  with p-values adjusted across segments (Holm by default, Benjamini–Hochberg on request:
  :func:`stats.comparisons.adjust_pvalues`, statsmodels).
* **Heterogeneity** (:func:`heterogeneity`): Cochran's Q test of treatment × segment
  interaction (Cochran 1954), with I² (Higgins & Thompson 2002, *Stat. Med.* 21, 1539–1558)
  and the DerSimonian–Laird moment estimate of τ² (DerSimonian & Laird 1986, *Controlled
  Clinical Trials* 7, 177–188).
* **A stratified overall effect**: the inverse-variance weighted mean of the segments
  (:func:`inverse_variance`); for conversions the Mantel–Haenszel risk difference with the
  Sato variance (:func:`mantel_haenszel_difference`).
* **Simpson's paradox** (:func:`simpson_warnings`): the pooled (unstratified) effect points
  the other way from every segment, or from the stratified effect.
* **Partial pooling** (:func:`partial_pooling`): the hierarchical normal model of Gelman et
  al., *Bayesian Data Analysis* (3rd ed., 2013), §5.4–5.5, with a uniform prior on (μ, τ).
  The marginal posterior of τ (BDA3 eq. 5.21) is computed by quadrature on a grid, not by
  MCMC; each segment's effect is then a mixture over τ of normals (BDA3 eqs. 5.17, 5.20),
  whose mean, variance, quantiles and P(effect > 0) are computed from the mixture itself.
* **A verdict per segment** (:func:`verdicts`) for the summary sentence: "wins", "loses",
  "no effect" or "too thin to tell", so conflicts between segments are stated, never averaged
  away.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import special
from scipy import stats as sps

from stats import _validate
from stats._text import p_is, sig
from stats.comparisons import CORRECTIONS, Comparison, Correction, adjust_pvalues
from stats.errors import InvalidInput
from stats.sufficient import MeanStats, ProportionStats, RatioStats
from stats.warnings import Code, ResultWarning, warning

MAX_SEGMENTS = 200
"""Most segments in one analysis (each costs a column of the quadrature grid)."""
MIN_POOLING_SEGMENTS = 3
"""With a uniform prior on τ the posterior of τ is proper only from 3 segments (it falls off
like τ^(1−J)); its mean is finite only from 4 (BDA3 §5.4, "noninformative prior for τ")."""
GRID_POINTS = 256
"""Nodes of each of the two quadrature passes over log τ (:func:`tau_posterior`)."""
Verdict = Literal["wins", "loses", "no effect", "too thin to tell"]
Direction = Literal["higher", "lower"]


@dataclass(frozen=True, slots=True)
class Estimate:
    """An overall effect: ``estimate`` with its ``se``, normal interval and p-value;
    ``method`` says how it was formed. For ``hierarchical`` (the posterior of μ) ``se`` is
    the posterior sd, the interval a posterior interval and ``pvalue`` NaN."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    pvalue: float
    method: str


@dataclass(frozen=True, slots=True)
class Heterogeneity:
    """Cochran's Q on ``df`` = J − 1 degrees of freedom, its p-value, I² (share of the
    variation beyond chance, 0 to 1) and the DerSimonian–Laird τ² (both truncated at 0)."""

    q: float
    df: int
    pvalue: float
    i2: float
    tau2: float


@dataclass(frozen=True, slots=True)
class TauPosterior:
    """The marginal posterior of τ on its quadrature grid: nodes ``tau`` with normalised
    ``weights``, and per node the conditional posterior of μ, N(``mu_hat``, ``v_mu``)."""

    tau: np.ndarray
    weights: np.ndarray
    mu_hat: np.ndarray
    v_mu: np.ndarray


@dataclass(frozen=True, slots=True)
class Pooling:
    """Partial pooling of J segments (BDA3 §5.4): per segment the posterior ``mean``,
    ``sd``, central interval at ``level`` and P(effect > 0); the posterior of μ (the
    population mean effect) and of τ (the spread of true effects). ``tau_mean`` is NaN for
    3 segments, where it is infinite under the uniform prior."""

    mean: tuple[float, ...]
    sd: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    prob_positive: tuple[float, ...]
    mu_mean: float
    mu_sd: float
    mu_ci_low: float
    mu_ci_high: float
    tau_mean: float
    tau_median: float
    tau_ci_low: float
    tau_ci_high: float
    level: float


@dataclass(frozen=True, slots=True)
class SegmentEffect:
    """One segment's effect: raw (``estimate``, ``se``, Wald interval, p-values) and after
    partial pooling (``shrunk_*``, NaN with fewer than 3 segments), and its ``verdict``."""

    name: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    pvalue: float
    pvalue_adjusted: float
    shrunk_estimate: float
    shrunk_sd: float
    shrunk_ci_low: float
    shrunk_ci_high: float
    prob_positive: float
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class SegmentAnalysis:
    """Every segment of one comparison, their heterogeneity, the stratified ``overall``
    effect, the ``pooled`` (unstratified) one when known, and the hierarchical model's μ
    (``hierarchical``) and ``tau`` (posterior mean of τ)."""

    segments: tuple[SegmentEffect, ...]
    heterogeneity: Heterogeneity
    overall: Estimate
    pooled: Estimate | None
    hierarchical: Estimate | None
    tau: float
    tau_median: float
    tau_ci_low: float
    tau_ci_high: float
    alpha: float
    correction: Correction
    direction: Direction
    warnings: tuple[ResultWarning, ...] = ()


def normal_estimate(estimate: float, se: float, alpha: float, method: str) -> Estimate:
    """``estimate`` ± z·``se`` and the two-sided normal p-value."""
    z = sps.norm.ppf(1 - alpha / 2)
    p = float(2 * special.ndtr(-abs(estimate) / se)) if se > 0 else math.nan
    return Estimate(estimate, se, estimate - z * se, estimate + z * se, p, method)


def heterogeneity(estimates: np.ndarray, ses: np.ndarray) -> Heterogeneity:
    """Cochran's Q = Σ wⱼ (yⱼ − ȳ_w)², wⱼ = 1/sⱼ², on J − 1 df (Cochran 1954, *Biometrics*
    10, 101–129); I² = max(0, (Q − df)/Q) (Higgins & Thompson 2002, eq. 9); τ² by
    DerSimonian & Laird (1986): max(0, (Q − df) / (Σw − Σw²/Σw))."""
    w = 1.0 / ses**2
    mean = float(np.sum(w * estimates) / np.sum(w))
    q = float(np.sum(w * (estimates - mean) ** 2))
    df = len(estimates) - 1
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    tau2 = max(0.0, (q - df) / (np.sum(w) - np.sum(w**2) / np.sum(w)))
    return Heterogeneity(q, df, float(sps.chi2.sf(q, df)), i2, float(tau2))


def inverse_variance(estimates: np.ndarray, ses: np.ndarray, alpha: float) -> Estimate:
    """The fixed-effect (stratified) overall effect Σ wⱼ yⱼ / Σ wⱼ, wⱼ = 1/sⱼ², with
    variance 1/Σ wⱼ (Borenstein et al., *Introduction to Meta-Analysis*, 2009, §11)."""
    w = 1.0 / ses**2
    total = float(np.sum(w))
    return normal_estimate(
        float(np.sum(w * estimates) / total), math.sqrt(1.0 / total), alpha, "inverse-variance"
    )


def mantel_haenszel_difference(
    conversions_t: ArrayLike,
    users_t: ArrayLike,
    conversions_c: ArrayLike,
    users_c: ArrayLike,
    alpha: float,
) -> Estimate:
    """The Mantel–Haenszel risk difference over strata (treatment − control),
    Σ wₖ dₖ / Σ wₖ with wₖ = n₁ₖ n₀ₖ / Nₖ, and Sato's variance (Sato 1989, *Biometrics* 45,
    1323–1324; Greenland & Robins 1985, *Biometrics* 41, 55–68), consistent both for a few
    large strata and for many sparse ones:

        Var = (RD·ΣPₖ + ΣQₖ) / (Σwₖ)²,
        Pₖ = (n₁² b − n₀² a + n₁ n₀ (n₀ − n₁)/2) / N²,   Qₖ = (a (n₀ − b) + b (n₁ − a)) / (2N)

    with a, b the conversions of treatment and control (Rothman, Greenland & Lash, *Modern
    Epidemiology*, 3rd ed., eq. 15-18).
    """
    a, n1 = np.asarray(conversions_t, float), np.asarray(users_t, float)
    b, n0 = np.asarray(conversions_c, float), np.asarray(users_c, float)
    n = n1 + n0
    w = n1 * n0 / n
    rd = float(np.sum(w * (a / n1 - b / n0)) / np.sum(w))
    p = (n1**2 * b - n0**2 * a + n1 * n0 * (n0 - n1) / 2) / n**2
    q = (a * (n0 - b) + b * (n1 - a)) / (2 * n)
    var = (rd * np.sum(p) + np.sum(q)) / np.sum(w) ** 2
    return normal_estimate(rd, math.sqrt(max(float(var), 0.0)), alpha, "mantel-haenszel")


def _marginal(tau: np.ndarray, y: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, ...]:
    """log p(τ | y) up to a constant under p(μ, τ) ∝ 1 (BDA3 eq. 5.21), with μ̂(τ) and
    V_μ(τ) (eq. 5.20), for each τ of ``tau``."""
    w = 1.0 / (v + tau[:, None] ** 2)
    v_mu = 1.0 / w.sum(axis=1)
    mu_hat = (w * y).sum(axis=1) * v_mu
    log_p = 0.5 * (np.log(v_mu) + np.log(w).sum(axis=1) - (w * (y - mu_hat[:, None]) ** 2).sum(1))
    return log_p, mu_hat, v_mu


def tau_posterior(estimates: np.ndarray, ses: np.ndarray) -> TauPosterior:
    """The marginal posterior of τ by quadrature in log τ, in two passes.

    A first grid of :data:`GRID_POINTS` nodes spans τ from 1e-7 to 1e4 times the data's
    scale (√(mean sⱼ² + var yⱼ)); a second grid as fine spans only where the first found
    the log density within 40 of its peak (e⁻⁴⁰ ≈ 4e-18 of it), plus one coarse step each
    side. In log τ the trapezoid weights are p(τ)·τ·Δ; the mass on [0, τ_min] (p is flat
    there) goes to a node at τ = 0. Unlike a fixed grid in τ this follows a posterior of
    any width, from a spike near 0 to a long tail.
    """
    v = ses**2
    scale = math.sqrt(float(np.mean(v) + np.var(estimates)))
    t = np.linspace(math.log(scale * 1e-7), math.log(scale * 1e4), GRID_POINTS)
    log_p = _marginal(np.exp(t), estimates, v)[0] + t
    keep = np.flatnonzero(log_p > log_p.max() - 40.0)
    step = t[1] - t[0]
    t = np.linspace(t[keep[0]] - step, t[keep[-1]] + step, GRID_POINTS)
    tau = np.concatenate([[0.0], np.exp(t)])
    log_p, mu_hat, v_mu = _marginal(tau, estimates, v)
    dt = t[1] - t[0]
    log_w = log_p + np.concatenate([[t[0]], t + math.log(dt)])  # τ = 0 holds [0, τ_min]
    log_w[[1, -1]] -= math.log(2.0)  # trapezoid ends
    weights = np.exp(log_w - log_w.max())
    return TauPosterior(tau, weights / weights.sum(), mu_hat, v_mu)


def _mixture_quantiles(
    weights: np.ndarray, means: np.ndarray, sds: np.ndarray, probs: Sequence[float]
) -> np.ndarray:
    """Quantiles of mixtures of normals: row i of ``means``/``sds`` (shape M × K) is a
    mixture with the shared ``weights``; returns M × len(probs).

    Solves Σₖ wₖ Φ((x − mₖ)/sₖ) = p by Newton's method from the normal approximation (the
    mixture's mean and sd), kept inside a bracket that halves whenever a step leaves it, so
    it converges for any mixture (the CDF is increasing); it stops when every step is below
    1e-10 of the mixture's sd. Nodes of weight below 1e-15 are left out (a change in the
    CDF far below its rounding).
    """
    used = weights > 1e-15
    w, m3, s3 = weights[used], means[:, None, used], sds[:, None, used]
    target = np.asarray(probs, float)[None, :]
    mean = means[:, used] @ w
    sd = np.sqrt(np.maximum((sds[:, used] ** 2 + means[:, used] ** 2) @ w - mean**2, 1e-300))
    lo = np.broadcast_to((m3 - 40 * s3).min(axis=2), (means.shape[0], target.size)).copy()
    hi = np.broadcast_to((m3 + 40 * s3).max(axis=2), lo.shape).copy()
    x = np.clip(mean[:, None] + sd[:, None] * special.ndtri(target), lo, hi)
    for _ in range(60):
        z = (x[:, :, None] - m3) / s3
        gap = special.ndtr(z) @ w - target
        density = (np.exp(-0.5 * z**2) / s3) @ w / math.sqrt(2 * math.pi)
        lo = np.where(gap < 0, x, lo)
        hi = np.where(gap > 0, x, hi)
        step = x - gap / np.maximum(density, 1e-300)
        new = np.where((step >= lo) & (step <= hi), step, (lo + hi) / 2)
        done = np.all(np.abs(new - x) <= 1e-10 * sd[:, None])
        x = new
        if done:
            break
    return x


def partial_pooling(estimates: np.ndarray, ses: np.ndarray, alpha: float = 0.05) -> Pooling:
    """The hierarchical normal model yⱼ ~ N(θⱼ, sⱼ²), θⱼ ~ N(μ, τ²), p(μ, τ) ∝ 1 (Gelman
    et al., BDA3 §5.4–5.5), integrated over τ by quadrature (:func:`tau_posterior`).

    Given τ, θⱼ | τ, y is normal with mean (1 − Bⱼ) yⱼ + Bⱼ μ̂ and variance
    sⱼ²(1 − Bⱼ) + Bⱼ² V_μ, Bⱼ = sⱼ²/(sⱼ² + τ²) (BDA3 eq. 5.17 with μ integrated out over
    N(μ̂, V_μ), eq. 5.20). Over τ it is a mixture of those normals: its mean and variance
    are the mixture's moments, its interval the mixture's own α/2 and 1 − α/2 quantiles
    (not a normal approximation: the mixture is heavier-tailed), and P(θⱼ > 0) the mixture's
    Σ wₖ Φ(meanₖ/sdₖ).
    """
    post = tau_posterior(estimates, ses)
    v = ses**2
    tau2 = post.tau[:, None] ** 2
    b = v / (v + tau2)  # K × J shrinkage factors
    means = (1 - b) * estimates + b * post.mu_hat[:, None]
    sds = np.sqrt(v * (1 - b) + b**2 * post.v_mu[:, None])
    w = post.weights
    mean = w @ means
    sd = np.sqrt(np.maximum(w @ (sds**2 + means**2) - mean**2, 0.0))
    prob = w @ special.ndtr(means / sds)
    probs = (alpha / 2, 1 - alpha / 2)
    mu_sd = np.sqrt(post.v_mu)
    q = _mixture_quantiles(w, np.vstack([means.T, post.mu_hat]), np.vstack([sds.T, mu_sd]), probs)
    cdf = np.cumsum(w)
    tau_q = np.interp([0.5, *probs], cdf, post.tau)
    j = len(estimates)
    mu_mean = float(w @ post.mu_hat)
    return Pooling(
        mean=tuple(mean.tolist()),
        sd=tuple(sd.tolist()),
        ci_low=tuple(q[:j, 0].tolist()),
        ci_high=tuple(q[:j, 1].tolist()),
        prob_positive=tuple(prob.tolist()),
        mu_mean=mu_mean,
        mu_sd=math.sqrt(max(float(w @ (post.v_mu + post.mu_hat**2)) - mu_mean**2, 0.0)),
        mu_ci_low=float(q[j, 0]),
        mu_ci_high=float(q[j, 1]),
        tau_mean=float(w @ post.tau) if j > MIN_POOLING_SEGMENTS else math.nan,
        tau_median=float(tau_q[0]),
        tau_ci_low=float(tau_q[1]),
        tau_ci_high=float(tau_q[2]),
        level=1 - alpha,
    )


def verdicts(
    effects: Sequence[tuple[float, float, float, float]],
    references: Sequence[float],
    alpha: float,
    direction: Direction = "higher",
) -> list[Verdict]:
    """Each segment's verdict from (estimate, ci_low, ci_high, pvalue_adjusted) and its
    reference, the effect seen elsewhere (:func:`leave_one_out`):

    * "wins" / "loses": the adjusted p-value is below α, in the better / worse direction;
    * "no effect": not significant, and the interval excludes the reference, so the
      segment rules out the effect seen in the other segments;
    * "too thin to tell": not significant and the interval holds both 0 and the reference,
      so the segment's data cannot tell them apart.

    The raw intervals decide, not the shrunken ones: partial pooling pulls segments towards
    each other and would hide the very conflicts this names.
    """
    sign = 1.0 if direction == "higher" else -1.0
    found: list[Verdict] = []
    for (estimate, low, high, p_adj), reference in zip(effects, references, strict=True):
        if p_adj < alpha:
            found.append("wins" if sign * estimate > 0 else "loses")
        elif low <= reference <= high:
            found.append("too thin to tell")
        else:
            found.append("no effect")
    return found


def leave_one_out(estimates: np.ndarray, ses: np.ndarray) -> np.ndarray:
    """For each segment, the inverse-variance effect of all the other segments (summed over
    the others, not as the total minus the segment, which cancels when one segment holds
    nearly all the weight)."""
    others = (1.0 / ses**2)[None, :] * (1.0 - np.eye(len(ses)))
    result: np.ndarray = (others @ estimates) / others.sum(axis=1)
    return result


def simpson_warnings(
    pooled: Estimate | None, stratified: Estimate, estimates: np.ndarray, alpha: float
) -> tuple[ResultWarning, ...]:
    """A Simpson's-paradox warning when the pooled (unstratified) effect points the other
    way from every segment's estimate, or from the stratified effect, and the pooled or the
    stratified effect is significant at α (two noisy estimates near 0 disagree in sign half
    the time, which is no paradox). Bickel, Hammel & O'Connell (1975, *Science* 187,
    398–404) is the classic case: Berkeley's 1973 admissions favour men pooled, but not
    within departments."""
    if pooled is None or pooled.estimate == 0:
        return ()
    significant = min(pooled.pvalue, stratified.pvalue) < alpha
    sign = np.sign(pooled.estimate)
    against_all = bool(np.all(np.sign(estimates) == -sign))
    against_strat = np.sign(stratified.estimate) == -sign
    if not significant or not (against_all or against_strat):
        return ()
    reason = (
        "every segment's effect points the other way"
        if against_all
        else f"the stratified effect ({sig(stratified.estimate, 3)}, {stratified.method}) "
        "points the other way"
    )
    message = (
        f"Simpson's paradox: the pooled effect is {sig(pooled.estimate, 3)} "
        f"({p_is(pooled.pvalue)}), but {reason}. The segments differ in size or baseline "
        "between variants; trust the stratified and per-segment effects, and check how "
        "traffic was split across segments."
    )
    return (warning(Code.SIMPSONS_PARADOX, message),)


def _check(
    names: Sequence[str], estimates: Sequence[float], ses: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    if not 2 <= len(names) <= MAX_SEGMENTS:
        raise InvalidInput(
            f"segments must hold 2 to {MAX_SEGMENTS} segments, got {len(names)}",
            field="segments",
        )
    seen: set[str] = set()
    for i, name in enumerate(names):
        if not str(name).strip():
            raise InvalidInput(f"segments[{i}].name must not be empty", field=f"segments[{i}].name")
        if name in seen:
            raise InvalidInput(
                f"segments[{i}].name {name!r} repeats; each segment needs its own name",
                field=f"segments[{i}].name",
            )
        seen.add(name)
    y = np.array([_validate.bounded(f"segments[{i}].estimate", e) for i, e in enumerate(estimates)])
    s = np.array([_validate.positive(f"segments[{i}].se", e) for i, e in enumerate(ses)])
    if np.any(s > 1e100) or np.any(s < 1e-100):
        i = int(np.flatnonzero((s > 1e100) | (s < 1e-100))[0])
        raise InvalidInput(
            f"segments[{i}].se must be between 1e-100 and 1e100, got {ses[i]!r}",
            field=f"segments[{i}].se",
        )
    return y, s


def analyze_segments(
    names: Sequence[str],
    estimates: Sequence[float],
    ses: Sequence[float],
    *,
    alpha: float = 0.05,
    correction: Correction = "holm",
    direction: Direction = "higher",
    pooled: Estimate | None = None,
    stratified: Estimate | None = None,
) -> SegmentAnalysis:
    """Per-segment effects of one comparison, heterogeneity, the overall effect, partial
    pooling and the Simpson check.

    ``stratified`` replaces the inverse-variance overall effect (the Mantel–Haenszel risk
    difference for conversions); ``pooled`` is the unstratified effect (all segments in one
    comparison), compared with it for Simpson's paradox. Partial pooling needs 3 segments;
    with 2 the shrunken fields are NaN and a warning says why.
    """
    alpha = _validate.alpha(alpha)
    _validate.choice("correction", correction, CORRECTIONS)
    with np.errstate(over="ignore", invalid="ignore"):
        # Standard errors from 1e-100 to 1e100 beside estimates to 1e100 can overflow a
        # weighted square: that statistic is then infinite (null in JSON), not an error.
        return _analyze(names, estimates, ses, alpha, correction, direction, pooled, stratified)


def _analyze(
    names: Sequence[str],
    estimates: Sequence[float],
    ses: Sequence[float],
    alpha: float,
    correction: Correction,
    direction: Direction,
    pooled: Estimate | None,
    stratified: Estimate | None,
) -> SegmentAnalysis:
    _validate.choice("direction", direction, ("higher", "lower"))
    y, s = _check(names, estimates, ses)
    raw = [normal_estimate(float(e), float(se), alpha, "wald") for e, se in zip(y, s, strict=True)]
    adjusted = adjust_pvalues([r.pvalue for r in raw], correction)
    overall = stratified or inverse_variance(y, s, alpha)
    warnings: tuple[ResultWarning, ...] = ()
    nan = (math.nan,) * len(y)
    if len(y) >= MIN_POOLING_SEGMENTS:
        pool = partial_pooling(y, s, alpha)
        shrunk = (pool.mean, pool.sd, pool.ci_low, pool.ci_high, pool.prob_positive)
        hierarchical: Estimate | None = Estimate(
            pool.mu_mean, pool.mu_sd, pool.mu_ci_low, pool.mu_ci_high, math.nan, "hierarchical"
        )
        taus = (pool.tau_mean, pool.tau_median, pool.tau_ci_low, pool.tau_ci_high)
        if len(y) == MIN_POOLING_SEGMENTS:
            warnings += (
                warning(
                    Code.FEW_SEGMENTS,
                    "With 3 segments the posterior mean of τ is infinite under the uniform "
                    "prior (BDA3 §5.4): the spread of true effects is summarised by its median.",
                ),
            )
    else:
        shrunk = (nan, nan, nan, nan, nan)
        hierarchical = None
        taus = (math.nan,) * 4
        warnings += (
            warning(
                Code.FEW_SEGMENTS,
                "Partial pooling needs at least 3 segments (with 2, the spread of true "
                "effects cannot be estimated): the shrunken effects are left out.",
            ),
        )
    kinds = verdicts(
        [(r.estimate, r.ci_low, r.ci_high, p) for r, p in zip(raw, adjusted, strict=True)],
        leave_one_out(y, s).tolist(),
        alpha,
        direction,
    )
    segments = tuple(
        SegmentEffect(
            name=str(names[i]),
            estimate=r.estimate,
            se=r.se,
            ci_low=r.ci_low,
            ci_high=r.ci_high,
            pvalue=r.pvalue,
            pvalue_adjusted=float(adjusted[i]),
            shrunk_estimate=shrunk[0][i],
            shrunk_sd=shrunk[1][i],
            shrunk_ci_low=shrunk[2][i],
            shrunk_ci_high=shrunk[3][i],
            prob_positive=shrunk[4][i],
            verdict=kinds[i],
        )
        for i, r in enumerate(raw)
    )
    warnings += simpson_warnings(pooled, overall, y, alpha)
    return SegmentAnalysis(
        segments=segments,
        heterogeneity=heterogeneity(y, s),
        overall=overall,
        pooled=pooled,
        hierarchical=hierarchical,
        tau=taus[0],
        tau_median=taus[1],
        tau_ci_low=taus[2],
        tau_ci_high=taus[3],
        alpha=alpha,
        correction=correction,
        direction=direction,
        warnings=warnings,
    )


Arms = Sequence[ProportionStats] | Sequence[MeanStats] | Sequence[RatioStats]


@dataclass(frozen=True, slots=True)
class SegmentComparison:
    """One treatment against control, segment by segment (``analysis``); ``left_out``
    names the segments without a defined effect (an arm with no users, or no variation)."""

    variant: str
    control: str
    analysis: SegmentAnalysis
    left_out: tuple[str, ...] = ()


def wald_difference(
    treatment: ProportionStats | MeanStats | RatioStats,
    control: ProportionStats | MeanStats | RatioStats,
) -> tuple[float, float] | None:
    """Treatment − control and its unpooled standard error: √(p₁q₁/n₁ + p₀q₀/n₀) for
    conversions, √(s₁²/n₁ + s₀²/n₀) for means (Welch), and for ratios R₁ − R₀ with
    √(se₁² + se₀²) from each arm's delta-method variance (Deng, Knoblich & Lu 2018, §3: the
    estimate and se of :func:`stats.comparisons.compare_ratios`). ``None`` when it is
    undefined: an arm with fewer than 2 users, or a standard error of 0 (no variation in
    either arm)."""
    if isinstance(treatment, ProportionStats) and isinstance(control, ProportionStats):
        if treatment.users < 2 or control.users < 2:
            return None
        p1, p0 = treatment.conversions / treatment.users, control.conversions / control.users
        var = p1 * (1 - p1) / treatment.users + p0 * (1 - p0) / control.users
        diff = p1 - p0
    elif isinstance(treatment, MeanStats) and isinstance(control, MeanStats):
        if treatment.n < 2 or control.n < 2:
            return None
        var = treatment.sd**2 / treatment.n + control.sd**2 / control.n
        diff = treatment.mean - control.mean
    elif isinstance(treatment, RatioStats) and isinstance(control, RatioStats):
        if treatment.n < 2 or control.n < 2:
            return None
        var = treatment.se**2 + control.se**2
        diff = treatment.mean - control.mean
    else:
        raise InvalidInput("segments must hold one kind of metric", field="segments")
    return (diff, math.sqrt(var)) if var > 0 else None


def compare_segments(
    segments: Sequence[tuple[str, Arms]],
    pooled: Arms,
    *,
    control: str,
    alpha: float = 0.05,
    correction: Correction = "holm",
    direction: Direction = "higher",
) -> tuple[SegmentComparison, ...]:
    """Each treatment against ``control`` within each segment (``segments``: a name and the
    per-variant statistics of that segment), with :func:`analyze_segments`.

    The per-segment effects are Wald differences (:func:`wald_difference`; for ratios the
    delta method); the stratified overall effect is the Mantel–Haenszel risk difference for
    conversions (:func:`mantel_haenszel_difference`) and the inverse-variance mean for means
    and ratios; the ``pooled`` statistics (every segment together) give the unstratified
    effect that the Simpson check compares with them. A treatment with fewer than 2 segments of defined
    effect is left out.
    """
    by_name = {v.name: v for v in pooled}
    if control not in by_name:
        raise InvalidInput(f"control {control!r} is not a variant", field="control")
    found = []
    for variant in (v.name for v in pooled if v.name != control):
        names, effects, cells, left_out = [], [], [], []
        for name, arms in segments:
            arm = {a.name: a for a in arms}
            t, c = arm.get(variant), arm.get(control)
            effect = None if t is None or c is None else wald_difference(t, c)
            if effect is None or t is None or c is None:
                left_out.append(name)
                continue
            names.append(name)
            effects.append(effect)
            cells.append((t, c))
        if len(names) < 2:
            continue
        stratified = None
        if isinstance(by_name[control], ProportionStats):
            ts, cs = zip(*cells, strict=True)
            stratified = mantel_haenszel_difference(
                [t.conversions for t in ts],
                [t.users for t in ts],
                [c.conversions for c in cs],
                [c.users for c in cs],
                alpha,
            )
        whole = wald_difference(by_name[variant], by_name[control])
        analysis = analyze_segments(
            names,
            *zip(*effects, strict=True),
            pooled=None if whole is None else normal_estimate(*whole, alpha, "pooled"),
            stratified=stratified,
            alpha=alpha,
            correction=correction,
            direction=direction,
        )
        found.append(SegmentComparison(variant, control, analysis, tuple(left_out)))
    return tuple(found)


def comparison_se(c: Comparison) -> float:
    """The standard error behind a comparison's two-sided interval: its width over twice
    the normal (or, with ``df``, Student t) quantile of its level."""
    tail = (1 - c.ci_level) / 2
    q = sps.t.ppf(1 - tail, c.df) if c.df is not None else sps.norm.ppf(1 - tail)
    return float((c.ci_high - c.ci_low) / (2 * q))


def compare_adjusted(
    segments: Sequence[tuple[str, Sequence[Comparison]]],
    pooled: Sequence[Comparison],
    *,
    alpha: float = 0.05,
    correction: Correction = "holm",
    direction: Direction = "higher",
) -> tuple[SegmentComparison, ...]:
    """:func:`analyze_segments` of comparisons made within each segment by another method
    (CUPED-adjusted differences, each segment adjusted on its own): each treatment's
    estimate and the standard error behind its interval (:func:`comparison_se`), with the
    ``pooled`` comparison (every segment together) for the Simpson check. The overall effect
    is the inverse-variance one. Segments whose comparison is missing or has no finite
    standard error are left out."""
    found = []
    for whole in pooled:
        names, effects, left_out = [], [], []
        for name, comparisons in segments:
            c = next((x for x in comparisons if x.variant == whole.variant), None)
            se = comparison_se(c) if c is not None else math.nan
            if c is None or not (math.isfinite(se) and se > 0 and math.isfinite(c.estimate)):
                left_out.append(name)
                continue
            names.append(name)
            effects.append((c.estimate, se))
        if len(names) < 2:
            continue
        pooled_effect = normal_estimate(whole.estimate, comparison_se(whole), alpha, "pooled")
        analysis = analyze_segments(
            names,
            *zip(*effects, strict=True),
            pooled=pooled_effect,
            alpha=alpha,
            correction=correction,
            direction=direction,
        )
        found.append(SegmentComparison(whole.variant, whole.control, analysis, tuple(left_out)))
    return tuple(found)
