"""A data request that names a configured source and table instead of carrying a file.

Every data endpoint (``/api/abtest``, ``/api/bayesian``, ``/api/cuped``, ``/api/doe``) accepts
a JSON body with ``"source"`` and ``"table"`` plus the column-role fields of its CSV mode. The
names are checked against the source's catalogue (:class:`sources.config.Sources`), never
pasted into SQL; an unknown source, table or column is a 422 naming that field. Reductions
run in the engine (:mod:`sources.reduce`) while the source's lock is held, since one
connection (DuckDB's) is shared by the app's threads. Ibis loads on the first such request.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from blueprints._api import ApiError, Fields, unprocessable
from sources.errors import SourceError

if TYPE_CHECKING:
    from sources.config import Sources

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SourceTable:
    """A listed table of a configured source, as an Ibis table (nothing read yet)."""

    sources: Sources
    source: str
    name: str
    table: Any
    """The Ibis table (:mod:`sources` builds every query on it)."""
    columns: tuple[str, ...]

    def describe(self, rows: int, used: int) -> dict[str, Any]:
        """What the result says about the data read (``result.source``)."""
        return {
            "source": self.source,
            "table": self.name,
            "rows": rows,
            "rows_used": used,
            "rows_excluded": rows - used,
        }


def source_error(exc: SourceError, roles: Mapping[str, str] | None = None) -> ApiError:
    """A 422 naming the request's field for ``exc.field`` (a role renamed by ``roles``)."""
    field = (roles or {}).get(exc.field, exc.field)
    detail = str(exc)
    detail = detail if detail.endswith(".") else detail + "."
    return ApiError(422, detail, [{"field": field, "detail": detail}])


@contextmanager
def reducing(
    st: SourceTable | tuple[Sources, str], roles: Mapping[str, str] | None = None
) -> Iterator[None]:
    """Hold the source's lock while a query runs; a :class:`SourceError` is a 422 naming
    its field (renamed by ``roles``), a failure of the engine a 503 (logged, not sent)."""
    sources, name = (st.sources, st.source) if isinstance(st, SourceTable) else st
    try:
        with sources.lock(name):
            yield
    except SourceError as exc:
        raise source_error(exc, roles) from None
    except (ApiError, ArithmeticError):
        raise
    except Exception:
        log.exception("a query on source %r failed", name)
        detail = f"source {name!r} could not answer the query now; try again later."
        raise ApiError(503, detail, [{"field": "source", "detail": detail}]) from None


def open_source(f: Fields) -> tuple[Sources, str]:
    """The app's sources and the configured source ``f["source"]`` names (422 otherwise)."""
    from blueprints.sources.routes import app_sources

    sources = app_sources()
    name = f.string("source")
    try:
        sources.lock(name)
    except SourceError as exc:
        raise source_error(exc) from None
    return sources, name


def source_table(sources: Sources, source: str, table: object, field: str = "table") -> Any:
    """The listed table ``table`` of ``source`` (422 naming ``field`` when it is not listed)."""
    with reducing((sources, source), {"table": field}):
        return sources.table(source, table)


def open_table(f: Fields) -> SourceTable:
    """The source and table a request names (``source``, ``table``)."""
    sources, source = open_source(f)
    name = f.string("table")
    table = source_table(sources, source, name)
    return SourceTable(sources, source, name, table, tuple(table.columns))


def column_name(f: Fields, key: str, st: SourceTable, default: Any = ...) -> Any:
    """The column a role field names, checked against the table's schema (422 naming it)."""
    name = f.string(key) if default is ... else f.string(key, default)
    if name is not None and name not in st.columns:
        unprocessable(
            f.name(key),
            f"{f.name(key)} column {name!r} is not a column of {st.source}.{st.name}; the "
            f"columns are {', '.join(st.columns[:30])}.",
        )
    return name


def select_rows(st: SourceTable, columns: Sequence[str], limit: int) -> Any:
    """The ``columns`` of at most ``limit`` rows as Arrow (more is a 422 naming ``table``)."""
    from sources.reduce import first_rows

    with reducing(st):
        data = first_rows(st.table, columns, limit)
    if data.num_rows > limit:
        unprocessable(
            "table",
            f"table {st.name!r} has more than {limit:,} rows; this analysis reads rows, so "
            "filter the table (a view) or send per-variant summaries.",
        )
    return data


EVENT_ROLES = {
    "exposures": "events.exposures",
    "metric_events": "events.metric_events",
    "window_days": "events.window_days",
    "pre_window_days": "events.pre_window_days",
    "metric": "events.metric",
    "variant": "events.exposures",
}
""":func:`sources.events.event_statistics`'s error fields as the request names them."""


def event_request(f: Fields, *, pre_period: bool = False) -> tuple[Any, dict[str, Any]]:
    """``source`` with ``events``: ``{exposures, metric_events, experiment, metric,
    window_days[, pre_window_days]}`` reduced by :func:`sources.events.event_statistics`.

    Returns the :class:`sources.reduce.SufficientStatistics` (with ``pre_period``, or a
    ``pre_window_days``, the CUPED covariate moments too) and ``result.source``.
    """
    from sources.events import event_statistics

    sources, source = open_source(f)
    ev = Fields(f.data["events"], "events.")
    exposures = source_table(sources, source, ev.string("exposures"), "events.exposures")
    metric_events = source_table(
        sources, source, ev.string("metric_events"), "events.metric_events"
    )
    experiment = ev.string("experiment")
    metric = ev.string("metric")
    window = ev.integer("window_days", 14)
    pre = ev.integer("pre_window_days", 14 if pre_period else None)
    with reducing((sources, source), EVENT_ROLES):
        stats = event_statistics(
            exposures,
            metric_events,
            experiment=experiment,
            metric=metric,
            window_days=window,
            pre_window_days=pre,
        )
    used = stats.rows - stats.dropped
    return stats, {
        "source": source,
        "events": {
            "exposures": ev.string("exposures"),
            "metric_events": ev.string("metric_events"),
            "experiment": experiment,
            "metric": metric,
            "window_days": window,
            "pre_window_days": pre,
        },
        "rows": stats.rows,
        "rows_used": used,
        "rows_excluded": stats.rows - used,
    }
