"""CUPED variance reduction: tighter intervals from pre-experiment data."""

from flask import Blueprint

from blueprints import Module
from blueprints._contract import Contract

bp = Blueprint("cuped", __name__)
contract = Contract(bp, "cuped")
MODULE = Module(
    slug="cuped",
    title="CUPED variance reduction",
    stage="analyze",
    summary="Tighter intervals from last month's data: what a pre-period covariate is worth.",
    order=50,
)

from blueprints.cuped import routes  # noqa: E402,F401  (routes attach to bp)
