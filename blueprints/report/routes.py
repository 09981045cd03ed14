"""``POST /api/report``: any page's analysis as a report (an experiment's is
:mod:`blueprints.experiments.report`).

A page's report re-runs the page's own endpoint on the same request body, inside this
request (a nested request context calling the endpoint's view), so it validates, computes
and words everything exactly as the page does; only the output changes, to one HTML file.
The body is JSON (``page`` and the page's JSON ``request``) or, for data uploaded as a file,
the page's own multipart form with a ``page`` field, sent on to the page as a form.
"""

from __future__ import annotations

import os
from typing import Any

import orjson
from flask import Response, current_app, request
from pydantic import ConfigDict, Field
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.utils import secure_filename

from blueprints import registry
from blueprints._api import ApiError, unprocessable
from blueprints._contract import Body, Contract
from blueprints.report import contract
from blueprints.report.document import Page, attachment, render


def _title(page: str) -> str:
    """The page's sidebar title, with the action after a slash (``Sequential testing:
    monitor``)."""
    slug, _, action = page.partition("/")
    titles = {m.slug: m.title for m in registry().modules}
    title = titles.get(slug, slug)
    return f"{title}: {action}" if action else title


def _prefixed(error: ApiError, prefix: str) -> ApiError:
    """The page's problem with each field named inside the report request (``request.…``)."""
    errors = [
        {**e, "field": f"{prefix}{e['field']}" if e.get("field") else prefix.rstrip(".")}
        for e in error.errors
    ]
    return ApiError(error.status, error.detail, errors, error.title)


def run_page(page: str, body: dict[str, Any] | MultiDict[str, Any]) -> dict[str, Any]:
    """The JSON answer of ``POST /api/<page>`` to ``body``: a JSON object, whose problems
    name fields under ``request.``, or a multipart form's fields and files, whose problems
    name them as the page does (``file``, ``metric``)."""
    path = f"/api/{page}"
    try:
        endpoint, args = current_app.url_map.bind("localhost").match(path, method="POST")
    except HTTPException:  # a page this server does not serve
        unprocessable("page", f"page {page!r} is not served here.")
    form = isinstance(body, MultiDict)
    data = body if form else orjson.dumps(body)
    media = "multipart/form-data" if form else "application/json"
    prefix, whole = ("", "file") if form else ("request.", "request")
    with current_app.test_request_context(path, method="POST", data=data, content_type=media):
        # the report's own body passed the size limit; the form sent on is the same data
        # (with longer part boundaries), so it is not measured again
        if form:
            request.max_content_length = request.content_length
        try:
            view = current_app.ensure_sync(current_app.view_functions[endpoint])
            response = current_app.make_response(view(**args))
        except ApiError as exc:
            raise (_prefixed(exc, prefix) if prefix else exc) from None
        except HTTPException as exc:  # a 413 or similar from the page
            raise ApiError(exc.code or 400, exc.description or "", [{"field": whole}]) from None
    answer: dict[str, Any] = orjson.loads(response.get_data())
    return answer


class ReportRequest(Body):
    """A page's request, to answer as a report."""

    page: Page = Field(description="The page's endpoint after /api/.")
    request: dict[str, Any] = Field(
        description="The JSON body the page sends to POST /api/<page>; its errors are named "
        "request.<field>."
    )


class ReportForm(Body):
    """The page's own multipart form, as the page sends it to POST /api/<page> (an uploaded
    CSV file or csv text beside the page's options), with a page field: the report of data
    uploaded as a file. Its errors name the page's fields (file, metric)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "additionalProperties": {"type": "string", "description": "A field of the page's form."}
        },
    )

    page: Page = Field(description="The page's endpoint after /api/.")


def _sendable(name: str) -> bool:
    """A field name a multipart form can carry as it is (no quote, backslash or line break)."""
    return not set(name) & set('"\\\r\n')


def _takes_form(page: str) -> bool:
    """Whether ``POST /api/<page>`` is declared to take a multipart form (a data page)."""
    contracts = (getattr(p, "contract", None) for p in registry().packages)
    return any(
        op.form and op.rule == f"/api/{page}"
        for c in contracts
        if isinstance(c, Contract)
        for op in c.operations
    )


def _forwarded() -> tuple[MultiDict[str, Any], dict[str, str]]:
    """The report's form as the page's (without ``page``), and each uploaded file's name and
    size for the report's inputs. Files go on under a safe name (the pages only check that a
    file has one); fields whose names the form could not carry again are left out (no page
    has such a field)."""
    fields = [
        (name, value)
        for name, value in request.form.items(multi=True)
        if name != "page" and _sendable(name)
    ]
    files: list[tuple[str, FileStorage]] = []
    shown: dict[str, str] = {}
    for name, upload in request.files.items(multi=True):
        if not upload.filename or not _sendable(name):
            continue
        size = upload.stream.seek(0, os.SEEK_END)
        upload.stream.seek(0)
        safe = secure_filename(upload.filename) or "upload"
        files.append((name, FileStorage(upload.stream, safe, name, upload.mimetype)))
        shown[name] = f"{upload.filename} ({size:,} bytes)"
    return MultiDict([*fields, *files]), shown


HTML = {
    "description": "A self-contained HTML file (an attachment) that works offline: inputs, "
    "results, readout, charts (Plotly.js inlined) and the decision if there is one.",
    "content": {"text/html": {"schema": {"type": "string"}}},
}


@contract.post(
    "/api/report",
    summary="The report of any page's analysis, from the body the page sends",
    request=ReportRequest,
    examples={"power": {"page": "power", "request": {"baseline": 0.1, "mde": 0.02, "power": 0.8}}},
    form=ReportForm,
    answer=HTML,
)
def page_report(r: ReportRequest | ReportForm) -> Response:
    """``{"page": "abtest", "request": {...}}``, or the page's form with ``page``: the page's
    analysis as an HTML attachment."""
    if isinstance(r, ReportForm):
        if not _takes_form(r.page):
            unprocessable(
                "page",
                f"The {r.page} page takes no uploaded data: send "
                '{"page": ..., "request": {...}} as JSON to make its report.',
            )
        form, files = _forwarded()
        answer = run_page(r.page, form)
        inputs: dict[str, Any] = {**files, **(r.model_extra or {})}
    else:
        answer = run_page(r.page, r.request)
        inputs = r.request
    title = _title(r.page)
    html = render(title=title, subtitle=f"{title} report", inputs=inputs, answer=answer)
    return attachment(html, r.page.replace("/", "-"))
