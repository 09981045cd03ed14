"""Every operation's real answers match the result schema the OpenAPI document declares.

The representative valid requests are the examples each declared operation carries
(``blueprints._contract``): each is sent,
must answer 200, and its body must validate (JSON Schema 2020-12, ``$ref`` resolved inside
the document) against the operation's declared 200 response, the envelope and the result
with every field the answer carries. The Experiments API's operations (declared with
``Contract.route``: credentials, path parameters, other statuses and media types) are walked
through one experiment's life, from a spec, each answer checked the same way.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from werkzeug.test import TestResponse

from app import create_app
from blueprints import registry
from blueprints._contract import Operation

from ..conftest import ADMIN_TOKEN

APP = create_app({"TESTING": True})
DOCUMENT: dict[str, Any] = APP.test_client().get("/api/openapi.json").json or {}
OPERATIONS = [
    op
    for package in registry(APP).packages
    if hasattr(package, "contract")
    for op in package.contract.operations
]
ROUTED = [op for op in OPERATIONS if op.security is not None]
EXAMPLES = [
    pytest.param(op.rule, name, body, id=f"{op.rule} {name}")
    for op in OPERATIONS
    if op.answer is None and op.security is None
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
    "path",
    [
        op.rule
        for op in OPERATIONS
        if op.request is None and op.security is None and "<" not in op.rule
    ],
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


ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SAMPLE = Path(__file__).resolve().parents[2] / "static" / "samples" / "experiment_spec.yaml"


def _example(method: str, rule: str) -> Any:
    op = next(op for op in ROUTED if (op.method, op.rule) == (method, rule))
    return next(iter((op.examples or {}).values()))


def _answers(op: Operation, response: TestResponse) -> list[str]:
    """What is wrong with ``response`` against ``op``'s declared answer (empty if nothing)."""
    path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", op.rule)
    if response.status_code != op.status:
        return [f"{op.method} {op.rule}: {response.status_code} {response.get_data()[:300]!r}"]
    content = DOCUMENT["paths"][path][op.method]["responses"][str(op.status)].get("content", {})
    if not content:  # e.g. 204: nothing declared, nothing sent
        return [f"{op.rule}: a body"] if response.get_data() else []
    if response.mimetype != "application/json":
        return [] if response.mimetype in content else [f"{op.rule}: {response.mimetype}"]
    ref = _pointer("paths", path, op.method, "responses", str(op.status), "content",
                   "application/json", "schema")  # fmt: skip
    validator = Draft202012Validator({**DOCUMENT, "$ref": ref})
    return [
        f"{op.rule} {e.json_path}: {e.message[:200]}" for e in validator.iter_errors(response.json)
    ]


def test_every_experiments_operation_answers_as_declared(client: FlaskClient) -> None:
    """One experiment's life through every routed operation (each called at least once)."""
    called: set[tuple[str, str]] = set()
    problems: list[str] = []

    def call(method: str, rule: str, url: str, **kwargs: Any) -> TestResponse:
        op = next(op for op in ROUTED if (op.method, op.rule) == (method, rule))
        response = client.open(url, method=method.upper(), **kwargs)
        problems.extend(_answers(op, response))
        called.add((method, rule))
        return response

    base = "/api/experiments/<int:experiment_id>"
    call("get", "/api/experiments/spec/schema", "/api/experiments/spec/schema")
    yaml_spec = {"data": SAMPLE.read_bytes(), "content_type": "application/yaml"}
    made = call(
        "post", "/api/experiments/spec", "/api/experiments/spec", headers=ADMIN, **yaml_spec
    )
    url = f"/api/experiments/{(made.json or {})['experiment']['id']}"
    spec = call("get", f"{base}/spec", f"{url}/spec", headers=ADMIN)
    call("get", f"{base}/spec", f"{url}/spec?version=1",
         headers={**ADMIN, "Accept": "application/yaml"})  # fmt: skip
    call("put", f"{base}/spec", f"{url}/spec", headers=ADMIN, json=spec.json)
    call("post", f"{base}/launch", f"{url}/launch", headers=ADMIN)
    assigned = call("get", f"{base}/assign", f"{url}/assign?unit=u123", headers=ADMIN)
    batch = [
        {**e, "variant": (assigned.json or {})["variant"]}
        for e in _example("post", f"{base}/events")["events"]
    ]
    call("post", f"{base}/events", f"{url}/events", headers=ADMIN, json={"events": batch})
    call(
        "post",
        f"{base}/analyze",
        f"{url}/analyze",
        headers=ADMIN,
        json=_example("post", f"{base}/analyze"),
    )
    call(
        "post",
        f"{base}/decisions",
        f"{url}/decisions",
        headers=ADMIN,
        json=_example("post", f"{base}/decisions"),
    )
    call("get", f"{base}/decisions", f"{url}/decisions", headers=ADMIN)
    call("get", f"{base}/decisions", f"{url}/decisions?format=markdown", headers=ADMIN)
    call("get", f"{base}/audit", f"{url}/audit", headers=ADMIN)
    call("get", f"{base}/report", f"{url}/report?alpha=0.1", headers=ADMIN)
    call("post", f"{base}/stop", f"{url}/stop", headers=ADMIN)
    # a draft made by hand: create, change, add a variant, list, read, delete
    draft = call("post", "/api/experiments", "/api/experiments", headers=ADMIN,
                 json=_example("post", "/api/experiments"))  # fmt: skip
    url = f"/api/experiments/{(draft.json or {})['id']}"
    call("patch", base, url, headers=ADMIN, json=_example("patch", base))
    call(
        "post",
        f"{base}/variants",
        f"{url}/variants",
        headers=ADMIN,
        json=_example("post", f"{base}/variants"),
    )
    call("get", "/api/experiments", "/api/experiments", headers=ADMIN)
    call("get", base, url, headers=ADMIN)
    call("delete", base, url, headers=ADMIN)
    assert problems == [], "\n".join(problems)
    assert called == {(op.method, op.rule) for op in ROUTED}
