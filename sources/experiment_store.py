"""The Experiments store's own database as an event-schema source (issue 12).

The store keeps one ``events`` table (``experiment_id, event_id, unit, variant, name, ts,
received_at``; ``name`` is ``exposure`` or a metric event). :func:`event_tables` presents one
experiment's rows as the event schema of :mod:`sources.events`, so the live analysis reduces
them with the same expressions as a warehouse's tables: Ibis over the store's own connection
(its SQLite or PostgreSQL backend), inside the store's read transaction, so the counts and the
store's other reads see one snapshot.

``ts`` stays the store's fixed-width UTC text (text order is time order), so the reduction
needs no interval arithmetic (:func:`sources.events.unit_values` with ``window_days=None``:
every event from the unit's first exposure on; ingestion already refuses a conversion before
it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from sources.events import unit_metric_values
from stats.sufficient import ProportionStats

EXPOSURE = "exposure"


def backend(dbapi_connection: Any, dialect: str) -> BaseBackend:
    """Ibis over an open store connection (``sqlite3`` or ``psycopg``), which stays the
    caller's: Ibis runs its queries in the caller's transaction and never closes it.

    On PostgreSQL this also turns nested-loop joins off for the rest of that transaction
    (``SET LOCAL``): the store's events are often newer than the planner's statistics (a burst
    of ingestion before autovacuum's ``ANALYZE``), and a nested loop planned for the one row
    the statistics promise joins every exposure with every conversion (40,000 units here:
    391 s, against 0.07 s with the merge join it then takes)."""
    if dialect == "sqlite":
        return ibis.sqlite.from_connection(dbapi_connection)
    if dialect == "postgresql":
        con = ibis.postgres.from_connection(dbapi_connection)
        dbapi_connection.execute("SET LOCAL enable_nestloop = off")
        return con
    raise ValueError(f"no Ibis backend for the store dialect {dialect!r}")


def event_tables(con: BaseBackend, experiment_id: int) -> tuple[ir.Table, ir.Table]:
    """``(exposures, metric_events)`` of one experiment: ``experiment`` is its id as text,
    ``variant`` the variant position, ``value`` 1 per metric event."""
    events = con.table("events")
    mine = events.filter(events.experiment_id == experiment_id)
    x = mine.filter(mine.name == EXPOSURE)
    exposures = x.select(
        experiment=ibis.literal(str(experiment_id)), unit=x.unit, variant=x.variant, ts=x.ts
    )
    m = mine.filter(mine.name != EXPOSURE)
    metric_events = m.select(unit=m.unit, name=m.name, value=ibis.literal(1), ts=m.ts)
    return exposures, metric_events


def conversions(
    exposures: ir.Table, metric_events: ir.Table, *, experiment: str, metrics: Sequence[str]
) -> dict[str, dict[Any, ProportionStats]]:
    """Per metric, per variant: exposed units and units with the metric event at or after
    their first exposure, from one per-unit table (:func:`sources.events.unit_metric_values`;
    a unit exposed to several variants is left out) counted in the same query. Keys of the
    inner dicts are the variant values as text; a variant with no exposure is absent.

    Whole-number counts (``COUNT``, ``SUM``), not :func:`sources.reduce.sufficient_statistics`:
    a 0/1 metric needs no variance, and Ibis computes SQLite's sample variance with a Python
    aggregate that fails on a one-unit variant."""
    if not metrics:
        raise ValueError("name at least one metric event")
    columns = {f"m{i}": metric for i, metric in enumerate(metrics)}
    values = unit_metric_values(
        exposures, metric_events, experiment=experiment, metrics=columns, window_days=None
    )
    per_variant = values.group_by("variant").aggregate(
        users=values.count(), **{c: (values[c] > 0).ifelse(1, 0).sum() for c in columns}
    )
    rows = per_variant.to_pyarrow().to_pylist()
    return {
        metric: {
            str(row["variant"]): ProportionStats(
                str(row["variant"]), int(row["users"]), int(row[column] or 0)
            )
            for row in rows
        }
        for column, metric in columns.items()
    }
