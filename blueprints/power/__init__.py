"""Power & sample size: plan an experiment before it runs."""

from flask import Blueprint

from blueprints import Module

bp = Blueprint("power", __name__)
MODULE = Module(
    slug="power",
    title="Power & sample size",
    stage="plan",
    summary="How many users you need, what effect you can detect, and how many days that takes.",
    order=10,
)

from blueprints.power import routes  # noqa: E402,F401  (routes attach to bp)
from blueprints.power.spec import OPENAPI  # noqa: E402,F401
