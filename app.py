"""Abacus: the Flask application factory.

``create_app(test_config)`` builds the app: configuration, one blueprint per module (found in
``blueprints/``), problem+json error handlers for ``/api/`` routes, security headers, ``/healthz``
and the vendored Plotly.js. ``app = create_app()`` at the bottom serves ``gunicorn app:app``.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask, request

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

import priority
from blueprints import register_all, registry
from blueprints._api import install_error_handlers

# Uploads and JSON bodies above this are refused with 413 before they are read.
DEFAULT_MAX_CONTENT_LENGTH = 50 * 1024 * 1024

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self' https://huggingface.co https://*.hf.space",
    ]
)
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
"""Headers every response gets unless its view set them."""


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Abacus app; ``test_config`` overrides configuration (tests, notebooks)."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        MAX_CONTENT_LENGTH=DEFAULT_MAX_CONTENT_LENGTH,
        MAX_FORM_MEMORY_SIZE=DEFAULT_MAX_CONTENT_LENGTH,
        DATABASE=os.environ.get(
            "ABACUS_DATABASE", os.path.join(app.instance_path, "abacus.sqlite3")
        ),
        ADMIN_TOKEN=os.environ.get("ABACUS_ADMIN_TOKEN"),
        JSON_SORT_KEYS=False,
    )
    if test_config is not None:
        app.config.from_mapping(test_config)

    install_error_handlers(app)
    register_all(app)
    priority.install(app)  # expensive endpoints take turns; cheap ones never wait (issue 16)

    @app.context_processor
    def inject_modules() -> dict[str, Any]:
        return {"modules": registry().modules, "endpoint": request.endpoint or ""}

    app.wsgi_app = with_security_headers(app.wsgi_app)  # type: ignore[method-assign,assignment]
    return app


def with_security_headers(wsgi_app: WSGIApplication) -> WSGIApplication:
    """``wsgi_app`` whose every response carries :data:`SECURITY_HEADERS` unless its view set
    them: a WSGI middleware (PEP 3333) appending to the header list, which costs ~1 µs
    where werkzeug's ``Headers`` validated and set each one (~20 µs a response)."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {name.lower() for name, _ in headers}
            headers.extend(h for h in SECURITY_HEADERS if h[0].lower() not in present)
            return start_response(status, headers, exc_info)

        return wsgi_app(environ, start)

    return app


app = create_app()

# A worker keeps the objects of its imports (numpy, scipy, pandas, plotly: ~180,000) for life.
# Moving them out of the cyclic collector's way means a full collection scans only what the
# requests made, instead of pausing every thread of the worker for 100-200 ms (issue 16: the
# mixed-load p99 of POST /api/power fell from ~350 ms to ~110 ms). gc.freeze is meant for this
# (Python docs, "gc.freeze"; Instagram Engineering, "Dismissing Python Garbage Collection at
# Instagram", 2017); collecting first keeps import-time garbage out of the frozen set.
gc.collect()
gc.freeze()
