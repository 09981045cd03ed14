"""stats.abtest: the orchestrator, guardrails and the verdict rules, scenario by scenario.

The numbers behind each scenario are checked against statsmodels/scipy in
test_comparisons.py; here the expected verdicts follow from the documented rules and from
reference p-values computed with statsmodels in the comments.
"""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from statsmodels.stats.proportion import proportions_ztest

from stats.abtest import Guardrail, analyze
from stats.sufficient import MeanStats, ProportionStats
from stats.warnings import Code


def P(name: str, users: int, conversions: int) -> ProportionStats:
    return ProportionStats(name, users, conversions)


AB = [P("A", 1000, 120), P("B", 1000, 160)]  # statsmodels: z = 2.578, p = 0.0099


def revenue(b_mean: float, sd: float = 10.0, n: int = 1000) -> tuple[MeanStats, ...]:
    return (MeanStats("A", n, 5.0, sd), MeanStats("B", n, b_mean, sd))


def test_issue_example_ships_and_serialises():
    a = analyze(AB, control="A", min_effect=0.01)
    z, p = proportions_ztest([160, 120], [1000, 1000])
    (c,) = a.comparisons
    assert c.pvalue == pytest.approx(p, rel=1e-6) and c.statistic == pytest.approx(z, rel=1e-6)
    assert c.estimate == pytest.approx(0.04) and c.relative_lift == pytest.approx(1 / 3)
    assert a.verdict == "ship" and a.reasons[0].startswith("B beats A by +4.00 points")
    # the 95% interval (+0.96 to +7.05 points) reaches below min_effect: a caveat is given
    assert any("may be smaller than worthwhile" in r for r in a.reasons)
    assert [v.name for v in a.variants] == ["A", "B"] and a.variants[1].estimate == 0.16
    assert not a.srm.flagged
    json.dumps(dataclasses.asdict(a), allow_nan=True)  # JSON-friendly all the way down


def test_significant_but_below_min_effect_iterates():
    a = analyze(AB, control="A", min_effect=0.05)
    assert a.verdict == "iterate"
    assert "below the minimum worthwhile effect of +5.00 points" in a.reasons[0]


def test_relative_min_effect_uses_the_relative_lift():
    assert analyze(AB, control="A", min_effect=0.3, min_effect_type="relative").verdict == "ship"
    assert analyze(AB, control="A", min_effect=0.4, min_effect_type="relative").verdict == "iterate"


def test_nothing_significant_holds_and_says_whether_an_effect_was_ruled_out():
    small = analyze([P("A", 1000, 120), P("B", 1000, 125)], control="A", min_effect=0.01)
    assert small.verdict == "hold" and "cannot rule out a worthwhile effect" in small.reasons[0]
    # 100k per arm: the interval (about ±0.3 points) lies below +1 point
    big = analyze([P("A", 100_000, 12_000), P("B", 100_000, 12_010)], control="A", min_effect=0.01)
    assert big.verdict == "hold" and "no worthwhile effect" in big.reasons[0]


def test_significantly_worse_primary_stops():
    a = analyze([P("A", 1000, 160), P("B", 1000, 120)], control="A")
    assert a.verdict == "stop" and "significantly worse" in a.reasons[0]


def test_lower_is_better_flips_the_direction():
    # bounce rate: B lowers it from 16% to 12%
    a = analyze([P("A", 1000, 160), P("B", 1000, 120)], control="A", direction="lower")
    assert a.verdict == "ship"


def test_sample_ratio_mismatch_reruns_whatever_else_is_true():
    a = analyze([P("A", 1000, 120), P("B", 1200, 190)], control="A")
    assert a.srm.flagged and a.verdict == "rerun"
    assert a.reasons == (a.srm.explanation,)
    planned = analyze([P("A", 1000, 120), P("B", 1200, 190)], control="A", planned_split=[5, 6])
    assert not planned.srm.flagged and planned.verdict == "ship"


def test_guardrail_pass_fail_inconclusive():
    # SE of a difference of two means with sd 10, n 1000 is 0.447; one-sided 95% bounds
    # are ±0.735 around the estimate.
    ok = Guardrail("revenue", revenue(5.0), tolerance=1.0)  # lower bound -0.74 > -1: pass
    bad = Guardrail("revenue", revenue(3.0), tolerance=1.0)  # upper bound -1.26 < -1: fail
    unsure = Guardrail("revenue", revenue(4.6), tolerance=0.5)  # -1.14 .. 0.34: inconclusive
    statuses = [
        analyze(AB, control="A", guardrails=[g]).guardrails[0].status for g in (ok, bad, unsure)
    ]
    assert statuses == ["pass", "fail", "inconclusive"]
    assert analyze(AB, control="A", guardrails=[ok]).verdict == "ship"
    stopped = analyze(AB, control="A", guardrails=[bad])
    assert stopped.verdict == "stop" and "guardrail revenue" in stopped.reasons[0]
    waiting = analyze(AB, control="A", guardrails=[unsure])
    assert waiting.verdict == "iterate" and "guardrail" in waiting.reasons[0]


