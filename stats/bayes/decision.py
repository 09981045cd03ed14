"""Decision quantities of a Bayesian A/B test: P(best), expected loss, CVaR, lift, HDI, ROPE.

Closed forms for two Beta arms (Evan Miller's P(B > A), Chris Stucchio's expected loss),
pairwise lift distributions by numerical convolution of closed-form posteriors, joint
summaries from a (variants × draws) matrix, and the "threshold of caring" decision rule.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import fft, integrate, special

from stats._text import points as pct_points
from stats.bayes.models import BetaPosterior, ClosedFormPosterior, FloatArray

MAX_SUM_TERMS = 1_000_000
"""Longest Miller sum evaluated; beyond it (or for non-integer parameters) use quadrature."""

GRID_TAIL = 1e-8
"""Mass cut from each tail of each posterior when it is put on a grid."""

CELLS_PER_WIDTH = 200
"""Grid cells per 95% central width of the narrowest posterior of a pair."""

MAX_CELLS = 2**16
"""Largest grid per posterior; a pair that needs more (very heavy tails) is left to draws."""

CVAR_TAIL = 0.05
"""CVaR is the mean of the worst 5% of the loss."""

QUADRATURE_CHECK = 1e-10
"""Largest gap between a grid's Gauss–Legendre total mass and its CDF's before the grid
falls back to CDF differences (see ``_grid_masses``)."""

_GAUSS_2 = np.array([-0.5, 0.5]) / math.sqrt(3.0)
"""The two Gauss–Legendre nodes ±1/√3 on a cell of unit width centred at 0."""


MILLER_BLOCK = 1024
"""Terms of a Miller sum between two terms evaluated directly (``_miller_sum``)."""


def _miller_sum(a1: float, b1: float, a2: float, b2: float) -> float:
    """P(X > Y) for X ~ Beta(a1, b1), Y ~ Beta(a2, b2), integer ``a1``.

    Evan Miller, "Formulas for Bayesian A/B Testing" (evanmiller.org, 2015):
    P(p_B > p_A) = Σ_{i=0}^{α_B−1} T_i, T_i = B(α_A+i, β_A+β_B) / ((β_B+i) B(1+i, β_B) B(α_A, β_A)),
    with B = X and A = Y, in log space. Every ``MILLER_BLOCK``-th term is evaluated with
    ``betaln``; the ones between follow by the ratio of consecutive terms,
    T_{i+1}/T_i = (α_A+i)(β_B+i) / ((α_A+β_A+β_B+i)(1+i)) (from B(x+1, y) = B(x, y)·x/(x+y)),
    as running sums of its logarithm: one ``log`` a term instead of three ``betaln``, with
    the rounding of at most ``MILLER_BLOCK`` additions (~1e-13 relative) per term.
    """
    n = int(a1)
    i = np.arange(n, dtype=float)
    steps = np.zeros(-(-n // MILLER_BLOCK) * MILLER_BLOCK)
    j = i[:-1]
    steps[1:n] = np.log((a2 + j) * (b1 + j) / ((a2 + b1 + b2 + j) * (1.0 + j)))
    blocks = steps.reshape(-1, MILLER_BLOCK)
    k = i[::MILLER_BLOCK]
    blocks[:, 0] = (
        special.betaln(a2 + k, b1 + b2)
        - np.log(b1 + k)
        - special.betaln(1.0 + k, b1)
        - special.betaln(a2, b2)
    )
    log_terms = np.cumsum(blocks, axis=1).ravel()[:n]
    return float(np.exp(log_terms).sum())


def _prob_greater_quad(a1: float, b1: float, a2: float, b2: float) -> float:
    """P(X > Y) = ∫ f_Y(y) (1 − F_X(y)) dy by adaptive quadrature over Y's bulk."""
    y = BetaPosterior(a2, b2)
    lo, hi = y.ppf(np.array([1e-15, 1.0 - 1e-15]))

    def integrand(t: float) -> float:
        return float(y.pdf(t) * special.betaincc(a1, b1, t))

    value, _ = integrate.quad(integrand, lo, hi, points=[y.mean], limit=200, epsabs=1e-13)
    return float(value)


