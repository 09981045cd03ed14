"""CUPED results in plain words. Numbers are formatted here, never computed."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from stats._text import p_is
from stats.cuped import AdjustedComparison, CupedResult, RegressionAdjustmentResult


def _decimals(*values: float) -> int:
    """Decimals that show about three significant digits of the largest value."""
    finite = [abs(v) for v in values if math.isfinite(v) and v != 0]
    if not finite:
        return 2
    return max(0, min(6, 2 - math.floor(math.log10(max(finite)))))


def _signed(value: float, decimals: int) -> str:
    """'+1.20', '−0.50' (a real minus sign), '–' when not a number."""
    if not math.isfinite(value):
        return "–"
    return f"{value:+,.{decimals}f}".replace("-", "−")


def _pvalue(p: float) -> str:
    if not math.isfinite(p):
        return "p –"
    return p_is(p, digits=2)


def comparison_words(c: AdjustedComparison, control: str, level: str) -> str:
    """'B vs A: +1.55 (95% CI +0.22 to +2.88, p = 0.022); unadjusted +1.65 (…)'."""
    d = _decimals(c.ci_low, c.ci_high, c.unadjusted_ci_low, c.unadjusted_ci_high)
    return (
        f"{c.variant} vs {control}: {_signed(c.estimate, d)} ({level} CI "
        f"{_signed(c.ci_low, d)} to {_signed(c.ci_high, d)}, {_pvalue(c.pvalue)}); unadjusted "
        f"{_signed(c.unadjusted_estimate, d)} ({_signed(c.unadjusted_ci_low, d)} to "
        f"{_signed(c.unadjusted_ci_high, d)}, {_pvalue(c.unadjusted_pvalue)}).{lift_words(c)}"
    )


def lift_words(c: AdjustedComparison) -> str:
    """' Adjusted relative lift +4.1% (Fieller's interval +0.6% to +7.7%).' or none."""
    a = c.adjusted
    if not math.isfinite(a.relative_lift):
        return ""
    if math.isinf(a.relative_ci_low) and math.isinf(a.relative_ci_high):
        bounds = "its interval is unbounded: the control's adjusted mean is not clearly ≠ 0"
    else:
        bounds = f"Fieller's interval {a.relative_ci_low:+.1%} to {a.relative_ci_high:+.1%}"
    return f" Adjusted relative lift {a.relative_lift:+.1%} ({bounds})."


def analysis_readout(r: CupedResult | RegressionAdjustmentResult) -> str:
    level = f"{1 - r.alpha:.0%}"
    if isinstance(r, CupedResult):
        head = (
            f"With ρ = {r.rho:.2f}, the CUPED-adjusted variance is {r.variance_reduction:.0%} "
            f"of the unadjusted one: as if you had {r.effective_multiplier:.1f}× as many users."
        )
    else:
        names = ", ".join(r.covariates)
        head = (
            f"Regression adjustment (Lin 2013) on {len(r.covariates)} "
            f"covariate{'s' if len(r.covariates) != 1 else ''} ({names}): the adjusted model "
            f"explains {r.r_squared:.0%} of the outcome's variance."
        )
    parts = [head, *(comparison_words(c, r.control, level) for c in r.comparisons)]
    if r.n_missing_covariate:
        parts.append(
            f"{r.n_missing_covariate:,} of {r.n:,} users had no pre-period value and were kept."
        )
    return " ".join(parts)


def planning_readout(p: Mapping[str, Any]) -> str:
    level = f"{1 - p['alpha']:.0%}"
    d = _decimals(p["unadjusted_half_width"])
    return (
        f"At ρ = {p['rho']:.2f}, CUPED needs {p['n_per_group_required']:,} users per group for "
        f"the precision {p['n_per_group']:,} give without it: as if you had "
        f"{p['effective_multiplier']:.2f}× as many users. The {level} interval narrows from "
        f"±{p['unadjusted_half_width']:.{d}f} to ±{p['half_width']:.{d}f} and the effect "
        f"detectable with {p['power']:.0%} power from {p['unadjusted_mde']:.{d}f} to "
        f"{p['mde']:.{d}f}."
    )
