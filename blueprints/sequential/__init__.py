"""Sequential testing: why naive peeking lies, group-sequential boundaries and mSPRT."""

from flask import Blueprint

from blueprints import Module
from blueprints._contract import Contract

bp = Blueprint("sequential", __name__)
contract = Contract(bp, "sequential")
MODULE = Module(
    slug="sequential",
    title="Sequential testing",
    stage="run",
    summary="Look at a running test early without fooling yourself: boundaries, monitoring, mSPRT.",
    order=20,
)

from blueprints.sequential import routes  # noqa: E402,F401  (routes attach to bp)
