"""Warnings are {code, message} pairs whose codes are all listed in stats/warnings.py."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

import pytest

import stats
from stats.power import solve_power_proportions
from stats.warnings import Code, ResultWarning, warning

ROOT = Path(__file__).resolve().parents[2]


def test_codes_are_unique_snake_case() -> None:
    values = [c.value for c in Code]
    assert len(values) == len(set(values))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", v) for v in values)


def test_warning_takes_only_listed_codes() -> None:
    w = warning(Code.ZERO_VARIANCE, "no spread")
    assert (w.code, w.message, str(w)) == (Code.ZERO_VARIANCE, "no spread", "no spread")
    with pytest.raises(ValueError):
        warning("not_a_code", "x")  # type: ignore[arg-type]


def test_every_code_used_in_the_code_is_in_the_registry() -> None:
    used = set()
    for folder in ("stats", "blueprints", "sources"):
        for path in (ROOT / folder).rglob("*.py"):
            used |= set(re.findall(r"\bCode\.([A-Z][A-Z0-9_]*)", path.read_text()))
    assert used, "no warning codes found"
    assert used <= set(Code.__members__), used - set(Code.__members__)


def test_results_carry_warning_objects_not_strings() -> None:
    result = solve_power_proportions(0.03, 0.003, power=0.8, daily_traffic=200)
    assert result.warnings and all(isinstance(w, ResultWarning) for w in result.warnings)
    assert result.warnings[0].code == Code.LARGE_SAMPLE


def test_no_stats_result_declares_string_warnings() -> None:
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(stats.__path__):
        module = importlib.import_module(f"stats.{info.name}")
        for obj in vars(module).values():
            if not (isinstance(obj, type) and dataclasses.is_dataclass(obj)):
                continue
            if obj.__module__ != module.__name__:
                continue
            hints = typing.get_type_hints(obj)
            if "warnings" in hints:
                assert "str" not in str(hints["warnings"]), obj
