"""``GET /experiments`` (the admin page) and the JSON API under ``/api/experiments``."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Response, render_template, request

from blueprints._api import (
    Fields,
    bad_request,
    envelope,
    json_body,
    json_response,
    stats_errors,
    unprocessable,
)
from blueprints.experiments import bp
from blueprints.experiments.analysis import Analysed, GuardrailRule, analyse, refresh_bandit
from blueprints.experiments.auth import require_admin, require_ingest
from blueprints.experiments.db import get_store
from blueprints.experiments.figures import experiment_figures
from blueprints.experiments.figures import looks as looks_figure
from blueprints.experiments.preregistered import analysis_defaults, policy_result, without_spec
from blueprints.experiments.readout import readout
from experiments.store import MAX_GUARDRAIL_EVENTS, Experiment
from stats.experiment_analysis import DEFAULT_PLANNED_N


@bp.get("/experiments")
def page() -> str:
    return render_template("experiments.html", planned_n=DEFAULT_PLANNED_N)


def _typed(f: Fields, *, create: bool) -> dict[str, Any]:
    """Type-check the creation fields present (400 on a wrong type); the store checks values
    (422) and rejects unknown fields. ``None`` leaves a field out (absent in a PATCH)."""
    body: dict[str, Any] = {}
    required = ("name", "primary_event", "variants") if create else ()
    for key in f.data:
        body[key] = f.data[key]
    for key in ("name", "hypothesis", "primary_event"):
        if key in f.data or key in required:
            body[key] = f.string(key)
    if "guardrail_events" in f.data:
        body["guardrail_events"] = f.array("guardrail_events")
    if "bandit" in f.data:
        body["bandit"] = f.boolean("bandit")
    if "variants" in f.data or "variants" in required:
        body["variants"] = [_variant(v) for v in f.objects("variants")]
    return body


def _variant(v: Fields) -> dict[str, Any]:
    extra = {k: v.data[k] for k in v.data if k not in ("name", "weight")}
    return {"name": v.string("name"), "weight": v.number("weight"), **extra}


def _experiment(e: Experiment, status: int = 200) -> Response:
    """One experiment, with its stored events' count and latest times (``events``)."""
    events = asdict(get_store().event_summary(e.id))
    return json_response({**asdict(e), "events": events}, status)


@bp.get("/api/experiments")
def list_experiments() -> Response:
    """Every experiment (newest first) with the winner of its latest analysis, and the
    summary counts. Nothing is analysed here: two queries, however many experiments."""
    require_admin()
    store = get_store()
    winners = store.winners()
    items = [{**asdict(e), "winner": winners.get(e.id)} for e in store.list_experiments()]
    summary = {
        "total": len(items),
        "running": sum(1 for e in items if e["status"] == "running"),
        "winners": sum(1 for e in items if e["winner"]),
    }
    return json_response({"experiments": items, "summary": summary})


@bp.post("/api/experiments")
def create_experiment() -> Response:
    require_admin()
    body = _typed(Fields(json_body()), create=True)
    return _experiment(get_store().create_experiment(body), 201)


@bp.get("/api/experiments/<int:experiment_id>")
def get_experiment(experiment_id: int) -> Response:
    require_admin()
    return _experiment(get_store().get_experiment(experiment_id))


@bp.patch("/api/experiments/<int:experiment_id>")
def update_experiment(experiment_id: int) -> Response:
    require_admin()
    body = _typed(Fields(json_body()), create=False)
    without_spec(experiment_id)
    return _experiment(get_store().update_experiment(experiment_id, body))


@bp.delete("/api/experiments/<int:experiment_id>")
def delete_experiment(experiment_id: int) -> Response:
    require_admin()
    get_store().delete_experiment(experiment_id)
    return Response(status=204)


@bp.post("/api/experiments/<int:experiment_id>/variants")
def add_variant(experiment_id: int) -> Response:
    """Append a variant ``{name, weight}`` to a draft; the weights are normalised again. One
    store transaction reads and writes the variants, so concurrent adds all land."""
    require_admin()
    new = _variant(Fields(json_body()))
    without_spec(experiment_id)
    return _experiment(get_store().add_variant(experiment_id, new), 201)


@bp.post("/api/experiments/<int:experiment_id>/launch")
def launch(experiment_id: int) -> Response:
    require_admin()
    return _experiment(get_store().launch(experiment_id))


@bp.post("/api/experiments/<int:experiment_id>/stop")
def stop(experiment_id: int) -> Response:
    require_admin()
    return _experiment(get_store().stop(experiment_id))


