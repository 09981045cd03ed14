"""Segments in plain words: which segments win, which show no effect, which are too thin to
tell (conflicts are named, never averaged away), then heterogeneity and partial pooling."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from stats._text import p_is, sig
from stats.segments import SegmentAnalysis

MAX_NAMED = 6
"""Most segment names listed for one verdict; the rest are counted."""


def _names(names: Sequence[str]) -> str:
    shown = list(names[:MAX_NAMED])
    if len(names) > MAX_NAMED:
        shown.append(f"{len(names) - MAX_NAMED} more")
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def verdict_sentence(a: SegmentAnalysis) -> str:
    """argonx's summary: 'wins on iOS, no effect on Android, tablet too thin to tell'."""
    groups: dict[str, list[str]] = {}
    for s in a.segments:
        groups.setdefault(s.verdict, []).append(s.name)
    if len(groups) == 1:
        kind = next(iter(groups))
        return {
            "wins": "wins on every segment",
            "loses": "loses on every segment",
            "no effect": "no effect on any segment",
            "too thin to tell": f"all {len(a.segments)} segments are too thin to tell",
        }[kind]
    parts = []
    for kind, words in (
        ("wins", "wins on "),
        ("loses", "loses on "),
        ("no effect", "no effect on "),
    ):
        if kind in groups:
            parts.append(words + _names(groups[kind]))
    if "too thin to tell" in groups:
        parts.append(_names(groups["too thin to tell"]) + " too thin to tell")
    return ", ".join(parts)


def readout(
    a: SegmentAnalysis, label: str = "", number: Callable[[float], str] = lambda x: sig(x, 3)
) -> str:
    """The comparison's segments in words; ``label`` names it ('B vs A'), ``number`` formats
    an effect (points for conversions)."""
    level = f"{100 * (1 - a.alpha):.4g}%"
    h = a.heterogeneity
    lead = f"{label} by segment: " if label else "By segment: "
    text = lead + verdict_sentence(a) + "."
    conflict = len({s.verdict for s in a.segments}) > 1
    if h.pvalue < a.alpha:
        text += (
            f" The segments differ more than chance allows (Cochran's Q = {sig(h.q, 3)}, "
            f"df = {h.df}, {p_is(h.pvalue)}; I² = {h.i2:.0%})"
            + (": the overall effect does not hold everywhere." if conflict else ".")
        )
    else:
        text += (
            f" The differences between segments are within chance (Q = {sig(h.q, 3)}, "
            f"df = {h.df}, {p_is(h.pvalue)})"
            + (
                ", so the verdicts may differ by noise alone; the pooled estimates below say "
                "how much each segment borrows from the others."
                if conflict
                else "."
            )
        )
    o = a.overall
    text += (
        f" Overall ({o.method}): {number(o.estimate)}, {level} CI "
        f"{number(o.ci_low)} to {number(o.ci_high)}."
    )
    if a.hierarchical is not None:
        moved = max(a.segments, key=lambda s: abs(s.shrunk_estimate - s.estimate))
        tau = a.tau if not math.isnan(a.tau) else a.tau_median
        text += (
            f" Partial pooling (spread of true effects τ ≈ {number(tau)}) moves {moved.name} "
            f"most, from {number(moved.estimate)} to {number(moved.shrunk_estimate)} "
            f"(P(effect > 0) = {moved.prob_positive:.0%})."
        )
    return text
