"""Specs, the audit trail, the pre-registered policy and decision records (issue 15).

Routes (management calls need the admin token, like the rest of the service):

- ``GET  /api/experiments/spec/schema``: the published JSON Schema of a spec (no token);
- ``POST /api/experiments/spec``: a spec as YAML (``application/yaml``) or JSON creates a
  draft (201); a bad spec is a 422 naming each bad field's JSON path;
- ``GET  /api/experiments/<id>/spec``: the spec with its computed plan, as YAML or JSON by
  ``Accept`` (``?version=`` for an older one); ``PUT`` appends a new version (after launch an
  audited amendment, ``?reason=`` required);
- ``GET  /api/experiments/<id>/audit``: every spec version, amendments after launch marked;
- ``GET/POST /api/experiments/<id>/decisions``: list (``?q=`` searches, ``?format=markdown``)
  and append decision records; there is no update or delete.

The analysis (``POST …/analyze``) takes its defaults from the pre-registered spec through
:func:`analysis_defaults` and adds :func:`policy_result`; the parsing, validation and planning
live in :mod:`experiments.specs`, the rules in :mod:`experiments.policy`, the SQL in
:mod:`experiments.records`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
import orjson
from flask import Response, request

from blueprints._api import ApiError, json_response, problem, request_data
from blueprints.experiments import bp, contract
from blueprints.experiments.db import get_store
from blueprints.experiments.models import (
    ADMIN,
    CONFLICT,
    NOT_FOUND,
    PUBLIC,
    SPEC,
    UNSUPPORTED,
    AnalysisOptions,
    Audit,
    DecisionIn,
    DecisionList,
    DecisionsQuery,
    Reason,
    SpecCreated,
    SpecDocument,
    SpecVersionQuery,
)
from blueprints.experiments.preregistered import amendment
from blueprints.experiments.routes import analysis_envelope
from experiments.records import Decision, SpecVersion
from experiments.specs import (
    SpecInvalid,
    export,
    parse_spec,
    plan_document,
    schema,
    store_fields,
    to_yaml,
    validate_spec,
)
from experiments.store import Conflict, Experiment, StoreError

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
SPEC_TYPES = (*YAML_TYPES, "application/json")


@bp.errorhandler(SpecInvalid)
def _spec_invalid(error: SpecInvalid) -> Response:
    first = error.problems[0]
    detail = f"The spec is invalid: {first.field} {first.detail}."
    if len(error.problems) > 1:
        detail += f" ({len(error.problems)} problems, each in errors.)"
    errors = [{"field": p.field, "detail": f"{p.field} {p.detail}."} for p in error.problems]
    return problem(422, detail, errors)


# -- the spec ---------------------------------------------------------------------------------


@contract.route(
    "get",
    "/api/experiments/spec/schema",
    summary="The JSON Schema (2020-12) of an experiment spec",
    security=PUBLIC,
    media={"application/schema+json": {"type": "object"}},
)
def spec_schema() -> Response:
    """The JSON Schema a spec is validated against."""
    return Response(orjson.dumps(schema()), mimetype="application/schema+json")


def _read_spec() -> tuple[dict[str, Any], dict[str, Any]]:
    """The request's spec (YAML or JSON by Content-Type), validated; and its plan."""
    if request.mimetype not in SPEC_TYPES:
        detail = (
            "Send the spec as YAML (Content-Type: application/yaml) or JSON "
            f"(Content-Type: application/json), got {request.mimetype or 'no Content-Type'}."
        )
        raise ApiError(415, detail, [{"field": "Content-Type", "detail": detail}])
    spec, plan = validate_spec(parse_spec(request_data()))
    return spec, plan_document(plan)


def create_from_spec(spec: Mapping[str, Any], plan: Mapping[str, Any]) -> Experiment:
    """A draft experiment from a validated spec, the spec stored as its version 1."""
    return get_store().create_experiment(store_fields(spec), document=(spec, plan))


SPEC_BODY = {media: SPEC for media in ("application/yaml", "application/json")}


