"""The one check every API error test makes: status, problem+json, and the field it names."""

from __future__ import annotations

from typing import Any


def problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """Assert ``response`` is an RFC 9457 problem with ``status`` naming ``field``; return it."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.json
    if field is not None:
        assert body["errors"][0]["field"] == field
    return body
