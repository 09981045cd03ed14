"""The analysis in plain words: the numbers first, then the verdict and why."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from stats._text import p_is
from stats.comparisons import Comparison
from stats.sufficient import MeanStats, ProportionStats

if TYPE_CHECKING:
    from blueprints.abtest.analysis import Outcome

VERDICTS = {
    "ship": "Ship it",
    "iterate": "Iterate",
    "hold": "Hold",
    "stop": "Stop",
    "rerun": "Re-run the experiment",
}


def level(c: Comparison) -> str:
    return f"{c.ci_level * 100:.4g}%"


def interval(low: float, high: float, fmt: str, unit: str) -> str:
    """'+0.9 to +7.1 points', or 'from +0.9 points up' for a one-sided interval."""
    if not math.isfinite(high):
        return f"from {low:{fmt}}{unit} up"
    if not math.isfinite(low):
        return f"up to {high:{fmt}}{unit}"
    return f"{low:{fmt}} to {high:{fmt}}{unit}"


def relative(c: Comparison) -> str:
    return "" if math.isnan(c.relative_lift) else f" ({c.relative_lift:+.0%})"


def comparison_sentence(
    c: Comparison, t: ProportionStats | MeanStats, base: ProportionStats | MeanStats
) -> str:
    """'160 of 1,000 users converted on B against 120 of 1,000 on A: +4.0 points (+33%),
    95% CI +0.9 to +7.1 points.'"""
    if isinstance(t, ProportionStats) and isinstance(base, ProportionStats):
        head = (
            f"{t.conversions:,} of {t.users:,} users converted on {t.name} against "
            f"{base.conversions:,} of {base.users:,} on {base.name}"
        )
        effect = f"{c.estimate * 100:+.1f} points"
        ci = interval(c.ci_low * 100, c.ci_high * 100, "+.1f", " points")
    else:
        head = (
            f"{t.name} averaged {t.mean:.4g} over {t.n:,} users against {base.mean:.4g} over "
            f"{base.n:,} on {base.name}"
        )
        effect = f"{c.estimate:+.4g}"
        ci = interval(c.ci_low, c.ci_high, "+.4g", "")
    test = " (Fisher's exact test: small counts)" if c.test == "fisher" else ""
    return f"{head}: {effect}{relative(c)}, {level(c)} CI {ci}{test}."


def guardrail_sentences(o: Outcome) -> list[str]:
    words = {
        "pass": "holds (shown to be within its tolerance)",
        "fail": "fails (significantly worse beyond its tolerance)",
        "inconclusive": "is not yet shown to be within its tolerance",
    }
    return [
        f"Guardrail {g.metric} on {g.variant} {words[g.status]}: difference {g.estimate:+.4g}, "
        f"tolerance {g.tolerance:.4g}."
        for g in o.analysis.guardrails
    ]


def readout(o: Outcome) -> str:
    a = o.analysis
    by_name = {v.name: v for v in o.inputs}
    base = by_name[a.control]
    parts = [comparison_sentence(c, by_name[c.variant], base) for c in a.comparisons]
    if len(a.comparisons) > 1:
        parts.append(
            f"With {len(a.comparisons)} variants against {a.control}, p-values are Holm-adjusted "
            "and intervals Bonferroni-adjusted."
        )
    parts.append(f"Verdict: {VERDICTS[a.verdict]}. " + " ".join(a.reasons))
    for c in a.comparisons:
        ni = c.noninferiority
        if ni is not None:
            state = "holds" if ni.holds else "is not shown"
            parts.append(
                f"Non-inferiority of {c.variant} (margin {ni.margin:.4g}) {state}: "
                f"{p_is(ni.pvalue, 'one-sided p')}."
            )
    parts.extend(guardrail_sentences(o))
    return " ".join(parts)