@bp.post("/api/experiments/<int:experiment_id>/analyze")
def analyze(experiment_id: int) -> Response:
    """The analysis; a running bandit experiment gets new Thompson weights first."""
    require_admin()
    f = Fields(json_body() if request.get_data(cache=True) else {})
    done, body = analysis_envelope(experiment_id, f, update_bandit=True)
    get_store().record_analysis(experiment_id, done.analysis.winner)  # what the list shows
    return json_response(body)


def analysis_envelope(
    experiment_id: int, f: Fields, *, update_bandit: bool
) -> tuple[Analysed, dict[str, Any]]:
    """The analysis for the options in ``f`` (alpha, planned_n, guardrails) and the answer
    envelope (result, figures, readout, warnings): what ``.../analyze`` sends and the
    experiment's report shows. An experiment created from a spec takes its pre-registered
    options as defaults and gets the policy's verdict (:mod:`.preregistered`)."""
    pre = analysis_defaults(experiment_id)
    f = Fields({**pre, **{k: v for k, v in f.data.items() if v is not None}})
    alpha = f.number("alpha", 0.05)
    planned_n = f.number("planned_n", DEFAULT_PLANNED_N)
    events = get_store().get_experiment(experiment_id).guardrail_events
    rules = guardrail_rules(f, events)
    with stats_errors():
        done = analyse(
            experiment_id,
            alpha=alpha,
            planned_n=planned_n,
            guardrails=rules,
            update_bandit=update_bandit,
        )
    a = done.analysis
    result = {
        **asdict(a),
        "comparisons": [c.as_dict() for c in a.comparisons],
        "experiment_id": experiment_id,
        "status": done.experiment.status,
        "bandit": done.bandit,
        "periods": done.counts.periods,
        "guardrails": {v.name: v.guardrail_conversions for v in done.counts.variants},
        "policy": policy_result(done, alpha) if pre else None,
    }
    figures = experiment_figures(a, done.counts, done.experiment.bandit)
    if result["policy"]:
        figures["looks"] = looks_figure(result["policy"])
    words = readout(a, done.experiment.bandit, done.experiment.status)
    return done, envelope(result, figures, words, a.warnings)


def guardrail_rules(f: Fields, events: tuple[str, ...]) -> dict[str, GuardrailRule]:
    """``guardrails: [{event, direction, tolerance, tolerance_type}]`` of an analysis request,
    by event; each event must be one of the experiment's guardrail events and each tolerance
    in [0, 1)."""
    rules: dict[str, GuardrailRule] = {}
    default = GuardrailRule()
    if len(f.array("guardrails", [])) > MAX_GUARDRAIL_EVENTS:
        unprocessable("guardrails", f"guardrails must hold at most {MAX_GUARDRAIL_EVENTS} rules.")
    for g in f.objects("guardrails", []):
        event = g.string("event")
        if event not in events:
            unprocessable(
                g.name("event"),
                f"{g.name('event')} must be one of the experiment's guardrail events "
                f"({', '.join(events) or 'none'}), got {event!r}.",
            )
        tolerance = g.number("tolerance", default.tolerance)
        if not 0 <= tolerance < 1:
            unprocessable(
                g.name("tolerance"),
                f"{g.name('tolerance')} must be in [0, 1) (a rate difference, or a share of the "
                f"control's rate), got {tolerance!r}.",
            )
        rules[event] = GuardrailRule(
            direction=g.choice("direction", ("higher", "lower"), default.direction),
            tolerance=tolerance,
            tolerance_type=g.choice(
                "tolerance_type", ("absolute", "relative"), default.tolerance_type
            ),
        )
    return rules


@bp.get("/api/experiments/<int:experiment_id>/assign")
def assign(experiment_id: int) -> Response:
    """The unit's variant: sticky, deterministic; the control once stopped."""
    experiment = require_ingest(experiment_id)
    unit = request.args.get("unit")
    if unit is None:
        bad_request("unit", "unit is required: GET .../assign?unit=<unit id>.")
    refresh_bandit(experiment)
    return json_response({"variant": get_store().assign(experiment_id, unit)})


@bp.post("/api/experiments/<int:experiment_id>/events")
def events(experiment_id: int) -> Response:
    """A batch of exposure and conversion events, all or nothing, idempotent by event_id."""
    require_ingest(experiment_id)
    batch = Fields(json_body()).array("events")
    result = get_store().ingest(experiment_id, batch)
    return json_response(asdict(result))
