"""The parts that are not a module: home page, health check, OpenAPI document, Plotly.js."""

from flask import Blueprint

bp = Blueprint("core", __name__)

from blueprints.core import routes  # noqa: E402,F401  (routes attach to bp)