NORMAL_LIMIT = 1e7
"""Above this many pseudo-observations a Beta is normal to within its own rounding; adaptive
quadrature of such a needle-thin density fails (scipy IntegrationWarning), so the normal
approximation P(X > Y) = Φ((μx − μy) / √(vx + vy)) is used instead (central limit theorem;
the Beta's skewness falls as 1/√(α + β))."""


def _prob_greater_normal(a1: float, b1: float, a2: float, b2: float) -> float:
    def moments(a: float, b: float) -> tuple[float, float]:
        n = a + b
        return a / n, a * b / (n * n * (n + 1.0))

    (mx, vx), (my, vy) = moments(a1, b1), moments(a2, b2)
    return float(special.ndtr((mx - my) / math.sqrt(vx + vy)))


@functools.lru_cache(maxsize=1024)
def prob_beta_greater(alpha_x: float, beta_x: float, alpha_y: float, beta_y: float) -> float:
    """P(X > Y) for independent X ~ Beta(alpha_x, beta_x) and Y ~ Beta(alpha_y, beta_y).

    Memoised (a pure function of four numbers): an analysis asks for the same pair for
    P(best) and again for its comparison, at ~70 µs a sum of a thousand terms.

    Evan Miller's closed form needs an integer first parameter; with the symmetries
    P(X > Y) = 1 − P(Y > X) and P(X > Y) = P(1 − Y > 1 − X) (1 − X ~ Beta(β, α)) any integer
    parameter will do, and the shortest of the four sums is used. With no integer parameter
    (e.g. a Jeffreys prior) or more than ``MAX_SUM_TERMS`` terms, adaptive quadrature.
    """
    candidates = [
        (alpha_x, lambda: _miller_sum(alpha_x, beta_x, alpha_y, beta_y)),
        (alpha_y, lambda: 1.0 - _miller_sum(alpha_y, beta_y, alpha_x, beta_x)),
        (beta_y, lambda: _miller_sum(beta_y, alpha_y, beta_x, alpha_x)),
        (beta_x, lambda: 1.0 - _miller_sum(beta_x, alpha_x, beta_y, alpha_y)),
    ]
    usable = [(n, f) for n, f in candidates if float(n).is_integer() and n <= MAX_SUM_TERMS]
    if not usable and min(alpha_x + beta_x, alpha_y + beta_y) > NORMAL_LIMIT:
        return _prob_greater_normal(alpha_x, beta_x, alpha_y, beta_y)
    if not usable:
        return _prob_greater_quad(alpha_x, beta_x, alpha_y, beta_y)
    _, shortest = min(usable, key=lambda c: c[0])
    return min(max(shortest(), 0.0), 1.0)


def _beta_loss(
    alpha_a: float, beta_a: float, alpha_b: float, beta_b: float, prob_a_greater: float
) -> float:
    """E[max(θ_A − θ_B, 0)] given g = P(θ_A > θ_B): see :func:`expected_loss_beta`."""
    n_a, n_b = alpha_a + beta_a, alpha_b + beta_b
    h = math.exp(
        special.betaln(alpha_a + alpha_b, beta_a + beta_b)
        - special.betaln(alpha_a, beta_a)
        - special.betaln(alpha_b, beta_b)
    )
    loss = (alpha_a / n_a - alpha_b / n_b) * prob_a_greater + h * (1.0 / n_a + 1.0 / n_b)
    return max(loss, 0.0)


def expected_loss_beta(alpha_a: float, beta_a: float, alpha_b: float, beta_b: float) -> float:
    """Expected loss of choosing B over A, E[max(θ_A − θ_B, 0)], for two Beta posteriors.

    Chris Stucchio, "Bayesian A/B Testing at VWO" (2015), §5: E[L](B) =
    B(α_A+1, β_A)/B(α_A, β_A) · g(α_A+1, β_A, α_B, β_B)
    − B(α_B+1, β_B)/B(α_B, β_B) · g(α_A, β_A, α_B+1, β_B),
    where g(a, b, c, d) = P(Beta(a, b) > Beta(c, d)) and B(α+1, β)/B(α, β) = α/(α+β).
    Both shifted probabilities follow from g = g(α_A, β_A, α_B, β_B) by John D. Cook's
    recurrences ("Exact calculation of beta inequalities", M. D. Anderson Cancer Center
    technical report, 2005): g(a+1, b, c, d) = g + k/a and g(a, b, c+1, d) = g − k/c, with
    k = B(a+c, b+d) / (B(a, b) B(c, d)). So E[L](B) = (m_A − m_B) g + k (1/(α_A+β_A) +
    1/(α_B+β_B)), one P(X > Y) instead of two.
    """
    g = prob_beta_greater(alpha_a, beta_a, alpha_b, beta_b)
    return _beta_loss(alpha_a, beta_a, alpha_b, beta_b, g)


