"""Alembic's entry point: runs the revisions in ``versions/`` on the connection that
:func:`experiments.store.migrate` hands over in ``config.attributes["connection"]``, inside that
connection's transaction (taken under the store's write lock). Run from the command line
(``alembic -c experiments/migrations/alembic.ini …``), it connects to ``ABACUS_DATABASE``."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from experiments.store import database_url, engine


def run(connection: Connection) -> None:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


given: Connection | None = context.config.attributes.get("connection")
if given is not None:
    run(given)
else:
    standalone = engine(database_url(os.environ.get("ABACUS_DATABASE", "instance/abacus.sqlite3")))
    with standalone.connect() as connection:
        run(connection)
    standalone.dispose()
