"""The pre-registered policy: which rule fires, that the verdict cites it, and the deviations
(peeking under a fixed horizon, an early stop, amended frozen sections, another α)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from experiments.policy import ArmEvidence, Evidence, GuardrailEvidence, evaluate

RULES = [
    {"when": "srm", "then": "re-run"},
    {"when": "guardrail_breach", "then": "stop"},
    {"when": "loss", "then": "stop"},
    {"when": "win", "then": "ship", "note": "Roll out to everyone."},
    {"when": "small_win", "then": "iterate"},
    {"when": "inconclusive", "then": "iterate"},
]
FIXED = {"alpha": 0.05, "mode": "fixed-horizon", "rules": RULES}
SEQUENTIAL = {"alpha": 0.05, "mode": "sequential", "method": "msprt", "rules": RULES}
MDE, PLANNED_N, RUNTIME = 0.02, 8000, 8
AT_HORIZON = Evidence(n=8000, days=8.0, stopped=False, srm=False, arms=())
EARLY = Evidence(n=2000, days=2.0, stopped=False, srm=False, arms=())


def arm(estimate: float, p_fixed: float = 0.5, p_seq: float = 0.5) -> tuple[ArmEvidence, ...]:
    return (ArmEvidence("B", estimate, p_fixed, p_seq),)


def verdict(policy: dict[str, Any], evidence: Evidence, mde: float = MDE) -> Any:
    return evaluate(policy, mde, PLANNED_N, RUNTIME, evidence)


@pytest.mark.parametrize(
    ("estimate", "p", "decision", "rule"),
    [
        (0.025, 0.001, "ship", "rules[3]"),  # significant, at least the mde
        (0.010, 0.001, "iterate", "rules[4]"),  # significant, below the mde
        (-0.020, 0.001, "stop", "rules[2]"),  # significant the wrong way
        (0.030, 0.200, "iterate", "rules[5]"),  # not significant at the horizon
    ],
)
def test_at_the_horizon_the_first_matching_rule_decides_and_is_cited(
    estimate: float, p: float, decision: str, rule: str
) -> None:
    v = verdict(FIXED, replace(AT_HORIZON, arms=arm(estimate, p_fixed=p)))
    assert (v.decision, v.rule) == (decision, rule)
    assert v.reason.startswith(f"{rule} (")
    assert v.deviations == ()


def test_the_rule_note_is_part_of_the_reason() -> None:
    v = verdict(FIXED, replace(AT_HORIZON, arms=arm(0.03, p_fixed=0.001)))
    assert v.reason.endswith("Roll out to everyone.")


def test_fixed_horizon_does_not_judge_the_primary_metric_early_and_flags_the_peek() -> None:
    v = verdict(FIXED, replace(EARLY, arms=arm(0.05, p_fixed=1e-6, p_seq=1e-6), peeks=2))
    assert v.decision == "continue" and v.rule is None
    assert [d.code for d in v.deviations] == ["peeking"]
    assert "3 looks" in v.deviations[0].message


def test_the_sample_alone_is_not_the_horizon_the_runtime_is_needed_too() -> None:
    v = verdict(FIXED, replace(AT_HORIZON, days=3.0, arms=arm(0.05, p_fixed=1e-6)))
    assert v.decision == "continue" and not v.horizon_reached


def test_earlier_peeks_stay_flagged_at_the_horizon() -> None:
    v = verdict(FIXED, replace(AT_HORIZON, peeks=4, arms=arm(0.03, p_fixed=0.001)))
    assert v.decision == "ship"
    assert [d.code for d in v.deviations] == ["peeking"]


def test_srm_and_guardrails_act_at_any_look_in_rule_order() -> None:
    breach = GuardrailEvidence("refund", "B", estimate=0.02, threshold=0.01, breached=True)
    both = replace(EARLY, srm=True, guardrails=(breach,))
    assert verdict(FIXED, both).rule == "rules[0]"
    v = verdict(FIXED, replace(both, srm=False))
    assert (v.decision, v.rule, v.variant) == ("stop", "rules[1]", "B")
    ok = replace(breach, breached=False)
    assert verdict(FIXED, replace(EARLY, guardrails=(ok,))).decision == "continue"
    # stopping for a guardrail is no early-stop deviation
    stopped = replace(EARLY, stopped=True, guardrails=(breach,))
    assert "stopped_early" not in [d.code for d in verdict(FIXED, stopped).deviations]


def test_sequential_judges_at_any_look_with_the_always_valid_pvalue() -> None:
    v = verdict(SEQUENTIAL, replace(EARLY, arms=arm(0.03, p_fixed=0.5, p_seq=0.01)))
    assert (v.decision, v.rule) == ("ship", "rules[3]")
    assert v.deviations == ()  # no peeking under a sequential policy
    # the fixed-horizon p-value does not count under a sequential policy
    v = verdict(SEQUENTIAL, replace(EARLY, arms=arm(0.03, p_fixed=1e-9, p_seq=0.2)))
    assert v.decision == "continue"


def test_stopping_early_is_flagged_unless_a_sequential_verdict_allowed_it() -> None:
    stopped = replace(EARLY, stopped=True, arms=arm(0.03, p_fixed=0.001, p_seq=0.001))
    v = verdict(FIXED, stopped)
    assert v.decision == "ship"  # a stopped experiment's look is final, and no peek
    assert [d.code for d in v.deviations] == ["stopped_early"]
    peeked = verdict(FIXED, replace(stopped, peeks=2)).deviations
    assert [d.code for d in peeked] == ["peeking", "stopped_early"]
    assert "analysed 2 times before" in peeked[0].message
    assert verdict(SEQUENTIAL, stopped).deviations == ()
    quiet = replace(stopped, arms=arm(0.001, p_fixed=0.6, p_seq=0.9))
    v = verdict(SEQUENTIAL, quiet)
    assert v.decision == "iterate" and v.condition == "inconclusive"
    assert [d.code for d in v.deviations] == ["stopped_early"]


def test_a_decreasing_metric_wins_by_going_down() -> None:
    v = verdict(FIXED, replace(AT_HORIZON, arms=arm(-0.03, p_fixed=0.001)), mde=-0.02)
    assert v.decision == "ship"
    v = verdict(FIXED, replace(AT_HORIZON, arms=arm(0.03, p_fixed=0.001)), mde=-0.02)
    assert v.condition == "loss"


def test_the_best_of_several_arms_decides_a_win_and_any_loss_comes_first() -> None:
    arms = (
        ArmEvidence("B", 0.011, 0.01, 0.5),
        ArmEvidence("C", 0.030, 0.01, 0.5),
        ArmEvidence("D", -0.02, 0.01, 0.5),
    )
    v = verdict(FIXED, replace(AT_HORIZON, arms=arms))
    assert (v.condition, v.variant) == ("loss", "D")
    v = verdict(FIXED, replace(AT_HORIZON, arms=arms[:2]))
    assert (v.condition, v.variant) == ("win", "C")


def test_amendments_and_another_alpha_are_deviations() -> None:
    evidence = replace(AT_HORIZON, amended=("owner", "primary_metric", "policy"), alpha_asked=0.1)
    codes = [d.code for d in verdict(FIXED, evidence).deviations]
    assert codes == ["metric_changed", "policy_changed", "alpha_changed"]
