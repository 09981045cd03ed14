"""One Flask blueprint per module, found by walking this package.

A module is a subpackage whose ``__init__`` defines ``bp`` (the Blueprint) and ``MODULE`` (its
entry in the sidebar and on the home page). Subpackages without ``bp`` are skipped, so a module
appears only when it exists. Each module may also define ``contract`` (its declared
operations, :class:`blueprints._contract.Contract`, from which ``blueprints.core`` generates
``/api/openapi.json``, with the component schemas and security schemes it names) and
``init_app(app)`` (called once the blueprint is registered, flaskr's way: extensions,
teardown). The registry of an app's modules lives on ``app.extensions`` (:func:`registry`),
not in module-level state, so two apps in one process never share it.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from flask import Flask, current_app


@dataclass(frozen=True, slots=True)
class Module:
    """How a module shows in the sidebar and on the home page."""

    slug: str  # URL path segment and endpoint prefix, e.g. "power"
    title: str  # "Power & sample size"
    stage: str  # lifecycle stage: "plan", "run", "analyze" or "decide"
    summary: str  # one sentence for the home page
    order: int  # position in the sidebar


@dataclass(frozen=True, slots=True)
class Registry:
    """An app's modules: the packages (blueprint, ``contract``) and their sidebar entries."""

    packages: tuple[ModuleType, ...]
    modules: tuple[Module, ...]


EXTENSION = "abacus_modules"
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


def register_all(app: Flask) -> Registry:
    """Register every discovered blueprint, run its ``init_app`` and record the registry on
    ``app.extensions``."""
    packages = discover()
    found = Registry(
        packages=tuple(packages),
        modules=tuple(p.MODULE for p in packages if hasattr(p, "MODULE")),
    )
    app.extensions[EXTENSION] = found
    for package in packages:
        app.register_blueprint(package.bp)
        init_app = getattr(package, "init_app", None)
        if init_app is not None:
            init_app(app)
    return found


def registry(app: Flask | None = None) -> Registry:
    """The modules of ``app`` (by default the current app)."""
    found: Registry = (current_app if app is None else app).extensions[EXTENSION]
    return found
