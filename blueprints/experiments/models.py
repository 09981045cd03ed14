"""The Experiments API's contract: who may call it, its requests and its results, declared
once (:mod:`blueprints._contract` validates the requests and generates the OpenAPI document
from these).

The requests declare the HTTP shape (types); the values are the store's to check
(:mod:`experiments.store`, a 422 naming the field): fields it checks whatever their type are
:data:`Checked`, and unknown fields pass through to it (it names them). The results are the
store's and ``stats``' own dataclasses, extended where the API adds to them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from flask import g
from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import JsonDict
from typing_extensions import TypedDict

from blueprints._contract import Body, Query, Range, Security, records, serialized_as
from blueprints.experiments.analysis import GUARDRAIL_TOLERANCE
from blueprints.experiments.auth import require_admin, require_ingest
from experiments.policy import DECISIONS, Verdict
from experiments.records import Decision, Look, SpecVersion
from experiments.specs import Plan, schema
from experiments.store import (
    MAX_GUARDRAIL_EVENTS,
    EventSummary,
    Experiment,
    WeightPeriod,
)
from stats.bandit import ThompsonWeights
from stats.experiment_analysis import (
    DEFAULT_PLANNED_N,
    CupedComparison,
    ExperimentAnalysis,
    VariantComparison,
)

# -- who may call ------------------------------------------------------------------------------

SECURITY_SCHEMES: dict[str, Any] = {
    "adminToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "The server's ABACUS_ADMIN_TOKEN; management calls need it.",
    },
    "ingestKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "The experiment's ingest_key (shown on its detail page).",
    },
}


def _problem(description: str, header: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
    if header:
        response["headers"] = {header: {"schema": {"type": "string"}}}
    return response


CREDENTIALS = {
    "401": _problem(
        "Missing or wrong credentials (or no admin token configured); nothing changed.",
        "WWW-Authenticate",
    ),
    "429": _problem(
        "Too many wrong tokens from this address lately (AUTH_MAX_FAILURES within "
        "AUTH_FAILURE_WINDOW seconds); retry after Retry-After seconds.",
        "Retry-After",
    ),
}
NOT_FOUND = {"404": "No experiment with this id."}
CONFLICT = {"409": "The experiment's status does not allow this (e.g. launching a running one)."}
UNSUPPORTED = {"415": "The body is neither YAML nor JSON."}


def _admin(**_: Any) -> None:
    require_admin()


def _ingest(experiment_id: int) -> None:
    g.experiment = require_ingest(experiment_id)


def ingesting() -> Experiment:
    """The experiment an :data:`INGEST` operation's check read (assignment needs it: one
    query fewer on the hot path)."""
    experiment: Experiment = g.experiment
    return experiment


ADMIN = Security(({"adminToken": []},), _admin, CREDENTIALS)
INGEST = Security(({"ingestKey": []}, {"adminToken": []}), _ingest, CREDENTIALS)
PUBLIC = Security()

# -- requests ---------------------------------------------------------------------------------


def Checked(json_schema: JsonDict) -> Any:
    """A value the store checks whatever its type (a 422 naming it), documented as
    ``json_schema``."""
    return Annotated[Any, WithJsonSchema(json_schema)]


TEXT: JsonDict = {"type": "string", "minLength": 1, "maxLength": 200}


class VariantIn(Body):
    """A variant of a draft; the store checks the name (unique, 1-200 characters) and the
    weight (≥ 0; weights are normalised to sum to 1)."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(json_schema_extra=TEXT)
    weight: float = Field(json_schema_extra={"minimum": 0})


class ExperimentChanges(Body):
    """A draft may change any field; a running or stopped experiment only name and
    hypothesis (else 409)."""

    model_config = ConfigDict(extra="allow")

    name: str | None = Field(None, json_schema_extra=TEXT)
    hypothesis: str | None = Field(None, json_schema_extra={"maxLength": 5000})
    primary_event: str | None = Field(
        None, description="The conversion event; not 'exposure'.", json_schema_extra=TEXT
    )
    guardrail_events: list[Checked(TEXT)] | None = Field(  # type: ignore[valid-type]
        None, json_schema_extra={"maxItems": MAX_GUARDRAIL_EVENTS}
    )
    bandit: bool | None = None
    variants: list[VariantIn] | None = Field(
        None,
        description="The first variant is the control; weights are normalised to sum to 1.",
        json_schema_extra={"minItems": 2, "maxItems": 20},
    )


