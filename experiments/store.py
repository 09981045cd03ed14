"""SQLite storage for experiments: lifecycle, sticky assignments and idempotent event ingestion.

One :class:`Store` per process, shared by its threads: each thread (and each forked process)
gets its own connection, opened with WAL journaling (readers never block the writer),
``synchronous=FULL`` (a commit is on disk before it is acknowledged; under WAL, ``NORMAL``
may lose the last commits on power loss), foreign keys on, and a 10 s busy timeout. Writes
are short ``BEGIN IMMEDIATE`` transactions, so concurrent writers queue on the lock instead of
failing on a read-to-write upgrade. The schema comes from the numbered ``migrations/*.sql``
files, applied in order at open, each in its own transaction and recorded in
``schema_migrations``; a process that finds a version already applied (another process won
the race) skips it.

A web app opens one connection per request instead (:func:`connect`, kept in Flask's ``g``
and closed on teardown) and hands it to ``Store(path, connection=conn)``: such a store uses
that connection alone and leaves migrating to :func:`migrate`, run once per process.

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
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from experiments.assignment import assign_variant

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_S = 10.0
MAX_VARIANTS = 20
MAX_GUARDRAIL_EVENTS = 20
MAX_BATCH = 10_000
MAX_TEXT = 200
MAX_HYPOTHESIS = 5_000
EXPOSURE = "exposure"

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


class Store:
    """Experiments in one SQLite file; safe to share between threads and processes.

    ``Store(path)`` creates and migrates the database and opens one connection per thread.
    ``Store(path, connection=conn)`` works through ``conn`` alone (opened by :func:`connect`
    on a migrated database; the caller closes it, so :meth:`close` leaves it open): a web
    request's store."""

    def __init__(
        self, path: str | os.PathLike[str], *, connection: sqlite3.Connection | None = None
    ) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[tuple[int, sqlite3.Connection]] = []
        self._closed = False
        self._given = connection
        if connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._migrate()

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Store:
        """Open (creating and migrating if needed) the store at ``path``."""
        return cls(path)

    def close(self) -> None:
        """Close every connection this process opened; the store is unusable afterwards."""
        with self._lock:
            self._closed = True
            pid = os.getpid()
            for owner, conn in self._connections:
                if owner == pid:  # never close a connection inherited across fork()
                    conn.close()
            self._connections.clear()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- connections and transactions ------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._given is not None:
            return self._given
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        with self._lock:
            if self._closed:
                raise sqlite3.ProgrammingError("the store is closed")
            conn = connect(self.path)
            self._connections.append((os.getpid(), conn))
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        """A write transaction takes the lock up front (``BEGIN IMMEDIATE``); a read one sees
        one consistent snapshot across its statements."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:  # SQLite may already have rolled back (disk full, I/O)
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _migrate(self) -> None:
        for version, name, script in _migrations():
            with self._transaction(write=True) as conn:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
                )
                if conn.execute(
                    "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
                ).fetchone():
                    continue
                for statement in _statements(script):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, _now()),
                )
        newest = self._connection().execute("SELECT MAX(version) FROM schema_migrations")
        known = max(version for version, _, _ in _migrations())
        if (found := newest.fetchone()[0]) > known:
            raise RuntimeError(
                f"database {self.path} has schema version {found}, newer than this code ({known})"
            )

    # -- lifecycle --------------------------------------------------------------------------

    def create_experiment(self, spec: Mapping[str, Any]) -> Experiment:
        """Create a draft experiment from ``{name, hypothesis?, primary_event,
        guardrail_events?, bandit?, variants: [{name, weight}, ...]}``; the first variant is
        the control and weights are normalised to sum to 1."""
        _known_fields(spec, CREATE_FIELDS)
        for field in REQUIRED_FIELDS:
            if field not in spec:
                raise StoreError(field, "is required")
        values = _experiment_values(spec, current=None)
        with self._transaction(write=True) as conn:
            experiment_id = conn.execute(
                "INSERT INTO experiments (name, hypothesis, primary_event, guardrail_events,"
                " bandit, ingest_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    values["name"],
                    values["hypothesis"],
                    values["primary_event"],
                    json.dumps(values["guardrail_events"]),
                    values["bandit"],
                    secrets.token_urlsafe(32),
                    _now(),
                ),
            ).lastrowid
            assert experiment_id is not None
            _replace_variants(conn, experiment_id, values["variants"])
            return _experiment(conn, experiment_id)

    def get_experiment(self, experiment_id: int) -> Experiment:
        with self._transaction(write=False) as conn:
            return _experiment(conn, experiment_id)

    def list_experiments(self) -> tuple[Experiment, ...]:
        """Every experiment, newest first."""
        with self._transaction(write=False) as conn:
            variants: dict[int, list[Variant]] = {}
            for row in conn.execute(
                "SELECT experiment_id, position, name, weight FROM variants"
                " ORDER BY experiment_id, position"
            ):
                variants.setdefault(row[0], []).append(Variant(*row[1:]))
            rows = conn.execute(f"SELECT {_COLUMNS} FROM experiments ORDER BY id DESC")
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
                "UPDATE experiments SET name = ?, hypothesis = ?, primary_event = ?,"
                " guardrail_events = ?, bandit = ? WHERE id = ?",
                (
                    values["name"],
                    values["hypothesis"],
                    values["primary_event"],
                    json.dumps(values["guardrail_events"]),
                    values["bandit"],
                    experiment_id,
                ),
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
            conn.execute("DELETE FROM experiments WHERE id = ?", (experiment_id,))

    def launch(self, experiment_id: int) -> Experiment:
        """draft -> running: assignment and ingestion open; the weights enter the history."""
        with self._transaction(write=True) as conn:
            current = _experiment(conn, experiment_id)
            if current.status != "draft":
                raise Conflict(f"only a draft can be launched; this experiment is {current.status}")
            now = _now()
            conn.execute(
                "UPDATE experiments SET status = 'running', launched_at = ?,"
                " weights_updated_at = ? WHERE id = ?",
                (now, now, experiment_id),
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
                "UPDATE experiments SET status = 'stopped', stopped_at = ? WHERE id = ?",
                (_now(), experiment_id),
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
            conn.executemany(
                "UPDATE variants SET weight = ? WHERE experiment_id = ? AND position = ?",
                [(w, experiment_id, i) for i, (_, w) in enumerate(normalised)],
            )
            conn.execute(
                "UPDATE experiments SET weights_updated_at = ? WHERE id = ?", (now, experiment_id)
            )
            _record_weights(conn, experiment_id, [w for _, w in normalised], now)
            return True

    def record_analysis(self, experiment_id: int, winner: str | None) -> None:
        """Remember the winner named by an analysis just made (``None``: no winner yet), so
        :meth:`winners` answers without analysing again."""
        with self._transaction(write=True) as conn:
            cursor = conn.execute(
                "UPDATE experiments SET winner = ?, analyzed_at = ? WHERE id = ?",
                (winner, _now(), experiment_id),
            )
            if cursor.rowcount == 0:
                raise NotFound(experiment_id)

    def winners(self) -> dict[int, str | None]:
        """Each experiment's winner as of its latest :meth:`record_analysis` (``None`` when it
        had none or was never analysed)."""
        with self._transaction(write=False) as conn:
            return dict(conn.execute("SELECT id, winner FROM experiments").fetchall())

    # -- assignment and events --------------------------------------------------------------

    def assign(self, experiment_id: int, unit: str) -> str:
        """The variant name for ``unit``: its stored assignment if it has one, else a hash of
        (experiment, unit) into the weights in force, stored so the unit keeps it when
        bandit weights move. A stopped experiment answers the control; a draft, Conflict."""
        unit = _text("unit", unit)
        conn = self._connection()
        decided = _assignment(conn, experiment_id, unit)
        if decided is not None:
            return decided
        with self._transaction(write=True) as conn:
            decided = _assignment(conn, experiment_id, unit)  # another writer may have won
            if decided is not None:
                return decided
            weights_id, weights_json = conn.execute(
                "SELECT id, weights FROM weight_history WHERE experiment_id = ?"
                " ORDER BY id DESC LIMIT 1",
                (experiment_id,),
            ).fetchone()
            names = [
                name
                for (name,) in conn.execute(
                    "SELECT name FROM variants WHERE experiment_id = ? ORDER BY position",
                    (experiment_id,),
                )
            ]
            name = assign_variant(experiment_id, unit, json.loads(weights_json), names)
            conn.execute(
                "INSERT INTO assignments (experiment_id, unit, variant, weights_id, assigned_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (experiment_id, unit, names.index(name), weights_id, _now()),
            )
            return name

    def ingest(self, experiment_id: int, events: Sequence[Mapping[str, Any]]) -> IngestResult:
        """Store a batch of ``{event_id, unit, variant, name, ts}`` events, all or nothing.

        The experiment must be running. ``name`` is ``exposure``, the primary event or a
        guardrail event; ``variant`` a variant name; ``ts`` ISO-8601 with a timezone. A unit
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
        event_names = (EXPOSURE, experiment.primary_event, *experiment.guardrail_events)
        parsed = [_event(f"events[{i}]", e, positions, event_names) for i, e in enumerate(events)]
        received_at = _now()
        with self._transaction(write=True) as conn:
            row = conn.execute("SELECT status FROM experiments WHERE id = ?", (experiment_id,))
            status = _status_or_raise(experiment_id, row.fetchone())
            if status != "running":  # stopped since the read above
                raise Conflict(f"events are only accepted while running; experiment is {status}")
            _check_exposures(conn, experiment_id, parsed, experiment.variants)
            before = conn.total_changes
            conn.executemany(
                "INSERT INTO events (experiment_id, event_id, unit, variant, name, ts,"
                " received_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (experiment_id, event_id) DO NOTHING",
                [(experiment_id, *event, received_at) for event in parsed],
            )
            accepted = conn.total_changes - before
        return IngestResult(accepted=accepted, duplicates=len(parsed) - accepted)

    def counts(self, experiment_id: int) -> Counts:
        """Per-variant distinct exposed and converting units, and exposures per weight period.

        SRM against the weights in force: a unit's chance of landing in variant ``i`` is the
        weight ``i`` of the period it was assigned in, so the expected count of ``i`` is
        ``sum over periods of (exposed units in the period) * weight_i``; ``periods`` holds
        exactly those numbers.
        """
        with self._transaction(write=False) as conn:
            experiment = _experiment(conn, experiment_id)
            k = len(experiment.variants)
            exposures = [0] * k
            for variant, n in conn.execute(
                "SELECT variant, COUNT(DISTINCT unit) FROM events"
                " WHERE experiment_id = ? AND name = ? GROUP BY variant",
                (experiment_id, EXPOSURE),
            ):
                exposures[variant] = n
            by_event: dict[str, list[int]] = {
                name: [0] * k for name in (experiment.primary_event, *experiment.guardrail_events)
            }
            for name, variant, n in conn.execute(
                "SELECT name, variant, COUNT(DISTINCT unit) FROM events"
                " WHERE experiment_id = ? AND name != ? GROUP BY name, variant",
                (experiment_id, EXPOSURE),
            ):
                by_event[name][variant] = n
            periods = _periods(conn, experiment_id, k)
        variants = tuple(
            VariantCounts(
                name=v.name,
                weight=v.weight,
                exposures=exposures[v.position],
                conversions=by_event[experiment.primary_event][v.position],
                guardrail_conversions={
                    g: by_event[g][v.position] for g in experiment.guardrail_events
                },
            )
            for v in experiment.variants
        )
        return Counts(experiment_id=experiment_id, variants=variants, periods=periods)


