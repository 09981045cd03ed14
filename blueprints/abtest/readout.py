"""The analysis in plain words: the numbers first, then the verdict and why."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from blueprints.abtest.figures import quantile_label
from stats._text import p_is
from stats.comparisons import Arm, Comparison
from stats.sufficient import ProportionStats, RatioStats

if TYPE_CHECKING:
    from blueprints.abtest.analysis import Outcome
    from stats.abtest import Analysis

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


LIFT_METHODS = {
    "score": "the score interval for the risk ratio, dual to the test",
    "fieller": "Fieller's interval for the ratio of means, dual to the test",
    "delta": "the delta method",
}


def relative_sentence(c: Comparison) -> str:
    """' Relative lift +33%, 95% CI +7.1% to +66.1% (…method…).' or why there is none."""
    if math.isnan(c.relative_lift):
        return ""
    low, high = c.relative_ci_low, c.relative_ci_high
    if math.isinf(low) and math.isinf(high):
        return (
            f" Relative lift {c.relative_lift:+.1%}: its {level(c)} interval is unbounded, "
            f"because the mean of {c.control} is not significantly different from 0."
        )
    ci = interval(low * 100, high * 100, "+.1f", "%")
    return (
        f" Relative lift {c.relative_lift:+.1%}, {level(c)} CI {ci} "
        f"({LIFT_METHODS[c.relative_method]})."
    )


def comparison_sentence(c: Comparison, t: Arm, base: Arm) -> str:
    """'160 of 1,000 users converted on B against 120 of 1,000 on A: +4.0 points (+33%),
    95% CI +0.9 to +7.1 points.'"""
    if isinstance(t, ProportionStats) and isinstance(base, ProportionStats):
        head = (
            f"{t.conversions:,} of {t.users:,} users converted on {t.name} against "
            f"{base.conversions:,} of {base.users:,} on {base.name}"
        )
        effect = f"{c.estimate * 100:+.1f} points"
        ci = interval(c.ci_low * 100, c.ci_high * 100, "+.1f", " points")
    elif isinstance(t, RatioStats) and isinstance(base, RatioStats):
        head = (
            f"The ratio on {t.name} was {t.mean:.4g} ({t.numerator_mean:.4g} over "
            f"{t.denominator_mean:.4g} per user, {t.n:,} users) against {base.mean:.4g} on "
            f"{base.name} (delta-method z-test, with the numerator–denominator covariance)"
        )
        effect = f"{c.estimate:+.4g}"
        ci = interval(c.ci_low, c.ci_high, "+.4g", "")
    else:
        head = (
            f"{t.name} averaged {t.mean:.4g} over {t.n:,} users against {base.mean:.4g} over "
            f"{base.n:,} on {base.name}"
        )
        effect = f"{c.estimate:+.4g}"
        ci = interval(c.ci_low, c.ci_high, "+.4g", "")
    test = " (Fisher's exact test: small counts)" if c.test == "fisher" else ""
    return f"{head}: {effect}{relative(c)}, {level(c)} CI {ci}{test}.{relative_sentence(c)}"


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


CORRECTION_WORDS = {
    "holm": "Holm-adjusted (family-wise error rate) and intervals Bonferroni-adjusted",
    "bonferroni": "Bonferroni-adjusted (family-wise error rate), intervals too",
    "bh": (
        "Benjamini–Hochberg-adjusted (false discovery rate) and intervals "
        "Benjamini–Yekutieli FCR-adjusted (they exclude 0 exactly for the comparisons BH selects)"
    ),
}


def multiplicity_sentence(a: Analysis) -> str:
    """'With 3 variants against A, p-values are Holm-adjusted … .'"""
    family = (
        f"every pair of the {len(a.variants)} variants ({len(a.comparisons)} comparisons)"
        if a.comparison_set == "all"
        else f"{len(a.comparisons)} variants against {a.control}"
    )
    return f"With {family}, p-values are {CORRECTION_WORDS[a.correction]}."


def readout(o: Outcome) -> str:
    a = o.analysis
    by_name = {v.name: v for v in o.inputs}
    parts = [comparison_sentence(c, by_name[c.variant], by_name[c.control]) for c in a.comparisons]
    if len(a.comparisons) > 1:
        parts.append(multiplicity_sentence(a))
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
    parts.extend(quantile_sentences(o))
    if o.segments is not None:
        parts.extend(o.segments.sentences())
    return " ".join(parts)


def quantile_sentences(o: Outcome) -> list[str]:
    """'The p90 of latency is 3.89 on B against 3.55 on A: +0.339, 95% CI +0.031 to +0.646
    (p = 0.031).' and how the intervals were made."""
    q = o.quantiles
    if q is None:
        return []
    parts = []
    for d in q.differences:
        c, v = d.arms
        p = "" if d.pvalue is None else f" ({p_is(d.pvalue)})"
        ci = interval(d.ci_low, d.ci_high, "+.4g", "")
        parts.append(
            f"The {quantile_label(d.quantile)} of {o.analysis.metric} is {v.estimate:.4g} on "
            f"{d.variant} against {c.estimate:.4g} on {d.control}: {d.estimate:+.4g}, "
            f"{d.ci_level * 100:.4g}% CI {ci}{p}."
        )
    if q.method == "bootstrap":
        parts.append(
            f"Quantile intervals are percentile bootstraps ({q.differences[0].resamples:,} "
            "resamples of each variant's users)."
        )
    else:
        parts.append(
            "Quantile intervals combine each variant's distribution-free order-statistic "
            "interval (as gbstats does), for independent users."
        )
    return parts
