"""The analysis in plain words."""

from __future__ import annotations

import math

from stats._text import p_is
from stats.experiment_analysis import ExperimentAnalysis


def _final(a: ExperimentAnalysis) -> str:
    """What a stopped experiment's data say, in the past tense: it cannot run on."""
    head = (
        "This experiment is stopped: no traffic is assigned any more and these results are "
        "final (a stopped experiment cannot be relaunched; create a new one to test again)."
    )
    if a.decision == "collecting" or not a.comparisons:
        return f"{head} It stopped before every variant had exposures, so nothing can be concluded."
    if a.decision in ("srm", "winner", "worse"):
        return f"{head} {a.recommendation}"
    best = min(a.comparisons, key=lambda c: c.msprt_pvalue_adjusted)
    control = a.variants[0].name
    return (
        f"{head} No variant was shown to differ from {control}: the best, {best.name}, "
        f"ended with {p_is(best.msprt_pvalue_adjusted, 'always-valid p', 2)}, above alpha "
        f"{a.alpha:g}. Treat it as no detected difference, not as proof of none."
    )


def readout(a: ExperimentAnalysis, bandit: bool, status: str = "running") -> str:
    stopped = status == "stopped"
    parts = [_final(a) if stopped else a.recommendation]
    if a.msprt is not None and a.relative_lift is not None:
        lift = a.relative_lift
        words = (
            f"{lift.estimate:+.1%} relative lift ({lift.ci_level:.1%} interval "
            f"{lift.ci_low:+.1%} to {lift.ci_high:+.1%}, valid only at a sample size fixed in "
            "advance)"
            if math.isfinite(lift.estimate)
            else "relative lift undefined (the control has no conversions)"
        )
        parts.append(
            f"{lift.variant} against the control: {words}; {p_is(a.pvalue, 'fixed-horizon p')}, "
            f"{p_is(a.msprt.pvalue, 'always-valid p')}."
        )
        if stopped:
            parts.append(
                f"The always-valid test (mSPRT) was tuned for about {a.planned_n:,} users in "
                f"total; it is valid at the {a.n:,} the experiment stopped at."
            )
        else:
            parts.append(
                f"The always-valid test (mSPRT) is tuned for about {a.planned_n:,} users in "
                "total: it is most sensitive around that size and stays valid at any other, so "
                "look as often as you like."
            )
    if a.n:
        seq = p_is(a.srm_sequential.pvalue, "always-valid SRM p", 2)
        parts.append(
            f"Traffic check: {a.n:,} exposed units, "
            + (
                f"sample ratio mismatch ({seq}; chi-square {p_is(a.srm.pvalue, digits=2)})."
                if a.srm_sequential.flagged
                else f"split as the weights in force predict ({seq}; chi-square "
                f"{p_is(a.srm.pvalue, digits=2)}, valid only at a look fixed in advance)."
            )
        )
    if a.cuped is not None and a.cuped.comparisons:
        best = min(a.cuped.comparisons, key=lambda c: c.msprt_pvalue_adjusted)
        adj = best.adjusted
        parts.append(
            f"With CUPED on the units' pre-period covariate (rho {a.cuped.rho:.2f}, variance "
            f"x {a.cuped.variance_reduction:.2f}): {adj.variant} differs from the control by "
            f"{adj.estimate:+.2%} (unadjusted {adj.unadjusted_estimate:+.2%}), "
            f"{p_is(best.msprt_pvalue_adjusted, 'always-valid p', 2)} on the adjusted difference."
        )
    status_words = {
        "pass": "holds (shown within its tolerance)",
        "fail": "fails (significantly worse beyond its tolerance)",
        "inconclusive": "is not yet shown within its tolerance",
    }
    parts.extend(
        f"Guardrail {g.metric} on {g.variant} {status_words[g.status]}: difference {g.estimate:+.2%}, "
        f"tolerance {g.tolerance:.2%} (non-inferiority at alpha {a.alpha:g})."
        for g in a.guardrail_tests
    )
    if bandit and stopped:
        parts.append(
            "Bandit mode: Thompson sampling moved traffic towards the better variants while it "
            "ran; the tests pool units that arrived under different splits."
        )
    elif bandit:
        parts.append(
            "Bandit mode: Thompson sampling moves traffic towards the better variants; the "
            "tests pool units that arrived under different splits, which is sound while the "
            "rates hold steady over time and approximate if they drift."
        )
    return " ".join(parts)
