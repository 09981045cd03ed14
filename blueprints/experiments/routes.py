"""``GET /experiments`` (the admin page) and the JSON API under ``/api/experiments``, declared
with its contract (:mod:`.models`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, fields
from typing import Any

from flask import Response, render_template

from blueprints._api import envelope, json_response, stats_errors, unprocessable
from blueprints._contract import validate
from blueprints.experiments import bp, contract
from blueprints.experiments.analysis import Analysed, GuardrailRule, analyse, refresh_bandit
from blueprints.experiments.db import get_store
from blueprints.experiments.figures import experiment_figures
from blueprints.experiments.figures import looks as looks_figure
from blueprints.experiments.models import (
    ADMIN,
    CONFLICT,
    INGEST,
    NOT_FOUND,
    AnalysisOptions,
    AnalysisResult,
    Assignment,
    EventBatch,
    ExperimentAnswer,
    ExperimentChanges,
    ExperimentFields,
    ExperimentList,
    GuardrailRuleIn,
    ListedExperiment,
    Summary,
    Unit,
    VariantIn,
    ingesting,
)
from blueprints.experiments.preregistered import analysis_defaults, policy_result, without_spec
from blueprints.experiments.readout import readout
from experiments.store import Experiment, IngestResult
from stats.experiment_analysis import DEFAULT_PLANNED_N


@bp.get("/experiments")
def page() -> str:
    return render_template("experiments.html", planned_n=DEFAULT_PLANNED_N)


def _experiment(e: Experiment, status: int = 200) -> Response:
    """One experiment, with its stored events' count and latest times (``events``)."""
    answer = ExperimentAnswer(**_fields(e), events=get_store().event_summary(e.id))
    return json_response(asdict(answer), status)


def _fields(e: Experiment) -> dict[str, Any]:
    return {f.name: getattr(e, f.name) for f in fields(Experiment)}


@contract.route(
    "get",
    "/api/experiments",
    summary="Every experiment with the winner of its latest analysis, and summary counts",
    security=ADMIN,
    result=ExperimentList,
)
def list_experiments() -> Response:
    """Every experiment (newest first) with the winner of its latest analysis, and the
    summary counts. Nothing is analysed here: two queries, however many experiments."""
    store = get_store()
    winners = store.winners()
    items = [
        ListedExperiment(**_fields(e), winner=winners.get(e.id)) for e in store.list_experiments()
    ]
    summary = Summary(
        total=len(items),
        running=sum(1 for e in items if e.status == "running"),
        winners=sum(1 for e in items if e.winner),
    )
    return json_response({"experiments": [asdict(e) for e in items], "summary": summary})


@contract.route(
    "post",
    "/api/experiments",
    summary="Create a draft experiment",
    security=ADMIN,
    request=ExperimentFields,
    result=ExperimentAnswer,
    status=201,
    examples={
        "checkout": {
            "name": "Checkout copy",
            "hypothesis": "Clearer copy lifts purchases.",
            "primary_event": "purchase",
            "guardrail_events": [],
            "bandit": False,
            "variants": [{"name": "control", "weight": 0.5}, {"name": "B", "weight": 0.5}],
        }
    },
)
def create_experiment(body: ExperimentFields) -> Response:
    """A draft; the store checks the values (422) and rejects unknown fields."""
    created = get_store().create_experiment(body.model_dump(exclude_unset=True))
    return _experiment(created, 201)


@contract.route(
    "get",
    "/api/experiments/<int:experiment_id>",
    summary="One experiment",
    security=ADMIN,
    result=ExperimentAnswer,
    problems=NOT_FOUND,
)
def get_experiment(experiment_id: int) -> Response:
    return _experiment(get_store().get_experiment(experiment_id))


@contract.route(
    "patch",
    "/api/experiments/<int:experiment_id>",
    summary="Change an experiment",
    security=ADMIN,
    request=ExperimentChanges,
    result=ExperimentAnswer,
    problems={**NOT_FOUND, **CONFLICT},
    examples={"rename": {"name": "Checkout copy, take 2"}},
)
def update_experiment(changes: ExperimentChanges, experiment_id: int) -> Response:
    without_spec(experiment_id)
    store = get_store()
    return _experiment(
        store.update_experiment(experiment_id, changes.model_dump(exclude_unset=True))
    )


@contract.route(
    "delete",
    "/api/experiments/<int:experiment_id>",
    summary="Delete a draft or stopped experiment and its data",
    security=ADMIN,
    status=204,
    problems={**NOT_FOUND, **CONFLICT},
)
def delete_experiment(experiment_id: int) -> Response:
    get_store().delete_experiment(experiment_id)
    return Response(status=204)


@contract.route(
    "post",
    "/api/experiments/<int:experiment_id>/variants",
    summary="Add a variant to a draft (weights normalised again); 409 once it has 20, "
    "422 naming `name` for a duplicate",
    security=ADMIN,
    request=VariantIn,
    result=ExperimentAnswer,
    status=201,
    problems={**NOT_FOUND, **CONFLICT},
    examples={"C": {"name": "C", "weight": 0.5}},
)
def add_variant(variant: VariantIn, experiment_id: int) -> Response:
    """Append a variant ``{name, weight}`` to a draft; the weights are normalised again. One
    store transaction reads and writes the variants, so concurrent adds all land."""
    without_spec(experiment_id)
    added = get_store().add_variant(experiment_id, variant.model_dump(exclude_unset=True))
    return _experiment(added, 201)


