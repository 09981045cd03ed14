"""Thompson sampling traffic weights over Beta posteriors for conversion-rate bandits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from stats import _validate
from stats.errors import InvalidInput
from stats.sufficient import ProportionStats
from stats.warnings import Code, ResultWarning, warning

MAX_DRAWS = 1_000_000
MAX_DRAW_CELLS = 20_000_000  # draws x variants, about 160 MB of float64 at the cap
_CHUNK_CELLS = 1_000_000


@dataclass(frozen=True, slots=True)
class ThompsonWeights:
    """Traffic weights for the next period of a Beta-Bernoulli bandit.

    ``prob_best[i]`` is the Monte Carlo estimate of P(variant i has the highest rate);
    ``weights`` is that after the ``floor`` (each weight >= floor, summing to 1);
    ``alpha``/``beta`` are the Beta posterior parameters per variant; ``n`` is the draw count.
    """

    weights: tuple[float, ...]
    prob_best: tuple[float, ...]
    alpha: tuple[float, ...]
    beta: tuple[float, ...]
    n: int
    floor: float
    warnings: tuple[ResultWarning, ...] = ()


def thompson_weights(
    variants: Sequence[ProportionStats],
    *,
    prior: tuple[float, float] = (1.0, 1.0),
    draws: int = 10_000,
    seed: int | None = None,
    floor: float = 0.0,
) -> ThompsonWeights:
    """Thompson-sampling allocation: P(each variant is best) under independent Beta posteriors.

    ``variants`` are the users and conversions of each arm, as the rest of ``stats`` takes
    them (:class:`~stats.sufficient.ProportionStats`; parse JSON records with
    :func:`~stats.sufficient.proportion_variants`). Variant ``i`` has posterior
    Beta(prior_a + conversions_i, prior_b + users_i - conversions_i). Thompson sampling
    assigns the next unit to variant ``i`` with probability P(p_i = max_j p_j), so serving
    that probability as a traffic weight is the batched form of the algorithm (Russo, Van
    Roy, Kazerouni, Osband & Wen, "A Tutorial on Thompson Sampling", Found. Trends Mach.
    Learn. 11(1), 2018, sec. 3 and Algorithm 2). It is estimated from ``draws`` joint
    posterior draws (the arg-max frequency); there is no closed form beyond two arms (Evan
    Miller, "Formulas for Bayesian A/B Testing", 2015).

    ``floor`` mixes the allocation with the uniform one, ``w_i = floor + (1 - k*floor) *
    prob_best_i``, so no arm is starved (a starved arm never gathers the data that could
    revive it); it must be in [0, 1/k].
    """
    k = len(variants)
    if k < 2:
        raise InvalidInput(f"variants must hold at least 2 variants, got {k}", field="variants")
    for i, v in enumerate(variants):
        if not isinstance(v, ProportionStats):
            raise InvalidInput(
                f"variants[{i}] must be ProportionStats (users, conversions), got {v!r}",
                field=f"variants[{i}]",
            )
    n_users = np.array([v.users for v in variants])
    n_conv = np.array([v.conversions for v in variants])
    if len(prior) != 2:
        raise InvalidInput(
            f"prior must be a pair (alpha, beta) of numbers > 0, got {prior!r}", field="prior"
        )
    prior_a = _validate.positive("prior.alpha", prior[0])
    prior_b = _validate.positive("prior.beta", prior[1])
    n_draws = _validate.count("draws", draws, minimum=1)
    if n_draws > MAX_DRAWS or n_draws * k > MAX_DRAW_CELLS:
        cap = min(MAX_DRAWS, MAX_DRAW_CELLS // k)
        raise InvalidInput(f"draws must be <= {cap} for {k} variants, got {draws!r}", field="draws")
    floor_ = _validate.non_negative("floor", floor)
    if floor_ > 1.0 / k:
        raise InvalidInput(
            f"floor must be in [0, 1/{k}] for {k} variants, got {floor!r}", field="floor"
        )

    a = prior_a + n_conv
    b = prior_b + (n_users - n_conv)
    rng = np.random.default_rng(seed)
    wins = np.zeros(k, dtype=np.int64)
    chunk = max(1, _CHUNK_CELLS // k)
    for start in range(0, n_draws, chunk):
        size = min(chunk, n_draws - start)
        samples = rng.beta(a, b, size=(size, k))
        wins += np.bincount(samples.argmax(axis=1), minlength=k)
    prob_best = wins / n_draws
    weights = floor_ + (1.0 - k * floor_) * prob_best

    warnings: list[ResultWarning] = []
    if floor_ == 0.0 and np.any(wins == 0):
        warnings.append(
            warning(
                Code.STARVED_VARIANTS,
                "Some variants won none of the posterior draws and get no traffic; "
                "set a floor to keep exploring them.",
            )
        )
    return ThompsonWeights(
        weights=tuple(float(w) for w in weights),
        prob_best=tuple(float(p) for p in prob_best),
        alpha=tuple(float(x) for x in a),
        beta=tuple(float(x) for x in b),
        n=n_draws,
        floor=floor_,
        warnings=tuple(warnings),
    )
