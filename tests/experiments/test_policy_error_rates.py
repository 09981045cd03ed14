"""The pre-registered policy keeps the false-verdict rate at α however often the team looks.

Seeded A/A simulation of the sample spec's design (3,841 units per arm, five equally spaced
looks, the last at the planned horizon), each look analysed by ``stats`` and judged by
``experiments.policy``. References: a fixed-horizon test judged only at the horizon rejects
with probability α; judging the same fixed-horizon p-value at every one of five looks rejects
with probability 0.142 (Armitage, McPherson & Rowe 1969, five equally spaced looks at nominal
0.05; the figure Pocock 1977 quotes);
the mSPRT's always-valid p-value keeps it at or below α at any looks (Johari et al. 2022).
Tolerances are three Monte Carlo standard errors.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from experiments.policy import Evidence, evaluate, evidence_arms
from experiments.specs import parse_spec, validate_spec
from stats.experiment_analysis import analyze_experiment
from stats.sufficient import ProportionStats

SAMPLE = Path(__file__).resolve().parents[2] / "static" / "samples" / "experiment_spec.yaml"
RUNS, LOOKS, ALPHA = 600, 5, 0.05
PRIMARY = {"win", "small_win", "loss"}
ARMITAGE_5_LOOKS = 0.142


def three_se(p: float) -> float:
    return 3 * math.sqrt(p * (1 - p) / RUNS)


@pytest.fixture(scope="module")
def outcomes() -> dict[str, float]:
    spec, plan = validate_spec(parse_spec(SAMPLE.read_bytes()))
    fixed = spec["policy"]
    sequential = {**fixed, "mode": "sequential", "method": "msprt"}
    per_arm, baseline = plan.n_per_group, spec["primary_metric"]["baseline"]
    rng = np.random.default_rng(20261205)
    sizes = np.diff(np.linspace(0, per_arm, LOOKS + 1).round().astype(int))
    hits = {"fixed": 0, "sequential": 0, "naive": 0}
    for _ in range(RUNS):
        conversions = rng.binomial(sizes, baseline, size=(2, LOOKS)).cumsum(axis=1)
        exposed = sizes.cumsum()
        seen = {"fixed": False, "sequential": False, "naive": False}
        for look in range(LOOKS):
            n = int(exposed[look])
            arms = [
                ProportionStats(name, n, int(conversions[i, look]))
                for i, name in enumerate(("control", "B"))
            ]
            a = analyze_experiment(
                arms,
                [0.5, 0.5],
                alpha=ALPHA,
                planned_n=plan.n_total,
            )
            evidence = Evidence(
                n=2 * n,
                days=plan.runtime_days * (look + 1) / LOOKS,
                stopped=False,
                srm=False,
                arms=evidence_arms([c.as_dict() for c in a.comparisons]),
            )
            for name, policy in (("fixed", fixed), ("sequential", sequential)):
                verdict = evaluate(
                    policy, plan.mde_absolute, plan.n_total, plan.runtime_days, evidence
                )
                seen[name] |= verdict.condition in PRIMARY
            seen["naive"] |= evidence.arms[0].pvalue_fixed < ALPHA
        for name, hit in seen.items():
            hits[name] += hit
    return {name: count / RUNS for name, count in hits.items()}


def test_a_fixed_horizon_policy_judged_at_every_look_keeps_alpha(
    outcomes: dict[str, float],
) -> None:
    assert abs(outcomes["fixed"] - ALPHA) <= three_se(ALPHA)


def test_acting_on_the_fixed_pvalue_at_every_look_inflates_it_as_armitage_tabulated(
    outcomes: dict[str, float],
) -> None:
    assert abs(outcomes["naive"] - ARMITAGE_5_LOOKS) <= three_se(ARMITAGE_5_LOOKS)


def test_a_sequential_policy_keeps_alpha_at_any_looks(outcomes: dict[str, float]) -> None:
    assert outcomes["sequential"] <= ALPHA + three_se(ALPHA)
