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
    "ratio": "in units of the ratio",
}
RATIO_MODEL = (
    " The ratio metric's posterior is the normal approximation N(ratio, se²) with the "
    "delta-method standard error (the numerator–denominator covariance included; Deng, "
    "Knoblich & Lu 2018), as gbstats does: a large-sample approximation, trust it with "
    "hundreds of users per variant."
)


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
    if r.metric == "ratio":
        text += RATIO_MODEL
    return text + "".join(several_metrics(r))


def several_metrics(r: BayesianAnalysis) -> list[str]:
    """Sentences on direction, the effect prior, the joint probability and the composite."""
    parts = []
    if not r.higher_is_better:
        parts.append(f" Lower is better for {r.metric}: better, best and loss say so.")
    scale = 100.0 if r.metric == "proportion" else 1.0
    unit = " points" if r.metric == "proportion" else ""
    for p in r.prior_influence:
        parts.append(
            f" The effect prior N({sig(p.prior_mean * scale)}, {sig(p.prior_sd * scale)}²) "
            f"moves the lift of {p.variant} from {sig(p.data_mean * scale)} to "
            f"{sig(p.posterior_mean * scale)}{unit} (the prior carries "
            f"{p.prior_weight:.0%} of the posterior's precision)."
        )
    how = (
        "drawn jointly with the metrics' correlation over the same users"
        if r.dependence == "correlated"
        else "drawn independently (metrics assumed independent: give their correlation when "
        "they come from the same users)"
    )
    for j in r.joint:
        if r.guardrails:
            parts.append(
                f" P({j.variant} wins and every guardrail holds) = "
                f"{probability(j.prob_win_and_safe)}, {how}; the product of the marginals "
                f"would say {probability(j.prob_independent)}."
            )
        if j.composite_mean is not None and r.weights is not None:
            weights = ", ".join(f"{w:g}" for w in r.weights)
            parts.append(
                f" The composite score of {j.variant} (weights {weights} on the relative "
                f"lifts) is {j.composite_mean:+.1%}, 95% interval {j.composite_low:+.1%} to "
                f"{j.composite_high:+.1%}, positive with probability "
                f"{probability(j.composite_prob_positive or 0.0)}."
            )
    return parts


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
