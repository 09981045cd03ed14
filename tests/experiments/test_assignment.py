"""Hash assignment: stable across processes, distributed as the weights, independent between
experiments.

Statistical checks use seeded unit ids, so each outcome is fixed; the p > 0.001 thresholds are
what a correct hash passes with probability 0.999 for an arbitrary seed, while a bucketing bug
of one percentage point at n = 100,000 gives a chi-square statistic near 60 (p ~ 1e-14).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from experiments.assignment import assign_variant, unit_position

ROOT = Path(__file__).resolve().parents[2]
N_UNITS = 100_000


def unit_ids(seed: int, n: int = N_UNITS) -> list[str]:
    rng = np.random.default_rng(seed)
    return [f"user-{x}" for x in rng.choice(10**12, size=n, replace=False)]


def test_same_unit_always_gets_the_same_variant_in_another_process() -> None:
    units = unit_ids(1, 500)
    here = [assign_variant(42, u, [0.3, 0.3, 0.4], ["A", "B", "C"]) for u in units]
    script = (
        "import sys, json\n"
        "from experiments.assignment import assign_variant\n"
        "units = json.load(sys.stdin)\n"
        "print(json.dumps([assign_variant(42, u, [0.3, 0.3, 0.4], ['A', 'B', 'C'])"
        " for u in units]))\n"
    )
    # A different PYTHONHASHSEED would change any use of Python's salted hash().
    out = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(units),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert json.loads(out.stdout) == here
    assert here == [assign_variant("42", u, [0.3, 0.3, 0.4], ["A", "B", "C"]) for u in units]


def test_position_is_pinned_to_sha256_of_experiment_and_unit() -> None:
    # $ printf '42:u123' | sha256sum
    # efcceac98d2e9ca3e89a79b76d8580ca493b4587d3852da7d095b18d8c47ca54
    # first 8 bytes = 0xefcceac98d2e9ca3 = 17279444021691718819; top 53 bits / 2**53.
    # Changing the scheme would move every running experiment's units, so it is pinned.
    assert unit_position(42, "u123") == (17279444021691718819 >> 11) / 2**53
    assert 0.936 < unit_position(42, "u123") < 0.937  # 0xefcc... / 2**64
    assert assign_variant(42, "u123", [0.5, 0.5], ["A", "B"]) == "B"
    assert assign_variant(42, "u123", [0.95, 0.05], ["A", "B"]) == "A"


def test_positions_are_uniform() -> None:
    positions = [unit_position(7, u) for u in unit_ids(2)]
    assert all(0.0 <= p < 1.0 for p in positions)
    assert stats.kstest(positions, "uniform").pvalue > 0.001


@pytest.mark.parametrize("weights", [[0.5, 0.5], [0.2, 0.3, 0.5], [1.0, 1.0, 2.0, 6.0]])
def test_counts_follow_the_weights(weights: list[float]) -> None:
    names = [f"v{i}" for i in range(len(weights))]
    assigned = [assign_variant(3, u, weights, names) for u in unit_ids(3)]
    observed = [assigned.count(n) for n in names]
    expected = np.array(weights) / sum(weights) * N_UNITS
    assert stats.chisquare(observed, expected).pvalue > 0.001


def test_zero_weight_variant_never_receives_units() -> None:
    assigned = {assign_variant(9, u, [0.0, 1.0, 0.0], ["A", "B", "C"]) for u in unit_ids(4, 5000)}
    assert assigned == {"B"}


def test_experiments_assign_independently() -> None:
    units = unit_ids(5)
    first = [assign_variant(1, u, [1, 1, 1], ["A", "B", "C"]) for u in units]
    second = [assign_variant(2, u, [1, 1], ["A", "B"]) for u in units]
    table = np.zeros((3, 2))
    for a, b in zip(first, second, strict=True):
        table["ABC".index(a), "AB".index(b)] += 1
    assert stats.chi2_contingency(table).pvalue > 0.001


@pytest.mark.parametrize(
    ("unit", "weights", "names", "message"),
    [
        ("", [1.0, 1.0], ["A", "B"], r"^unit must be a non-empty string"),
        ("u", [1.0, 1.0], ["A"], r"^names must have one name per weight"),
        ("u", [], [], r"^names must have one name per weight"),
        ("u", [1.0, -1.0], ["A", "B"], r"^weights\[1\] must be a finite number >= 0"),
        ("u", [1.0, float("inf")], ["A", "B"], r"^weights\[1\] must be a finite number >= 0"),
        ("u", [0.0, 0.0], ["A", "B"], r"^weights must have a positive sum"),
    ],
)
def test_invalid_input_names_the_parameter(
    unit: str, weights: list[float], names: list[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        assign_variant(1, unit, weights, names)
