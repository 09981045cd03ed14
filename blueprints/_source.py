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
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field
from typing_extensions import TypedDict  # pydantic reads TypedDicts from here on 3.11

from blueprints._api import ApiError, invalid_input, required, unprocessable
from blueprints._contract import Body, Range, Whole
from sources.errors import SourceError
from stats.errors import InvalidInput

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

    def describe(self, rows: int, used: int) -> SourceSummary:
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
    its field (renamed by ``roles``), a statistic the reduced values cannot make
    (:class:`stats.errors.InvalidInput`, a ratio's denominator averaging 0) a 422 naming
    its field, a failure of the engine a 503 (logged, not sent)."""
    sources, name = (st.sources, st.source) if isinstance(st, SourceTable) else st
    try:
        with sources.lock(name):
            yield
    except SourceError as exc:
        raise source_error(exc, roles) from None
    except InvalidInput as exc:
        raise invalid_input(exc) from None
    except (ApiError, ArithmeticError):
        raise
    except Exception:
        log.exception("a query on source %r failed", name)
        detail = f"source {name!r} could not answer the query now; try again later."
        raise ApiError(503, detail, [{"field": "source", "detail": detail}]) from None


Name = Annotated[str, Field(min_length=1, max_length=256)]


class SourceFields(Body):
    """A configured source and one of its tables, instead of a file (every data endpoint)."""

    source: Name | None = Field(
        None,
        description="A configured source (GET /api/sources) instead of a file: the table's "
        "rows are reduced where they live, and the answer is the one an upload of the same "
        "rows gets. The other fields name columns as in CSV mode.",
    )
    table: Name | None = Field(None, description="A table the source lists (with source).")


Days = Annotated[Whole, Range(ge=1, le=3650)]


class Events(Body):
    """The event schema (with source): exposures(experiment, unit, variant, ts) and
    metric_events(unit, name, value, ts). A unit's value is the sum of its metric events in
    [first exposure, + window_days); its pre-period covariate the same sum in [first exposure
    − pre_window_days, first exposure). Units that saw two variants are left out, with a
    warning."""

    exposures: Name = Field(description="The exposures table.")
    metric_events: Name = Field(description="The metric events table.")
    experiment: str = Field(description="The experiment's key in exposures.")
    metric: str = Field(description="The metric's name in metric_events.")
    window_days: Days = 14
    pre_window_days: Days | None = Field(
        None, description="The pre-period of the covariate (CUPED; default 14 there)."
    )


class SourceSummary(TypedDict):
    """``result.source``: the source and table, the rows read, used and left out."""

    source: str
    table: str
    rows: int
    rows_used: int
    rows_excluded: int


class EventsSummary(TypedDict):
    """``result.source`` of an event-schema request."""

    source: str
    events: dict[str, Any]
    rows: int
    rows_used: int
    rows_excluded: int


def open_source(name: str) -> tuple[Sources, str]:
    """The app's sources and the configured source named (422 otherwise)."""
    from blueprints.sources.routes import app_sources

    sources = app_sources()
    try:
        sources.lock(name)
    except SourceError as exc:
        raise source_error(exc) from None
    return sources, name


def source_table(sources: Sources, source: str, table: object, field: str = "table") -> Any:
    """The listed table ``table`` of ``source`` (422 naming ``field`` when it is not listed)."""
    with reducing((sources, source), {"table": field}):
        return sources.table(source, table)


def open_table(f: SourceFields) -> SourceTable:
    """The source and table a request names (``source``, ``table``)."""
    assert f.source is not None
    name = required(f.table, "table")
    sources, source = open_source(f.source)
    table = source_table(sources, source, name)
    return SourceTable(sources, source, name, table, tuple(table.columns))


def column(st: SourceTable, field: str, name: str | None) -> str | None:
    """``name``, the column the request's ``field`` names, checked against the table's schema
    (422 naming ``field``); ``None`` stays ``None``."""
    if name is not None and name not in st.columns:
        unprocessable(
            field,
            f"{field} column {name!r} is not a column of {st.source}.{st.name}; the "
            f"columns are {', '.join(st.columns[:30])}.",
        )
    return name


def required_column(st: SourceTable, field: str, name: str | None) -> str:
    """As :func:`column`, for a role the request must name (400 when it is left out)."""
    return required(column(st, field, name), field)


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


def event_request(
    source: str, ev: Events, *, pre_period: bool = False
) -> tuple[Any, EventsSummary]:
    """``source`` with ``events``: ``{exposures, metric_events, experiment, metric,
    window_days[, pre_window_days]}`` reduced by :func:`sources.events.event_statistics`.

    Returns the :class:`sources.reduce.SufficientStatistics` (with ``pre_period``, or a
    ``pre_window_days``, the CUPED covariate moments too) and ``result.source``.
    """
    from sources.events import event_statistics

    sources, source = open_source(source)
    exposures = source_table(sources, source, ev.exposures, "events.exposures")
    metric_events = source_table(sources, source, ev.metric_events, "events.metric_events")
    pre = ev.pre_window_days
    if pre is None and pre_period:
        pre = 14
    with reducing((sources, source), EVENT_ROLES):
        stats = event_statistics(
            exposures,
            metric_events,
            experiment=ev.experiment,
            metric=ev.metric,
            window_days=ev.window_days,
            pre_window_days=pre,
        )
    used = stats.rows - stats.dropped
    return stats, {
        "source": source,
        "events": {**ev.model_dump(), "pre_window_days": pre},
        "rows": stats.rows,
        "rows_used": used,
        "rows_excluded": stats.rows - used,
    }
