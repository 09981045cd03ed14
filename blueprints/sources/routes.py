"""``GET /api/sources`` and ``GET /api/sources/<name>/tables/<table>``.

The app's :class:`sources.config.Sources` is built on first use from ``SOURCES`` (config) or
``ABACUS_SOURCES`` (environment) and kept in ``app.extensions``. An unknown source or table
is a 404 naming ``source`` or ``table``; a configured source that cannot be reached is a 503
naming ``source`` (the cause is logged, never sent: it may hold a host or a user name).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from flask import Response, current_app
from typing_extensions import TypedDict  # pydantic reads TypedDicts from here on 3.11

from blueprints._api import ApiError, json_response
from blueprints.sources import contract
from sources.errors import SourceError

if TYPE_CHECKING:  # Ibis loads on the first sources request, not when the app starts
    from sources.config import Sources

EXTENSION = "abacus_sources"
log = logging.getLogger(__name__)
_lock = threading.Lock()
T = TypeVar("T")


def app_sources() -> Sources:
    """The app's configured sources (a deployment error in them is a 500, and logged)."""
    from sources.config import Sources

    found: Sources | None = current_app.extensions.get(EXTENSION)
    if found is None:
        with _lock:
            found = current_app.extensions.get(EXTENSION)
            if found is None:
                found = Sources.from_config(current_app.config)
                current_app.extensions[EXTENSION] = found
    return found


def _ask(name: str, call: Callable[[], T]) -> T:
    """Run ``call``; a SourceError is a 404 naming its field, any other failure a 503."""
    try:
        return call()
    except SourceError as exc:
        raise ApiError(404, str(exc), [{"field": exc.field, "detail": str(exc)}]) from None
    except Exception:
        log.exception("source %r failed", name)
        detail = f"source {name!r} is configured but not reachable now; try again later."
        raise ApiError(503, detail, [{"field": "source", "detail": detail}]) from None


class Source(TypedDict):
    """A configured source: its name and the tables and views it lists (``null`` when it
    cannot be reached)."""

    name: str
    tables: list[str] | None


class SourceList(TypedDict):
    """The configured sources."""

    sources: list[Source]


class Column(TypedDict):
    """A column: its name, Ibis type (string, int64, float64, boolean, date, timestamp …) and
    whether it may be null."""

    name: str
    type: str
    nullable: bool


class SourceTable(TypedDict):
    """The columns of one listed table of a configured source."""

    source: str
    table: str
    columns: list[Column]


@contract.get(
    "/api/sources",
    summary="The configured data sources and their tables",
    result=SourceList,
    description="Sources are named in configuration (SOURCES, or ABACUS_SOURCES in the "
    "environment); a request can use only these, and only their listed tables.",
)
def list_sources() -> Response:
    """Every configured source and the tables it lists (``tables`` null when unreachable)."""
    sources = app_sources()
    out: list[Source] = []
    for name in sources.names():
        tables: list[str] | None
        try:
            tables = _ask(name, partial(sources.tables, name))
        except ApiError:
            tables = None
        out.append({"name": name, "tables": tables})
    answer: SourceList = {"sources": out}
    return json_response(answer)


@contract.get(
    "/api/sources/<name>/tables/<table>",
    summary="The columns of one table of a configured source",
    result=SourceTable,
    problems={
        "404": "No such configured source (errors name 'source') or no such table in it "
        "(errors name 'table').",
        "503": "The source is configured but cannot be reached now.",
    },
)
def describe_table(name: str, table: str) -> Response:
    """The columns of one listed table of a configured source, with their Ibis types."""
    sources = app_sources()
    columns = _ask(name, partial(sources.columns, name, table))
    answer: SourceTable = {
        "source": name,
        "table": table,
        "columns": [{"name": c.name, "type": c.type, "nullable": c.nullable} for c in columns],
    }
    return json_response(answer)
