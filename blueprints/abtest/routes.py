"""``GET /abtest`` (the page) and ``POST /api/abtest`` (parse → stats → figures → JSON).

The analysis takes typed per-variant numbers (JSON ``variants``), a CSV (multipart ``file``,
pasted ``csv`` form text, or a JSON ``csv`` string) with an optional column mapping, or a
configured source; :mod:`blueprints.abtest.analysis` turns the request into an outcome, shared
with the ``flask analyze`` command.
"""

from __future__ import annotations

from flask import Response, render_template

from blueprints._api import respond
from blueprints._upload import read_data
from blueprints.abtest import bp, contract
from blueprints.abtest.analysis import analyse, body
from blueprints.abtest.models import AbtestAnswer, AbtestRequest


@bp.get("/abtest")
def page() -> str:
    return render_template("abtest.html")


@contract.post(
    "/api/abtest",
    summary="Analyze an A/B test: comparisons, SRM, guardrails and a verdict",
    request=AbtestRequest,
    result=AbtestAnswer,
    examples={
        "conversion": {
            "metric": "proportion",
            "control": "A",
            "alpha": 0.05,
            "min_effect": 0.01,
            "variants": [
                {"name": "A", "users": 1000, "conversions": 120},
                {"name": "B", "users": 1000, "conversions": 160},
            ],
        },
        "csv": {
            "csv": "variant,converted\nA,0\nA,1\nA,0\nB,1\nB,1\nB,0\n",
            "metric": "converted",
            "control": "A",
        },
    },
    form=True,
)
def api(r: AbtestRequest) -> Response:
    return respond(*body(analyse(r, read_data(r.csv))))
