"""The web layer reads errors and warnings as data: a 422's field comes from the exception's
``field`` attribute (never from its message), and each warning is ``{code, message}``."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

import blueprints.power.routes as power_routes
from stats.errors import InvalidInput
from stats.warnings import Code

BASE = {"metric": "proportion", "baseline": 0.10, "mde": 0.02, "alpha": 0.05, "power": 0.80}


def _raise(exc: Exception) -> Any:
    def solver(*args: Any, **kwargs: Any) -> Any:
        raise exc

    return solver


def test_field_comes_from_the_exception_not_the_message(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    exc = InvalidInput("something unrelated", field="alpha")
    monkeypatch.setattr(power_routes, "solve_power_proportions", _raise(exc))
    response = client.post("/api/power", json=BASE)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    error = response.json["errors"][0]
    assert error["field"] == "alpha"
    assert error["detail"].startswith("something unrelated")
    assert "row" not in error


def test_row_comes_from_the_exception(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    exc = InvalidInput("beta went wrong", field="rows[4].y", row=5)
    monkeypatch.setattr(power_routes, "solve_power_proportions", _raise(exc))
    error = client.post("/api/power", json=BASE).json["errors"][0]
    assert (error["field"], error["row"]) == ("rows[4].y", 5)


def test_a_message_that_looks_like_a_field_names_none(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain ValueError (numpy's or scipy's, not ours) is a 422 naming no field, even when
    its first word looks like a parameter."""
    monkeypatch.setattr(power_routes, "solve_power_proportions", _raise(ValueError("alpha x")))
    response = client.post("/api/power", json=BASE)
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] is None


def test_envelope_warnings_are_code_and_message_once(client: FlaskClient) -> None:
    body = {**BASE, "baseline": 0.03, "mde": 0.003, "daily_traffic": 200}
    data = client.post("/api/power", json=body).json
    assert data["warnings"]
    for w in data["warnings"]:
        assert set(w) == {"code", "message"}
        assert w["code"] in {c.value for c in Code}
    assert data["warnings"][0]["code"] == "large_sample"
    assert "warnings" not in data["result"]  # each warning appears once, in the envelope


def test_openapi_lists_the_warning_codes(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").json
    schema = spec["components"]["schemas"]["Warning"]
    assert set(schema["properties"]["code"]["enum"]) == {c.value for c in Code}
