"""Bayesian A/B: posteriors, P(best), expected loss and a ship / keep / collect decision."""

from flask import Blueprint

from blueprints import Module
from blueprints._contract import Contract

bp = Blueprint("bayesian", __name__)
contract = Contract(bp, "bayesian")
MODULE = Module(
    slug="bayesian",
    title="Bayesian A/B",
    stage="decide",
    summary=(
        "How likely each variant is best and what you lose if you are wrong, "
        "with a decision against your threshold of caring."
    ),
    order=40,
)

from blueprints.bayesian import routes  # noqa: E402,F401  (routes attach to bp)
