"""The pre-registered spec in the analysis (issue 15): the defaults it sets and the verdict of
its policy.

``POST /api/experiments/<id>/analyze`` takes its defaults from :func:`analysis_defaults` (the
policy's α, the plan's sample, the guardrails' thresholds) and adds :func:`policy_result`: the
rules of the version in force at launch (:func:`pre_registered`) evaluated by
:func:`experiments.policy.evaluate`, the look recorded, deviations and amendments listed.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from blueprints.experiments.analysis import Analysed
from blueprints.experiments.db import get_store
from blueprints.experiments.models import Amendment
from experiments.policy import Evidence, GuardrailEvidence, evaluate, evidence_arms
from experiments.records import SpecVersion
from experiments.store import Conflict, Experiment

SECONDS_PER_DAY = 86_400.0


def amendment(v: SpecVersion) -> Amendment:
    """An audit-trail entry: which version, when, what changed and why."""
    return Amendment(version=v.version, at=v.created_at, changed=v.changed, reason=v.reason)


def without_spec(experiment_id: int) -> None:
    """Refuse (409) a direct change of an experiment created from a spec: its spec is the one
    place it changes (``PUT …/spec``; after launch an audited amendment)."""
    if get_store().spec_history(experiment_id):
        raise Conflict(
            f"experiment {experiment_id} was created from a spec; change it with "
            f"PUT /api/experiments/{experiment_id}/spec (after launch, an audited amendment)"
        )


def pre_registered(versions: tuple[SpecVersion, ...]) -> SpecVersion:
    """The version in force at launch: the last one appended before it."""
    before = [v for v in versions if not v.after_launch]
    return before[-1]


def analysis_defaults(experiment_id: int) -> dict[str, Any]:
    """What an analysis of a spec'd experiment uses unless the request says otherwise: the
    policy's α, the plan's total sample (the mSPRT is tuned to it) and each guardrail's
    threshold as its tolerated worsening. Empty without a spec."""
    versions = get_store().spec_history(experiment_id)
    if not versions:
        return {}
    spec = pre_registered(versions)
    return {
        "alpha": spec.spec["policy"]["alpha"],
        "planned_n": spec.plan["n_total"],
        "guardrails": [
            {"event": g["event"], "tolerance": g["threshold"]} for g in spec.spec["guardrails"]
        ],
    }


def _days(experiment: Experiment) -> float:
    if experiment.launched_at is None:
        return 0.0
    start = datetime.fromisoformat(experiment.launched_at)
    end = (
        datetime.fromisoformat(experiment.stopped_at)
        if experiment.stopped_at
        else datetime.now(UTC)
    )
    return max(0.0, (end - start).total_seconds() / SECONDS_PER_DAY)


def _planned_end(experiment: Experiment, runtime_days: int) -> str | None:
    """When the planned runtime ends (UTC ISO-8601), once launched."""
    if experiment.launched_at is None:
        return None
    end = datetime.fromisoformat(experiment.launched_at) + timedelta(days=runtime_days)
    return end.isoformat().replace("+00:00", "Z")


def policy_result(done: Analysed, alpha_asked: float) -> dict[str, Any] | None:
    """The pre-registered policy evaluated on this analysis (and the look recorded), with
    the audit trail; None for an experiment created without a spec."""
    experiment, a = done.experiment, done.analysis
    store = get_store()
    versions = store.spec_history(experiment.id)
    if not versions:
        return None
    pre = pre_registered(versions)
    plan, policy = pre.plan, pre.spec["policy"]
    days = _days(experiment)
    thresholds = {g["event"]: g["threshold"] for g in pre.spec["guardrails"]}
    horizon = a.n >= plan["n_total"] and days >= plan["runtime_days"]
    if experiment.status == "running":  # a stopped experiment's data are final: no peek
        peeks = store.record_look(experiment.id, n=a.n, before_horizon=not horizon)
    else:
        peeks = sum(k.before_horizon for k in store.looks(experiment.id))
    amended = sorted({s for v in versions if v.after_launch for s in v.changed})
    evidence = Evidence(
        n=a.n,
        days=days,
        stopped=experiment.status == "stopped",
        srm=a.srm_sequential.flagged,
        arms=evidence_arms([c.as_dict() for c in a.comparisons]),
        guardrails=tuple(
            GuardrailEvidence(
                event=g.metric,
                variant=g.variant,
                estimate=g.estimate,
                threshold=thresholds.get(g.metric, g.tolerance),
                breached=g.status == "fail",
            )
            for g in a.guardrail_tests
        ),
        peeks=peeks,
        amended=tuple(amended),
        alpha_asked=alpha_asked,
    )
    verdict = evaluate(
        policy, plan["mde_absolute"], plan["n_total"], plan["runtime_days"], evidence
    )
    return {
        **asdict(verdict),
        "spec_version": pre.version,
        "owner": pre.spec["owner"],
        "rules": policy["rules"],
        "alpha": policy["alpha"],
        "planned_n": plan["n_total"],
        "runtime_days": plan["runtime_days"],
        "days": days,
        "peeks": peeks,
        "looks": [asdict(k) for k in store.looks(experiment.id)],
        "planned_end": _planned_end(experiment, plan["runtime_days"]),
        "amendments": [amendment(v) for v in versions if v.after_launch],
    }
