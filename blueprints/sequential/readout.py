"""The sequential module's results in plain words (numbers are formatted, never computed)."""

from __future__ import annotations

import math

from stats._text import p_is, pvalue
from stats.group_sequential import Boundaries, MonitorResult
from stats.msprt import MSPRTResult
from stats.peeking import PeekingResult

SPENDING_WORDS = {
    "obrien-fleming": "O'Brien-Fleming-type spending",
    "pocock": "Pocock-type spending",
    "hsd": "Hwang-Shih-DeCani spending",
    "classical-obrien-fleming": "the classical O'Brien-Fleming design",
    "classical-pocock": "the classical Pocock design",
}


def _effect(r: PeekingResult) -> str:
    if r.metric == "proportion":
        return f"{r.effect * 100:+.2f} points ({r.baseline:.1%} → {r.baseline + r.effect:.1%})"
    return f"{r.effect:+.4g} in the mean (sd {r.sd:.4g})"


def simulation(r: PeekingResult) -> str:
    m = r.methods
    look_words = "once, at the end" if r.looks == 1 else f"at each of {r.looks} looks"
    rest = (
        f"O'Brien-Fleming-type bounds {m.obrien_fleming.rejection_rate:.1%}, "
        f"Pocock-type {m.pocock.rejection_rate:.1%}, mSPRT {m.msprt.rejection_rate:.1%}"
    )
    if r.effect == 0:
        return (
            f"With no real difference, a plain z-test {look_words} declared a winner in "
            f"{m.naive.rejection_rate:.1%} of {r.simulations:,} simulated experiments "
            f"(exactly {r.exact_naive_rate:.2%} by numerical integration) against the "
            f"{r.alpha:.0%} you asked for. The honest methods stay near or below it: {rest}."
        )
    return (
        f"With a true effect of {_effect(r)}, power was {m.naive.rejection_rate:.1%} for naive "
        f"peeking (bought with a false positive rate of {r.exact_naive_rate:.1%}), {rest}. "
        f"Average users per arm at stopping: O'Brien-Fleming {m.obrien_fleming.mean_sample_size:,.0f}, "
        f"Pocock {m.pocock.mean_sample_size:,.0f}, mSPRT {m.msprt.mean_sample_size:,.0f} "
        f"of {r.n_per_arm:,} planned."
    )


def boundaries(r: Boundaries) -> str:
    k = len(r.fractions)
    side = {
        "two-sided": "|z| reaches",
        "larger": "z reaches",
        "smaller": "z falls to",
    }[r.alternative]
    first, last = r.z_bounds[0], r.z_bounds[-1]
    looks = "one look" if k == 1 else f"{k} looks"
    text = (
        f"With {SPENDING_WORDS[r.spending]} over {looks} at α = {r.alpha:g} ({r.alternative}), "
        f"stop for efficacy when {side} {first:.3f} at the first look"
    )
    if k > 1:
        text += f" and {last:.3f} at the last (a p-value below {r.nominal_p[-1]:.4f})"
    text += (
        f". The total false positive rate is exactly {r.cumulative_alpha[-1]:.4f}. To keep "
        f"{r.power:.0%} power the maximum sample size is {r.max_n_inflation:.3f} times a "
        f"fixed design's."
    )
    return text


def difference(x: float, metric: str) -> str:
    """A difference B − A: in percentage points for conversion rates (the API keeps
    proportions), else in the metric's units."""
    if metric == "proportion":
        return f"{x * 100:+.2f} points".replace("-", "−")
    return f"{x:+.4g}".replace("-", "−")


def interval(low: float, high: float, metric: str) -> str:
    """ "+2.61 to +5.39 points" (conversion rates) or "+0.12 to +0.5"."""
    text = f"{difference(low, metric)} to {difference(high, metric)}"
    return text.replace(" points to ", " to ", 1)


def monitor(r: MonitorResult, metric: str = "proportion") -> str:
    look = len(r.fractions)
    where = f"At look {look} ({r.fractions[-1]:.0%} of the planned users)"
    if r.decision == "stop-efficacy":
        return (
            f"Stop for efficacy: at look {r.stop_look} the z statistic {r.z_statistics[-1]:.2f} "
            f"crossed the bound {r.z_bounds[-1]:.2f}. The difference B − A is "
            f"{difference(r.estimate, metric)}."
        )
    if r.decision == "stop-final":
        return (
            f"Stop: the final look reached the planned size without crossing the bound "
            f"(z = {r.statistic:.2f}, bound {r.z_bounds[-1]:.2f}). No significant difference "
            f"at α = {r.alpha:g}."
        )
    return (
        f"Continue. {where} z = {r.statistic:.2f} has not reached the bound "
        f"{r.z_bounds[-1]:.2f} ({p_is(r.pvalue, 'nominal p')} needs to be below "
        f"{r.nominal_p[-1]:.4f}); {r.cumulative_alpha[-1]:.4f} of α = {r.alpha:g} is spent so far."
    )


def msprt(
    r: MSPRTResult, names: tuple[str, str], planned_n: int | None, metric: str = "proportion"
) -> str:
    diff = f"{names[1]} − {names[0]}"
    tau = (
        f"τ = {r.tau:.4g}, tuned so the test is most sensitive around {planned_n:,} users"
        if planned_n
        else f"τ = {r.tau:.4g} as given"
    )
    if r.decision == "reject":
        head = (
            f"Reject: the always-valid p-value is {pvalue(r.pvalue)}, below α = {r.alpha:g} "
            f"(log Λ = {r.log_lr:.2f} ≥ log(1/α) = {r.threshold:.2f}). You can stop now."
        )
    else:
        head = (
            f"Keep going: the always-valid p-value is {pvalue(r.pvalue)} (log Λ = {r.log_lr:.2f}, "
            f"the threshold is log(1/α) = {r.threshold:.2f}). Looking again later is fine."
        )
    return (
        f"{head} {diff} = {difference(r.estimate, metric)}, always-valid {1 - r.alpha:.0%} "
        f"interval {interval(r.ci_low, r.ci_high, metric)} with "
        f"{r.n:,} users ({tau}).{relative_sequence(r, names)}"
    )


def relative_sequence(r: MSPRTResult, names: tuple[str, str]) -> str:
    """' Relative lift +16.0%, always-valid 95% interval −2.9% to +38.9%.' (or unbounded)."""
    if not math.isfinite(r.relative_lift) or math.isnan(r.relative_ci_low):
        return ""
    head = f" Relative lift {r.relative_lift:+.1%}".replace("-", "−")
    if math.isinf(r.relative_ci_high):
        return (
            f"{head}; its always-valid interval is still unbounded: the mean of {names[0]} is "
            "not yet clearly different from 0."
        )
    bounds = f"{r.relative_ci_low:+.1%} to {r.relative_ci_high:+.1%}".replace("-", "−")
    return f"{head}, always-valid {1 - r.alpha:.0%} interval {bounds}."