@contract.route(
    "post",
    "/api/experiments/<int:experiment_id>/launch",
    summary="Launch a draft",
    security=ADMIN,
    result=ExperimentAnswer,
    problems={**NOT_FOUND, **CONFLICT},
)
def launch(experiment_id: int) -> Response:
    return _experiment(get_store().launch(experiment_id))


@contract.route(
    "post",
    "/api/experiments/<int:experiment_id>/stop",
    summary="Stop a running experiment",
    security=ADMIN,
    result=ExperimentAnswer,
    problems={**NOT_FOUND, **CONFLICT},
)
def stop(experiment_id: int) -> Response:
    return _experiment(get_store().stop(experiment_id))


@contract.route(
    "post",
    "/api/experiments/<int:experiment_id>/analyze",
    summary="Analyse: rates, SRM, fixed-horizon and always-valid tests, lift, winner",
    security=ADMIN,
    request=AnalysisOptions,
    result=AnalysisResult,
    enveloped=True,
    optional=True,
    problems={**NOT_FOUND, **CONFLICT},
    examples={"alpha": {"alpha": 0.05}},
)
def analyze(options: AnalysisOptions, experiment_id: int) -> Response:
    """The analysis; a running bandit experiment gets new Thompson weights first."""
    done, body = analysis_envelope(experiment_id, options, update_bandit=True)
    get_store().record_analysis(experiment_id, done.analysis.winner)  # what the list shows
    return json_response(body)


def analysis_envelope(
    experiment_id: int, options: AnalysisOptions, *, update_bandit: bool
) -> tuple[Analysed, dict[str, Any]]:
    """The analysis for ``options`` (alpha, planned_n, guardrails) and the answer envelope
    (result, figures, readout, warnings): what ``.../analyze`` sends and the experiment's
    report shows. An experiment created from a spec takes its pre-registered options as
    defaults (for the options the request leaves out) and gets the policy's verdict
    (:mod:`.preregistered`)."""
    pre = analysis_defaults(experiment_id)
    if pre:
        options = validate(AnalysisOptions, {**pre, **options.model_dump(exclude_unset=True)})
    events = get_store().get_experiment(experiment_id).guardrail_events
    rules = guardrail_rules(options.guardrails, events)
    with stats_errors():
        done = analyse(
            experiment_id,
            alpha=options.alpha,
            planned_n=options.planned_n,  # type: ignore[arg-type]  # stats checks it is whole
            guardrails=rules,
            update_bandit=update_bandit,
        )
    a = done.analysis
    cuped = (
        {**asdict(a.cuped), "comparisons": [c.as_dict() for c in a.cuped.comparisons]}
        if a.cuped
        else None
    )
    result = {
        **asdict(a),
        "comparisons": [c.as_dict() for c in a.comparisons],
        "cuped": cuped,
        "experiment_id": experiment_id,
        "status": done.experiment.status,
        "bandit": done.bandit,
        "periods": done.counts.periods,
        "guardrails": {v.name: v.guardrail_conversions for v in done.counts.variants},
        "policy": policy_result(done, options.alpha) if pre else None,
    }
    figures = experiment_figures(a, done.counts, done.experiment.bandit)
    if result["policy"]:
        figures["looks"] = looks_figure(result["policy"])
    words = readout(a, done.experiment.bandit, done.experiment.status)
    return done, envelope(result, figures, words, a.warnings)


def guardrail_rules(
    given: Sequence[GuardrailRuleIn], events: tuple[str, ...]
) -> dict[str, GuardrailRule]:
    """The analysis request's guardrail rules by event; each event must be one of the
    experiment's guardrail events."""
    rules: dict[str, GuardrailRule] = {}
    for i, g in enumerate(given):
        if g.event not in events:
            name = f"guardrails[{i}].event"
            unprocessable(
                name,
                f"{name} must be one of the experiment's guardrail events "
                f"({', '.join(events) or 'none'}), got {g.event!r}.",
            )
        rules[g.event] = GuardrailRule(g.direction, g.tolerance, g.tolerance_type)
    return rules


@contract.route(
    "get",
    "/api/experiments/<int:experiment_id>/assign",
    summary="The variant of a unit (sticky; the control once stopped)",
    security=INGEST,
    query=Unit,
    result=Assignment,
    problems=NOT_FOUND,
)
def assign(query: Unit, experiment_id: int) -> Response:
    """The unit's variant: sticky, deterministic; the control once stopped."""
    refresh_bandit(ingesting())
    return json_response(Assignment(variant=get_store().assign(experiment_id, query.unit)))


@contract.route(
    "post",
    "/api/experiments/<int:experiment_id>/events",
    summary="Ingest a batch of exposure and conversion events (all or nothing)",
    security=INGEST,
    request=EventBatch,
    result=IngestResult,
    problems={**NOT_FOUND, **CONFLICT},
    examples={
        "exposure then purchase": {
            "events": [
                {"event_id": "e1", "unit": "u123", "variant": "B", "name": "exposure",
                 "ts": "2026-11-20T10:00:00Z"},
                {"event_id": "e2", "unit": "u123", "variant": "B", "name": "purchase",
                 "ts": "2026-11-20T10:05:00Z"},
            ]
        }
    },
)  # fmt: skip
def events(batch: EventBatch, experiment_id: int) -> Response:
    """A batch of exposure and conversion events, all or nothing, idempotent by event_id."""
    return json_response(asdict(get_store().ingest(experiment_id, batch.events)))
