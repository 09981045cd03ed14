"""Home page, ``/healthz``, ``/api/openapi.json`` and the vendored Plotly.js."""

from __future__ import annotations

import gzip
import hashlib
import os
from functools import cache
from types import ModuleType
from typing import Any

import plotly
from flask import Response, abort, current_app, render_template, request, send_file

from blueprints import registry
from blueprints._api import json_response
from blueprints._contract import Contract, Operation, document
from blueprints._openapi import COMPONENTS
from blueprints.core import bp

PLOTLY_VERSION = plotly.__version__
PLOTLY_JS = os.path.join(os.path.dirname(plotly.__file__), "package_data", "plotly.min.js")
ONE_YEAR = 365 * 24 * 3600


@bp.get("/")
def index() -> str:
    return render_template("index.html")


@bp.get("/healthz")
def healthz() -> Response:
    return json_response({"status": "ok"})


@cache
def plotly_js_gzip() -> tuple[bytes, str]:
    """Plotly.js gzipped once per process (4.8 MB becomes about 1.4 MB), with its ETag."""
    with open(PLOTLY_JS, "rb") as f:
        data = gzip.compress(f.read(), compresslevel=9, mtime=0)
    return data, hashlib.sha256(data).hexdigest()[:32]


@bp.get("/vendor/plotly-<version>.min.js")
def plotly_js(version: str) -> Response:
    """Plotly.js from the installed ``plotly`` package: versioned URL, cached for a year, and
    gzipped for every client that accepts it (``Vary: Accept-Encoding``)."""
    if version != PLOTLY_VERSION:
        abort(404)
    if request.accept_encodings["gzip"] > 0:
        data, etag = plotly_js_gzip()
        response = Response(data, mimetype="text/javascript")
        response.headers["Content-Encoding"] = "gzip"
        response.set_etag(etag)
        response.make_conditional(request)
    else:
        response = send_file(PLOTLY_JS, mimetype="text/javascript", max_age=ONE_YEAR)
    response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    response.vary.add("Accept-Encoding")
    return response


@bp.app_context_processor
def inject_plotly() -> dict[str, str]:
    return {"plotly_version": PLOTLY_VERSION}


def _operations(package: ModuleType) -> list[Operation]:
    contract: Contract | None = getattr(package, "contract", None)
    return contract.operations if contract is not None else []


def openapi_document() -> dict[str, Any]:
    """Every module's paths and schemas merged into one OpenAPI 3.1 document."""
    paths: dict[str, Any] = {
        "/healthz": {
            "get": {
                "summary": "Health check",
                "tags": ["core"],
                "responses": {"200": {"description": "The app is up."}},
            }
        }
    }
    schemas = dict(COMPONENTS["schemas"])
    security: dict[str, Any] = {}
    packages = registry().packages
    declared, models = document([op for p in packages for op in _operations(p)])
    paths.update(declared)
    schemas.update(models)
    for package in packages:
        contract: Contract | None = getattr(package, "contract", None)
        if contract is not None:
            schemas.update(contract.schemas)
            security.update(contract.security_schemes)
    paths["/api/openapi.json"] = {
        "get": {
            "summary": "This document",
            "tags": ["core"],
            "responses": {"200": {"description": "The OpenAPI 3.1 document."}},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Abacus API",
            "version": "1.0.0",
            "description": (
                "Every page of Abacus calls this API. Errors are RFC 9457 problem+json: 400 "
                "malformed, 422 meaningless values, 413 too large; `errors` names each field."
            ),
        },
        "paths": paths,
        "components": {**COMPONENTS, "schemas": schemas, "securitySchemes": security},
    }


@bp.get("/api/openapi.json")
def openapi() -> Response:
    """The document, built once per app (pydantic generates the schemas in ~0.1 s)."""
    body = current_app.extensions.get("openapi")
    if body is None:
        body = current_app.extensions["openapi"] = json_response(openapi_document()).get_data()
    return Response(body, mimetype="application/json")
