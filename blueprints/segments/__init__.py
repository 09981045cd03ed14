"""Segments: per-segment effects, heterogeneity and partial pooling across segments."""

from flask import Blueprint

from blueprints import Module
from blueprints._contract import Contract

bp = Blueprint("segments", __name__)
contract = Contract(bp, "segments")
MODULE = Module(
    slug="segments",
    title="Segments",
    stage="analyze",
    summary="Did it win everywhere, or only on iOS? Per-segment effects, heterogeneity and partial pooling.",
    order=70,
)

from blueprints.segments import routes  # noqa: E402,F401  (routes attach to bp)
