"""``POST /api/report``: any page's analysis as a report (an experiment's is
:mod:`blueprints.experiments.report`).

A page's report re-runs the page's own endpoint on the same request body, inside this
request (a nested request context calling the endpoint's view), so it validates, computes
and words everything exactly as the page does; only the output changes, to one HTML file.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response, current_app
from pydantic import Field
from werkzeug.exceptions import HTTPException

from blueprints import registry
from blueprints._api import ApiError, unprocessable
from blueprints._contract import Body
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


def run_page(page: str, body: dict[str, Any]) -> dict[str, Any]:
    """The JSON answer of ``POST /api/<page>`` to ``body``; its problems name fields under
    ``request.``."""
    path = f"/api/{page}"
    try:
        endpoint, args = current_app.url_map.bind("localhost").match(path, method="POST")
    except HTTPException:  # a page this server does not serve
        unprocessable("page", f"page {page!r} is not served here.")
    data = orjson.dumps(body)
    with current_app.test_request_context(
        path, method="POST", data=data, content_type="application/json"
    ):
        try:
            view = current_app.ensure_sync(current_app.view_functions[endpoint])
            response = current_app.make_response(view(**args))
        except ApiError as exc:
            raise _prefixed(exc, "request.") from None
        except HTTPException as exc:  # a 413 or similar from the page
            raise ApiError(exc.code or 400, exc.description or "", [{"field": "request"}]) from None
    answer: dict[str, Any] = orjson.loads(response.get_data())
    return answer


class ReportRequest(Body):
    """A page's request, to answer as a report."""

    page: Page = Field(description="The page's endpoint after /api/.")
    request: dict[str, Any] = Field(
        description="The JSON body the page sends to POST /api/<page>; its errors are named "
        "request.<field>."
    )


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
    answer=HTML,
)
def page_report(r: ReportRequest) -> Response:
    """``{"page": "abtest", "request": {...}}``: the page's analysis as an HTML attachment."""
    answer = run_page(r.page, r.request)
    title = _title(r.page)
    html = render(title=title, subtitle=f"{title} report", inputs=r.request, answer=answer)
    return attachment(html, r.page.replace("/", "-"))