@contract.route(
    "post",
    "/api/experiments/spec",
    summary="Create a draft experiment from a spec (YAML or JSON); 422 names each bad "
    "field's JSON path",
    security=ADMIN,
    body=SPEC_BODY,
    result=SpecCreated,
    status=201,
    problems=UNSUPPORTED,
)
def post_spec() -> Response:
    spec, plan = _read_spec()
    experiment = create_from_spec(spec, plan)
    response = json_response({"experiment": asdict(experiment), "plan": plan}, 201)
    response.headers["Location"] = f"/api/experiments/{experiment.id}/spec"
    return response


def _versions(experiment_id: int) -> tuple[SpecVersion, ...]:
    versions = get_store().spec_history(experiment_id)
    if not versions:
        raise Conflict(
            f"experiment {experiment_id} was not created from a spec; create one with "
            "POST /api/experiments/spec"
        )
    return versions


def _wants_yaml() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", *YAML_TYPES])
    return best in YAML_TYPES


@contract.route(
    "get",
    "/api/experiments/<int:experiment_id>/spec",
    summary="The experiment's spec with its computed plan (YAML with Accept: application/yaml)",
    security=ADMIN,
    query=SpecVersionQuery,
    result=SpecDocument,
    media={"application/yaml": {"type": "string"}},
    problems={**NOT_FOUND, **CONFLICT},
)
def get_spec(query: SpecVersionQuery, experiment_id: int) -> Response:
    """The latest spec (or ``?version=``) with its plan: YAML or JSON by Accept."""
    versions = _versions(experiment_id)
    wanted = query.version or versions[-1].version
    found = [v for v in versions if v.version == wanted]
    if not found:
        raise StoreError("version", f"must be between 1 and {versions[-1].version}, got {wanted!r}")
    document = export(found[0].spec, found[0].plan)
    if _wants_yaml():
        return Response(to_yaml(document), mimetype="application/yaml")
    return json_response(document)


@contract.route(
    "put",
    "/api/experiments/<int:experiment_id>/spec",
    summary="Append a new version of the spec; after launch an audited amendment that "
    "needs a reason (409 if it changes the guardrail events)",
    security=ADMIN,
    query=Reason,
    body=SPEC_BODY,
    result=SpecVersion,
    problems={**NOT_FOUND, **CONFLICT, **UNSUPPORTED},
)
def put_spec(query: Reason, experiment_id: int) -> Response:
    """A new version of the spec. A draft takes it whole; after launch the experiment's
    events and variants stay as launched, the change is an audited amendment (``?reason=``
    required) and the verdict keeps the pre-registered version."""
    spec, plan = _read_spec()
    store = get_store()
    current = store.get_experiment(experiment_id)
    fields = store_fields(spec)
    launched = current.status != "draft"
    if launched and tuple(fields["guardrail_events"]) != current.guardrail_events:
        raise Conflict(
            "guardrail events cannot change after launch (ingestion counts the launched "
            "ones); thresholds can",
            field="guardrails",
        )
    # The version first: it checks the reason, so a refused amendment changes nothing.
    version = store.append_spec(experiment_id, spec, plan, query.reason)
    if launched:  # events and variants stay as launched
        fields = {"name": fields["name"], "hypothesis": fields["hypothesis"]}
    store.update_experiment(experiment_id, fields)
    return json_response(asdict(version))


@contract.route(
    "get",
    "/api/experiments/<int:experiment_id>/audit",
    summary="Every version of the spec, amendments after launch listed apart (both empty for "
    "an experiment created without a spec)",
    security=ADMIN,
    result=Audit,
    problems=NOT_FOUND,
)
def audit(experiment_id: int) -> Response:
    """Every version of the spec; ``after_launch`` marks the audited amendments. Both lists
    are empty for an experiment created without a spec."""
    versions = get_store().spec_history(experiment_id)
    return json_response(
        Audit(
            versions=[asdict(v) for v in versions],  # type: ignore[misc]
            amendments=[amendment(v) for v in versions if v.after_launch],
        )
    )


# -- decision records ------------------------------------------------------------------------


