"""The Experiments store in the app, flaskr's way (``examples/tutorial/flaskr/db.py``).

:func:`init_app` puts an :class:`Extension` on ``app.extensions`` and releases the request's
connection on teardown. :func:`get_store` takes one SQLite connection per request (app
context), keeps it in ``g`` and answers a :class:`~experiments.Store` over it.

Unlike flaskr, a released connection goes back to a small per-process pool instead of being
closed: opening one costs 0.6-2 ms here (the schema is parsed again, and closing the last
connection of a WAL database checkpoints it), against ~10 us for a query, and ``assign`` is
the service's hot path. A connection is rolled back before it is pooled, and never crosses a
``fork()``. The database
(``DATABASE``) is created and migrated on the first experiments request in a process, not at
import or at ``create_app``: a bad path never stops the other modules, and importing ``app``
(tests, tools) creates no database file. gunicorn's ``post_worker_init`` calls
:func:`migrate` so that a worker's migrations run as it starts.
"""

from __future__ import annotations

import os
import sqlite3
import threading

from flask import Flask, current_app, g

from experiments.store import Store, connect
from experiments.store import migrate as migrate_database

EXTENSION = "experiments"


MAX_IDLE = 32  # pooled connections per database (gunicorn's threads per worker)


class Extension:
    """Per app: which databases this process has migrated, and their idle connections
    (thread- and fork-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._migrated: set[tuple[int, str]] = set()
        self._idle: dict[str, list[sqlite3.Connection]] = {}
        self._pid = os.getpid()

    def migrate(self, path: str) -> None:
        """Create and migrate ``path`` once per process."""
        done = (os.getpid(), os.path.abspath(path))
        if done in self._migrated:
            return
        with self._lock:
            if done not in self._migrated:
                migrate_database(path)
                self._migrated.add(done)

    def acquire(self, path: str) -> sqlite3.Connection:
        """An idle connection to ``path`` of this process, or a new one."""
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's connections are not ours
                self._idle, self._pid = {}, os.getpid()
            idle = self._idle.get(path)
            if idle:
                return idle.pop()
        return connect(path)

    def release(self, path: str, conn: sqlite3.Connection) -> None:
        """Pool ``conn`` again (rolled back), or close it when the pool is full."""
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            conn.close()
            return
        with self._lock:
            idle = self._idle.setdefault(path, [])
            if self._pid == os.getpid() and len(idle) < MAX_IDLE:
                idle.append(conn)
                return
        conn.close()


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Extension()
    app.teardown_appcontext(close_db)


def migrate() -> None:
    """Create and migrate the app's database now (once per process)."""
    extension: Extension = current_app.extensions[EXTENSION]
    extension.migrate(str(current_app.config["DATABASE"]))


def get_store() -> Store:
    """The store of this request: one connection, taken on first use, released on teardown."""
    if "experiments_store" not in g:
        path = str(current_app.config["DATABASE"])
        migrate()
        g.experiments_db = (path, current_app.extensions[EXTENSION].acquire(path))
        g.experiments_store = Store(path, connection=g.experiments_db[1])
    store: Store = g.experiments_store
    return store


def close_db(error: BaseException | None = None) -> None:
    """Teardown: the request's connection goes back to the pool."""
    g.pop("experiments_store", None)
    taken = g.pop("experiments_db", None)
    if taken is not None:
        path, conn = taken
        current_app.extensions[EXTENSION].release(path, conn)
