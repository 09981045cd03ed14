"""The Experiments store in the app, flaskr's way (``examples/tutorial/flaskr/db.py``).

:func:`init_app` puts an :class:`Extension` on ``app.extensions`` and closes the request's
connection on teardown. :func:`get_store` opens one SQLite connection per request (app
context), keeps it in ``g`` and answers a :class:`~experiments.Store` over it. The database
(``DATABASE``) is created and migrated on the first experiments request in a process, not at
import or at ``create_app``: a bad path never stops the other modules, and importing ``app``
(tests, tools) creates no database file. gunicorn's ``post_worker_init`` calls
:func:`migrate` so that a worker's migrations run as it starts.
"""

from __future__ import annotations

import os
import threading

from flask import Flask, current_app, g

from experiments.store import Store, connect
from experiments.store import migrate as migrate_database

EXTENSION = "experiments"


class Extension:
    """Per app: which databases this process has migrated (thread- and fork-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._migrated: set[tuple[int, str]] = set()

    def migrate(self, path: str) -> None:
        """Create and migrate ``path`` once per process."""
        done = (os.getpid(), os.path.abspath(path))
        if done in self._migrated:
            return
        with self._lock:
            if done not in self._migrated:
                migrate_database(path)
                self._migrated.add(done)


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Extension()
    app.teardown_appcontext(close_db)


def migrate() -> None:
    """Create and migrate the app's database now (once per process)."""
    extension: Extension = current_app.extensions[EXTENSION]
    extension.migrate(str(current_app.config["DATABASE"]))


def get_store() -> Store:
    """The store of this request: one connection, opened on first use, closed on teardown."""
    if "experiments_store" not in g:
        path = str(current_app.config["DATABASE"])
        migrate()
        g.experiments_db = connect(path)
        g.experiments_store = Store(path, connection=g.experiments_db)
    store: Store = g.experiments_store
    return store


def close_db(error: BaseException | None = None) -> None:
    g.pop("experiments_store", None)
    db = g.pop("experiments_db", None)
    if db is not None:
        db.close()
