"""From stored counts to the ``stats`` analysis, and the bandit's Thompson-sampling weights.

No arithmetic here: counts come from the store, every number from ``stats``.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from blueprints.experiments.db import get_store
from experiments.store import Conflict, Counts, Experiment
from stats.abtest import EffectType, Guardrail
from stats.bandit import ThompsonWeights, thompson_weights
from stats.comparisons import Direction
from stats.experiment_analysis import (
    DEFAULT_PLANNED_N,
    ExperimentAnalysis,
    analyze_experiment,
    expected_exposures,
)
from stats.sufficient import ProportionStats
from stats.warnings import Code, warning

BANDIT_REFRESH = timedelta(minutes=5)
"""Assignment refreshes bandit weights at most this often (each analysis always does)."""
BANDIT_FLOOR = 0.1
"""Share of traffic spread evenly over all arms (floor = BANDIT_FLOOR / k each), so no arm
is starved of the data that could revive it (see :func:`stats.bandit.thompson_weights`)."""
BANDIT_DRAWS = 20_000
GUARDRAIL_DIRECTION: Direction = "lower"
"""A guardrail event counts a harm (an error, a refund, an unsubscribe) unless told otherwise."""
GUARDRAIL_TOLERANCE = 0.01
"""Tolerated worsening of a guardrail's rate when none is given: one percentage point."""


@dataclass(frozen=True, slots=True)
class GuardrailRule:
    """How to test one guardrail event: which direction is better and the tolerated
    worsening (absolute rate difference, or a fraction of the control's rate)."""

    direction: Direction = GUARDRAIL_DIRECTION
    tolerance: float = GUARDRAIL_TOLERANCE
    tolerance_type: EffectType = "absolute"


@dataclass(frozen=True, slots=True)
class Analysed:
    experiment: Experiment  # after any bandit update
    counts: Counts
    analysis: ExperimentAnalysis
    bandit: ThompsonWeights | None


def _arms(counts: Counts) -> list[ProportionStats]:
    return [ProportionStats(v.name, v.exposures, v.conversions) for v in counts.variants]


def _guardrails(counts: Counts, rules: Mapping[str, GuardrailRule]) -> list[Guardrail]:
    """One :class:`Guardrail` per guardrail event, its conversions the units with the event;
    events without a rule get the default one."""
    events = list(counts.variants[0].guardrail_conversions) if counts.variants else []
    out = []
    for event in events:
        rule = rules.get(event, GuardrailRule())
        stats = tuple(
            ProportionStats(v.name, v.exposures, v.guardrail_conversions[event])
            for v in counts.variants
        )
        out.append(Guardrail(event, stats, rule.direction, rule.tolerance, rule.tolerance_type))
    return out


def thompson(experiment_id: int, counts: Counts) -> ThompsonWeights:
    """Thompson-sampling weights from the primary event's Beta posteriors (uniform prior),
    seeded by the experiment id so the same counts give the same weights."""
    k = len(counts.variants)
    return thompson_weights(
        _arms(counts),
        draws=BANDIT_DRAWS,
        seed=experiment_id,
        floor=BANDIT_FLOOR / k,
    )


def analyse(
    experiment_id: int,
    *,
    alpha: float = 0.05,
    planned_n: int = DEFAULT_PLANNED_N,
    update_bandit: bool = True,
    guardrails: Mapping[str, GuardrailRule] | None = None,
) -> Analysed:
    """Counts -> analysis. A running bandit experiment gets new weights first (when
    ``update_bandit``); the SRM check uses the weights in force when each unit arrived."""
    s = get_store()
    counts = s.counts(experiment_id)
    units = s.covariate_rows(experiment_id)
    experiment = s.get_experiment(experiment_id)
    bandit = None
    if experiment.bandit:
        bandit = thompson(experiment_id, counts)
        if update_bandit and experiment.status == "running":
            with suppress(Conflict):  # stopped in between: keep the last weights
                s.set_weights(experiment_id, bandit.weights)
            experiment = s.get_experiment(experiment_id)
    periods = counts.periods
    expected = (
        expected_exposures([p.weights for p in periods], [p.exposures for p in periods])
        if periods
        else None
    )
    analysis = analyze_experiment(
        _arms(counts),
        [v.weight for v in experiment.variants],
        expected,
        alpha=alpha,
        planned_n=planned_n,
        period_weights=[p.weights for p in periods] if periods else None,
        period_exposures=[p.exposures for p in periods] if periods else None,
        guardrails=_guardrails(counts, guardrails or {}),
        unit_covariates=(units.codes, units.y, units.x) if units and not units.truncated else None,
    )
    if units is not None and units.truncated:
        note = warning(
            Code.ROWS_LEFT_OUT,
            f"CUPED is left out: the experiment has {units.n_units:,} exposed units, more "
            "than the adjustment reads at once.",
        )
        analysis = replace(analysis, warnings=(*analysis.warnings, note))
    return Analysed(experiment, counts, analysis, bandit)


def refresh_bandit(experiment: Experiment) -> None:
    """On assignment: new Thompson weights for a running bandit experiment when the current
    ones are older than :data:`BANDIT_REFRESH` (the store re-checks the age in the same
    transaction, so concurrent workers refresh once)."""
    if not experiment.bandit or experiment.status != "running":
        return
    updated = experiment.weights_updated_at
    now = datetime.now(UTC)
    if updated is not None and now - datetime.fromisoformat(updated) < BANDIT_REFRESH:
        return
    weights = thompson(experiment.id, get_store().counts(experiment.id)).weights
    with suppress(Conflict):  # stopped in between
        get_store().set_weights(experiment.id, weights, min_interval=BANDIT_REFRESH)