class ExperimentFields(ExperimentChanges):
    """A new draft experiment."""

    name: str = Field(json_schema_extra=TEXT)
    primary_event: str = Field(
        description="The conversion event; not 'exposure'.", json_schema_extra=TEXT
    )
    variants: list[VariantIn] = Field(
        description="The first variant is the control; weights are normalised to sum to 1.",
        json_schema_extra={"minItems": 2, "maxItems": 20},
    )


class GuardrailRuleIn(Body):
    """A non-inferiority rule for one of the experiment's guardrail events."""

    event: str
    direction: Literal["higher", "lower"] = "lower"
    tolerance: Annotated[float, Range(ge=0, lt=1)] = Field(
        GUARDRAIL_TOLERANCE,
        description="Tolerated worsening: a rate difference, or a share of the control's rate.",
    )
    tolerance_type: Literal["absolute", "relative"] = "absolute"


class AnalysisOptions(Body):
    """An analysis's options; an experiment created from a spec takes its pre-registered
    ones as defaults."""

    alpha: Annotated[float, Range(gt=0, le=0.5)] = 0.05
    planned_n: float = Field(
        DEFAULT_PLANNED_N,
        description="Total users the always-valid test is tuned for (a whole number ≥ 2).",
    )
    guardrails: list[GuardrailRuleIn] = Field(
        [],
        max_length=MAX_GUARDRAIL_EVENTS,
        description="Non-inferiority rule per guardrail event (default: lower is better, "
        "tolerance 0.01 absolute).",
    )


class EventIn(TypedDict, total=False):
    """An exposure, conversion or covariate event (the store checks each, naming
    ``events[i].<field>``)."""

    event_id: Annotated[str, Field(description="Stored once per experiment: retries are safe.")]
    unit: str
    variant: str
    name: Annotated[
        str,
        Field(
            description="'exposure', the primary event, a guardrail event or 'covariate' (the "
            "unit's pre-period covariate in value; needs the unit's exposure, any ts)."
        ),
    ]
    ts: Annotated[str, Field(description="ISO-8601 with a timezone.")]
    covariate: Annotated[
        float, Field(description="On an exposure: the unit's pre-period covariate (CUPED).")
    ]
    value: Annotated[float, Field(description="On a 'covariate' event: the covariate.")]


class EventBatch(Body):
    """A batch of events, stored all or nothing."""

    events: records(EventIn)  # type: ignore[valid-type]


class DecisionIn(Body):
    """A decision record (the store checks every field, naming it)."""

    model_config = ConfigDict(
        extra="allow", json_schema_extra={"required": ["decision", "owner", "rationale"]}
    )

    decision: Checked({"type": "string", "enum": list(DECISIONS)}) = None  # type: ignore[valid-type]
    owner: Checked({"type": "string", "minLength": 1, "maxLength": 200}) = None  # type: ignore[valid-type]
    rationale: Checked({"type": "string", "minLength": 1, "maxLength": 5000}) = None  # type: ignore[valid-type]
    follow_up: Checked({"type": "string", "maxLength": 2000}) = None  # type: ignore[valid-type]


class Unit(Query):
    unit: str = Field(description="The unit's id.")


class SpecVersionQuery(Query):
    version: int | None = Field(None, ge=1, description="An older version (default: latest).")


class Reason(Query):
    reason: str = Field("", description="Why it changed; required after launch.")


class DecisionsQuery(Query):
    q: str = Field(
        "",
        description="Only records whose decision, owner, rationale or follow-up contains "
        "this (case-insensitive).",
    )
    format: Literal["json", "markdown"] = "json"


def _blank_is_absent(value: Any) -> Any:
    return None if value == "" else value


Option = Annotated[float | None, BeforeValidator(_blank_is_absent)]


class ReportOptions(Query):
    alpha: Option = Field(None, description="Significance level (default 0.05).")
    planned_n: Option = Field(None, description="Users the always-valid test is tuned for.")
    guardrail_tolerance: Option = Field(
        None, description="Tolerance of every guardrail event (default 0.01)."
    )