@dataclass(frozen=True, slots=True)
class GridDistribution:
    """A distribution as masses on contiguous cells, uniform within each cell.

    ``edges`` (n + 1, non-decreasing) and ``masses`` (n, summing to 1). Built either by
    convolving two posteriors on a grid or from sorted draws (one cell between consecutive
    draws, i.e. the linearly interpolated empirical distribution).
    """

    edges: FloatArray
    masses: FloatArray

    @classmethod
    def from_samples(cls, samples: npt.ArrayLike) -> GridDistribution:
        """The interpolated empirical distribution of ``samples`` (at least 2)."""
        edges = np.sort(np.asarray(samples, dtype=float))
        return cls(edges, np.full(edges.size - 1, 1.0 / (edges.size - 1)))

    @property
    def _cum(self) -> FloatArray:
        return np.concatenate(([0.0], np.cumsum(self.masses)))

    @property
    def mean(self) -> float:
        return float(np.dot(self.masses, (self.edges[:-1] + self.edges[1:]) / 2.0))

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """P(X <= x)."""
        return np.asarray(np.interp(np.asarray(x, dtype=float), self.edges, self._cum))

    def hdi(self, level: float = 0.95) -> tuple[float, float]:
        """Shortest interval holding ``level`` of the mass (highest-density for unimodal).

        Every cell edge is tried as the lower end (upper end by inverting the CDF) and as
        the upper end, vectorised; the narrowest wins (Chen & Shao 1999, "Monte Carlo
        estimation of Bayesian credible and HPD intervals", J. Comput. Graph. Stat. 8(1),
        §3, applied to the interpolated CDF).
        """
        cum = self._cum
        upper = np.interp(np.minimum(cum + level, 1.0), cum, self.edges)
        lower = np.interp(np.maximum(cum - level, 0.0), cum, self.edges)
        lo_ok = cum <= 1.0 - level
        hi_ok = cum >= level
        width_lo = np.where(lo_ok, upper - self.edges, np.inf)
        width_hi = np.where(hi_ok, self.edges - lower, np.inf)
        i, j = int(np.argmin(width_lo)), int(np.argmin(width_hi))
        if width_lo[i] <= width_hi[j]:
            return float(self.edges[i]), float(upper[i])
        return float(lower[j]), float(self.edges[j])

    def tail_mean(self, values: FloatArray, tail: float, *, upper: bool) -> float:
        """Mean of ``values`` (one per cell, monotone in x) over the lowest or highest
        ``tail`` of the mass: the CVaR of a loss that is a monotone function of x."""
        masses, vals = (self.masses[::-1], values[::-1]) if upper else (self.masses, values)
        cum = np.cumsum(masses)
        take = np.clip(tail - (cum - masses), 0.0, masses)
        return float(np.dot(take, vals) / tail)

    def midpoints(self) -> FloatArray:
        return (self.edges[:-1] + self.edges[1:]) / 2.0

    def density(self, edges: FloatArray) -> FloatArray:
        """Average density over the bins ``edges`` (for a histogram chart)."""
        return np.asarray(np.diff(self.cdf(edges)) / np.diff(edges))


