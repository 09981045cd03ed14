"""The Experiments store in the app, flaskr's way (``examples/tutorial/flaskr/db.py``).

:func:`init_app` puts an :class:`Extension` on ``app.extensions`` and releases the request's
connection on teardown. :func:`get_store` checks one connection out per request (app
context), keeps it in ``g`` and answers a :class:`~experiments.Store` over it.

Unlike flaskr, a released connection goes back to the engine's pool (SQLAlchemy's, rolled
back on return) instead of being closed: opening a SQLite connection costs 0.6-2 ms here (the
schema is parsed again, and closing the last connection of a WAL database checkpoints it), a
PostgreSQL one a server process, against ~10 us for a query, and ``assign`` is the service's
hot path. Pools are per process: a forked worker starts its own. The database
(``DATABASE``: a SQLite path or a ``postgresql://`` URL) is created and migrated on the first
experiments request in a process, not at import or at ``create_app``: a bad path never stops
the other modules, and importing ``app`` (tests, tools) creates no database file. gunicorn's
``post_worker_init`` calls :func:`migrate` so that a worker's migrations run as it starts.
"""

from __future__ import annotations

import os
import threading

from flask import Flask, current_app, g

from experiments.store import Database, Store

EXTENSION = "experiments"


class Extension:
    """Per app: this process's :class:`~experiments.store.Database` (its pool) per target,
    each migrated once when made (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._databases: dict[tuple[int, str], Database] = {}

    def database(self, target: str) -> Database:
        """This process's database at ``target``, created and migrated on first use."""
        key = (os.getpid(), target)
        with self._lock:
            found = self._databases.get(key)
            if found is None:
                found = self._databases[key] = Database(target)
        return found


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Extension()
    app.teardown_appcontext(close_db)


def _target() -> str:
    return str(current_app.config["DATABASE"])


def migrate() -> None:
    """Create and migrate the app's database now (once per process)."""
    extension: Extension = current_app.extensions[EXTENSION]
    extension.database(_target())


def get_store() -> Store:
    """The store of this request: one connection, taken on first use, released on teardown."""
    if "experiments_store" not in g:
        target = _target()
        conn = current_app.extensions[EXTENSION].database(target).connect()
        g.experiments_db = conn
        g.experiments_store = Store(target, connection=conn)
    store: Store = g.experiments_store
    return store


def close_db(error: BaseException | None = None) -> None:
    """Teardown: the request's connection goes back to the pool."""
    g.pop("experiments_store", None)
    conn = g.pop("experiments_db", None)
    if conn is not None:
        conn.close()
