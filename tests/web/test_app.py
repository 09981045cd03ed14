"""The skeleton every module relies on: pages, headers, errors, OpenAPI, Plotly.js."""

from __future__ import annotations

import re

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from blueprints import registry
from blueprints.core.routes import PLOTLY_VERSION


def test_home_links_every_module(app: Flask, client: FlaskClient) -> None:
    MODULES = registry(app).modules
    html = client.get("/").get_data(as_text=True)
    for stage in ("Plan", "Run", "Analyze", "Decide"):
        assert stage in html
    assert MODULES, "at least one module is registered"
    for module in MODULES:
        assert f'href="/{module.slug}"' in html


@pytest.mark.parametrize("path", ["/", "/healthz", "/api/openapi.json"])
def test_security_headers(client: FlaskClient, path: str) -> None:
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'self' https://huggingface.co" in csp
    assert "unsafe-eval" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"]
    assert "X-Frame-Options" not in headers  # Spaces embeds the app in an iframe


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_pages_have_no_inline_scripts_or_remote_assets(app: Flask, client: FlaskClient) -> None:
    MODULES = registry(app).modules
    for path in ["/", *[f"/{m.slug}" for m in MODULES]]:
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r'(src|href)="https?://', html), path


def test_plotly_is_served_locally_with_long_cache(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    url = f"/vendor/plotly-{PLOTLY_VERSION}.min.js"
    assert url in html
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert b"plotly" in response.get_data()[:2000].lower()
    assert client.get("/vendor/plotly-0.0.0.min.js").status_code == 404


def test_unknown_api_route_is_problem_json(client: FlaskClient) -> None:
    response = client.get("/api/nope")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 404


def test_unknown_page_is_html(client: FlaskClient) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "404" in response.get_data(as_text=True)


def test_method_not_allowed_is_problem_json(client: FlaskClient) -> None:
    response = client.get("/api/power")
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize(
    ("body", "content_type", "field"),
    [
        (b"{not json", "application/json", "body"),
        (b"[1, 2]", "application/json", "body"),
        (b'{"baseline": NaN}', "application/json", "body"),
        (b'{"baseline": Infinity}', "application/json", "body"),
        (b"baseline=0.1", "application/x-www-form-urlencoded", "body"),
    ],
)
def test_malformed_json_is_400(
    client: FlaskClient, body: bytes, content_type: str, field: str
) -> None:
    response = client.post("/api/power", data=body, content_type=content_type)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    problem = response.json
    assert {"type", "title", "status", "detail", "errors"} <= problem.keys()
    assert problem["errors"][0]["field"] == field


def test_body_over_the_limit_is_413(app: Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = app.test_client().post(
        "/api/power", data=b'{"x": "' + b"a" * 4096 + b'"}', content_type="application/json"
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert "limit" in response.json["detail"]


def test_unexpected_exception_is_a_clean_500(app: Flask) -> None:
    @app.get("/api/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/api/boom")
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_non_finite_numbers_go_out_as_null() -> None:
    from blueprints._api import json_response

    app = Flask(__name__)
    with app.test_request_context():
        import numpy as np

        body = orjson.loads(
            json_response({"a": float("nan"), "b": np.array([1.0, np.inf])}).get_data()
        )
    assert body == {"a": None, "b": [1.0, None]}


def _flask_routes(app: Flask) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods or ():
            if method not in {"HEAD", "OPTIONS"}:
                routes.add((path, method.lower()))
    return routes


def test_openapi_document_matches_the_routes(client: FlaskClient, app: Flask) -> None:
    spec = client.get("/api/openapi.json").json
    validate(spec)  # a valid OpenAPI 3.1 document
    documented = {
        (path, method)
        for path, item in spec["paths"].items()
        if path.startswith("/api/")
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert documented == _flask_routes(app)
