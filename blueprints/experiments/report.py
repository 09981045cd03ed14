"""``GET /api/experiments/<id>/report``: an experiment's report (see :mod:`blueprints.report`),
on the experiments blueprint so its auth and store errors answer as the rest of its API."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import orjson
from flask import Response

from blueprints._contract import validate
from blueprints.experiments import contract
from blueprints.experiments.db import get_store
from blueprints.experiments.models import ADMIN, NOT_FOUND, AnalysisOptions, ReportOptions
from blueprints.experiments.routes import analysis_envelope
from blueprints.report.document import attachment, render


@contract.route(
    "get",
    "/api/experiments/<int:experiment_id>/report",
    summary="The report of an experiment: definition, analysis, decision records",
    security=ADMIN,
    query=ReportOptions,
    media={"text/html": {"type": "string"}},
    problems=NOT_FOUND,
    tag="report",
    description="A self-contained HTML file (an attachment) that works offline: the "
    "definition, results, readout, charts (Plotly.js inlined) and any decision records.",
)
def experiment_report(query: ReportOptions, experiment_id: int) -> Response:
    """The experiment's analysis (as ``.../analyze`` with the query's ``alpha``,
    ``planned_n`` and ``guardrail_tolerance`` for every guardrail event), without updating
    bandit weights, with its definition and any decision records."""
    experiment = get_store().get_experiment(experiment_id)
    options: dict[str, Any] = {
        k: v for k in ("alpha", "planned_n") if (v := getattr(query, k)) is not None
    }
    tolerance = query.guardrail_tolerance
    if tolerance is not None:
        options["guardrails"] = [
            {"event": e, "tolerance": tolerance} for e in experiment.guardrail_events
        ]
    given = validate(AnalysisOptions, options)
    _done, answer = analysis_envelope(experiment_id, given, update_bandit=False)
    answer = orjson.loads(orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY))
    definition = {k: v for k, v in asdict(experiment).items() if k != "ingest_key"}
    records = [
        {k: v for k, v in asdict(r).items() if k != "analysis"}  # its frozen snapshot left out
        for r in get_store().decisions(experiment_id)
    ]
    html = render(
        title=experiment.name,
        subtitle=f"Experiment {experiment_id} ({experiment.status}) report",
        inputs={**definition, **options},
        answer=answer,
        records=records,
    )
    return attachment(html, f"experiment-{experiment_id}")
