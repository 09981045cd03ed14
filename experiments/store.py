"""Storage for experiments on SQLite (the embedded default) or PostgreSQL, through SQLAlchemy
Core: lifecycle, sticky assignments and idempotent event ingestion.

``Store(target)`` takes a SQLite file path, a ``sqlite:///…`` URL or a ``postgresql://…`` URL
(driven by psycopg 3). One :class:`Store` per process, shared by its threads: each operation
checks a connection out of the store's pool for one transaction (after a ``fork()`` the child
starts a pool of its own). SQLite connections run WAL journaling (readers never block the
writer), ``synchronous=FULL`` (a commit is on disk before it is acknowledged; under WAL,
``NORMAL`` may lose the last commits on power loss), foreign keys on and a 10 s busy timeout.

Writes are short transactions that take the database's one write lock up front (SQLite's
``BEGIN IMMEDIATE``; on PostgreSQL the transaction-scoped advisory lock :data:`WRITE_LOCK`),
so concurrent writers queue instead of failing on a read-to-write upgrade, and each sees every
write committed before it: assignment's and ingestion's check-then-insert steps need no retry.
A read is one snapshot across its statements (PostgreSQL: ``REPEATABLE READ, READ ONLY``).

The schema comes from the Alembic revisions in ``migrations/versions``: :func:`migrate` (run by
``Store(target)``) applies the missing ones in one write transaction, so concurrent first
starts migrate once, and refuses a database from newer code. A SQLite file made before Alembic
(by the numbered SQL scripts, recorded in ``schema_migrations``) is stamped with its version
first.

A web app checks out one connection per request instead (from :func:`engine`'s pool, kept in
Flask's ``g`` and released on teardown) and hands it to ``Store(target, connection=conn)``:
such a store uses that connection alone and leaves migrating to :func:`migrate`, run once per
process.

Inputs are JSON-shaped mappings (what the HTTP API receives). Invalid input raises
:class:`StoreError` (a ``ValueError``) whose ``field`` names the offending JSON field and whose
message starts with it, e.g. ``events[3].variant must be one of 'control', 'B', got 'C'``;
an unknown experiment raises :class:`NotFound`; an action the experiment's status forbids
raises :class:`Conflict`.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    URL,
    Connection,
    Engine,
    Select,
    Table,
    Text,
    any_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    make_url,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool

from experiments import records
from experiments import schema as t
from experiments.assignment import assign_variant
from experiments.policy import DECISIONS
from experiments.specs import changed_sections

if TYPE_CHECKING:
    from sources.experiment_covariates import CovariateRows

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_S = 10.0
# Processes starting together queue on the write lock while the first one migrates, which on
# a loaded machine (imports, DDL, fsyncs) can outlast a request's busy timeout.
MIGRATE_TIMEOUT_S = 120.0
MAX_VARIANTS = 20
MAX_GUARDRAIL_EVENTS = 20
MAX_BATCH = 10_000
MAX_COVARIATE = 1e100
"""Largest covariate magnitude (stats' cap on a data value; larger squares overflow)."""
MAX_TEXT = 200
MAX_HYPOTHESIS = 5_000
EXPOSURE = "exposure"
COVARIATE = "covariate"
"""The event carrying a unit's pre-period covariate in ``value`` (CUPED); an exposure may
carry it too, as ``covariate``."""

CREATE_FIELDS = (
    "name",
    "hypothesis",
    "primary_event",
    "guardrail_events",
    "bandit",
    "variants",
)
REQUIRED_FIELDS = ("name", "primary_event", "variants")
# What PATCH may change in each status; variants and events are frozen once data can arrive.
EDITABLE_FIELDS = {
    "draft": CREATE_FIELDS,
    "running": ("name", "hypothesis"),
    "stopped": ("name", "hypothesis"),
}


class StoreError(ValueError):
    """Invalid input. ``field`` is the JSON field (``events[3].variant``); the message starts
    with it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field


class NotFound(LookupError):
    """No experiment with this id."""

    def __init__(self, experiment_id: int) -> None:
        super().__init__(f"experiment {experiment_id!r} does not exist")
        self.experiment_id = experiment_id


class Conflict(Exception):
    """Valid input that the experiment's status does not allow (launching a running one).
    ``field`` names the input field at fault, when one is."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Variant:
    position: int  # 0 is the control
    name: str
    weight: float  # current traffic share; the weights of an experiment sum to 1


@dataclass(frozen=True, slots=True)
class Experiment:
    id: int
    name: str
    hypothesis: str
    status: str  # draft | running | stopped
    primary_event: str
    guardrail_events: tuple[str, ...]
    bandit: bool
    ingest_key: str
    created_at: str  # UTC ISO-8601 with a Z, like every timestamp here
    launched_at: str | None
    stopped_at: str | None
    weights_updated_at: str | None
    variants: tuple[Variant, ...]


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int  # events stored by this call
    duplicates: int  # events whose event_id was already stored (or repeated in the batch)


@dataclass(frozen=True, slots=True)
class EventSummary:
    """How many events an experiment has stored, the latest event time (``ts``, as the
    client sent it) and when the latest one was stored (``received_at``); None before any."""

    count: int
    last_ts: str | None
    last_received_at: str | None


@dataclass(frozen=True, slots=True)
class VariantCounts:
    name: str
    weight: float  # current weight
    exposures: int  # distinct units exposed
    conversions: int  # distinct exposed units with the primary event (after exposure)
    guardrail_conversions: dict[str, int]  # guardrail event -> distinct converting units


@dataclass(frozen=True, slots=True)
class WeightPeriod:
    """A span during which one weight vector was in force, and the distinct units exposed
    per variant among those assigned under it (units never assigned by :meth:`Store.assign`
    count in the period their first exposure falls in)."""

    effective_from: str
    weights: tuple[float, ...]
    exposures: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Counts:
    experiment_id: int
    variants: tuple[VariantCounts, ...]
    periods: tuple[WeightPeriod, ...]  # oldest first; empty before launch


WRITE_LOCK = 0x41_62_61_63  # "Abac": PostgreSQL advisory lock key of the store's writes
POOL_SIZE = 32  # idle connections kept per engine (gunicorn's threads per worker)
DIALECTS = ("sqlite", "postgresql")


class Store:
    """Experiments in one database; safe to share between threads and processes.

    ``Store(target)`` creates and migrates the database and checks a pooled connection out for
    each operation. ``Store(target, connection=conn)`` works through ``conn`` alone (from
    :func:`engine`, on a migrated database; the caller closes it, so :meth:`close` leaves it
    open): a web request's store."""

    def __init__(
        self, target: str | os.PathLike[str], *, connection: Connection | None = None
    ) -> None:
        self.url = database_url(target)
        self.path = (
            Path(self.url.database or "") if self.url.get_backend_name() == "sqlite" else None
        )
        """The SQLite file (None on PostgreSQL)."""
        self._given = connection
        self._engine: Engine | None = None
        self._pid = os.getpid()
        if connection is None:
            self._engine = engine(self.url)
            _upgrade(self._engine)

    @classmethod
    def open(cls, target: str | os.PathLike[str]) -> Store:
        """Open (creating and migrating if needed) the store at ``target``."""
        return cls(target)

    def close(self) -> None:
        """Close every connection this process opened; the store is unusable afterwards."""
        if self._engine is not None:
            # A forked child never closes the parent's connections, only forgets them.
            self._engine.dispose(close=self._pid == os.getpid())
            self._engine = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions -----------------------------------------------------------------------

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Connection]:
        """A write transaction takes the write lock up front; a read one sees one consistent
        snapshot across its statements."""
        if self._given is not None:
            with self._given.begin():
                _begin(self._given, write=write)
                yield self._given
            return
        if self._engine is None:
            raise RuntimeError("the store is closed")
        if self._pid != os.getpid():  # forked: the parent's pooled connections are not ours
            self._engine.dispose(close=False)
            self._pid = os.getpid()
        with self._engine.connect() as conn, conn.begin():
            _begin(conn, write=write)
            yield conn

    # -- lifecycle --------------------------------------------------------------------------

    def create_experiment(
        self,
        spec: Mapping[str, Any],
        *,
        document: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None,
    ) -> Experiment:
        """Create a draft experiment from ``{name, hypothesis?, primary_event,
        guardrail_events?, bandit?, variants: [{name, weight}, ...]}``; the first variant is
        the control and weights are normalised to sum to 1. ``document``: the validated
        experiment spec and its plan it came from (:mod:`experiments.specs`), stored in the
        same transaction as its version 1."""
        _known_fields(spec, CREATE_FIELDS)
        for field in REQUIRED_FIELDS:
            if field not in spec:
                raise StoreError(field, "is required")
        values = _experiment_values(spec, current=None)
        with self._transaction(write=True) as conn:
            experiment_id = conn.execute(
                insert(t.experiments)
                .values(
                    name=values["name"],
                    hypothesis=values["hypothesis"],
                    status="draft",
                    primary_event=values["primary_event"],
                    guardrail_events=json.dumps(values["guardrail_events"]),
                    bandit=int(values["bandit"]),
                    ingest_key=secrets.token_urlsafe(32),
                    created_at=_now(),
                )
                .returning(t.experiments.c.id)
            ).scalar_one()
            _replace_variants(conn, experiment_id, values["variants"])
            if document is not None:
                records.append_spec(
                    conn,
                    experiment_id,
                    *document,
                    changed=(),
                    reason="",
                    at=_now(),
                    after_launch=False,
                )
            return _experiment(conn, experiment_id)

    def get_experiment(self, experiment_id: int) -> Experiment:
        with self._transaction(write=False) as conn:
            return _experiment(conn, experiment_id)

    def event_summary(self, experiment_id: int) -> EventSummary:
        """The experiment's stored events: count, latest ``ts`` and latest ``received_at``
        (one aggregate over its primary-key range; :class:`NotFound` if it does not exist)."""
        e = t.events.c
        with self._transaction(write=False) as conn:
            _experiment(conn, experiment_id)
            count, last_ts, last_received = conn.execute(
                select(func.count(), func.max(e.ts), func.max(e.received_at)).where(
                    e.experiment_id == experiment_id
                )
            ).one()
            return EventSummary(int(count), last_ts, last_received)

    def list_experiments(self) -> tuple[Experiment, ...]:
        """Every experiment, newest first."""
        v = t.variants.c
        with self._transaction(write=False) as conn:
            variants: dict[int, list[Variant]] = {}
            for row in conn.execute(
                select(v.experiment_id, v.position, v.name, v.weight).order_by(
                    v.experiment_id, v.position
                )
            ):
                variants.setdefault(row[0], []).append(Variant(*row[1:]))
            rows = conn.execute(select(*_COLUMNS).order_by(t.experiments.c.id.desc()))
            return tuple(_from_row(row, variants.get(row[0], [])) for row in rows)

    def update_experiment(self, experiment_id: int, changes: Mapping[str, Any]) -> Experiment:
        """Apply a PATCH: a draft may change any creation field (``variants`` replaces the
        whole list); a running or stopped experiment only its name and hypothesis."""
        _known_fields(changes, CREATE_FIELDS)
        with self._transaction(write=True) as conn:
            current = _experiment(conn, experiment_id)
            editable = EDITABLE_FIELDS[current.status]
            for field in changes:
                if field not in editable:
                    raise Conflict(
                        f"{field} cannot change while the experiment is {current.status}; "
                        f"only {' and '.join(editable)} can",
                        field=field,
                    )
            values = _experiment_values(changes, current=current)
            conn.execute(
                update(t.experiments)
                .where(t.experiments.c.id == experiment_id)
                .values(
                    name=values["name"],
                    hypothesis=values["hypothesis"],
                    primary_event=values["primary_event"],
                    guardrail_events=json.dumps(values["guardrail_events"]),
                    bandit=int(values["bandit"]),
                )
            )
            if "variants" in changes:
                _replace_variants(conn, experiment_id, values["variants"])
            return _experiment(conn, experiment_id)

    def add_variant(self, experiment_id: int, variant: Mapping[str, Any]) -> Experiment:
        """Append ``{name, weight}`` to a draft. ``weight`` is relative to the current
        shares (which sum to 1): adding weight 0.5 to 0.5/0.5 gives 1/3 each."""
        _known_fields(variant, ("name", "weight"))
        name = _text("name", variant.get("name"))
        weight = _weight("weight", variant.get("weight"))
        with self._transaction(write=True) as conn:
            current = _experiment(conn, experiment_id)
            if current.status != "draft":
                raise Conflict(f"variants can only be added to a draft, not a {current.status}")
            if len(current.variants) >= MAX_VARIANTS:
                raise Conflict(f"an experiment has at most {MAX_VARIANTS} variants")
            if any(v.name == name for v in current.variants):
                raise StoreError("name", f"must be unique in the experiment, got {name!r}")
            pairs = [(v.name, v.weight) for v in current.variants] + [(name, weight)]
            _replace_variants(conn, experiment_id, _normalised(pairs, "weight"))
            return _experiment(conn, experiment_id)

    def delete_experiment(self, experiment_id: int) -> None:
        """Delete a draft or stopped experiment with all its data; a running one must be
        stopped first."""
        with self._transaction(write=True) as conn:
            if _experiment(conn, experiment_id).status == "running":
                raise Conflict("a running experiment cannot be deleted; stop it first")
            conn.execute(delete(t.experiments).where(t.experiments.c.id == experiment_id))

    def launch(self, experiment_id: int) -> Experiment:
        """draft -> running: assignment and ingestion open; the weights enter the history."""
        with self._transaction(write=True) as conn:
            current = _experiment(conn, experiment_id)
            if current.status != "draft":
                raise Conflict(f"only a draft can be launched; this experiment is {current.status}")
            now = _now()
            conn.execute(
                update(t.experiments)
                .where(t.experiments.c.id == experiment_id)
                .values(status="running", launched_at=now, weights_updated_at=now)
            )
            _record_weights(conn, experiment_id, [v.weight for v in current.variants], now)
            return _experiment(conn, experiment_id)

    def stop(self, experiment_id: int) -> Experiment:
        """running -> stopped: assignment returns the control and ingestion closes."""
        with self._transaction(write=True) as conn:
            current = _experiment(conn, experiment_id)
            if current.status != "running":
                raise Conflict(f"only a running experiment can stop; this one is {current.status}")
            conn.execute(
                update(t.experiments)
                .where(t.experiments.c.id == experiment_id)
                .values(status="stopped", stopped_at=_now())
            )
            return _experiment(conn, experiment_id)

    def set_weights(
        self,
        experiment_id: int,
        weights: Sequence[float],
        *,
        min_interval: timedelta | None = None,
    ) -> bool:
        """Put new traffic weights (one per variant, normalised) in force for a running bandit
        experiment, from now on. With ``min_interval``, do nothing (and return False) when the
        weights changed less than that long ago: the check and the update are one
        transaction, so concurrent workers refresh at most once per interval."""
        with self._transaction(write=True) as conn:
            current = _experiment(conn, experiment_id)
            if current.status != "running" or not current.bandit:
                raise Conflict("weights can only be set on a running experiment in bandit mode")
            if not isinstance(weights, Sequence) or len(weights) != len(current.variants):
                raise StoreError(
                    "weights", f"must hold one weight per variant ({len(current.variants)})"
                )
            pairs = [
                (v.name, _weight(f"weights[{i}]", w))
                for i, (v, w) in enumerate(zip(current.variants, weights, strict=True))
            ]
            normalised = _normalised(pairs, "weights")
            moment = datetime.now(UTC)
            if (
                min_interval is not None
                and current.weights_updated_at is not None
                and moment - datetime.fromisoformat(current.weights_updated_at) < min_interval
            ):
                return False
            now = _utc_text(moment)
            for i, (_, w) in enumerate(normalised):
                conn.execute(
                    update(t.variants)
                    .where(t.variants.c.experiment_id == experiment_id, t.variants.c.position == i)
                    .values(weight=w)
                )
            conn.execute(
                update(t.experiments)
                .where(t.experiments.c.id == experiment_id)
                .values(weights_updated_at=now)
            )
            _record_weights(conn, experiment_id, [w for _, w in normalised], now)
            return True

    def record_analysis(self, experiment_id: int, winner: str | None) -> None:
        """Remember the winner named by an analysis just made (``None``: no winner yet), so
        :meth:`winners` answers without analysing again."""
        with self._transaction(write=True) as conn:
            result = conn.execute(
                update(t.experiments)
                .where(t.experiments.c.id == experiment_id)
                .values(winner=winner, analyzed_at=_now())
            )
            if result.rowcount == 0:
                raise NotFound(experiment_id)

    def winners(self) -> dict[int, str | None]:
        """Each experiment's winner as of its latest :meth:`record_analysis` (``None`` when it
        had none or was never analysed)."""
        e = t.experiments.c
        with self._transaction(write=False) as conn:
            return {row.id: row.winner for row in conn.execute(select(e.id, e.winner))}

    # -- specs, looks and decision records (issue 15; SQL in experiments.records) ----------

    def spec_history(self, experiment_id: int) -> tuple[records.SpecVersion, ...]:
        """Every version of the experiment's spec, oldest first (empty without a spec)."""
        with self._transaction(write=False) as conn:
            _experiment(conn, experiment_id)
            return records.spec_versions(conn, experiment_id)

    def append_spec(
        self,
        experiment_id: int,
        spec: Mapping[str, Any],
        plan: Mapping[str, Any],
        reason: str = "",
    ) -> records.SpecVersion:
        """Append a version of the experiment's spec (validated by
        :func:`experiments.specs.validate_spec`); after launch it is an audited amendment and
        needs a ``reason``. A spec equal to the latest version appends nothing."""
        reason = _text("reason", reason, max_len=records.MAX_REASON, empty=True)
        with self._transaction(write=True) as conn:
            current = _experiment(conn, experiment_id)
            versions = records.spec_versions(conn, experiment_id)
            if not versions:
                raise Conflict("this experiment was not created from a spec")
            changed = changed_sections(versions[-1].spec, spec)
            if not changed:
                return versions[-1]
            after_launch = current.status != "draft"
            if after_launch and not reason.strip():
                raise StoreError(
                    "reason", "is required for a change after launch (it enters the audit trail)"
                )
            return records.append_spec(
                conn,
                experiment_id,
                spec,
                plan,
                changed=changed,
                reason=reason,
                at=_now(),
                after_launch=after_launch,
            )

    def record_look(self, experiment_id: int, *, n: int, before_horizon: bool) -> int:
        """Record an analysis of the experiment; answer the earlier looks before its horizon."""
        with self._transaction(write=True) as conn:
            _experiment(conn, experiment_id)
            return records.append_look(
                conn, experiment_id, n=n, before_horizon=before_horizon, at=_now()
            )

    def looks(self, experiment_id: int) -> tuple[records.Look, ...]:
        """Every recorded analysis of the experiment, oldest first."""
        with self._transaction(write=False) as conn:
            _experiment(conn, experiment_id)
            return records.looks(conn, experiment_id)

    def add_decision(
        self,
        experiment_id: int,
        record: Mapping[str, Any],
        analysis: Mapping[str, Any],
        spec_version: int | None = None,
    ) -> records.Decision:
        """Append a decision record ``{decision, owner, rationale, follow_up?}`` with the
        analysis it rests on; ``decision`` is ship, iterate, stop or re-run."""
        _known_fields(record, records.DECISION_FIELDS)
        decision = record.get("decision")
        if decision not in DECISIONS:
            raise StoreError(
                "decision",
                f"must be one of {', '.join(DECISIONS)}, got {_show(decision)}",
            )
        values = {
            "decision": str(decision),
            "owner": _text("owner", record.get("owner"), max_len=records.MAX_OWNER),
            "rationale": _text("rationale", record.get("rationale"), max_len=records.MAX_RATIONALE),
            "follow_up": _text(
                "follow_up",
                record.get("follow_up", ""),
                max_len=records.MAX_FOLLOW_UP,
                empty=True,
            ),
        }
        with self._transaction(write=True) as conn:
            current = _experiment(conn, experiment_id)
            if current.status == "draft":
                raise Conflict("a draft has no results to decide on; launch it first")
            return records.append_decision(
                conn,
                experiment_id,
                values,
                analysis=analysis,
                spec_version=spec_version,
                at=_now(),
            )

    def decisions(self, experiment_id: int, query: str = "") -> tuple[records.Decision, ...]:
        """The experiment's decision records, oldest first, optionally those containing
        ``query`` (decision, owner, rationale or follow-up; case-insensitive)."""
        query = _text("q", query, max_len=records.MAX_QUERY, empty=True)
        with self._transaction(write=False) as conn:
            _experiment(conn, experiment_id)
            return records.decisions(conn, experiment_id, query.strip())

    # -- assignment and events --------------------------------------------------------------

    def assign(self, experiment_id: int, unit: str) -> str:
        """The variant name for ``unit``: its stored assignment if it has one, else a hash of
        (experiment, unit) into the weights in force, stored so the unit keeps it when
        bandit weights move. A stopped experiment answers the control; a draft, Conflict."""
        unit = _text("unit", unit)
        with self._transaction(write=False) as conn:
            decided = _assignment(conn, experiment_id, unit)
        if decided is not None:
            return decided
        w, v = t.weight_history.c, t.variants.c
        with self._transaction(write=True) as conn:
            decided = _assignment(conn, experiment_id, unit)  # another writer may have won
            if decided is not None:
                return decided
            weights_id, weights_json = conn.execute(
                select(w.id, w.weights)
                .where(w.experiment_id == experiment_id)
                .order_by(w.id.desc())
                .limit(1)
            ).one()
            names = list(
                conn.scalars(
                    select(v.name).where(v.experiment_id == experiment_id).order_by(v.position)
                )
            )
            name = assign_variant(experiment_id, unit, json.loads(weights_json), names)
            conn.execute(
                insert(t.assignments).values(
                    experiment_id=experiment_id,
                    unit=unit,
                    variant=names.index(name),
                    weights_id=weights_id,
                    assigned_at=_now(),
                )
            )
            return name

    def ingest(self, experiment_id: int, events: Sequence[Mapping[str, Any]]) -> IngestResult:
        """Store a batch of ``{event_id, unit, variant, name, ts}`` events, all or nothing.

        The experiment must be running. ``name`` is ``exposure``, the primary event, a
        guardrail event or ``covariate``; ``variant`` a variant name; ``ts`` ISO-8601 with a
        timezone. A unit's pre-period covariate (CUPED) comes as ``covariate`` (a number) on
        its exposure, or as a ``covariate`` event with ``value``, which needs the unit's
        exposure to the same variant but may carry any ``ts``; several values of one unit are
        averaged. A unit
        keeps its first exposed variant; a conversion needs an exposure of its unit to the
        same variant, stored earlier or earlier in this batch, at or before its ``ts``. The
        first invalid event rejects the whole batch (nothing is stored), so a client can
        fix and resend it. An ``event_id`` already stored for this experiment is counted as
        a duplicate and not stored again, so retrying a batch is safe.
        """
        if not isinstance(events, Sequence) or isinstance(events, str | bytes):
            raise StoreError("events", f"must be a list of event objects, got {_show(events)}")
        if len(events) > MAX_BATCH:
            raise StoreError("events", f"must hold at most {MAX_BATCH} events, got {len(events)}")
        experiment = self.get_experiment(experiment_id)
        if experiment.status != "running":  # once running, variants and events are frozen
            raise Conflict(
                f"events are only accepted while running; experiment is {experiment.status}"
            )
        positions = {v.name: v.position for v in experiment.variants}
        event_names = (
            EXPOSURE,
            experiment.primary_event,
            *experiment.guardrail_events,
            COVARIATE,
        )
        parsed = [_event(f"events[{i}]", e, positions, event_names) for i, e in enumerate(events)]
        received_at = _now()
        with self._transaction(write=True) as conn:
            status = conn.scalar(
                select(t.experiments.c.status).where(t.experiments.c.id == experiment_id)
            )
            if status is None:  # deleted since the read above
                raise NotFound(experiment_id)
            if status != "running":  # stopped since the read above
                raise Conflict(f"events are only accepted while running; experiment is {status}")
            _check_exposures(conn, experiment_id, parsed, experiment.variants)
            rows = [
                {
                    "experiment_id": experiment_id,
                    "event_id": event_id,
                    "unit": unit,
                    "variant": variant,
                    "name": name,
                    "ts": ts,
                    "received_at": received_at,
                    "value": value,
                }
                for event_id, unit, variant, name, ts, value in parsed
            ]
            accepted = _insert_new(conn, t.events, ("experiment_id", "event_id"), rows)
        return IngestResult(accepted=accepted, duplicates=len(parsed) - accepted)

    def counts(self, experiment_id: int) -> Counts:
        """Per-variant distinct exposed and converting units, and exposures per weight period.

        SRM against the weights in force: a unit's chance of landing in variant ``i`` is the
        weight ``i`` of the period it was assigned in, so the expected count of ``i`` is
        ``sum over periods of (exposed units in the period) * weight_i``; ``periods`` holds
        exactly those numbers.
        """
        from sources import experiment_store  # Ibis: imported on the first analysis only

        with self._transaction(write=False) as conn:
            experiment = _experiment(conn, experiment_id)
            names = (experiment.primary_event, *experiment.guardrail_events)
            # The data layer's event path, on this connection and snapshot (issue 12).
            con = experiment_store.backend(conn.connection.driver_connection, conn.dialect.name)
            exposures, metric_events = experiment_store.event_tables(con, experiment_id)
            reduced = experiment_store.conversions(
                exposures, metric_events, experiment=str(experiment_id), metrics=names
            )

            def count(name: str, position: int, field: str) -> int:
                found = reduced[name].get(str(position))
                return 0 if found is None else int(getattr(found, field))

            exposed = [
                count(experiment.primary_event, v.position, "users") for v in experiment.variants
            ]
            periods = _periods(conn, experiment_id, exposed)
        variants = tuple(
            VariantCounts(
                name=v.name,
                weight=v.weight,
                exposures=exposed[v.position],
                conversions=count(experiment.primary_event, v.position, "conversions"),
                guardrail_conversions={
                    g: count(g, v.position, "conversions") for g in experiment.guardrail_events
                },
            )
            for v in experiment.variants
        )
        return Counts(experiment_id=experiment_id, variants=variants, periods=periods)

    def covariate_rows(self, experiment_id: int) -> CovariateRows | None:
        """Each exposed unit's variant position, conversion and pre-period covariate, for
        CUPED (:mod:`sources.experiment_covariates`); ``None`` while no unit has one."""
        from sources import experiment_store  # Ibis: imported on the first analysis only
        from sources.experiment_covariates import covariate_rows

        with self._transaction(write=False) as conn:
            experiment = _experiment(conn, experiment_id)
            con = experiment_store.backend(conn.connection.driver_connection, conn.dialect.name)
            exposures, metric_events = experiment_store.event_tables(con, experiment_id)
            return covariate_rows(
                con,
                exposures,
                metric_events,
                experiment_id=experiment_id,
                primary_event=experiment.primary_event,
            )