# -- SQL helpers ------------------------------------------------------------------------------

_COLUMNS = (
    "id, name, hypothesis, status, primary_event, guardrail_events, bandit, ingest_key,"
    " created_at, launched_at, stopped_at, weights_updated_at"
)


def migrate(path: str | os.PathLike[str]) -> None:
    """Create the database at ``path`` if needed and apply the migrations it lacks."""
    Store(path).close()


def connect(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """A connection configured as the store needs it: WAL, ``synchronous=FULL``, foreign keys,
    the busy timeout, autocommit (the store opens its own transactions). The database must
    exist and be migrated (:func:`migrate`)."""
    # timeout= is SQLite's busy_timeout: wait up to that long for another writer's lock.
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode != "wal":
        conn.close()
        raise sqlite3.OperationalError(f"{path}: WAL journaling unavailable (got {mode!r})")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _migrations() -> list[tuple[int, str, str]]:
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", path.name)
        if match is None:
            raise RuntimeError(f"migration {path.name} must be named NNNN_description.sql")
        found.append((int(match[1]), match[2], path.read_text(encoding="utf-8")))
    return found


def _statements(script: str) -> Iterator[str]:
    """Split a migration into statements (``executescript`` would commit mid-transaction)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""
    if pending.strip():
        yield pending  # trailing comments run as a no-op; an unfinished statement fails


def _experiment(conn: sqlite3.Connection, experiment_id: int) -> Experiment:
    row = conn.execute(f"SELECT {_COLUMNS} FROM experiments WHERE id = ?", (experiment_id,))
    found = row.fetchone()
    if found is None:
        raise NotFound(experiment_id)
    variants = conn.execute(
        "SELECT position, name, weight FROM variants WHERE experiment_id = ? ORDER BY position",
        (experiment_id,),
    )
    return _from_row(found, [Variant(*v) for v in variants])


def _status_or_raise(experiment_id: int, row: tuple[str] | None) -> str:
    if row is None:  # deleted since the read above
        raise NotFound(experiment_id)
    return row[0]


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
    conn: sqlite3.Connection, experiment_id: int, variants: Sequence[tuple[str, float]]
) -> None:
    conn.execute("DELETE FROM variants WHERE experiment_id = ?", (experiment_id,))
    conn.executemany(
        "INSERT INTO variants (experiment_id, position, name, weight) VALUES (?, ?, ?, ?)",
        [(experiment_id, i, name, weight) for i, (name, weight) in enumerate(variants)],
    )


def _record_weights(
    conn: sqlite3.Connection, experiment_id: int, weights: Sequence[float], at: str
) -> None:
    conn.execute(
        "INSERT INTO weight_history (experiment_id, effective_from, weights) VALUES (?, ?, ?)",
        (experiment_id, at, json.dumps(list(weights))),
    )


def _assignment(conn: sqlite3.Connection, experiment_id: int, unit: str) -> str | None:
    """The answer when it needs no new row: the control if stopped, the stored variant if the
    unit has one; None when a running experiment must assign the unit now."""
    row = conn.execute(
        "SELECT e.status, assigned.name, control.name FROM experiments AS e"
        " JOIN variants AS control ON control.experiment_id = e.id AND control.position = 0"
        " LEFT JOIN assignments AS a ON a.experiment_id = e.id AND a.unit = ?"
        " LEFT JOIN variants AS assigned"
        "   ON assigned.experiment_id = e.id AND assigned.position = a.variant"
        " WHERE e.id = ?",
        (unit, experiment_id),
    ).fetchone()
    if row is None:
        raise NotFound(experiment_id)
    status, assigned, control = row
    if status == "draft":
        raise Conflict("a draft experiment does not assign units; launch it first")
    if status == "stopped":
        return str(control)
    return None if assigned is None else str(assigned)


def _check_exposures(
    conn: sqlite3.Connection,
    experiment_id: int,
    events: Sequence[tuple[str, str, int, str, str]],
    variants: Sequence[Variant],
) -> None:
    """Raise unless every unit keeps one variant (the one assign gave it, or else its first
    exposure's) and every conversion follows an exposure."""
    units = sorted({unit for _, unit, _, _, _ in events})
    first: dict[str, tuple[int, str]] = {
        unit: (variant, ts)
        for unit, variant, ts in conn.execute(
            "SELECT unit, variant, MIN(ts) FROM events WHERE experiment_id = ? AND name = ?"
            " AND unit IN (SELECT value FROM json_each(?)) GROUP BY unit, variant",
            (experiment_id, EXPOSURE, json.dumps(units)),
        )
    }
    assigned: dict[str, int] = dict(
        conn.execute(
            "SELECT unit, variant FROM assignments WHERE experiment_id = ?"
            " AND unit IN (SELECT value FROM json_each(?))",
            (experiment_id, json.dumps(units)),
        ).fetchall()
    )
    for i, (_, unit, variant, name, ts) in enumerate(events):
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
        elif seen is not None and ts < seen[1]:
            raise StoreError(
                f"events[{i}].ts",
                f"must not precede the first exposure of unit {unit!r} ({seen[1]}) for a "
                f"conversion, got {ts}",
            )


def _periods(conn: sqlite3.Connection, experiment_id: int, k: int) -> tuple[WeightPeriod, ...]:
    history = conn.execute(
        "SELECT id, effective_from, weights FROM weight_history WHERE experiment_id = ?"
        " ORDER BY id",
        (experiment_id,),
    ).fetchall()
    exposures = {weights_id: [0] * k for weights_id, _, _ in history}
    # A unit's period is the weights it was assigned under; a unit exposed without a stored
    # assignment (the client hashed it itself) falls in the period of its first exposure.
    for weights_id, variant, n in conn.execute(
        """
        WITH exposed AS (
            SELECT unit, variant, MIN(ts) AS first_ts FROM events
            WHERE experiment_id = :id AND name = :exposure GROUP BY unit, variant
        )
        SELECT COALESCE(
                   a.weights_id,
                   (SELECT w.id FROM weight_history AS w
                    WHERE w.experiment_id = :id AND w.effective_from <= x.first_ts
                    ORDER BY w.id DESC LIMIT 1),
                   (SELECT MIN(w.id) FROM weight_history AS w WHERE w.experiment_id = :id)
               ) AS period,
               x.variant,
               COUNT(*)
        FROM exposed AS x
        LEFT JOIN assignments AS a ON a.experiment_id = :id AND a.unit = x.unit
        GROUP BY period, x.variant
        """,
        {"id": experiment_id, "exposure": EXPOSURE},
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
    if primary == EXPOSURE:
        raise StoreError("primary_event", f"must not be {EXPOSURE!r}, which marks exposures")
    for i, g in enumerate(guardrails):
        if g in (EXPOSURE, primary, *guardrails[:i]):
            if "guardrail_events" not in spec:  # a PATCH of primary_event alone clashes
                raise StoreError(
                    "primary_event", f"must differ from the guardrail events, got {primary!r}"
                )
            raise StoreError(
                f"guardrail_events[{i}]",
                f"must differ from 'exposure', the primary event and the other guardrail "
                f"events, got {g!r}",
            )
    return values


def _event(
    field: str, event: object, positions: Mapping[str, int], names: Sequence[str]
) -> tuple[str, str, int, str, str]:
    """Validate one event; return ``(event_id, unit, variant position, name, utc ts)``."""
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
    return event_id, unit, positions[variant], name, _timestamp(f"{field}.ts", event.get("ts"))


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