def _grid_masses(
    post: ClosedFormPosterior, relative: bool, h: float, lo: float, hi: float, smooth: bool
) -> tuple[float, FloatArray]:
    """Cell masses of ``post`` (of log θ with ``relative``) on cells of width ``h`` from
    ``lo − h/2`` past ``hi``, normalised to sum to 1.

    A ``smooth`` posterior (positive width) gets each cell's mass by two-point
    Gauss–Legendre quadrature of its density, h/2 · (f(m − h/(2√3)) + f(m + h/(2√3))) about
    the cell's midpoint m (Abramowitz & Stegun 25.4.29; the density of log θ is
    f(e^u)·e^u): exact for cubics, relative error h⁴ f⁽⁴⁾/(4320 f) per cell, under 1e-9
    with ``CELLS_PER_WIDTH`` cells per 95% width, and a density costs a tenth of the CDF
    (``betainc``) each mass would otherwise take. The rule's total is checked against the
    CDF's, F(last edge) − F(first edge), to ``QUADRATURE_CHECK``: a density that is not
    smooth on the scale of a cell (a Beta or Gamma shape below 1, infinite at 0) fails it
    and gets the CDF differences F(edge_{i+1}) − F(edge_i) instead, as a point mass does.
    """
    start = lo - h / 2.0
    n = math.ceil((hi - start) / h) + 1
    edges = start + h * np.arange(n + 1)
    masses = None
    if smooth:
        nodes = (edges[:-1] + h / 2.0)[:, None] + _GAUSS_2 * h
        ends = edges[[0, -1]]
        with np.errstate(all="ignore"):
            if relative:
                theta = np.exp(nodes)
                density, ends = post.pdf(theta) * theta, np.exp(ends)
            else:
                density = post.pdf(nodes)
            quad = density.sum(axis=1) * (h / 2.0)
            low, high = post.cdf(ends)
        if abs(quad.sum() - (high - low)) <= QUADRATURE_CHECK:
            masses = quad
    if masses is None:
        masses = np.diff(post.cdf(np.exp(edges) if relative else edges))
    return start, masses / masses.sum()


@functools.lru_cache(maxsize=256)
def grid_quantiles(post: ClosedFormPosterior) -> tuple[float, ...]:
    """``post``'s ``GRID_TAIL``, 2.5%, 97.5% and 1 − ``GRID_TAIL`` quantiles, memoised (the
    posteriors are frozen): each goes on an absolute and a relative grid, and a Beta
    quantile (``betaincinv``) costs ~5 µs."""
    return tuple(float(x) for x in post.ppf(np.array([GRID_TAIL, 0.025, 0.975, 1 - GRID_TAIL])))


def lift_distribution(
    control: ClosedFormPosterior, variant: ClosedFormPosterior, *, relative: bool = False
) -> GridDistribution | None:
    """Distribution of θ_v − θ_c (or θ_v/θ_c − 1 with ``relative``) by numerical convolution.

    Each posterior is discretised into cell masses (∫ f over the cell: Gauss–Legendre, or
    F(edge_{i+1}) − F(edge_i), see ``_grid_masses``) on a common spacing h
    (``CELLS_PER_WIDTH`` cells per 95% width of the narrower one, ``GRID_TAIL`` cut from
    each tail), and the difference's masses are the discrete cross-correlation of the two
    mass vectors, computed by real FFTs of a fast length (``scipy.fft``; what
    ``scipy.signal.fftconvolve`` does, without its checks). The relative lift uses
    log θ_v − log θ_c on the same scheme and maps the cells through exp(·) − 1, which
    needs both posteriors positive (beyond their ``GRID_TAIL`` quantiles; else None). Also
    returns None when the grid would exceed ``MAX_CELLS`` (tails too heavy), so the caller
    falls back to draws.
    """
    ranges = []
    for post in (control, variant):
        q = np.array(grid_quantiles(post))
        if relative and not q[0] > 0.0:
            return None
        lo, w_lo, w_hi, hi = np.log(q) if relative else q
        ranges.append((float(lo), float(hi), float(w_hi - w_lo)))
    widths = [w for _, _, w in ranges if w > 0.0]
    scale = max(1.0, *(abs(x) for lo, hi, _ in ranges for x in (lo, hi)))
    h = min(widths) / CELLS_PER_WIDTH if widths else 1e-9 * scale  # two point masses
    if max(hi - lo for lo, hi, _ in ranges) / h > MAX_CELLS:
        return None
    (lo_c, hi_c, w_c), (lo_v, hi_v, w_v) = ranges
    start_c, m_c = _grid_masses(control, relative, h, lo_c, hi_c, w_c > 0.0)
    start_v, m_v = _grid_masses(variant, relative, h, lo_v, hi_v, w_v > 0.0)
    n = m_v.size + m_c.size - 1
    size = fft.next_fast_len(n, real=True)
    spectrum = fft.rfft(m_v, size) * fft.rfft(m_c[::-1], size)
    masses = np.clip(fft.irfft(spectrum, size)[:n], 0.0, None)
    first = (start_v + h / 2.0) - (start_c + (m_c.size - 0.5) * h)
    edges = first - h / 2.0 + h * np.arange(masses.size + 1)
    keep = np.flatnonzero(masses > 1e-300)
    masses, edges = masses[keep[0] : keep[-1] + 1], edges[keep[0] : keep[-1] + 2]
    return GridDistribution(np.expm1(edges) if relative else edges, masses / masses.sum())