def _markdown(experiment: Experiment, records: tuple[Decision, ...]) -> str:
    lines = [f"# Decisions: {experiment.name} (experiment {experiment.id})", ""]
    if not records:
        lines.append("No decision recorded.")
    for d in records:
        policy = d.analysis.get("result", {}).get("policy") or {}
        lines += [
            f"## {d.decided_at[:16].replace('T', ' ')} UTC: {d.decision} (record {d.id})",
            "",
            f"- **Owner:** {d.owner}",
            f"- **Rationale:** {d.rationale}",
            f"- **Follow-up:** {d.follow_up or 'none'}",
        ]
        if d.spec_version is not None:
            lines.append(f"- **Spec version:** {d.spec_version}")
        if policy:
            lines.append(f"- **Policy verdict:** {policy.get('reason', '')}")
        lines += [f"- **Analysis readout:** {d.analysis.get('readout', '')}", ""]
    return "\n".join(lines)


@contract.route(
    "get",
    "/api/experiments/<int:experiment_id>/decisions",
    summary="The experiment's decision records (append-only), searchable; JSON or Markdown",
    security=ADMIN,
    query=DecisionsQuery,
    result=DecisionList,
    media={"text/markdown": {"type": "string"}},
    problems=NOT_FOUND,
)
def list_decisions(query: DecisionsQuery, experiment_id: int) -> Response:
    """The decision records, oldest first; ``?q=`` searches them, ``?format=markdown``
    exports them as Markdown (JSON otherwise)."""
    store = get_store()
    records = store.decisions(experiment_id, query.q)
    if query.format == "markdown":
        text = _markdown(store.get_experiment(experiment_id), records)
        response = Response(text, mimetype="text/markdown")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="abacus-decisions-{experiment_id}.md"'
        )
        return response
    return json_response(
        {
            "experiment_id": experiment_id,
            "query": query.q,
            "decisions": [asdict(d) for d in records],
        }
    )


@contract.route(
    "post",
    "/api/experiments/<int:experiment_id>/decisions",
    summary="Record a decision (ship, iterate, stop or re-run) with a frozen snapshot of the "
    "analysis; records are never updated or deleted",
    security=ADMIN,
    request=DecisionIn,
    result=Decision,
    status=201,
    problems={**NOT_FOUND, **CONFLICT},
    examples={
        "ship": {
            "decision": "ship",
            "owner": "ana.lopez@example.com",
            "rationale": "Pay now wins by 2.1 points at the planned horizon.",
            "follow_up": "Roll out to mobile next sprint.",
        }
    },
)
def post_decision(record: DecisionIn, experiment_id: int) -> Response:
    """Append a decision record with a frozen snapshot of the analysis as it stands now."""
    _, body = analysis_envelope(
        experiment_id, AnalysisOptions.model_validate({}), update_bandit=False
    )
    # JSON now (orjson, as the API answers it: NaN -> null), so the record is frozen text.
    snapshot = orjson.loads(
        orjson.dumps(
            {k: body[k] for k in ("result", "readout", "warnings")},
            option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
        )
    )
    versions = get_store().spec_history(experiment_id)
    version = versions[-1].version if versions else None
    fields = record.model_dump(exclude_unset=True)
    decision = get_store().add_decision(experiment_id, fields, snapshot, version)
    return json_response(asdict(decision), 201)


# -- the command line --------------------------------------------------------------------------


@bp.cli.command("create-from-spec")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def create_from_spec_command(file: Path) -> None:
    """Create a draft experiment from a spec FILE (YAML or JSON); print its id and plan."""
    try:
        spec, plan = validate_spec(parse_spec(file.read_bytes()))
    except SpecInvalid as exc:
        raise click.ClickException(
            f"{file.name}: " + "; ".join(f"{p.field} {p.detail}" for p in exc.problems)
        ) from None
    document = plan_document(plan)
    experiment = create_from_spec(spec, document)
    click.echo(
        f"Created draft experiment {experiment.id} ({experiment.name}): "
        f"{plan.n_total:,} units over {plan.runtime_days} days "
        f"({plan.n_per_group:,} in the control)."
    )
