"""Data sources named in configuration, and the checks a request's names must pass.

``SOURCES`` (the app's config, e.g. ``create_app({"SOURCES": {...}})``) or else
``ABACUS_SOURCES`` (JSON in the environment) maps a name to a source::

    {
      "warehouse": "duckdb:///data/events.duckdb",
      "pg": "postgres://abacus@db.internal:5432/analytics",
      "spark": {"backend": "pyspark", "master": "local[2]",
                "conf": {"spark.sql.shuffle.partitions": "8"}}
    }

A string is an Ibis connection URL, opened with :func:`ibis.connect`, so any Ibis backend
(BigQuery, Snowflake, Trino, ClickHouse …) works without code; ``${VAR}`` in it is replaced
from the environment, so passwords stay out of the JSON (libpq's ``PGPASSWORD`` and
``~/.pgpass`` work too). A mapping with ``"backend": "pyspark"`` builds a SparkSession
(``master``, ``app_name``, ``conf``; without ``master`` Spark's own configuration decides,
e.g. ``spark-defaults.conf``) and wraps it with :func:`ibis.pyspark.connect`; a mapping with
``"url"`` is the same as the string. Either may add ``"database"`` (a schema to list).

A request may name only a configured source, only a table the source lists
(``con.list_tables()``) and only columns of that table's schema; names are compared with the
catalogue, never pasted into SQL. Anything else raises :class:`SourceError` whose ``field``
is ``"source"``, ``"table"`` or the column's role.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from sources.errors import SourceError

Spec = str | Mapping[str, Any]

ENV_VAR = "ABACUS_SOURCES"
CONFIG_KEY = "SOURCES"
MAX_NAME = 256
"""Longest source, table or column name a request may send."""

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def configured(
    config: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Spec]:
    """The configured sources: ``config["SOURCES"]`` if set, else ``$ABACUS_SOURCES`` (JSON).

    Raises ``ValueError`` for a malformed configuration (a deployment error, not a request's).
    """
    environ = os.environ if environ is None else environ
    raw: Any = (config or {}).get(CONFIG_KEY)
    if raw is None and environ.get(ENV_VAR):
        try:
            raw = json.loads(environ[ENV_VAR])
        except json.JSONDecodeError as exc:
            raise ValueError(f"{ENV_VAR} is not valid JSON: {exc}") from None
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"{CONFIG_KEY} must map source names to URLs, got {type(raw).__name__}")
    for name, spec in raw.items():
        if not isinstance(name, str) or not isinstance(spec, str | Mapping):
            raise ValueError(f"{CONFIG_KEY}[{name!r}] must be a URL or an object, got {spec!r}")
    return dict(raw)


def _expand(url: str, environ: Mapping[str, str]) -> str:
    """Replace ``${VAR}`` from the environment (credentials stay out of the configuration)."""

    def sub(match: re.Match[str]) -> str:
        if match.group(1) not in environ:
            raise ValueError(f"environment variable {match.group(1)} is not set")
        return environ[match.group(1)]

    return _VAR.sub(sub, url)


def _spark(spec: Mapping[str, Any]) -> BaseBackend:
    """A SparkSession from ``master``/``app_name``/``conf`` (or Spark's defaults), via Ibis."""
    from pyspark.sql import SparkSession

    builder: Any = SparkSession.builder.appName(str(spec.get("app_name", "abacus")))
    if spec.get("master"):
        builder = builder.master(str(spec["master"]))
    for key, value in dict(spec.get("conf") or {}).items():
        builder = builder.config(str(key), str(value))
    return ibis.pyspark.connect(builder.getOrCreate())


def connect(spec: Spec, environ: Mapping[str, str] | None = None) -> BaseBackend:
    """Open one configured source (see the module docstring for the forms of ``spec``)."""
    environ = os.environ if environ is None else environ
    if isinstance(spec, Mapping):
        if spec.get("backend") == "pyspark":
            return _spark(spec)
        if "url" not in spec:
            raise ValueError(f"a source object needs 'url' or 'backend': 'pyspark', got {spec!r}")
        spec = str(spec["url"])
    if spec.startswith("spark://"):
        return _spark({"master": spec})
    con = ibis.connect(_expand(spec, environ))
    if con.name == "duckdb":  # no progress bar on the server's stdout
        con.raw_sql("SET enable_progress_bar = false")
    return con


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a source's table: its name, Ibis type (``string``, ``float64`` …) and
    whether it may hold NULL."""

    name: str
    type: str
    nullable: bool


def checked_name(value: object, field: str) -> str:
    """A name from a request: a non-empty string of at most :data:`MAX_NAME` characters."""
    if not isinstance(value, str) or not value or len(value) > MAX_NAME:
        raise SourceError(f"{field} must be a name of at most {MAX_NAME} characters", field=field)
    return value


class Sources:
    """The configured sources of one app, opened on first use and kept open.

    ``lock(name)`` serialises queries on one connection (a DuckDB connection is not safe to
    share between threads; the web layer holds the lock while a reduction runs).
    """

    def __init__(self, specs: Mapping[str, Spec], environ: Mapping[str, str] | None = None):
        self._specs = dict(specs)
        self._environ = environ
        self._cons: dict[str, BaseBackend] = {}
        self._locks = {name: threading.RLock() for name in self._specs}
        self._open = threading.Lock()

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Sources:
        """The sources of ``config``/``environ`` (see :func:`configured`)."""
        return cls(configured(config, environ), environ)

    def names(self) -> list[str]:
        """The configured source names, sorted."""
        return sorted(self._specs)

    def _database(self, name: str) -> str | None:
        spec = self._specs[name]
        db = spec.get("database") if isinstance(spec, Mapping) else None
        return str(db) if db else None

    def lock(self, source: str) -> threading.RLock:
        """The lock of ``source`` (checked)."""
        return self._locks[self._name(source)]

    def _name(self, source: object) -> str:
        name = checked_name(source, "source")
        if name not in self._specs:
            listed = ", ".join(self.names()) or "none are configured"
            raise SourceError(f"source {name!r} is not configured ({listed})", field="source")
        return name

    def connect(self, source: object) -> BaseBackend:
        """The open connection of a configured source (``SourceError`` field ``source``)."""
        name = self._name(source)
        with self._open:
            if name not in self._cons:
                self._cons[name] = connect(self._specs[name], self._environ)
            return self._cons[name]

    def tables(self, source: object) -> list[str]:
        """The tables (and views) the source lists, sorted."""
        name = self._name(source)
        con = self.connect(name)
        with self._locks[name]:
            db = self._database(name)
            listed = con.list_tables(database=db) if db else con.list_tables()
        return sorted(listed)

    def table(self, source: object, table: object) -> ir.Table:
        """An Ibis table of a configured source, only if the source lists it."""
        name = self._name(source)
        wanted = checked_name(table, "table")
        if wanted not in self.tables(name):
            raise SourceError(f"table {wanted!r} is not a table of source {name!r}", field="table")
        db = self._database(name)
        con = self.connect(name)
        with self._locks[name]:
            return con.table(wanted, database=db) if db else con.table(wanted)

    def columns(self, source: object, table: object) -> list[Column]:
        """Name, Ibis type and nullability of each column of a listed table, in order."""
        schema = self.table(source, table).schema()
        return [
            Column(col, str(dtype.copy(nullable=True)), bool(dtype.nullable))
            for col, dtype in schema.items()
        ]

    def close(self) -> None:
        """Disconnect every opened source (a SparkSession is left to its owner)."""
        with self._open:
            for con in self._cons.values():
                if con.name != "pyspark":
                    con.disconnect()
            self._cons.clear()
