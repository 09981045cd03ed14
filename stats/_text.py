"""Numbers in sentences, one convention for every result's words (and every page's readout).

A p-value is never exactly 0 or 1, only rounded to it, so it is never shown as one: below
0.0001 it reads "< 0.0001", above 0.9999 "> 0.9999" (the pages' ``fmtP`` in static/js/app.js
says the same).
"""

from __future__ import annotations

import math

P_FLOOR = 0.0001
P_CEIL = 0.9999


def pvalue(p: float, digits: int = 3) -> str:
    """``p`` for people: "0.0123", "0.05", "< 0.0001", "> 0.9999" (``digits`` significant
    digits, never 0 or 1, never scientific notation)."""
    if p is None or not math.isfinite(p):
        return "–"
    if p < P_FLOOR:
        return "< 0.0001"
    if p > P_CEIL:
        return "> 0.9999"
    text = f"{p:.{digits}g}"
    return f"{p:.4f}" if text == "1" else text  # 0.9996 is not 1


def p_is(p: float, name: str = "p", digits: int = 3) -> str:
    """``name = 0.0123``, or ``name < 0.0001`` / ``name > 0.9999`` at the ends."""
    text = pvalue(p, digits)
    return f"{name} {text}" if text[0] in "<>" else f"{name} = {text}"


def sig(value: float, digits: int = 2) -> str:
    """``value`` with about ``digits`` significant digits, never in scientific notation:
    sig(0.04846) -> "0.048", sig(1234.5) -> "1,234"."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def points(proportion: float, digits: int = 2) -> str:
    """A difference of two proportions in percentage points: points(0.0004846) ->
    "0.048 points" (pages show proportions' differences in points; the API keeps proportions)."""
    return f"{sig(proportion * 100, digits)} points"
