"""The Bayesian module's results in plain words (numbers formatted, never computed)."""

from __future__ import annotations

from stats._text import points, sig
from stats.bayes.engine import BayesianAnalysis
from stats.bayes.stopping import StoppingSimulation

UNITS = {
    "proportion": "points of conversion",
    "mean": "in the metric's units",
    "count": "events per user",
    "revenue": "of revenue per user",
}


def amount(value: float, metric: str) -> str:
    """A loss or threshold in the metric's units: points for conversion rates."""
    if metric == "proportion":
        return points(value)
    return sig(value)


def probability(p: float) -> str:
    if p > 0.999:
        return "over 99.9%"
    if p < 0.001:
        return "under 0.1%"
    return f"{p:.1%}" if p > 0.99 or p < 0.01 else f"{p:.0%}"


def analysis_readout(r: BayesianAnalysis) -> str:
    best = next(v for v in r.variants if v.name == r.best)
    loss, threshold = amount(best.expected_loss, r.metric), amount(r.threshold, r.metric)
    units = "" if r.metric == "proportion" else f" ({UNITS[r.metric]})"
    text = f"{best.name} is best with probability {probability(best.prob_best)}. "
    if r.decision == "ship":
        text += (
            f"Shipping {best.name} risks an expected loss of {loss}{units}; your threshold is "
            f"{threshold}, so ship {best.name}."
        )
    elif r.decision == "keep-control":
        text += (
            f"Keeping {r.control} (control) risks an expected loss of {loss}{units}; your "
            f"threshold is {threshold}, so keep {r.control}."
        )
    else:
        text += (
            f"Choosing {best.name} now would risk an expected loss of {loss}{units}; your "
            f"threshold is {threshold}, so keep collecting data."
        )
    comparison = next(
        (c for c in r.comparisons if c.variant == r.best),
        r.comparisons[0] if len(r.comparisons) == 1 else None,
    )
    if comparison is not None and r.rope[0] < r.rope[1]:
        points = r.metric == "proportion"
        low, high = (sig(x * 100) if points else sig(x) for x in r.rope)
        text += (
            f" The lift of {comparison.variant} over {r.control} is negligible "
            f"(between {low} and {high}{' points' if points else ''}) "
            f"with probability {probability(comparison.prob_rope_inside)}."
        )
    for conflict in r.conflicts:
        text += f" Conflict: {conflict}"
    return text


def stopping_readout(s: StoppingSimulation) -> str:
    return (
        f"With no true difference ({s.baseline:.1%} in both arms, {s.daily_users:,} users per "
        f"arm a day), expected-loss stopping checked every day ships B in "
        f"{s.ship_rate_daily:.1%} (± {s.ship_rate_daily_se:.1%}) of {s.simulations:,} simulated "
        f"experiments, against {s.ship_rate_end:.1%} (± {s.ship_rate_end_se:.1%}) when the same "
        f"rule is applied once at the end of {s.days} days. The rule bounds the expected loss "
        f"of a choice (threshold {amount(s.threshold, 'proportion')}); it does not control a "
        "false positive rate the way a frequentist test does."
    )
