"""Append-only governance records of an experiment: its spec versions, its looks and its
decision records (SQLAlchemy Core on the store's connection; tables in :mod:`.schema`).

- **Spec versions.** Version 1 is the spec the experiment was created from. Every later change
  appends a version with the sections it changed and a reason; versions appended after launch
  are the audit trail. Nothing is ever updated or deleted (the rows go only with their
  experiment).
- **Looks.** Each analysis of an experiment with a spec appends a look (when, how many units,
  whether the planned horizon was reached), so peeking under a fixed-horizon policy is counted.
- **Decision records.** ``ship``, ``iterate``, ``stop`` or ``re-run`` with owner, rationale,
  follow-up, date and a frozen snapshot of the analysis they rest on. A correction is a new
  record; there is no update or delete.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select

from experiments import schema as t

MAX_OWNER = 200
MAX_RATIONALE = 5_000
MAX_FOLLOW_UP = 2_000
MAX_REASON = 1_000
MAX_QUERY = 200
DECISION_FIELDS = ("decision", "owner", "rationale", "follow_up")


@dataclass(frozen=True, slots=True)
class SpecVersion:
    """One version of an experiment's spec: the validated spec, its computed plan, the
    sections changed from the previous version, the reason given, and whether it came after
    launch (an audited amendment)."""

    version: int
    spec: dict[str, Any]
    plan: dict[str, Any]
    changed: tuple[str, ...]
    reason: str
    created_at: str
    after_launch: bool


@dataclass(frozen=True, slots=True)
class Look:
    """One analysis of the experiment: when, the exposed units then, and whether the planned
    horizon was still ahead (a peek under a fixed-horizon policy)."""

    at: str
    n: int
    before_horizon: bool


@dataclass(frozen=True, slots=True)
class Decision:
    """A decision record; ``analysis`` is the frozen snapshot of the analysis it rests on."""

    id: int
    experiment_id: int
    decision: str
    owner: str
    rationale: str
    follow_up: str
    decided_at: str
    spec_version: int | None
    analysis: dict[str, Any]


# -- spec versions --------------------------------------------------------------------------


def append_spec(
    conn: Connection,
    experiment_id: int,
    spec: Mapping[str, Any],
    plan: Mapping[str, Any],
    *,
    changed: Sequence[str],
    reason: str,
    at: str,
    after_launch: bool,
) -> SpecVersion:
    """Append the next version of the experiment's spec."""
    s = t.experiment_specs.c
    version = (
        conn.scalar(select(func.max(s.version)).where(s.experiment_id == experiment_id)) or 0
    ) + 1
    conn.execute(
        insert(t.experiment_specs).values(
            experiment_id=experiment_id,
            version=version,
            spec=json.dumps(spec),
            plan=json.dumps(plan),
            changed=json.dumps(list(changed)),
            reason=reason,
            created_at=at,
            after_launch=int(after_launch),
        )
    )
    return SpecVersion(version, dict(spec), dict(plan), tuple(changed), reason, at, after_launch)


def spec_versions(conn: Connection, experiment_id: int) -> tuple[SpecVersion, ...]:
    """Every version of the experiment's spec, oldest first (empty: created without one)."""
    s = t.experiment_specs.c
    rows = conn.execute(
        select(s.version, s.spec, s.plan, s.changed, s.reason, s.created_at, s.after_launch)
        .where(s.experiment_id == experiment_id)
        .order_by(s.version)
    )
    return tuple(
        SpecVersion(
            version=row[0],
            spec=json.loads(row[1]),
            plan=json.loads(row[2]),
            changed=tuple(json.loads(row[3])),
            reason=row[4],
            created_at=row[5],
            after_launch=bool(row[6]),
        )
        for row in rows
    )


# -- looks ----------------------------------------------------------------------------------


def append_look(
    conn: Connection, experiment_id: int, *, n: int, before_horizon: bool, at: str
) -> int:
    """Record a look; answer how many earlier looks came before the horizon."""
    k = t.analysis_looks.c
    earlier = conn.scalar(
        select(func.count())
        .select_from(t.analysis_looks)
        .where(k.experiment_id == experiment_id, k.before_horizon == 1)
    )
    conn.execute(
        insert(t.analysis_looks).values(
            experiment_id=experiment_id, at=at, n=n, before_horizon=int(before_horizon)
        )
    )
    return int(earlier or 0)


def looks(conn: Connection, experiment_id: int) -> tuple[Look, ...]:
    """Every look at the experiment, oldest first."""
    k = t.analysis_looks.c
    rows = conn.execute(
        select(k.at, k.n, k.before_horizon).where(k.experiment_id == experiment_id).order_by(k.id)
    )
    return tuple(Look(at, n, bool(before)) for at, n, before in rows)


# -- decision records -----------------------------------------------------------------------


def append_decision(
    conn: Connection,
    experiment_id: int,
    values: Mapping[str, str],
    *,
    analysis: Mapping[str, Any],
    spec_version: int | None,
    at: str,
) -> Decision:
    """Append a decision record (validated by :func:`decision_values`)."""
    snapshot = json.dumps(analysis, allow_nan=False)
    record_id = conn.execute(
        insert(t.decisions)
        .values(
            experiment_id=experiment_id,
            decided_at=at,
            spec_version=spec_version,
            analysis=snapshot,
            **values,
        )
        .returning(t.decisions.c.id)
    ).scalar_one()
    return Decision(
        id=record_id,
        experiment_id=experiment_id,
        decided_at=at,
        spec_version=spec_version,
        analysis=json.loads(snapshot),
        **values,
    )


def decisions(conn: Connection, experiment_id: int, query: str = "") -> tuple[Decision, ...]:
    """The experiment's decision records, oldest first; with ``query``, those whose decision,
    owner, rationale or follow-up contains it (case-insensitive)."""
    d = t.decisions.c
    statement = select(
        d.id,
        d.experiment_id,
        d.decision,
        d.owner,
        d.rationale,
        d.follow_up,
        d.decided_at,
        d.spec_version,
        d.analysis,
    ).where(d.experiment_id == experiment_id)
    if query:
        needle = query.lower()
        statement = statement.where(
            or_(
                *(
                    func.lower(column).contains(needle, autoescape=True)
                    for column in (d.decision, d.owner, d.rationale, d.follow_up)
                )
            )
        )
    rows = conn.execute(statement.order_by(d.id))
    return tuple(Decision(*row[:8], analysis=json.loads(row[8])) for row in rows)
