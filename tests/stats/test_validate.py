"""The shared argument checks: each error starts with the field name and states the range."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import pytest

from stats import _validate as v


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: v.finite("x", "abc"), "x must be a number"),
        (lambda: v.finite("x", math.inf), "x must be a finite number"),
        (lambda: v.in_open_unit("baseline", 1.0), "baseline must be in (0, 1)"),
        (lambda: v.alpha(0.7), "alpha must be in (0, 0.5]"),
        (lambda: v.alpha(0.0), "alpha must be in (0, 0.5]"),
        (lambda: v.alpha(1e-300), "alpha must be at least 1e-12"),
        (lambda: v.positive("sd", 0), "sd must be > 0"),
        (lambda: v.non_negative("threshold", -1), "threshold must be >= 0"),
        (lambda: v.count("users", 2.5), "users must be a whole number >= 0"),
        (lambda: v.count("looks", 0, minimum=1), "looks must be a whole number >= 1"),
        (lambda: v.count("users", 1e300), "users must be at most 1e+15"),
        (
            lambda: v.alternative("sideways"),
            "alternative must be one of two-sided, larger, smaller",
        ),
        (lambda: v.choice("metric", "median", ("proportion", "mean")), "metric must be one of"),
    ],
)
def test_errors_name_the_field_and_the_range(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        call()


def test_valid_values_pass_through() -> None:
    assert v.alpha(0.05) == 0.05
    assert v.alpha(v.MIN_ALPHA) == v.MIN_ALPHA
    assert v.count("users", 1000.0) == 1000
    assert v.in_open_unit("power", 0.8) == 0.8
    assert v.alternative("larger") == "larger"
