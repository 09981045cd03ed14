"""Two-factor experiments (DoE): two-way ANOVA with the A × B interaction."""

from flask import Blueprint

from blueprints import Module
from blueprints._contract import Contract

bp = Blueprint("doe", __name__)
contract = Contract(bp, "doe")
MODULE = Module(
    slug="doe",
    title="Two-factor experiments (DoE)",
    stage="analyze",
    summary="Two levers at once: does each one matter, and does the effect of one depend on the other?",
    order=60,
)

from blueprints.doe import routes  # noqa: E402,F401  (routes attach to bp)
