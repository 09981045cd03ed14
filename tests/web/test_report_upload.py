"""POST /api/report from an uploaded file: the page's own multipart form with a ``page`` field
gives the page's analysis (the same readout and figures as POST /api/<page> on that form) as
one self-contained HTML file; its problems name the page's fields."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from .test_report_api import check_offline

SAMPLES = Path(__file__).parents[2] / "static" / "samples"
UPLOADS = {
    "abtest": ("abtest_users.csv", {"variant": "variant", "metric": "converted"}),
    "bayesian": ("bayesian_daily.csv", {"metric": "count", "threshold": "0.01", "seed": "1"}),
    "cuped": (
        "cuped_users.csv",
        {"variant": "variant", "outcome": "spend", "covariate": "pre_spend"},
    ),
    "doe": (
        "doe_battery.csv",
        {"factor_a": "material", "factor_b": "temperature", "response": "life"},
    ),
}
"""Each upload page's sample file and the form fields its page sends beside it."""


def form(slug: str, /, **extra: Any) -> dict[str, Any]:
    """The page's multipart form: its sample file and fields (a fresh stream each call)."""
    name, fields = UPLOADS[slug]
    return {**fields, "file": (io.BytesIO((SAMPLES / name).read_bytes()), name), **extra}


def multipart(client: FlaskClient, path: str, data: dict[str, Any]) -> Any:
    return client.post(path, data=data, content_type="multipart/form-data")


@pytest.mark.parametrize("page", UPLOADS)
def test_upload_report_holds_the_pages_readout_and_figures(client: FlaskClient, page: str) -> None:
    direct = multipart(client, f"/api/{page}", form(page))
    assert direct.status_code == 200, direct.json
    r = multipart(client, "/api/report", form(page, page=page))
    assert r.status_code == 200, r.data[:500]
    assert r.mimetype == "text/html"
    assert r.headers["Content-Disposition"].startswith(f'attachment; filename="abacus-{page}-')
    html = r.get_data(as_text=True)
    doc = check_offline(html)
    assert doc.by_id["readout"].strip() == direct.json["readout"].strip()
    figures = json.loads(doc.by_id["report-figures"])
    assert figures.keys() == direct.json["figures"].keys() and figures
    for name, figure in figures.items():
        assert figure["data"] == direct.json["figures"][name]["data"], name
    # the inputs name the uploaded file and its size, and the fields sent beside it
    name, fields = UPLOADS[page]
    assert f"{name} ({(SAMPLES / name).stat().st_size:,} bytes)" in html
    assert all(value in html for value in fields.values())


def test_pasted_csv_in_a_form_is_reported_too(client: FlaskClient) -> None:
    """The Bayesian and DoE pages send pasted CSV text as a form field, not a file."""
    fields = {"factor_a": "material", "factor_b": "temperature", "response": "life"}
    data = {**fields, "csv": (SAMPLES / "doe_battery.csv").read_text()}
    direct = multipart(client, "/api/doe", data)
    r = multipart(client, "/api/report", {**data, "page": "doe"})
    assert r.status_code == 200, r.data[:500]
    assert (
        check_offline(r.get_data(as_text=True)).by_id["readout"].strip()
        == direct.json["readout"].strip()
    )


@pytest.mark.parametrize(
    ("extra", "status", "field"),
    [
        ({}, 400, "page"),  # missing: a missing field is a 400, as in the JSON body
        ({"page": "nope"}, 422, "page"),
        ({"page": "experiments"}, 422, "page"),
        ({"page": "3"}, 400, "page"),  # a number where the page's name belongs
        ({"page": "power"}, 422, "page"),  # a page that takes no uploaded data
        ({"page": "sequential/monitor"}, 422, "page"),
    ],
)
def test_bad_page_in_a_form_names_page(
    client: FlaskClient, extra: dict[str, Any], status: int, field: str
) -> None:
    r = multipart(client, "/api/report", form("abtest", **extra))
    assert r.status_code == status and r.mimetype == "application/problem+json"
    assert r.json["errors"][0]["field"] == field


def test_the_pages_problems_name_its_own_fields(client: FlaskClient) -> None:
    """Not ``request.…``: the form's fields are the page's."""
    direct = multipart(client, "/api/cuped", form("cuped", covariate="nope"))
    r = multipart(client, "/api/report", form("cuped", covariate="nope", page="cuped"))
    assert r.status_code == direct.status_code == 422
    assert r.mimetype == "application/problem+json"
    assert r.json["errors"][0]["field"] == direct.json["errors"][0]["field"]
    empty = {"page": "doe", "file": (io.BytesIO(b""), "empty.csv")}
    r = multipart(client, "/api/report", empty)
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "file"


def test_oversize_upload_is_413_naming_file(app: Flask, client: FlaskClient) -> None:
    limit = 64 * 1024
    app.config["MAX_CONTENT_LENGTH"] = limit
    big = b"variant,converted\n" + b"A,1\nB,0\n" * (limit // 8)
    data = {"page": "abtest", "metric": "converted", "file": (io.BytesIO(big), "big.csv")}
    r = multipart(client, "/api/report", data)
    assert r.status_code == 413 and r.mimetype == "application/problem+json"
    assert r.json["errors"][0]["field"] == "file"


def test_a_form_just_under_the_limit_is_not_measured_again(app: Flask, client: FlaskClient) -> None:
    """The form is sent on to the page with longer part boundaries than a browser's (Chromium
    writes 38 characters): its size was checked once, as the report's body."""
    name, fields = UPLOADS["abtest"]
    upload = FileStorage(io.BytesIO((SAMPLES / name).read_bytes()), name, "file", "text/csv")
    values = {**fields, "page": "abtest", "file": upload}
    boundary, body = encode_multipart(values, boundary="-" * 4 + "x" * 34)
    app.config["MAX_CONTENT_LENGTH"] = len(body)
    content_type = f"multipart/form-data; boundary={boundary}"
    r = client.post("/api/report", data=body, content_type=content_type)
    assert r.status_code == 200, r.json
    app.config["MAX_CONTENT_LENGTH"] = len(body) - 1
    refused: Any = client.post("/api/report", data=body, content_type=content_type)
    assert refused.status_code == 413 and refused.json["errors"][0]["field"] == "file"


def test_openapi_documents_both_bodies(client: FlaskClient) -> None:
    doc: Any = client.get("/api/openapi.json").json
    content = doc["paths"]["/api/report"]["post"]["requestBody"]["content"]
    assert "request" in content["application/json"]["schema"]["properties"]
    upload = content["multipart/form-data"]["schema"]
    assert upload["required"] == ["page"]
    assert "abtest" in upload["properties"]["page"]["enum"]
    assert upload["properties"]["file"] == {"type": "string", "format": "binary"}
    assert upload["additionalProperties"]["type"] == "string"
    assert "page field" in upload["description"]
