"""Every operation's real answers match the result schema the OpenAPI document declares.

The representative valid requests are the examples each declared operation carries
(``blueprints._contract``): each is sent,
must answer 200, and its body must validate (JSON Schema 2020-12, ``$ref`` resolved inside
the document) against the operation's declared 200 response, the envelope and the result
with every field the answer carries.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from app import create_app
from blueprints import registry

APP = create_app({"TESTING": True})
DOCUMENT: dict[str, Any] = APP.test_client().get("/api/openapi.json").json or {}
OPERATIONS = [
    op
    for package in registry(APP).packages
    if hasattr(package, "contract")
    for op in package.contract.operations
]
EXAMPLES = [
    pytest.param(op.rule, name, body, id=f"{op.rule} {name}")
    for op in OPERATIONS
    if op.answer is None
    for name, body in (op.examples or {}).items()
]
OTHER_ANSWERS = [
    pytest.param(op.rule, body, next(iter(op.answer["content"])), id=f"{op.rule} {name}")
    for op in OPERATIONS
    if op.answer is not None
    for name, body in (op.examples or {}).items()
]


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def answer_schema(path: str) -> Draft202012Validator:
    """A validator for the 200 answer of ``POST path``, refs resolved inside the document."""
    ref = _pointer(
        "paths", path, "post", "responses", "200", "content", "application/json", "schema"
    )
    return Draft202012Validator({**DOCUMENT, "$ref": ref})


def test_every_declared_post_has_an_example() -> None:
    assert OPERATIONS
    assert [op.rule for op in OPERATIONS if op.request is not None and not op.examples] == []


@pytest.mark.parametrize(
    "path", [op.rule for op in OPERATIONS if op.request is None and "<" not in op.rule]
)
def test_get_answer_matches_its_declared_schema(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    ref = _pointer(
        "paths", path, "get", "responses", "200", "content", "application/json", "schema"
    )
    assert list(Draft202012Validator({**DOCUMENT, "$ref": ref}).iter_errors(response.json)) == []


@pytest.mark.parametrize(("path", "name", "body"), EXAMPLES)
def test_example_answer_matches_its_declared_schema(
    client: FlaskClient, path: str, name: str, body: dict[str, Any]
) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer: dict[str, Any] = response.json or {}
    errors = sorted(answer_schema(path).iter_errors(answer), key=str)
    assert errors == [], "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:10]
    )
    # the declared result names every field the answer carries
    declared = _result_properties(path)
    assert set(answer["result"]) <= declared


@pytest.mark.parametrize(("path", "body", "mimetype"), OTHER_ANSWERS)
def test_other_answers_have_their_declared_type(
    client: FlaskClient, path: str, body: dict[str, Any], mimetype: str
) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == mimetype


def _result_properties(path: str) -> set[str]:
    """The fields the declared result names (of any of its forms, when it has several)."""
    envelope = DOCUMENT["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]
    forms = [envelope["schema"]["properties"]["result"]]
    names: set[str] = set()
    while forms:
        form = forms.pop()
        if "$ref" in form:
            form = DOCUMENT["components"]["schemas"][form["$ref"].rsplit("/", 1)[-1]]
        forms.extend(form.get("anyOf", []))
        names.update(form.get("properties", {}))
    return names
