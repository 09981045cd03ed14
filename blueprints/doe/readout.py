"""The two-way ANOVA in plain words: the interaction first, then the main effects."""

from __future__ import annotations

from stats._text import p_is
from stats.doe import AnovaResult, AnovaRow


def p_words(p: float) -> str:
    """'p = 0.003', 'p = 0.019', 'p < 0.0001'."""
    return p_is(p, digits=2)


def level_words(alpha: float) -> str:
    """The confidence level of the intervals: '95%', '97.5%'."""
    return f"{100 * (1 - alpha):.4g}%"


def _row(r: AnovaResult, term: str) -> AnovaRow | None:
    return next((row for row in r.anova if row.term == term), None)


def _main_effect(r: AnovaResult, row: AnovaRow, other: str) -> str:
    assert row.pvalue is not None
    if row.significant:
        return (
            f"Averaged over the levels of {other}, {row.source} matters "
            f"({p_words(row.pvalue)}, partial η² = {row.partial_eta_sq:.2f})."
        )
    return f"Averaged over the levels of {other}, {row.source} shows no clear effect ({p_words(row.pvalue)})."


def readout(r: AnovaResult) -> str:
    a, b, ab = _row(r, "a"), _row(r, "b"), _row(r, "a:b")
    assert a is not None and b is not None
    if a.pvalue is None or b.pvalue is None:
        return (
            f"The model fits these {r.n} observations exactly, so there is no error variance "
            "to test against: add replicates to test the effects."
        )
    parts: list[str] = []
    if ab is not None and ab.pvalue is not None:
        if ab.significant:
            parts.append(
                f"The effect of {r.factor_b} depends on {r.factor_a}: {p_words(ab.pvalue)} "
                f"for the interaction (partial η² = {ab.partial_eta_sq:.2f}). Compare the cell "
                "means in the interaction plot rather than the main effects alone."
            )
        else:
            parts.append(
                f"No clear evidence that the effect of {r.factor_b} depends on {r.factor_a} "
                f"({p_words(ab.pvalue)} for the interaction)."
            )
    else:
        parts.append(
            f"With one observation per cell the {r.factor_a} × {r.factor_b} interaction "
            "cannot be tested; the additive model was fitted."
        )
    parts.append(_main_effect(r, a, r.factor_b))
    parts.append(_main_effect(r, b, r.factor_a))
    top = max(r.cell_means, key=lambda c: c.mean)
    parts.append(
        f"The highest mean {r.response} is {top.mean:.4g} at {r.factor_a} = {top.a}, "
        f"{r.factor_b} = {top.b}."
    )
    parts.append(
        f"Type {'II' if r.anova_type == 2 else 'III'} sums of squares; alpha {r.alpha:g} "
        f"({level_words(r.alpha)} intervals)."
    )
    return " ".join(parts)
