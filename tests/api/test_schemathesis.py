"""Fuzz every documented /api/ operation in-process: no 5xx, and answers match the document."""

from __future__ import annotations

import tempfile

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app

from ..conftest import ADMIN_TOKEN

app = create_app(
    {
        "TESTING": True,
        "DATABASE": f"{tempfile.mkdtemp()}/abacus.sqlite3",
        "ADMIN_TOKEN": ADMIN_TOKEN,
    }
)
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_never_fails(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)
