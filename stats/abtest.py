"""The A/B analyzer: every variant against control, guardrails, SRM, and a verdict.

:func:`analyze` is the one orchestrator the web page, API and CLI call. The arithmetic lives
in :mod:`stats.comparisons`; this module combines it into a decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from stats import _validate
from stats.comparisons import (
    Alternative,
    Arm,
    Comparison,
    Correction,
    Direction,
    Interval,
    NonInferiority,
    PairMode,
    SampleRatioMismatch,
    VariantEstimate,
    compare_to_control,
    noninferiority,
    sample_ratio_mismatch,
    variant_estimate,
)
from stats.errors import InvalidInput
from stats.relative import RelativeInterval
from stats.srm import SequentialSRM, sequential_srm
from stats.sufficient import MeanStats, ProportionStats, RatioStats
from stats.vocabulary import SummaryMetric
from stats.warnings import ResultWarning

from ._text import p_is

Verdict = Literal["ship", "iterate", "hold", "stop", "rerun"]
EffectType = Literal["absolute", "relative"]
GuardrailStatus = Literal["pass", "fail", "inconclusive"]
Variants = Sequence[ProportionStats] | Sequence[MeanStats] | Sequence[RatioStats]


@dataclass(frozen=True, slots=True)
class Guardrail:
    """A metric that must not get worse: per-variant statistics, the direction that is
    better, and the tolerated worsening (absolute units, or a fraction of control's value
    when ``tolerance_type="relative"``)."""

    metric: str
    variants: tuple[ProportionStats, ...] | tuple[MeanStats, ...] | tuple[RatioStats, ...]
    direction: Direction = "higher"
    tolerance: float = 0.0
    tolerance_type: EffectType = "absolute"


@dataclass(frozen=True, slots=True)
class GuardrailResult:
    """A guardrail for one variant: ``pass`` when non-inferiority holds (worse by less than
    the tolerance, shown at level α), ``fail`` when significantly worse beyond the tolerance,
    else ``inconclusive``. ``estimate`` is the difference; ``test`` holds the numbers."""

    metric: str
    variant: str
    status: GuardrailStatus
    estimate: float
    tolerance: float
    test: NonInferiority


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything :func:`analyze` concludes. ``reasons`` explain ``verdict`` in sentences.
    ``srm_sequential`` is the anytime-valid SRM e-process (:func:`stats.srm.sequential_srm`)
    beside the chi-square ``srm``, for data that was watched as it came in."""

    metric: str
    kind: SummaryMetric
    control: str
    alpha: float
    alternative: Alternative
    direction: Direction
    min_effect: float
    min_effect_type: EffectType
    variants: tuple[VariantEstimate, ...]
    comparisons: tuple[Comparison, ...]
    srm: SampleRatioMismatch
    guardrails: tuple[GuardrailResult, ...]
    verdict: Verdict
    reasons: tuple[str, ...]
    warnings: tuple[ResultWarning, ...] = ()
    correction: Correction = "holm"
    comparison_set: PairMode = "control"
    srm_sequential: SequentialSRM | None = None


def _check_variants(variants: Variants, field: str) -> None:
    if len(variants) < 2:
        raise InvalidInput(
            f"{field} must hold at least 2 variants, got {len(variants)}", field=field
        )
    if not any(
        all(isinstance(v, t) for v in variants) for t in (ProportionStats, MeanStats, RatioStats)
    ):
        raise InvalidInput(
            f"{field} must be all conversion counts, all means or all ratios, not a mix",
            field=field,
        )
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise InvalidInput(f"{field} names must be unique, got {names!r}", field=field)
    items: list[Arm] = list(variants)
    for i, v in enumerate(items):
        minimum = 1 if isinstance(v, ProportionStats) else 2
        if v.n < minimum:
            raise InvalidInput(
                f"{field}[{i}].users must be >= {minimum}, got {v.n}", field=f"{field}[{i}].users"
            )


def _guardrail_results(
    guardrails: Sequence[Guardrail], names: Sequence[str], control: str, alpha: float
) -> tuple[GuardrailResult, ...]:
    out: list[GuardrailResult] = []
    for k, g in enumerate(guardrails):
        field = f"guardrails[{k}]"
        _validate.choice(f"{field}.direction", g.direction, ("higher", "lower"))
        _validate.choice(f"{field}.tolerance_type", g.tolerance_type, ("absolute", "relative"))
        _validate.non_negative(f"{field}.tolerance", g.tolerance)
        _check_variants(g.variants, f"{field}.variants")
        by_name = {v.name: v for v in g.variants}
        if sorted(by_name) != sorted(names):
            raise InvalidInput(
                f"{field}.variants must name the same variants as the primary metric "
                f"({', '.join(names)}), got {', '.join(by_name)}",
                field=f"{field}.variants",
            )
        base = by_name[control]
        margin = g.tolerance * (abs(base.mean) if g.tolerance_type == "relative" else 1.0)
        for name in names:
            if name == control:
                continue
            v = by_name[name]
            ni = noninferiority(
                base,
                v,
                margin=margin,
                direction=g.direction,
                alpha=alpha,
                field=f"{field}.tolerance",
            )
            status: GuardrailStatus = "pass" if ni.holds else "fail" if ni.worse else "inconclusive"
            out.append(GuardrailResult(g.metric, name, status, v.mean - base.mean, margin, ni))
    return tuple(out)


