"""Anytime-valid sample-ratio-mismatch test: the Dirichlet-multinomial e-process.

Lindon & Malek (2022), "Anytime-Valid Inference for Multinomial Count Data", NeurIPS 2022
(below: *Lindon 2022*), the Dirichlet-multinomial test martingale, as the ``savvi`` package's ``Multinomial`` test implements
it (assuncaolfi/savvi, ``src/savvi/multinomial.py``). Under H0 each unit lands in variant
``i`` with the planned probability ``θ0_i``. Against the alternative "some other ``θ``", put
a Dirichlet(``α``) prior on ``θ`` with ``α = K θ0`` (concentration ``K``, savvi's default
100). After counts ``x`` (``n = Σ x_i``) the Bayes factor of the Dirichlet-multinomial
against the null multinomial (the multinomial coefficient cancels) is

    E_n = [Γ(K) / Γ(K + n)] · Π_i Γ(α_i + x_i) / Γ(α_i)  /  Π_i θ0_i^{x_i}

(*Lindon 2022*, the multinomial Bayes factor with a conjugate Dirichlet mixture). It is the running product of the
posterior-predictive over the null probability of each unit, a non-negative martingale with
mean 1 under H0, so Ville's inequality gives P(E_n >= 1/a for some n) <= a: the p-value
``min(1, 1/E_n)`` may be read at every look without inflating the false-alarm rate. The
Experiments service changes weights (bandit mode): units assigned under different weight
vectors are independent multinomials, so the product of one e-value per weight period is
still a test martingale under H0 (each factor is a martingale in its own units, and the
factors are independent under H0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from stats import _validate
from stats.comparisons import SRM_THRESHOLD
from stats.errors import InvalidInput

DEFAULT_CONCENTRATION = 100.0
"""Dirichlet prior concentration ``K`` (``α = K θ0``), savvi's default ``k = 100``: the
prior is centred on the planned split and most sensitive to mismatches of a few percent."""


@dataclass(frozen=True, slots=True)
class SequentialSRM:
    """The anytime-valid SRM test at this look.

    ``log_e`` is log E_n (summed over weight periods), ``pvalue = min(1, 1/E_n)`` the
    always-valid p-value, ``flagged`` when ``pvalue < threshold``; ``n`` units tested;
    ``concentration`` the prior's ``K``."""

    log_e: float
    pvalue: float
    flagged: bool
    threshold: float
    n: int
    concentration: float


def log_e_value(counts: Sequence[int], split: Sequence[float], concentration: float) -> float:
    """log E_n of one multinomial sample (the module formula) for normalised ``split``.

    Variants planned to get no traffic are left out; a unit in one of them makes E infinite
    (the null is impossible)."""
    x = np.asarray(counts, dtype=np.float64)
    theta = np.asarray(split, dtype=np.float64)
    live = theta > 0
    if np.any(x[~live] > 0):
        return math.inf
    x, theta = x[live], theta[live]
    a = concentration * theta
    n = float(x.sum())
    log_bf = (
        gammaln(concentration)
        - gammaln(concentration + n)
        + float(np.sum(gammaln(a + x) - gammaln(a)))
    )
    return float(log_bf - np.sum(x * np.log(theta)))


def sequential_srm(
    period_counts: Sequence[Sequence[int]],
    period_weights: Sequence[Sequence[float]],
    *,
    threshold: float = SRM_THRESHOLD,
    concentration: float = DEFAULT_CONCENTRATION,
) -> SequentialSRM:
    """The Dirichlet-multinomial e-process over one or more weight periods.

    ``period_counts[p][i]``: units of period ``p`` in variant ``i``; ``period_weights[p]``
    the weights in force (normalised here). E_n is the product of each period's E (see the
    module docstring); the alarm sounds at ``pvalue < threshold`` (0.001 by default, as the
    fixed-horizon chi-square, Fabijan et al. 2019), which the e-process keeps valid however
    often it is checked.
    """
    threshold = _validate.alpha(threshold, "threshold")
    concentration = _validate.finite("concentration", concentration)
    if concentration <= 0:
        raise InvalidInput(
            f"concentration must be > 0, got {concentration!r}", field="concentration"
        )
    if len(period_counts) != len(period_weights):
        raise InvalidInput(
            f"period_counts must have one row per weight period ({len(period_weights)}), "
            f"got {len(period_counts)}",
            field="period_counts",
        )
    log_e = 0.0
    n = 0
    for counts, weights in zip(period_counts, period_weights, strict=True):
        if len(counts) != len(weights) or not counts:
            raise InvalidInput(
                "period_counts and period_weights must hold one entry per variant in each period",
                field="period_counts",
            )
        if any(c < 0 or c != int(c) for c in counts):
            raise InvalidInput(
                f"period_counts must hold whole numbers >= 0, got {list(counts)!r}",
                field="period_counts",
            )
        total = math.fsum(weights)
        if not all(math.isfinite(w) and w >= 0 for w in weights) or total <= 0:
            raise InvalidInput(
                f"period_weights must be finite, >= 0, with a positive sum, got {list(weights)!r}",
                field="period_weights",
            )
        log_e += log_e_value(counts, [w / total for w in weights], concentration)
        n += int(sum(counts))
    pvalue = 1.0 if log_e <= 0 else math.exp(-log_e)
    return SequentialSRM(
        log_e=log_e,
        pvalue=pvalue,
        flagged=bool(pvalue < threshold),
        threshold=threshold,
        n=n,
        concentration=concentration,
    )
