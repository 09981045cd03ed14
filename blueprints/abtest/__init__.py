"""A/B test analyzer: typed, pasted or uploaded results to a verdict a product team can act on."""

from flask import Blueprint

from blueprints import Module
from blueprints._contract import Contract

# cli_group=None puts the blueprint's commands at the top level: `flask --app app analyze`.
bp = Blueprint("abtest", __name__, cli_group=None)
contract = Contract(bp, "abtest")
MODULE = Module(
    slug="abtest",
    title="A/B test analyzer",
    stage="analyze",
    summary="Did the change work? Significance, practical size, guardrails and a clear verdict.",
    order=15,
)

from blueprints.abtest import cli, routes  # noqa: E402,F401  (routes and commands attach to bp)
