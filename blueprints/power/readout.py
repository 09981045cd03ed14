"""The power calculator's result in plain words."""

from __future__ import annotations

from stats.power import PowerResult
from stats.sufficient import RatioStats


def ratio_words(r: RatioStats) -> str:
    """How a ratio metric was sized: its delta-method sd per user."""
    return (
        f"The ratio {r.mean:.4g} ({r.numerator_mean:.4g} over {r.denominator_mean:.4g} per user) "
        f"has a delta-method standard deviation of {r.sd:.4g} per user, with the "
        "numerator–denominator covariance (Deng, Knoblich & Lu 2018); the differences above "
        "are in units of the ratio."
    )


def effect_words(r: PowerResult) -> str:
    """'+2.0 points (10.0% → 12.0%, +20% relative)' or '+0.5 (difference in means)'."""
    if r.baseline is None:
        assert r.sd is not None
        sds = f"{r.mde / r.sd:+.2f} standard deviations"
        if r.baseline_mean is not None and r.mde_relative is not None:
            return (
                f"a difference in means of {r.mde:+.4g} ({r.baseline_mean:.4g} → "
                f"{r.baseline_mean + r.mde:.4g}, {r.mde_relative:+.1%} relative; {sds})"
            )
        return f"a difference in means of {r.mde:+.4g} ({sds})"
    return (
        f"{r.mde * 100:+.2f} points ({r.baseline:.1%} → {r.baseline + r.mde:.1%}, "
        f"{r.mde / r.baseline:+.0%} relative)"
    )


def sizes_words(r: PowerResult) -> str:
    if r.arms == 1 and r.n_treatment == r.n_per_group:
        return f"{r.n_per_group:,} users per group ({r.n_total:,} in total)"
    where = "treatment" if r.arms == 1 else f"each of {r.arms} treatment arms"
    return (
        f"{r.n_per_group:,} users in control and {r.n_treatment:,} in {where} "
        f"({r.n_total:,} in total)"
    )


def readout(r: PowerResult) -> str:
    if r.solved_for == "n_per_group":
        text = f"You need {sizes_words(r)} to detect {effect_words(r)} with {r.power:.0%} power."
    elif r.solved_for == "power":
        text = f"With {sizes_words(r)} you have {r.power:.1%} power to detect {effect_words(r)}."
    else:
        text = (
            f"With {sizes_words(r)} and {r.power:.0%} power, the smallest effect you can "
            f"reliably detect is {effect_words(r)}."
        )
    if r.days is not None and r.daily_traffic is not None:
        unit = "day" if r.days == 1 else "days"
        text += f" At {r.daily_traffic:,.6g} eligible users a day that is {r.days:,} {unit}."
    if r.bonferroni and r.arms > 1:
        text += f" Each of the {r.arms} comparisons is tested at alpha {r.alpha_per_test:.4g} (Bonferroni)."
    if r.rho:
        text += (
            f" With a pre-experiment covariate correlated at ρ = {r.rho:.2f} (CUPED), the variance "
            f"shrinks by {r.rho**2:.0%}, so the sample size is {1 - r.rho**2:.0%} of the unadjusted one."
        )
    return text