BEST_QUANTILES = np.array([1e-13, 1e-7, 1e-3, 0.05, 0.5, 0.95, 1 - 1e-3, 1 - 1e-7, 1 - 1e-13])
"""Each posterior's quantiles that split the real line into quadrature panels."""

BEST_NODES = 12
"""Gauss–Legendre nodes per panel; the error check repeats the sums with half as many."""

BEST_TOL = 1e-9
"""Largest accepted difference between the two quadrature rules for P(best), expected loss."""


def _gauss_panels(edges: FloatArray, nodes: int) -> tuple[FloatArray, FloatArray]:
    """Nodes and weights of an ``nodes``-point Gauss–Legendre rule on each panel."""
    t, w = np.polynomial.legendre.leggauss(nodes)
    half = np.diff(edges)[:, None] / 2.0
    mid = (edges[:-1] + edges[1:])[:, None] / 2.0
    return (mid + half * t).ravel(), (half * w).ravel()


def best_by_quadrature(
    posts: Sequence[ClosedFormPosterior],
) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """P(best) and expected loss of k independent closed-form posteriors, by 1-D quadrature.

    ``P(θ_i is best) = ∫ f_i(x) ∏_{j≠i} F_j(x) dx`` and ``E[max_j θ_j] = Σ_i ∫ x f_i(x)
    ∏_{j≠i} F_j(x) dx`` (the density of the maximum of independent variables is
    Σ_i f_i ∏_{j≠i} F_j; e.g. David & Nagaraja, *Order Statistics*, 3rd ed., §2.1 and §5.2,
    and Stucchio 2015, §4, for the loss), so the expected loss of choosing i is
    ``E[max] − E[θ_i]``. Composite Gauss–Legendre (Abramowitz & Stegun 25.4.29) on panels
    cut at every posterior's :data:`BEST_QUANTILES`, so each density and each step of a CDF
    lies across several panels whatever the spread of widths. The error is checked by
    repeating the sums with half the nodes; ``None`` when the two differ by more than
    :data:`BEST_TOL` (or a posterior is degenerate), and the caller uses draws.
    """
    cuts = np.concatenate([np.asarray(p.ppf(BEST_QUANTILES), dtype=float) for p in posts])
    edges = np.unique(cuts[np.isfinite(cuts)])
    if edges.size < 2:
        return None
    results = []
    for nodes in (BEST_NODES, BEST_NODES // 2):
        x, w = _gauss_panels(edges, nodes)
        cdf = np.array([p.cdf(x) for p in posts])  # (k, m)
        pdf = np.array([p.pdf(x) for p in posts])
        ones = np.ones((1, x.size))
        before = np.cumprod(np.vstack([ones, cdf[:-1]]), axis=0)  # ∏_{j<i} F_j
        after = np.cumprod(np.vstack([ones, cdf[:0:-1]]), axis=0)[::-1]  # ∏_{j>i} F_j
        weighted = pdf * before * after * w  # f_i ∏_{j≠i} F_j, times the weights
        best = weighted.sum(axis=1)
        e_max = float((weighted * x).sum())
        results.append((best, e_max))
    (best, e_max), (coarse, coarse_max) = results
    scale = max(1.0, abs(e_max))
    if not (
        np.all(np.isfinite(best))
        and np.max(np.abs(best - coarse)) <= BEST_TOL
        and abs(e_max - coarse_max) <= BEST_TOL * scale
        and abs(best.sum() - 1.0) <= 10 * BEST_TOL
    ):
        return None
    prob = np.clip(best / best.sum(), 0.0, 1.0)
    loss = [max(e_max - p.mean, 0.0) for p in posts]
    return tuple(prob.tolist()), tuple(loss)


@dataclass(frozen=True, slots=True)
class JointSummary:
    """P(best), expected loss and CVaR of the loss of choosing each variant."""

    prob_best: tuple[float, ...]
    expected_loss: tuple[float, ...]
    cvar: tuple[float, ...]


def joint_summary(draws: FloatArray) -> JointSummary:
    """From joint posterior draws, shape (variants, draws), higher is better.

    P(best)_i = P(θ_i = max_j θ_j); loss of choosing i, L_i = max_j θ_j − θ_i, with
    expected loss E[L_i] (Stucchio 2015, §4, generalised to k arms) and CVaR_95 = mean of the
    worst 5% of L_i (Rockafellar & Uryasev 2000, "Optimization of conditional value-at-risk").
    """
    k, n = draws.shape
    best = draws.max(axis=0)
    wins = (draws == best).sum(axis=1)
    if wins.sum() != n:  # ties (point-mass posteriors): credit the first maximum only
        wins = np.bincount(draws.argmax(axis=0), minlength=k)
    loss = best - draws
    m = max(1, math.ceil(CVAR_TAIL * n))
    loss.partition(n - m, axis=1)
    return JointSummary(
        tuple((wins / n).tolist()),
        tuple((best.mean() - draws.mean(axis=1)).tolist()),
        tuple(loss[:, n - m :].mean(axis=1).tolist()),
    )


def pair_summary(
    lift: GridDistribution, control: ClosedFormPosterior, variant: ClosedFormPosterior
) -> JointSummary:
    """The same quantities for two arms (control, variant) from their lift distribution.

    Exact for two Beta arms (Miller's P(B > A), Stucchio's expected loss); otherwise by
    quadrature on the lift grid, E[max(−D, 0)] = Σ mass · max(−d, 0). CVaR from the grid's
    lowest (control's loss: highest) 5% of D = θ_v − θ_c.
    """
    d = lift.midpoints()
    loss_variant = np.maximum(-d, 0.0)
    loss_control = np.maximum(d, 0.0)
    if isinstance(control, BetaPosterior) and isinstance(variant, BetaPosterior):
        p_variant = prob_beta_greater(variant.alpha, variant.beta, control.alpha, control.beta)
        c_args, v_args = (control.alpha, control.beta), (variant.alpha, variant.beta)
        el_variant = _beta_loss(*c_args, *v_args, 1.0 - p_variant)
        el_control = _beta_loss(*v_args, *c_args, p_variant)
    else:
        p_variant = float(1.0 - lift.cdf(0.0))
        el_variant = float(np.dot(lift.masses, loss_variant))
        el_control = float(np.dot(lift.masses, loss_control))
    return JointSummary(
        (1.0 - p_variant, p_variant),
        (el_control, el_variant),
        (
            lift.tail_mean(loss_control, CVAR_TAIL, upper=True),
            lift.tail_mean(loss_variant, CVAR_TAIL, upper=False),
        ),
    )


@dataclass(frozen=True, slots=True)
class Decision:
    """``decision`` is "ship", "keep-control" or "keep-collecting"; ``best`` has least loss."""

    decision: str
    best: str
    reasons: tuple[str, ...]


def decide(
    names: tuple[str, ...],
    summary: JointSummary,
    control: str,
    threshold: float,
    *,
    points: bool = False,
) -> Decision:
    """Stucchio's "threshold of caring" rule (Stucchio 2015, §6).

    Choose the variant with the least expected loss; stop when that loss is below
    ``threshold``: ship it, or keep control if control is that variant. Otherwise keep
    collecting. With ``points`` (a conversion rate) the reasons state losses in percentage
    points, as every page does; the numbers stay proportions.
    """
    i = int(np.argmin(summary.expected_loss))
    best, loss = names[i], summary.expected_loss[i]

    def amount(x: float) -> str:
        return pct_points(x) if points else f"{x:.4g}"

    reasons = [
        f"{best} is best with probability {summary.prob_best[i]:.1%}.",
        f"Choosing {best} risks an expected loss of {amount(loss)} "
        f"(worst 5% average {amount(summary.cvar[i])}); your threshold is {amount(threshold)}.",
    ]
    if loss < threshold and best != control:
        decision = "ship"
        reasons.append(f"The expected loss is below the threshold, so ship {best}.")
    elif loss < threshold:
        decision = "keep-control"
        reasons.append(f"The expected loss is below the threshold, so keep {control}.")
    else:
        decision = "keep-collecting"
        reasons.append(
            "The expected loss is above the threshold, so keep collecting data before deciding."
        )
    return Decision(decision, best, tuple(reasons))