def _fmt(x: float, kind: str, effect_type: str) -> str:
    """An effect for a sentence: points for rates, percent for relative, plain for means."""
    if effect_type == "relative":
        return f"{x:+.1%}"
    return f"{100 * x:+.2f} points" if kind == "proportion" else f"{x:+.4g}"


def decide(
    comparisons: Sequence[Comparison],
    srm: SampleRatioMismatch,
    guardrails: Sequence[GuardrailResult],
    *,
    kind: SummaryMetric,
    direction: Direction = "higher",
    min_effect: float = 0.0,
    min_effect_type: EffectType = "absolute",
) -> tuple[Verdict, tuple[str, ...]]:
    """The verdict and its reasons, from two gates: statistical significance (adjusted
    p < α, in the better direction) and practical significance (the effect ≥ ``min_effect``).

    Rules, first match wins (after Kohavi, Tang & Xu 2020, *Trustworthy Online Controlled
    Experiments*, §2.4 and Fig. 2.4, and ch. 21 on SRM):

    1. ``rerun`` — sample ratio mismatch: no other number can be trusted.
    2. ``ship`` — some variant is significantly better, its point estimate is at least
       ``min_effect`` (the practical gate uses the point estimate, as Kohavi et al. accept a
       launch when the estimate clears the practical boundary even if the interval crosses
       it; a reason then says the interval still allows a smaller effect), and every
       guardrail of that variant passes. The best such variant is named.
    3. ``stop`` — some variant is significantly worse on the primary metric, or fails a
       guardrail (significantly worse beyond its tolerance), and nothing ships.
    4. ``iterate`` — some variant is significantly better but below ``min_effect``, or its
       guardrails are not all shown to be within tolerance.
    5. ``hold`` — nothing is significant. The reason says whether the experiment ruled out
       a worthwhile effect (every interval's upper end, in the better direction, is below
       ``min_effect``) or could not (it may be underpowered).

    Effects are differences in the better direction (negated when lower is better),
    absolute or relative as ``min_effect_type`` says.
    """
    if srm.flagged:
        return "rerun", (srm.explanation,)
    sign = 1.0 if direction == "higher" else -1.0

    def gain(c: Comparison) -> tuple[float, float, float]:
        est, low, high = (
            (c.relative_lift, c.relative_ci_low, c.relative_ci_high)
            if min_effect_type == "relative"
            else (c.estimate, c.ci_low, c.ci_high)
        )
        return (sign * est, *sorted((sign * low, sign * high)))  # type: ignore[return-value]

    def fmt(x: float) -> str:
        return _fmt(x, kind, min_effect_type)

    failing = {g.variant for g in guardrails if g.status == "fail"}
    unproven = {g.variant for g in guardrails if g.status != "pass"}
    better = [c for c in comparisons if c.significant and gain(c)[0] > 0]
    worse = [c for c in comparisons if c.significant and gain(c)[0] < 0]
    shippable = [c for c in better if gain(c)[0] >= min_effect and c.variant not in unproven]
    reasons: list[str] = []
    for g in guardrails:
        if g.status == "fail":
            reasons.append(
                f"{g.variant} is significantly worse on guardrail {g.metric} beyond its "
                f"tolerance of {g.tolerance:g}."
            )
    for c in worse:
        reasons.append(
            f"{c.variant} is significantly worse than {c.control} "
            f"({fmt(gain(c)[0])}, {p_is(c.pvalue_adjusted, 'adjusted p')})."
        )
    if shippable:
        best = max(shippable, key=lambda c: gain(c)[0])
        est, low, _ = gain(best)
        reasons.insert(
            0,
            f"{best.variant} beats {best.control} by {fmt(est)} "
            f"({p_is(best.pvalue_adjusted, 'adjusted p')}), at least the minimum worthwhile effect of "
            f"{fmt(min_effect)}, and its guardrails hold.",
        )
        if low < min_effect:
            reasons.append(
                f"The {best.ci_level:.1%} interval still reaches down to {fmt(low)}, so the true "
                "effect may be smaller than worthwhile; keep monitoring after launch."
            )
        return "ship", tuple(reasons)
    if failing or worse:
        return "stop", tuple(reasons)
    if better:
        for c in better:
            est = gain(c)[0]
            if est < min_effect:
                reasons.append(
                    f"{c.variant} is significantly better ({fmt(est)}) but below the minimum "
                    f"worthwhile effect of {fmt(min_effect)}."
                )
            else:
                reasons.append(
                    f"{c.variant} is significantly better ({fmt(est)}) but not every guardrail "
                    "is shown to be within its tolerance; collect more data on them."
                )
        return "iterate", tuple(reasons)
    highs = [gain(c)[2] for c in comparisons]
    if all(h < min_effect for h in highs):
        reasons.append(
            "No variant differs significantly from control, and every interval lies below the "
            f"minimum worthwhile effect of {fmt(min_effect)}: no worthwhile effect."
        )
    else:
        reasons.append(
            "No variant differs significantly from control, but the intervals still include "
            f"effects of {fmt(min_effect)} or more, so the experiment cannot rule out a "
            "worthwhile effect; it may be underpowered (run longer or with more users)."
        )
    return "hold", tuple(reasons)


