"""Honest stopping: how often expected-loss stopping ships a variant when nothing differs.

Stopping when the expected loss falls below a threshold of caring bounds the loss of a
decision, not the false positive rate of a test. This simulation shows the difference: two
arms with the same true conversion rate, the rule checked after every day versus applied once
at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from stats import _validate
from stats.bayes.models import FloatArray
from stats.errors import InvalidInput
from stats.warnings import Code, ResultWarning, warning

MAX_SIMULATIONS = 100_000
MAX_WORK = 2_000_000
"""Most simulations × days in one run."""
MAX_DAYS = 365


@dataclass(frozen=True, slots=True)
class StoppingSimulation:
    """Share of simulated null experiments that ship B, with Monte Carlo standard errors.

    ``ship_rate_daily``: the rule is checked after every day and the experiment stops at the
    first decision (ship B, or keep A); ``ship_rate_end``: the rule is applied once after
    ``days`` days. ``ship_rate_by_day[d]`` is the share that shipped B by day d + 1 under
    daily checks. Losses use a normal approximation (see :func:`expected_loss_normal`).
    """

    baseline: float
    daily_users: int
    days: int
    threshold: float
    simulations: int
    ship_rate_daily: float
    ship_rate_daily_se: float
    ship_rate_end: float
    ship_rate_end_se: float
    ship_rate_by_day: tuple[float, ...]
    warnings: tuple[ResultWarning, ...] = ()


def expected_loss_normal(mean_diff: npt.ArrayLike, sd_diff: npt.ArrayLike) -> FloatArray:
    """E[max(−D, 0)] for D ~ N(m, s²): the expected loss of choosing B when D = θ_B − θ_A.

    The normal partial expectation s·φ(m/s) − m·Φ(−m/s) (e.g. Winkler, Roodman & Britney 1972,
    "The determination of partial moments", Management Science 19(3), eq. for the normal
    case). Used with D approximated as normal with the two Beta posteriors' exact means and
    variances — the large-sample approximation of Stucchio's exact loss, vectorisable over
    simulations and days.
    """
    m = np.asarray(mean_diff, dtype=float)
    s = np.asarray(sd_diff, dtype=float)
    z = m / s
    return np.asarray(s * np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi) - m * special.ndtr(-z))


def simulate_loss_stopping(
    baseline: float,
    daily_users: int,
    days: int,
    threshold: float,
    *,
    prior_alpha: float = 1.0,
    prior_beta: float = 1.0,
    simulations: int = 2_000,
    seed: int | None = None,
) -> StoppingSimulation:
    """Simulate A and B with the same rate ``baseline``, ``daily_users`` per arm per day.

    Each day's conversions are binomial increments (one draw per arm, day and simulation,
    vectorised); posteriors Beta(prior + cumulative counts). The rule: choose the arm with
    the smaller expected loss once that loss is below ``threshold`` (Stucchio 2015, §6),
    shipping B or keeping A.
    """
    p = _validate.in_open_unit("baseline", baseline)
    users = _validate.count("daily_users", daily_users, minimum=1)
    n_days = _validate.count("days", days, minimum=1)
    if n_days > MAX_DAYS:
        raise InvalidInput(f"days must be <= {MAX_DAYS}, got {days!r}", field="days")
    threshold = _validate.non_negative("threshold", threshold)
    a0 = _validate.positive("prior.alpha", prior_alpha)
    b0 = _validate.positive("prior.beta", prior_beta)
    sims = _validate.count("simulations", simulations, minimum=100)
    if sims > MAX_SIMULATIONS:
        raise InvalidInput(
            f"simulations must be <= {MAX_SIMULATIONS:,}, got {simulations!r}", field="simulations"
        )
    if sims * n_days > MAX_WORK:
        raise InvalidInput(
            f"simulations × days must be <= {MAX_WORK:,}, got {sims * n_days:,}",
            field="simulations",
        )
    rng = np.random.default_rng(None if seed is None else _validate.count("seed", seed))

    conversions = rng.binomial(users, p, size=(2, sims, n_days)).cumsum(axis=2)
    n = users * np.arange(1, n_days + 1)
    alpha = a0 + conversions
    total = a0 + b0 + n
    mean = alpha / total
    var = mean * (1.0 - mean) / (total + 1.0)
    diff = mean[1] - mean[0]
    loss_b = expected_loss_normal(diff, np.sqrt(var[0] + var[1]))
    loss_a = loss_b + diff
    ship = (loss_b < threshold) & (loss_b <= loss_a)
    stop = ship | (loss_a < threshold)
    stopped = stop.any(axis=1)
    first = stop.argmax(axis=1)
    shipped = stopped & ship[np.arange(sims), first]
    by_day = np.cumsum(np.bincount(first[shipped], minlength=n_days)) / sims
    rate_daily = float(shipped.mean())
    rate_end = float(ship[:, -1].mean())
    warnings: tuple[ResultWarning, ...] = ()
    if threshold == 0.0:
        warnings = (warning(Code.NEVER_STOPS, "threshold is 0: the rule never stops."),)
    return StoppingSimulation(
        baseline=p,
        daily_users=users,
        days=n_days,
        threshold=threshold,
        simulations=sims,
        ship_rate_daily=rate_daily,
        ship_rate_daily_se=float(np.sqrt(rate_daily * (1.0 - rate_daily) / sims)),
        ship_rate_end=rate_end,
        ship_rate_end_se=float(np.sqrt(rate_end * (1.0 - rate_end) / sims)),
        ship_rate_by_day=tuple(by_day.tolist()),
        warnings=warnings,
    )