# -- results ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ExperimentAnswer(Experiment):
    """One experiment, with its stored events' count and latest times."""

    events: EventSummary


@dataclass(frozen=True, kw_only=True)
class ListedExperiment(Experiment):
    """An experiment in the list: ``winner`` is the one named by its latest analysis (POST
    .../analyze), null if it named none or none ran; the list analyses nothing."""

    winner: str | None


class Summary(TypedDict):
    total: int
    running: int
    winners: Annotated[int, Field(description="Experiments whose latest analysis named a winner.")]


class ExperimentList(TypedDict):
    experiments: list[ListedExperiment]  # newest first
    summary: Summary


class Assignment(TypedDict):
    variant: str


class ComparisonRow(TypedDict):
    """A treatment against the control (:meth:`VariantComparison.as_dict`)."""

    name: str
    estimate: float
    ci_low: float
    ci_high: float
    relative_lift: float
    relative_ci_low: float
    relative_ci_high: float
    test: str
    pvalue: float
    pvalue_adjusted: float
    msprt_log_lr: float
    msprt_pvalue: float
    msprt_pvalue_adjusted: float
    msprt_ci_low: float
    msprt_ci_high: float
    msprt_tau: float
    rejects: bool


serialized_as(VariantComparison, ComparisonRow)


class CupedComparisonRow(TypedDict):
    """A treatment against the control on the CUPED-adjusted conversion: the adjusted
    difference with its Welch interval and p-value (fixed-horizon, level 1 − alpha/(k − 1))
    beside the unadjusted difference, and the always-valid mSPRT on the adjusted difference
    (``msprt_pvalue_adjusted`` Bonferroni-adjusted over the k − 1 treatments)."""

    name: str
    estimate: float
    ci_low: float
    ci_high: float
    pvalue: float
    unadjusted_estimate: float
    msprt_log_lr: float
    msprt_pvalue: float
    msprt_pvalue_adjusted: float
    msprt_ci_low: float
    msprt_ci_high: float
    rejects: bool


serialized_as(CupedComparison, CupedComparisonRow, inline=True)  # :meth:`CupedComparison.as_dict`


class Amendment(TypedDict):
    """An audit-trail entry: which version, when, what changed and why."""

    version: int
    at: str
    changed: tuple[str, ...]
    reason: str


@dataclass(frozen=True, kw_only=True)
class PolicyResult(Verdict):
    """The pre-registered policy evaluated on this analysis, with the plan it holds to and
    the audit trail; ``looks`` are every analysis of the experiment (this one included)."""

    spec_version: int
    owner: str
    rules: list[dict[str, Any]]
    alpha: float
    planned_n: int
    runtime_days: int
    days: float
    peeks: int  # earlier looks before the horizon
    looks: list[Look]
    planned_end: str | None  # launch + runtime (UTC)
    amendments: list[Amendment]


@dataclass(frozen=True, kw_only=True)
class AnalysisResult(ExperimentAnalysis):
    """The analysis with the experiment's status, the bandit's weights, the weight periods,
    the guardrail events' conversions per variant and the policy's verdict (null without a
    spec)."""

    experiment_id: int
    status: str
    bandit: ThompsonWeights | None
    periods: tuple[WeightPeriod, ...]
    guardrails: dict[str, dict[str, int]]
    policy: PolicyResult | None


# The published spec schema, its "#/$defs/..." references re-rooted inside the document.
SCHEMAS: dict[str, Any] = {
    "ExperimentSpec": json.loads(
        json.dumps({k: v for k, v in schema().items() if k not in ("$schema", "$id")}).replace(
            '"#/$defs/', '"#/components/schemas/ExperimentSpec/$defs/'
        )
    )
}
SPEC = {"$ref": "#/components/schemas/ExperimentSpec"}
SpecDocument = Annotated[dict[str, Any], WithJsonSchema(SPEC)]


class SpecCreated(TypedDict):
    """The new draft and its computed plan."""

    experiment: Experiment
    plan: Plan


class Audit(TypedDict):
    versions: list[SpecVersion]
    amendments: list[Amendment]


class DecisionList(TypedDict):
    """The records, oldest first (each with the frozen analysis it rests on: result with
    policy, readout, warnings)."""

    experiment_id: int
    query: str
    decisions: list[Decision]