def test_relative_tolerance_and_lower_is_better_guardrail():
    # latency 200 ms ± 50, lower is better; B adds 1 ms, tolerated up to 2% (4 ms)
    lat = (MeanStats("A", 5000, 200.0, 50.0), MeanStats("B", 5000, 201.0, 50.0))
    g = Guardrail("latency", lat, direction="lower", tolerance=0.02, tolerance_type="relative")
    (res,) = analyze(AB, control="A", guardrails=[g]).guardrails
    assert res.tolerance == pytest.approx(4.0) and res.status == "pass"
    assert res.test.ci_high < 4.0


def test_primary_noninferiority_is_reported():
    a = analyze([P("A", 5000, 600), P("B", 5000, 590)], control="A", noninferiority_margin=0.02)
    (c,) = a.comparisons
    assert c.noninferiority is not None and c.noninferiority.holds
    assert c.noninferiority.margin == 0.02


def test_three_variants_ship_the_best_worthwhile_one_and_flag_the_harmful_one():
    primary = [P("A", 10_000, 1000), P("B", 10_000, 1150), P("C", 10_000, 1100)]
    guard = Guardrail(
        "revenue",
        (
            MeanStats("A", 10_000, 5, 10),
            MeanStats("B", 10_000, 4.0, 10),
            MeanStats("C", 10_000, 5, 10),
        ),
        tolerance=0.3,
    )
    a = analyze(primary, control="A", min_effect=0.005, guardrails=[guard])
    assert {g.variant: g.status for g in a.guardrails} == {"B": "fail", "C": "pass"}
    assert a.verdict == "ship" and a.reasons[0].startswith("C beats A")
    assert any("B is significantly worse on guardrail revenue" in r for r in a.reasons)
    assert all(c.ci_level == pytest.approx(1 - 0.05 / 2) for c in a.comparisons)


def test_means_primary():
    a = analyze([MeanStats("A", 400, 10.0, 4.0), MeanStats("B", 400, 11.0, 4.0)], control="A")
    assert a.kind == "mean" and a.comparisons[0].test == "welch" and a.verdict == "ship"
    assert a.comparisons[0].effect_size == pytest.approx(0.25)


def test_fisher_warning_reaches_the_analysis():
    a = analyze([P("A", 30, 0), P("B", 30, 4)], control="A")
    assert a.comparisons[0].test == "fisher"
    assert any(w.code == Code.FISHER_EXACT and "Fisher" in w.message for w in a.warnings)
    assert math.isnan(a.comparisons[0].relative_lift)


@pytest.mark.parametrize(
    ("kwargs", "prefix"),
    [
        ({"alpha": 0}, "alpha must be in (0, 0.5]"),
        ({"alternative": "up"}, "alternative must be one of"),
        ({"direction": "up"}, "direction must be one of"),
        ({"min_effect": -0.1}, "min_effect must be >= 0"),
        ({"min_effect_type": "percent"}, "min_effect_type must be one of"),
        ({"interval": "exact"}, "interval must be one of"),
        ({"control": "Z"}, "control must be one of A, B, got 'Z'"),
        ({"primary": AB[:1]}, "variants must hold at least 2"),
        ({"primary": [AB[0], MeanStats("B", 10, 1, 1)]}, "variants must be all"),
        ({"primary": [AB[0], P("A", 10, 1)]}, "variants names must be unique"),
        ({"primary": [AB[0], P("B", 0, 0)]}, "variants[1].users must be >= 1"),
        (
            {"primary": [MeanStats("A", 1, 1, 0), MeanStats("B", 9, 1, 1)]},
            "variants[0].users must be >= 2",
        ),
        ({"planned_split": [1, 2, 3]}, "planned_split must hold"),
        ({"noninferiority_margin": -1}, "noninferiority_margin must be >= 0"),
        (
            {"guardrails": [Guardrail("r", revenue(5), tolerance=-1)]},
            "guardrails[0].tolerance must be >= 0",
        ),
        (
            {"guardrails": [Guardrail("r", revenue(5), direction="up")]},
            "guardrails[0].direction must be",
        ),
        (
            {"guardrails": [Guardrail("r", revenue(5), tolerance_type="pct")]},
            "guardrails[0].tolerance_type must be",
        ),
        (
            {"guardrails": [Guardrail("r", (MeanStats("A", 9, 1, 1), MeanStats("C", 9, 1, 1)))]},
            "guardrails[0].variants must name the same variants",
        ),
    ],
)
def test_invalid_input_names_the_parameter(kwargs, prefix):
    args = {"primary": AB, "control": "A"} | kwargs
    with pytest.raises(ValueError) as err:
        analyze(args.pop("primary"), **args)
    assert str(err.value).startswith(prefix)
