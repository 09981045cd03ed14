"""Experiments: define, run and watch experiments on a real database (issue 8).

The service itself (store, migrations, assignment, event validation) is the top-level
:mod:`experiments` package, with no Flask in it. Here: :mod:`.db` (``init_app``: the store of
each request, its connection in ``g``, closed on teardown), :mod:`.auth` (admin token and
ingest keys, the failure throttle), :mod:`.errors` (the store's exceptions as problem+json),
:mod:`.analysis` (counts -> ``stats``), :mod:`.routes` (page and JSON API), :mod:`.figures`,
:mod:`.readout`, :mod:`.models` (the API's contract: requests, results, security); issue
15's :mod:`.governance` (specs, the audit trail, decision records, the CLI) and
:mod:`.preregistered` (the spec in the analysis: defaults, the policy's verdict).
"""

from flask import Blueprint, Flask

from blueprints import Module
from blueprints._contract import Contract

bp: Blueprint = Blueprint("experiments", __name__)
contract = Contract(bp, "experiments")
MODULE = Module(
    slug="experiments",
    title="Experiments",
    stage="run",
    summary="Run experiments: stable assignment, event collection, always-valid live analysis and bandits.",
    order=30,
)

from blueprints.experiments import (  # noqa: E402,F401  (attach to bp)
    auth,
    db,
    errors,
    governance,
    routes,
)
from blueprints.experiments.models import SCHEMAS, SECURITY_SCHEMES  # noqa: E402

contract.schemas.update(SCHEMAS)
contract.security_schemes.update(SECURITY_SCHEMES)


def init_app(app: Flask) -> None:
    """Called by :func:`blueprints.register_all`: the store and the failure log on
    ``app.extensions``, the request's connection closed on teardown."""
    db.init_app(app)
    auth.init_app(app)