class Database:
    """One process's pool of connections to one store database, migrated when made. A web app
    keeps one per database and checks a connection out per request (:meth:`connect`) for
    ``Store(target, connection=...)``; a forked child starts a pool of its own."""

    def __init__(self, target: str | os.PathLike[str]) -> None:
        migrate(target)
        self._engine = engine(target)
        self._pid = os.getpid()

    def connect(self) -> Connection:
        """A pooled connection; closing it returns it to the pool (rolled back)."""
        if self._pid != os.getpid():  # forked: the parent's pooled connections are not ours
            self._engine.dispose(close=False)
            self._pid = os.getpid()
        return self._engine.connect()


# -- databases, connections and migrations ----------------------------------------------------

_COLUMNS = tuple(
    t.experiments.c[name]
    for name in (
        "id",
        "name",
        "hypothesis",
        "status",
        "primary_event",
        "guardrail_events",
        "bandit",
        "ingest_key",
        "created_at",
        "launched_at",
        "stopped_at",
        "weights_updated_at",
    )
)


def database_url(target: str | os.PathLike[str] | URL) -> URL:
    """The SQLAlchemy URL of ``target``: a SQLite file path, ``sqlite:///…``, or
    ``postgresql://…`` (``postgres://`` too), which is driven by psycopg 3."""
    if isinstance(target, URL):
        url = target
    else:
        text_target = os.fspath(target)
        if "://" not in text_target:
            return URL.create("sqlite+pysqlite", database=text_target)
        url = make_url(text_target)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in DIALECTS or (
        url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
    ):
        raise ValueError(
            f"the Experiments database must be a SQLite file or a postgresql:// URL, got "
            f"{url.render_as_string(hide_password=True)!r}"
        )
    return url


