"""One Flask blueprint per module, found by walking this package.

A module is a subpackage whose ``__init__`` defines ``bp`` (the Blueprint) and ``MODULE`` (its
entry in the sidebar and on the home page). Subpackages without ``bp`` are skipped, so a module
appears only when it exists. Each module may also define ``OPENAPI`` (``paths``, ``schemas`` and
``securitySchemes`` that ``blueprints.core`` merges into ``/api/openapi.json``).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from flask import Flask


@dataclass(frozen=True, slots=True)
class Module:
    """How a module shows in the sidebar and on the home page."""

    slug: str  # URL path segment and endpoint prefix, e.g. "power"
    title: str  # "Power & sample size"
    stage: str  # lifecycle stage: "plan", "run", "analyze" or "decide"
    summary: str  # one sentence for the home page
    order: int  # position in the sidebar


MODULES: list[Module] = []
PACKAGES: list[ModuleType] = []
# The experiment lifecycle: the sidebar lists modules stage by stage, as the home page does.
STAGES = ("plan", "run", "analyze", "decide")


def discover() -> list[ModuleType]:
    """Import every subpackage that defines a blueprint, in sidebar order: by lifecycle stage
    (plan, run, analyze, decide), then by ``order`` within a stage."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if not info.ispkg or info.name.startswith("_"):
            continue
        package = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(package, "bp"):
            found.append(package)
    order: dict[str, Any] = {}
    for package in found:
        module = getattr(package, "MODULE", None)
        order[package.__name__] = (STAGES.index(module.stage), module.order) if module else (-1, -1)
    return sorted(found, key=lambda p: order[p.__name__])


def register_all(app: Flask) -> None:
    """Register every discovered blueprint and record its sidebar entry."""
    packages = discover()
    PACKAGES[:] = packages
    MODULES[:] = [p.MODULE for p in packages if hasattr(p, "MODULE")]
    for package in packages:
        app.register_blueprint(package.bp)