def analyze(
    primary: Variants,
    *,
    control: str,
    metric: str = "primary",
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    direction: Direction = "higher",
    min_effect: float = 0.0,
    min_effect_type: EffectType = "absolute",
    planned_split: Sequence[float] | None = None,
    guardrails: Sequence[Guardrail] = (),
    noninferiority_margin: float | None = None,
    interval: Interval = "score",
    correction: Correction = "holm",
    comparisons: PairMode = "control",
    relative_interval: RelativeInterval = "dual",
) -> Analysis:
    """Analyze an experiment: each variant against ``control``, or every pair of variants
    (``comparisons="all"``), with p-values adjusted by ``correction`` (Holm, Bonferroni or
    Benjamini–Hochberg) and matching intervals (Bonferroni, or Benjamini–Yekutieli's
    FCR-adjusted intervals for BH; see :func:`stats.comparisons.compare_to_control`), per-variant
    estimates at level 1 − α, SRM, guardrails (non-inferiority at α, one-sided, per variant,
    not adjusted for multiplicity: a stricter pass, a more sensitive fail), optional
    non-inferiority of the primary metric against ``noninferiority_margin`` (absolute
    units), the relative lift's interval by ``relative_interval`` (``dual`` to the test by
    default, or ``delta``), and the verdict of :func:`decide` (from the comparisons against control; with
    ``comparisons="all"`` they are adjusted over the whole family of pairs).
    """
    alpha = _validate.alpha(alpha)
    alternative = _validate.alternative(alternative)  # type: ignore[assignment]
    _validate.choice("direction", direction, ("higher", "lower"))
    _validate.choice("min_effect_type", min_effect_type, ("absolute", "relative"))
    _validate.choice("interval", interval, ("score", "wald"))
    min_effect = _validate.non_negative("min_effect", min_effect)
    _check_variants(primary, "variants")
    names = [v.name for v in primary]
    if control not in names:
        raise InvalidInput(
            f"control must be one of {', '.join(names)}, got {control!r}", field="control"
        )
    kind: SummaryMetric = (
        "proportion"
        if isinstance(primary[0], ProportionStats)
        else "ratio"
        if isinstance(primary[0], RatioStats)
        else "mean"
    )
    found = compare_to_control(
        primary,
        control,
        alpha=alpha,
        alternative=alternative,
        interval=interval,
        correction=correction,
        comparisons=comparisons,
        relative=relative_interval,
    )
    if noninferiority_margin is not None:
        base = primary[names.index(control)]
        by_name = {v.name: v for v in primary}
        found = tuple(
            _with_noninferiority(
                c, base, by_name[c.variant], noninferiority_margin, direction, alpha
            )
            if c.control == control
            else c
            for c in found
        )
    srm = sample_ratio_mismatch(primary, planned_split)
    split = list(planned_split) if planned_split is not None else [1.0] * len(primary)
    srm_sequential = sequential_srm([list(srm.observed)], [split], threshold=srm.threshold)
    guards = _guardrail_results(guardrails, names, control, alpha)
    verdict, reasons = decide(
        [c for c in found if c.control == control],
        srm,
        guards,
        kind=kind,
        direction=direction,
        min_effect=min_effect,
        min_effect_type=min_effect_type,
    )
    warnings = tuple(w for c in found for w in c.warnings)
    return Analysis(
        metric=metric,
        kind=kind,
        control=control,
        alpha=alpha,
        alternative=alternative,
        direction=direction,
        min_effect=min_effect,
        min_effect_type=min_effect_type,
        variants=tuple(variant_estimate(v, alpha) for v in primary),
        comparisons=found,
        srm=srm,
        guardrails=guards,
        verdict=verdict,
        reasons=reasons,
        warnings=warnings,
        correction=correction,
        comparison_set=comparisons,
        srm_sequential=srm_sequential,
    )


def _with_noninferiority(
    c: Comparison,
    base: Arm,
    v: Arm,
    margin: float,
    direction: Direction,
    alpha: float,
) -> Comparison:
    ni = noninferiority(
        base, v, margin=margin, direction=direction, alpha=alpha, field="noninferiority_margin"
    )
    return replace(c, noninferiority=ni)