def engine(target: str | os.PathLike[str] | URL) -> Engine:
    """An engine whose connections are configured as the store needs (SQLite: WAL,
    ``synchronous=FULL``, foreign keys, the busy timeout, transactions begun by the store).
    Its pool keeps up to :data:`POOL_SIZE` idle connections and opens more on demand."""
    url = database_url(target)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        created = create_engine(
            url,
            poolclass=QueuePool,
            pool_size=POOL_SIZE,
            max_overflow=-1,
            # timeout= is SQLite's busy_timeout: wait up to that long for another writer's lock.
            connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
        )
        event.listen(created, "connect", _configure_sqlite)
        return created
    return create_engine(
        url,
        poolclass=QueuePool,
        pool_size=POOL_SIZE,
        max_overflow=-1,
        pool_pre_ping=True,  # a restarted server's stale connections are replaced, not used
        connect_args={"connect_timeout": int(BUSY_TIMEOUT_S)},
    )


def _configure_sqlite(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Driver autocommit: pysqlite opens no transactions itself; _begin issues BEGIN, and
    # SQLAlchemy's commit and rollback end it (SQLAlchemy's SQLite transaction recipe).
    dbapi_connection.isolation_level = None
    mode = dbapi_connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode != "wal":
        raise sqlite3.OperationalError(f"WAL journaling unavailable (got {mode!r})")
    dbapi_connection.execute("PRAGMA synchronous = FULL")
    dbapi_connection.execute("PRAGMA foreign_keys = ON")
    # LIKE as PostgreSQL's (case-sensitive) on every pooled connection, not only on those an
    # analysis has handed to Ibis, which sets it (ibis.sqlite.from_connection).
    dbapi_connection.execute("PRAGMA case_sensitive_like = ON")


def _begin(conn: Connection, *, write: bool) -> None:
    """First statements of a store transaction: take the write lock, or pin a snapshot."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
    elif write:
        conn.execute(select(func.pg_advisory_xact_lock(WRITE_LOCK)))
    else:
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


def migrate(target: str | os.PathLike[str] | URL) -> None:
    """Create the database at ``target`` if needed and apply the migrations it lacks."""
    created = engine(target)
    try:
        _upgrade(created)
    finally:
        created.dispose()


def _upgrade(database: Engine) -> None:
    """Alembic's upgrade to head in one write transaction (so concurrent starts queue on the
    write lock and the later ones find nothing to do); a newer database is refused."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    scripts = ScriptDirectory.from_config(config)
    head = scripts.get_current_head()
    with database.connect() as conn:
        with conn.begin():
            _begin(conn, write=False)
            current = MigrationContext.configure(conn).get_current_revision()
        if current == head:
            return
        # SQLite: a longer busy timeout for this wait only (set on the driver's connection,
        # outside any transaction); the pooled connection then serves requests again.
        driver = conn.connection.driver_connection if conn.dialect.name == "sqlite" else None
        if driver is not None:
            driver.execute(f"PRAGMA busy_timeout = {int(MIGRATE_TIMEOUT_S * 1000)}")
        try:
            _upgrade_locked(conn, config, scripts, head)
        finally:
            if driver is not None:
                driver.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")


