"""Evaluate an experiment's pre-registered decision policy against the evidence of one look.

Pure logic, no statistics of its own: the p-values, estimates and intervals come from
:mod:`stats` (via the analysis); this module decides which of the spec's rules fires and which
deviations from the pre-registered plan the look reveals. The rules are checked in their order
and the first whose condition holds is the verdict, cited as ``rules[i]``.

Conditions (the spec's ``when``):

- ``srm``: the sample-ratio check alarms (any look: a broken split invalidates every test);
- ``guardrail_breach``: a guardrail's non-inferiority test finds it significantly worse than
  its threshold allows (any look: harm is acted on at once);
- ``loss`` / ``win`` / ``small_win``: the primary metric is significant at ``alpha`` in the
  wrong direction / in the better direction by at least the minimum worthwhile effect /
  in the better direction by less. Under ``fixed-horizon`` only the fixed-horizon p-value
  counts, and only once the horizon is reached (the planned sample *and* runtime): judging it
  earlier is peeking, whose false-positive rate grows with every look (Armitage, McPherson &
  Rowe 1969; Johari et al. 2022, section 2). Under ``sequential`` (``msprt``) the always-valid
  p-value counts at any look (Johari, Pekelis & Walsh 2022, section 4);
- ``inconclusive``: the horizon is reached (or the experiment stopped) and the primary metric
  is not significant.

A stopped experiment's look is final: its primary metric is judged even before the horizon
(and the early stop is flagged).

When no rule fires the verdict is ``continue`` (keep collecting, as planned).

Deviations flagged: ``peeking`` (a fixed-horizon experiment analysed before its horizon),
``stopped_early`` (stopped before the planned runtime, unless the SRM or a guardrail fired,
or a sequential policy's primary test had reached a verdict), ``metric_changed`` / ``policy_changed`` / ``allocation_changed`` (a frozen
section amended after launch; the verdict keeps the pre-registered version), ``alpha_changed``
(the analysis was asked for another α than the policy's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DECISIONS = ("ship", "iterate", "stop", "re-run")
CONDITIONS = ("srm", "guardrail_breach", "loss", "win", "small_win", "inconclusive")
_SAFETY = ("srm", "guardrail_breach")  # conditions that justify stopping at any look
_PRIMARY = ("loss", "win", "small_win")  # ... and these too under a sequential policy
_AMENDED = {
    "primary_metric": "metric_changed",
    "policy": "policy_changed",
    "allocation": "allocation_changed",
}


@dataclass(frozen=True, slots=True)
class ArmEvidence:
    """One treatment against the control on the primary metric: the rate difference
    (treatment − control) and the Bonferroni-adjusted fixed-horizon and always-valid p-values."""

    name: str
    estimate: float
    pvalue_fixed: float
    pvalue_sequential: float


@dataclass(frozen=True, slots=True)
class GuardrailEvidence:
    """One guardrail of one treatment: the change of its rate (treatment − control), the
    spec's threshold, and whether its non-inferiority test found it significantly worse
    beyond the threshold (the analysis's guardrail status ``fail``)."""

    event: str
    variant: str
    estimate: float
    threshold: float
    breached: bool


@dataclass(frozen=True, slots=True)
class Evidence:
    """What one look at the experiment shows.

    ``n``: exposed units; ``days``: days since launch (until the stop, if stopped);
    ``peeks``: earlier looks at this experiment before its horizon while it ran (this one
    excluded; a look at a stopped experiment is no peek: its data are final);
    ``amended``: frozen sections changed since launch; ``alpha_asked``: the α the analysis
    was asked for."""

    n: int
    days: float
    stopped: bool
    srm: bool
    arms: tuple[ArmEvidence, ...]
    guardrails: tuple[GuardrailEvidence, ...] = ()
    peeks: int = 0
    amended: tuple[str, ...] = ()
    alpha_asked: float | None = None


@dataclass(frozen=True, slots=True)
class Deviation:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """The policy's answer at this look: ``decision`` (ship, iterate, stop, re-run, or
    continue), the ``rule`` cited (``rules[3]``, None for continue) and its condition, the
    arm the condition is about, a plain-language ``reason``, and the deviations."""

    decision: str
    rule: str | None
    condition: str | None
    variant: str | None
    reason: str
    horizon_reached: bool
    mode: str
    deviations: tuple[Deviation, ...]


def evaluate(
    policy: Mapping[str, Any],
    mde_absolute: float,
    planned_n: int,
    runtime_days: int,
    evidence: Evidence,
) -> Verdict:
    """The verdict of ``policy`` (the spec's ``policy`` section) for ``evidence``.

    ``mde_absolute`` is the plan's signed minimum worthwhile effect (negative when the metric
    should decrease); ``planned_n`` and ``runtime_days`` are the plan's horizon."""
    alpha = float(policy["alpha"])
    sequential = policy["mode"] == "sequential"
    horizon = evidence.n >= planned_n and evidence.days >= runtime_days
    final = horizon or evidence.stopped  # a stopped experiment's look is its last
    judged = sequential or final
    held = _conditions(evidence, alpha, mde_absolute, sequential=sequential, final=final)
    decision, rule, condition, variant, reason = "continue", None, None, None, ""
    for i, r in enumerate(policy["rules"]):
        if r["when"] in held:
            decision, condition = r["then"], r["when"]
            rule = f"rules[{i}]"
            variant, why = held[condition]
            reason = f"{rule} ({condition} → {decision}): {why}"
            if r.get("note"):
                reason += f" {r['note']}"
            break
    else:
        reason = (
            "No rule fires: keep collecting as planned"
            + (
                ""
                if judged
                else f" (the primary metric is judged at the horizon: {planned_n:,} units and "
                f"{runtime_days} days; now {evidence.n:,} units, {evidence.days:.1f} days)"
            )
            + "."
        )
    deviations = _deviations(
        evidence,
        alpha,
        sequential=sequential,
        horizon=horizon,
        justified=condition in _SAFETY or (sequential and condition in _PRIMARY),
        planned_n=planned_n,
        runtime_days=runtime_days,
    )
    return Verdict(
        decision=decision,
        rule=rule,
        condition=condition,
        variant=variant,
        reason=reason,
        horizon_reached=horizon,
        mode=str(policy["mode"]),
        deviations=deviations,
    )


def _conditions(
    evidence: Evidence, alpha: float, mde: float, *, sequential: bool, final: bool
) -> dict[str, tuple[str | None, str]]:
    """Each condition that holds, with the arm it is about and why. ``final``: the horizon
    is reached or the experiment stopped."""
    held: dict[str, tuple[str | None, str]] = {}
    if evidence.srm:
        held["srm"] = (None, "the exposures do not match the traffic weights.")
    breached = [g for g in evidence.guardrails if g.breached]
    if breached:
        g = breached[0]
        held["guardrail_breach"] = (
            g.variant,
            f"{g.event} changed by {g.estimate:+.4f} in {g.variant}, significantly worse than "
            f"its threshold of {g.threshold:g} allows.",
        )
    if not (sequential or final):
        return held
    test = "always-valid" if sequential else "fixed-horizon"
    sign = 1.0 if mde >= 0 else -1.0

    def p(a: ArmEvidence) -> float:
        return a.pvalue_sequential if sequential else a.pvalue_fixed

    significant = [a for a in evidence.arms if p(a) < alpha and a.estimate * sign != 0]
    losses = [a for a in significant if a.estimate * sign < 0]
    gains = sorted(
        (a for a in significant if a.estimate * sign > 0), key=lambda a: -a.estimate * sign
    )
    if losses:
        a = losses[0]
        held["loss"] = (
            a.name,
            f"{a.name} moved the primary metric the wrong way ({a.estimate:+.4f}, {test} "
            f"p = {p(a):.3g} < {alpha:g}).",
        )
    if gains:
        a = gains[0]
        big = a.estimate * sign >= abs(mde)
        held["win" if big else "small_win"] = (
            a.name,
            f"{a.name} moved the primary metric by {a.estimate:+.4f}, "
            f"{'at least' if big else 'less than'} the minimum "
            f"worthwhile {mde:+.4f} ({test} p = {p(a):.3g} < {alpha:g}).",
        )
    if final and not significant:
        where = "the planned horizon is reached" if not evidence.stopped else "it stopped"
        held["inconclusive"] = (None, f"{where} with no significant difference at {alpha:g}.")
    return held


def _deviations(
    evidence: Evidence,
    alpha: float,
    *,
    sequential: bool,
    horizon: bool,
    justified: bool,
    planned_n: int,
    runtime_days: int,
) -> tuple[Deviation, ...]:
    out: list[Deviation] = []
    if not sequential and not horizon and not evidence.stopped:  # this look is a peek
        looks = evidence.peeks + 1
        out.append(
            Deviation(
                "peeking",
                f"Analysed before the fixed horizon ({evidence.n:,} of {planned_n:,} units, "
                f"{evidence.days:.1f} of {runtime_days} days; {looks} look"
                f"{'s' if looks != 1 else ''} so far): under a fixed-horizon policy the primary "
                "metric is not judged until then.",
            )
        )
    elif not sequential and evidence.peeks:
        out.append(
            Deviation(
                "peeking",
                f"The experiment was analysed {evidence.peeks} time"
                f"{'s' if evidence.peeks != 1 else ''} before its fixed horizon.",
            )
        )
    if evidence.stopped and evidence.days < runtime_days and not justified:
        out.append(
            Deviation(
                "stopped_early",
                f"Stopped after {evidence.days:.1f} of the planned {runtime_days} days "
                f"({evidence.n:,} of {planned_n:,} units).",
            )
        )
    for section in evidence.amended:
        code = _AMENDED.get(section)
        if code:
            out.append(
                Deviation(
                    code,
                    f"The {section.replace('_', ' ')} was changed after launch (see the audit "
                    "trail); the verdict keeps the pre-registered one.",
                )
            )
    if evidence.alpha_asked is not None and evidence.alpha_asked != alpha:
        out.append(
            Deviation(
                "alpha_changed",
                f"The analysis was asked for α = {evidence.alpha_asked:g}; the policy's α is "
                f"{alpha:g}, which the verdict uses.",
            )
        )
    return tuple(out)


def evidence_arms(comparisons: Sequence[Mapping[str, Any]]) -> tuple[ArmEvidence, ...]:
    """:class:`ArmEvidence` from the analysis's ``comparisons`` rows (``as_dict`` shape)."""
    return tuple(
        ArmEvidence(
            name=str(c["name"]),
            estimate=float(c["estimate"]),
            pvalue_fixed=float(c["pvalue_adjusted"]),
            pvalue_sequential=float(c["msprt_pvalue_adjusted"]),
        )
        for c in comparisons
    )
