"""Power & sample size: plan an experiment before it runs."""

from flask import Blueprint

from blueprints import Module
from blueprints._contract import Contract

bp = Blueprint("power", __name__)
contract = Contract(bp, "power")
MODULE = Module(
    slug="power",
    title="Power & sample size",
    stage="plan",
    summary="How many users you need, what effect you can detect, and how many days that takes.",
    order=10,
)

from blueprints.power import routes  # noqa: E402,F401  (routes attach to bp)
