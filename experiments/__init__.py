"""The Experiments service without the web: storage, migrations, assignment, event validation.

:mod:`.store` keeps experiments in SQLite or PostgreSQL through SQLAlchemy Core (:mod:`.schema`
names the tables, Alembic revisions in ``migrations/versions`` make them; lifecycle, sticky
assignments, idempotent event ingestion, input validation that names the JSON field at fault);
:mod:`.assignment` hashes a unit into the traffic weights. Nothing here imports Flask: the
``blueprints.experiments`` blueprint wires a :class:`Store` into the app with ``init_app``, and
a notebook or a script can open one directly::

    from experiments import Store

    with Store("abacus.sqlite3") as store:  # or Store("postgresql://host/abacus")
        print(store.list_experiments())
"""

from experiments.assignment import assign_variant, unit_position
from experiments.store import (
    Conflict,
    Counts,
    Experiment,
    IngestResult,
    NotFound,
    Store,
    StoreError,
    Variant,
    VariantCounts,
    WeightPeriod,
)

__all__ = [
    "Conflict",
    "Counts",
    "Experiment",
    "IngestResult",
    "NotFound",
    "Store",
    "StoreError",
    "Variant",
    "VariantCounts",
    "WeightPeriod",
    "assign_variant",
    "unit_position",
]
