"""Invalid input raises one type, ``InvalidInput`` (a ``ValueError``), whose ``field`` (and
``row``) say where: the web layer reads those attributes, never the message."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sources.doe import two_way_anova
from stats import _validate
from stats.abtest import analyze
from stats.bandit import thompson_weights
from stats.bayes.engine import (
    analyze_bayesian,
    expected_loss_over_time,
    period_stats,
    variant_stats,
)
from stats.bayes.models import beta_binomial_posterior
from stats.bayes.stopping import simulate_loss_stopping
from stats.comparisons import compare_proportions, sample_ratio_mismatch
from stats.cuped import CovariateStats, cuped
from stats.distribution import binned_distribution
from stats.errors import InvalidInput
from stats.experiment_analysis import analyze_experiment
from stats.group_sequential import group_sequential_bounds, monitor
from stats.msprt import msprt
from stats.peeking import simulate_peeking
from stats.power import solve_power_means, solve_power_proportions
from stats.sufficient import ProportionStats, proportion_variants

A, B = ProportionStats("A", 1000, 100), ProportionStats("B", 1000, 120)
PAIR = [
    {"name": "A", "users": 100, "conversions": 10},
    {"name": "B", "users": 100, "conversions": 12},
]
ROWS = [{"a": a, "b": b, "y": float(i)} for i, (a, b) in enumerate([("x", "u"), ("x", "v"), ("z", "u"), ("z", "v")] * 2)]  # fmt: skip
LOOK = {"users": [100, 100], "conversions": [10, 12]}
ARMS = [CovariateStats("A", 10, 1.0, 1.0, 1.0, 1.0, 0.5), CovariateStats("B", 10, 1.2, 1.0, 1.0, 1.0, 0.5)]  # fmt: skip

CASES: list[tuple[str, Callable[[], Any], str, int | None]] = [
    ("_validate.alpha", lambda: _validate.alpha(0.7), "alpha", None),
    (
        "_validate.count",
        lambda: _validate.count("variants[1].users", -1),
        "variants[1].users",
        None,
    ),
    ("_validate.alternative", lambda: _validate.alternative("both"), "alternative", None),
    ("sufficient", lambda: ProportionStats("A", 10, 11), "conversions", None),
    (
        "sufficient.records",
        lambda: proportion_variants([PAIR[0], {**PAIR[1], "users": -1}]),
        "variants[1].users",
        None,
    ),
    (
        "power.proportions",
        lambda: solve_power_proportions(0.1, 0.02, power=0.8, alpha=0.9),
        "alpha",
        None,
    ),
    ("power.means", lambda: solve_power_means(-1.0, 0.5, power=0.8), "sd", None),
    ("comparisons", lambda: compare_proportions(A, B, alpha=0), "alpha", None),
    ("comparisons.srm", lambda: sample_ratio_mismatch([A, B], [1.0]), "planned_split", None),
    ("abtest", lambda: analyze([A, B], control="C"), "control", None),
    (
        "bandit",
        lambda: thompson_weights(proportion_variants([PAIR[0], {**PAIR[1], "conversions": 200}])),
        "variants[1].conversions",
        None,
    ),
    ("bandit.variants", lambda: thompson_weights([A]), "variants", None),
    ("bayes_models", lambda: beta_binomial_posterior(10, 20), "conversions", None),
    ("bayes_stopping", lambda: simulate_loss_stopping(0.1, 100, 10, -1.0), "threshold", None),
    (
        "bayesian",
        lambda: analyze_bayesian(
            "proportion", variant_stats("proportion", PAIR), control="A", threshold=0.01, draws=0
        ),
        "draws",
        None,
    ),
    (
        "bayesian.prior",
        lambda: analyze_bayesian(
            "proportion",
            variant_stats("proportion", PAIR),
            control="A",
            threshold=0.01,
            prior={"alpha": -1},
        ),
        "prior.alpha",
        None,
    ),
    (
        "bayesian.periods",
        lambda: expected_loss_over_time(
            "proportion",
            ["d1", "d2"],
            period_stats(
                "proportion", [PAIR, [PAIR[0], {**PAIR[1], "users": 1, "conversions": 2}]]
            ),
            control="A",
        ),
        "variants_by_period[1][1].conversions",
        2,
    ),
    ("cuped", lambda: cuped(ARMS, control="C"), "control", None),
    (
        "distribution",
        lambda: binned_distribution(np.ones(3), np.zeros(3, dtype=int), ["A"], metric="m", bins=0),
        "bins",
        None,
    ),
    ("doe", lambda: two_way_anova(ROWS, alpha=0.9), "alpha", None),
    (
        "doe.row",
        lambda: two_way_anova([*ROWS[:3], {**ROWS[3], "y": "x"}, *ROWS[4:]]),
        "rows[3].y",
        4,
    ),
    (
        "doe.csv",
        lambda: two_way_anova(
            pd.DataFrame(ROWS).assign(y=[1, 2, 3, np.inf, 5, 6, 7, 8]),
            factor_a="a",
            factor_b="b",
            response="y",
        ),
        "rows[3].y",
        4,
    ),
    (
        "experiment_analysis",
        lambda: analyze_experiment([A, B], [1.0], planned_n=100),
        "weights",
        None,
    ),
    ("group_sequential", lambda: group_sequential_bounds(looks=0), "looks", None),
    (
        "group_sequential.monitor",
        lambda: monitor(
            [LOOK, {"users": [50, 100], "conversions": [5, 12]}], planned_n_per_arm=1000
        ),
        "looks[1].users",
        None,
    ),
    (
        "group_sequential.look_arm",
        lambda: monitor([{"users": [100, 100], "conversions": [10, 120]}], planned_n_per_arm=1000),
        "looks[0].conversions[1]",
        None,
    ),
    ("msprt", lambda: msprt(A, B, tau=-1.0), "tau", None),
    ("peeking", lambda: simulate_peeking(looks=0, n_per_arm=100, baseline=0.1), "looks", None),
]


@pytest.mark.parametrize(
    ("call", "field", "row"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_invalid_input_raises_the_one_type_naming_its_field(
    call: Callable[[], Any], field: str, row: int | None
) -> None:
    with pytest.raises(InvalidInput) as err:
        call()
    assert err.value.field == field
    assert err.value.row == row
    assert isinstance(err.value, ValueError)  # still caught by `except ValueError`


def test_within_prefixes_field_and_message() -> None:
    inner = InvalidInput("users must be >= 1, got 0", field="users", row=3)
    outer = inner.within("variants[2].")
    assert (outer.field, outer.row, str(outer)) == ("variants[2].users", 3, "variants[2].users must be >= 1, got 0")  # fmt: skip


def test_invalid_input_survives_pickling() -> None:
    err = pickle.loads(
        pickle.dumps(InvalidInput("alpha must be in (0, 0.5]", field="alpha", row=2))
    )
    assert (err.field, err.row, str(err)) == ("alpha", 2, "alpha must be in (0, 0.5]")
