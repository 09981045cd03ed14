"""``GET /abtest`` (the page) and ``POST /api/abtest`` (parse → stats → figures → JSON).

The analysis takes typed per-variant numbers (JSON ``variants``), a CSV (multipart ``file``,
pasted ``csv`` form text, or a JSON ``csv`` string) with an optional column mapping, or a
configured source; :mod:`blueprints.abtest.analysis` turns the request into an outcome, shared
with the ``flask analyze`` command.
"""

from __future__ import annotations

from flask import Response, render_template

from blueprints._api import respond
from blueprints._upload import request_fields, uploaded_csv
from blueprints.abtest import bp
from blueprints.abtest.analysis import analyse, body


@bp.get("/abtest")
def page() -> str:
    return render_template("abtest.html")


@bp.post("/api/abtest")
def api() -> Response:
    f = request_fields()
    outcome = analyse(f, uploaded_csv(f))
    return respond(*body(outcome))