def _upgrade_locked(
    conn: Connection, config: Config, scripts: ScriptDirectory, head: str | None
) -> None:
    """The upgrade itself, under the write lock."""
    with conn.begin():
        _begin(conn, write=True)
        _adopt_legacy(conn)
        current = MigrationContext.configure(conn).get_current_revision()
        if current is not None and current not in {s.revision for s in scripts.walk_revisions()}:
            raise RuntimeError(
                f"database {conn.engine.url.render_as_string(hide_password=True)} has "
                f"schema version {current}, newer than this code ({head})"
            )
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def _adopt_legacy(conn: Connection) -> None:
    """Stamp a SQLite file migrated by the pre-Alembic SQL scripts with its version (the
    revisions are numbered as those scripts were)."""
    tables = inspect(conn).get_table_names()
    if "schema_migrations" not in tables or "alembic_version" in tables:
        return
    version = conn.scalar(text("SELECT MAX(version) FROM schema_migrations"))
    MigrationContext.configure(conn).stamp(
        ScriptDirectory(str(MIGRATIONS_DIR)), f"{int(version):04d}"
    )


def _insert_new(
    conn: Connection, table: Table, key: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> int:
    """Insert ``rows`` (mappings of the same columns) but those whose ``key`` is already
    stored (``INSERT … ON CONFLICT (key) DO NOTHING``); the number inserted. PostgreSQL gets
    one array per column (``unnest``): one short statement instead of thousands of bind
    parameters, which psycopg would parse again for every batch."""
    if not rows:
        return 0
    names = list(rows[0])
    if conn.dialect.name == "postgresql":
        arrays = [
            bindparam(
                f"a_{name}", [row[name] for row in rows], postgresql.ARRAY(table.c[name].type)
            )
            for name in names
        ]
        source = func.unnest(*arrays).table_valued(*names).render_derived()
        statement = (
            postgresql.insert(table)
            .from_select(names, select(*(source.c[name] for name in names)))
            .on_conflict_do_nothing(index_elements=list(key))
            .returning(table.c[key[-1]])
        )
        return len(conn.execute(statement).all())
    # SQLite: the driver's executemany of one short statement (no RETURNING, which would
    # render every batch as one statement), counted by the connection's total_changes.
    driver = conn.connection.driver_connection
    assert driver is not None
    before = driver.total_changes
    conn.execute(sqlite.insert(table).on_conflict_do_nothing(index_elements=list(key)), rows)
    return int(driver.total_changes - before)


def _experiment(conn: Connection, experiment_id: int) -> Experiment:
    found = conn.execute(select(*_COLUMNS).where(t.experiments.c.id == experiment_id)).one_or_none()
    if found is None:
        raise NotFound(experiment_id)
    v = t.variants.c
    variants = conn.execute(
        select(v.position, v.name, v.weight)
        .where(v.experiment_id == experiment_id)
        .order_by(v.position)
    )
    return _from_row(found, [Variant(*row) for row in variants])


def _from_row(row: Sequence[Any], variants: Sequence[Variant]) -> Experiment:
    return Experiment(
        id=row[0],
        name=row[1],
        hypothesis=row[2],
        status=row[3],
        primary_event=row[4],
        guardrail_events=tuple(json.loads(row[5])),
        bandit=bool(row[6]),
        ingest_key=row[7],
        created_at=row[8],
        launched_at=row[9],
        stopped_at=row[10],
        weights_updated_at=row[11],
        variants=tuple(variants),
    )


def _replace_variants(
    conn: Connection, experiment_id: int, variants: Sequence[tuple[str, float]]
) -> None:
    conn.execute(delete(t.variants).where(t.variants.c.experiment_id == experiment_id))
    conn.execute(
        insert(t.variants),
        [
            {"experiment_id": experiment_id, "position": i, "name": name, "weight": weight}
            for i, (name, weight) in enumerate(variants)
        ],
    )


def _record_weights(
    conn: Connection, experiment_id: int, weights: Sequence[float], at: str
) -> None:
    conn.execute(
        insert(t.weight_history).values(
            experiment_id=experiment_id, effective_from=at, weights=json.dumps(list(weights))
        )
    )


def _assignment_query() -> Select[str, str | None, str]:
    """Status, the unit's stored variant (NULL: none) and the control, in one query:
    assignment's hot path, built once with the ids as bound parameters."""
    e, a = t.experiments, t.assignments
    control, assigned = t.variants.alias("control"), t.variants.alias("assigned")
    return (
        select(e.c.status, assigned.c.name, control.c.name)
        .select_from(
            e.join(control, (control.c.experiment_id == e.c.id) & (control.c.position == 0))
            .outerjoin(a, (a.c.experiment_id == e.c.id) & (a.c.unit == bindparam("unit")))
            .outerjoin(
                assigned,
                (assigned.c.experiment_id == e.c.id) & (assigned.c.position == a.c.variant),
            )
        )
        .where(e.c.id == bindparam("experiment_id"))
    )


_ASSIGNMENT = _assignment_query()


def _assignment(conn: Connection, experiment_id: int, unit: str) -> str | None:
    """The answer when it needs no new row: the control if stopped, the stored variant if the
    unit has one; None when a running experiment must assign the unit now."""
    row = conn.execute(_ASSIGNMENT, {"experiment_id": experiment_id, "unit": unit}).one_or_none()
    if row is None:
        raise NotFound(experiment_id)
    status, assigned_name, control_name = row
    if status == "draft":
        raise Conflict("a draft experiment does not assign units; launch it first")
    if status == "stopped":
        return str(control_name)
    return None if assigned_name is None else str(assigned_name)


def _among(conn: Connection, column: Any, values: Sequence[str]) -> Any:
    """``column IN (values)``; on PostgreSQL ``column = ANY(array)``, one parameter instead of
    one per value."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), postgresql.ARRAY(Text)))
    return column.in_(values)


def _check_exposures(
    conn: Connection,
    experiment_id: int,
    events: Sequence[tuple[str, str, int, str, str, float | None]],
    variants: Sequence[Variant],
) -> None:
    """Raise unless every unit keeps one variant (the one assign gave it, or else its first
    exposure's) and every conversion follows an exposure."""
    units = sorted({unit for _, unit, *_ in events})
    e, a = t.events.c, t.assignments.c
    first: dict[str, tuple[int, str]] = {
        unit: (variant, ts)
        for unit, variant, ts in conn.execute(
            select(e.unit, e.variant, func.min(e.ts))
            .where(
                e.experiment_id == experiment_id, e.name == EXPOSURE, _among(conn, e.unit, units)
            )
            .group_by(e.unit, e.variant)
        )
    }
    assigned: dict[str, int] = {
        unit: variant
        for unit, variant in conn.execute(
            select(a.unit, a.variant).where(
                a.experiment_id == experiment_id, _among(conn, a.unit, units)
            )
        )
    }
    for i, (_, unit, variant, name, ts, _value) in enumerate(events):
        if unit in assigned and assigned[unit] != variant:
            raise StoreError(
                f"events[{i}].variant",
                f"must be {variants[assigned[unit]].name!r}, the variant assign gave unit "
                f"{unit!r}, got {variants[variant].name!r}",
            )
        seen = first.get(unit)
        if seen is None and name != EXPOSURE:
            raise StoreError(
                f"events[{i}].unit",
                f"has no exposure before this {name!r} conversion; send the unit's exposure "
                f"first (earlier in this batch or in an earlier one), got {unit!r}",
            )
        if seen is not None and seen[0] != variant:
            raise StoreError(
                f"events[{i}].variant",
                f"must be {variants[seen[0]].name!r}, the variant unit {unit!r} was first "
                f"exposed to (a unit keeps its first variant), got {variants[variant].name!r}",
            )
        if name == EXPOSURE:
            if seen is None or ts < seen[1]:
                first[unit] = (variant, ts)
        elif name != COVARIATE and seen is not None and ts < seen[1]:
            raise StoreError(
                f"events[{i}].ts",
                f"must not precede the first exposure of unit {unit!r} ({seen[1]}) for a "
                f"conversion, got {ts}",
            )


def _periods(
    conn: Connection, experiment_id: int, exposed_units: Sequence[int]
) -> tuple[WeightPeriod, ...]:
    """The weight periods and their exposures; ``exposed_units``: the distinct exposed units
    per variant, which are all in the one period of an experiment whose weights never
    moved."""
    w, e, a = t.weight_history, t.events, t.assignments
    history = conn.execute(
        select(w.c.id, w.c.effective_from, w.c.weights)
        .where(w.c.experiment_id == experiment_id)
        .order_by(w.c.id)
    ).all()
    if len(history) == 1:
        ((_, effective_from, weights),) = history
        return (WeightPeriod(effective_from, tuple(json.loads(weights)), tuple(exposed_units)),)
    exposures = {weights_id: [0] * len(exposed_units) for weights_id, _, _ in history}
    # A unit's period is the weights it was assigned under; a unit exposed without a stored
    # assignment (the client hashed it itself) falls in the period of its first exposure.
    exposed = (
        select(e.c.unit, e.c.variant, func.min(e.c.ts).label("first_ts"))
        .where(e.c.experiment_id == experiment_id, e.c.name == EXPOSURE)
        .group_by(e.c.unit, e.c.variant)
        .cte("exposed")
    )
    in_force = (
        select(w.c.id)
        .where(w.c.experiment_id == experiment_id, w.c.effective_from <= exposed.c.first_ts)
        .order_by(w.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    earliest = select(func.min(w.c.id)).where(w.c.experiment_id == experiment_id)
    per_unit = (
        select(
            func.coalesce(a.c.weights_id, in_force, earliest.scalar_subquery()).label("period"),
            exposed.c.variant,
        )
        .select_from(
            exposed.outerjoin(
                a, (a.c.experiment_id == experiment_id) & (a.c.unit == exposed.c.unit)
            )
        )
        .subquery()
    )
    for weights_id, variant, n in conn.execute(
        select(per_unit.c.period, per_unit.c.variant, func.count()).group_by(
            per_unit.c.period, per_unit.c.variant
        )
    ):
        exposures[weights_id][variant] = n
    return tuple(
        WeightPeriod(
            effective_from=effective_from,
            weights=tuple(json.loads(weights)),
            exposures=tuple(exposures[weights_id]),
        )
        for weights_id, effective_from, weights in history
    )


# -- input validation -------------------------------------------------------------------------


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _known_fields(spec: object, allowed: Sequence[str]) -> None:
    if not isinstance(spec, Mapping):
        raise StoreError("body", f"must be a JSON object, got {_show(spec)}")
    for field in spec:
        if field not in allowed:
            raise StoreError(str(field), f"is not a known field; known: {', '.join(allowed)}")


def _text(field: str, value: object, *, max_len: int = MAX_TEXT, empty: bool = False) -> str:
    if not isinstance(value, str) or len(value) > max_len or (not empty and not value.strip()):
        kind = "a string" if empty else "a non-empty string"
        raise StoreError(
            field, f"must be {kind} of at most {max_len} characters, got {_show(value)}"
        )
    return value


def _weight(field: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise StoreError(field, f"must be a finite number >= 0, got {_show(value)}")
    return float(value)


def _normalised(pairs: Sequence[tuple[str, float]], field: str) -> list[tuple[str, float]]:
    top = max((w for _, w in pairs), default=0.0)
    if top <= 0:
        raise StoreError(field, f"must have a positive sum, got {[w for _, w in pairs]!r}")
    # Scaled by the largest weight first: the sum of weights near 1e308 would overflow.
    total = math.fsum(w / top for _, w in pairs)
    return [(name, w / top / total) for name, w in pairs]


def _variants(value: object) -> list[tuple[str, float]]:
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise StoreError(
            "variants", f"must be a list of {{name, weight}} objects, got {_show(value)}"
        )
    if not 2 <= len(value) <= MAX_VARIANTS:
        raise StoreError(
            "variants", f"must hold between 2 and {MAX_VARIANTS} variants, got {len(value)}"
        )
    pairs: list[tuple[str, float]] = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise StoreError(
                f"variants[{i}]", f"must be a {{name, weight}} object, got {_show(item)}"
            )
        for field in item:
            if field not in ("name", "weight"):
                raise StoreError(
                    f"variants[{i}].{field}", "is not a known field; known: name, weight"
                )
        if "weight" not in item:
            raise StoreError(f"variants[{i}].weight", "is required")
        name = _text(f"variants[{i}].name", item.get("name"))
        if any(name == seen for seen, _ in pairs):
            raise StoreError(f"variants[{i}].name", f"must be unique, got {name!r} twice")
        pairs.append((name, _weight(f"variants[{i}].weight", item["weight"])))
    return _normalised(pairs, "variants")


def _experiment_values(spec: Mapping[str, Any], current: Experiment | None) -> dict[str, Any]:
    """Validate creation fields; fields absent from ``spec`` keep ``current``'s values."""
    values: dict[str, Any] = {
        "name": current.name if current else None,
        "hypothesis": current.hypothesis if current else "",
        "primary_event": current.primary_event if current else None,
        "guardrail_events": list(current.guardrail_events) if current else [],
        "bandit": current.bandit if current else False,
    }
    if "name" in spec:
        values["name"] = _text("name", spec["name"])
    if "hypothesis" in spec:
        values["hypothesis"] = _text(
            "hypothesis", spec["hypothesis"], max_len=MAX_HYPOTHESIS, empty=True
        )
    if "primary_event" in spec:
        values["primary_event"] = _text("primary_event", spec["primary_event"])
    if "guardrail_events" in spec:
        guardrails = spec["guardrail_events"]
        if not isinstance(guardrails, Sequence) or isinstance(guardrails, str | bytes):
            raise StoreError(
                "guardrail_events", f"must be a list of event names, got {_show(guardrails)}"
            )
        if len(guardrails) > MAX_GUARDRAIL_EVENTS:
            raise StoreError(
                "guardrail_events",
                f"must hold at most {MAX_GUARDRAIL_EVENTS} events, got {len(guardrails)}",
            )
        values["guardrail_events"] = [
            _text(f"guardrail_events[{i}]", g) for i, g in enumerate(guardrails)
        ]
    if "bandit" in spec:
        if not isinstance(spec["bandit"], bool):
            raise StoreError("bandit", f"must be true or false, got {_show(spec['bandit'])}")
        values["bandit"] = spec["bandit"]
    if "variants" in spec:
        values["variants"] = _variants(spec["variants"])

    primary, guardrails = values["primary_event"], values["guardrail_events"]
    if primary in (EXPOSURE, COVARIATE):
        raise StoreError("primary_event", f"must not be {primary!r}, which the service reserves")
    for i, g in enumerate(guardrails):
        if g in (EXPOSURE, COVARIATE, primary, *guardrails[:i]):
            if "guardrail_events" not in spec:  # a PATCH of primary_event alone clashes
                raise StoreError(
                    "primary_event", f"must differ from the guardrail events, got {primary!r}"
                )
            raise StoreError(
                f"guardrail_events[{i}]",
                f"must differ from 'exposure', 'covariate', the primary event and the other "
                f"guardrail events, got {g!r}",
            )
    return values


def _event(
    field: str, event: object, positions: Mapping[str, int], names: Sequence[str]
) -> tuple[str, str, int, str, str, float | None]:
    """Validate one event; return ``(event_id, unit, variant position, name, utc ts,
    covariate value)``."""
    if not isinstance(event, Mapping):
        raise StoreError(field, f"must be an event object, got {_show(event)}")
    event_id = _text(f"{field}.event_id", event.get("event_id"))
    unit = _text(f"{field}.unit", event.get("unit"))
    variant = event.get("variant")
    if not isinstance(variant, str) or variant not in positions:
        raise StoreError(
            f"{field}.variant",
            f"must be one of {', '.join(map(repr, positions))}, got {_show(variant)}",
        )
    name = event.get("name")
    if not isinstance(name, str) or name not in names:
        raise StoreError(
            f"{field}.name", f"must be one of {', '.join(map(repr, names))}, got {_show(name)}"
        )
    ts = _timestamp(f"{field}.ts", event.get("ts"))
    key = {EXPOSURE: "covariate", COVARIATE: "value"}.get(name)
    value = event.get(key) if key else None
    if name == COVARIATE and value is None:
        raise StoreError(f"{field}.value", "is required on a 'covariate' event (a number)")
    if value is not None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise StoreError(f"{field}.{key}", f"must be a finite number, got {_show(value)}")
        if abs(value) > MAX_COVARIATE:
            raise StoreError(
                f"{field}.{key}",
                f"must be at most {MAX_COVARIATE:g} in absolute value, got {value!r}",
            )
        value = float(value)
    return event_id, unit, positions[variant], name, ts, value


# -- time -------------------------------------------------------------------------------------


def _utc_text(moment: datetime) -> str:
    """Fixed-width UTC text (``2026-11-20T10:00:00.000000Z``): text order is time order."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _now() -> str:
    return _utc_text(datetime.now(UTC))


def _timestamp(field: str, value: object) -> str:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        if moment is not None and moment.tzinfo is not None:
            return _utc_text(moment)
    except (ValueError, OverflowError):  # not ISO-8601, or out of range once in UTC
        pass
    raise StoreError(field, f"must be an ISO-8601 timestamp with a timezone, got {_show(value)}")
