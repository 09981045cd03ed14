"""Experiments: define, run and watch experiments on a real database (issue 8).

Layers: :mod:`.store` (SQLite: migrations, lifecycle, sticky assignment, idempotent
ingestion), :mod:`.assignment` (hashing into weights), :mod:`.auth` (admin token and ingest
keys, the one Store per app), :mod:`.analysis` (counts -> ``stats``), :mod:`.routes` (page and
JSON API), :mod:`.figures`, :mod:`.readout`, :mod:`.spec` (OpenAPI).
"""

from flask import Blueprint

from blueprints import Module

bp = Blueprint("experiments", __name__)
MODULE = Module(
    slug="experiments",
    title="Experiments",
    stage="run",
    summary="Run experiments: stable assignment, event collection, always-valid live analysis and bandits.",
    order=30,
)

from blueprints.experiments import routes  # noqa: E402,F401  (routes attach to bp)
from blueprints.experiments.spec import OPENAPI  # noqa: E402,F401
