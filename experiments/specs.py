"""Experiment specs: a pre-registered plan in YAML or JSON, validated against a published schema.

A spec (``spec.schema.json``, JSON Schema 2020-12, also served at
``GET /api/experiments/spec/schema``) holds the hypothesis, the audience, the allocation, the
primary metric with its direction and minimum worthwhile effect, guardrails with thresholds,
planning inputs, the decision policy and the owner. :func:`parse_spec` reads the text (PyYAML's
``safe_load``: no Python objects; JSON is YAML, so one reader serves both), :func:`validate_spec`
checks it against the schema with the ``jsonschema`` library and then what a schema cannot say
(distinct names, a primary event that is not a guardrail), and computes the :class:`Plan`: the
sample size and runtime from :func:`stats.power.solve_power_proportions`, never typed in.

Every problem is a :class:`SpecProblem` naming the JSON path of the bad field
(``primary_metric.mde``, ``allocation.variants[1].weight``), so the API answers 422 naming it.
Nothing here touches Flask or the database.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from stats.errors import InvalidInput
from stats.power import solve_power_proportions

SCHEMA_PATH = Path(__file__).with_name("spec.schema.json")
MAX_SPEC_BYTES = 100_000
MAX_PROBLEMS = 20
FROZEN_SECTIONS = ("allocation", "primary_metric", "policy")
"""What may not change once the experiment runs; a later change is an audited deviation."""
EXPOSURE = "exposure"

# stats.power's parameters as a spec spells them
_POWER_FIELDS = {
    "baseline": "primary_metric.baseline",
    "mde": "primary_metric.mde",
    "power": "planning.power",
    "alpha": "policy.alpha",
    "daily_traffic": "planning.daily_traffic",
    "ratio": "allocation.variants",
    "arms": "allocation.variants",
}


@dataclass(frozen=True, slots=True)
class SpecProblem:
    field: str  # JSON path: primary_metric.mde, allocation.variants[1].weight, or "body"
    detail: str


class SpecInvalid(ValueError):
    """The spec does not parse or validate; ``problems`` name each bad field."""

    def __init__(self, problems: Sequence[SpecProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.detail}" for p in problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class Plan:
    """The planned sample and runtime, computed from the spec by :mod:`stats.power`.

    ``n_per_group`` is the control arm's size from the Fleiss two-proportion formula at the
    policy's α (two-sided, Bonferroni over the treatments when there are several, as the
    analysis tests) and the planning power, for the signed absolute ``mde``, with each
    treatment at ``ratio`` = its weight / the control's (the smallest treatment binds).
    ``arm_sizes`` gives every variant its share of the same traffic, ``n_total`` their sum,
    ``days`` = ceil(n_total / daily_traffic) and ``runtime_days`` = max(days, min_days)."""

    n_per_group: int
    arm_sizes: tuple[int, ...]
    n_total: int
    days: int
    runtime_days: int
    mde_absolute: float  # signed: treatment minus control in the better direction
    power: float
    achieved_power: float
    alpha: float
    method: str
    computed_by: str = "stats.power.solve_power_proportions"
    warnings: tuple[str, ...] = ()  # stats.power's, e.g. a run longer than a year


@cache
def schema() -> dict[str, Any]:
    """The published JSON Schema (parsed once)."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


@cache
def _validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(schema())
    return Draft202012Validator(schema())


def parse_spec(text: bytes | str) -> Any:
    """The document in ``text``: YAML 1.1 through ``yaml.safe_load`` (JSON is valid YAML).
    Too long, not UTF-8 or not YAML raises :class:`SpecInvalid` on ``body``."""
    if len(text) > MAX_SPEC_BYTES:
        _fail("body", f"must be at most {MAX_SPEC_BYTES:,} bytes, got {len(text):,}")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            _fail("body", "must be UTF-8 text (YAML or JSON)")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "is not valid YAML or JSON"
        _fail("body", f"is not valid YAML or JSON{where}: {problem}")


def validate_spec(document: Any) -> tuple[dict[str, Any], Plan]:
    """The spec with its defaults filled in (``plan`` removed), and its computed :class:`Plan`.

    Raises :class:`SpecInvalid` naming every schema violation (up to ``MAX_PROBLEMS``) by JSON
    path, then the first cross-field problem, then a ``plan`` that differs from the computed one.
    """
    if not isinstance(document, Mapping):
        _fail("body", f"must be a YAML or JSON object (a mapping), got {type(document).__name__}")
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        raise SpecInvalid([_problem(e) for e in errors][:MAX_PROBLEMS])
    spec = _with_defaults(document)
    _check_names(spec)
    plan = plan_for(spec)
    given = document.get("plan")
    if given is not None:
        computed = plan_document(plan)
        for key, value in given.items():
            if computed.get(key) != value:
                _fail(
                    f"plan.{key}",
                    f"is computed from the planning inputs ({computed.get(key)!r}), got "
                    f"{value!r}; leave plan out",
                )
    return spec, plan


def plan_for(spec: Mapping[str, Any]) -> Plan:
    """Solve the spec's design with :func:`stats.power.solve_power_proportions`."""
    metric, policy, planning = spec["primary_metric"], spec["policy"], spec["planning"]
    weights = [float(v["weight"]) for v in spec["allocation"]["variants"]]
    control, treatments = weights[0], weights[1:]
    sign = 1.0 if metric["direction"] == "increase" else -1.0
    try:
        result = solve_power_proportions(
            metric["baseline"],
            sign * metric["mde"],
            power=planning["power"],
            mde_type=metric["mde_type"],
            alpha=policy["alpha"],
            alternative="two-sided",
            ratio=min(treatments) / control,
            arms=len(treatments),
            bonferroni=len(treatments) > 1,
            daily_traffic=planning["daily_traffic"],
            curves=False,
        )
    except InvalidInput as exc:
        field = _POWER_FIELDS.get(exc.field or "", exc.field or "body")
        raise SpecInvalid([SpecProblem(field, exc.message)]) from None
    n = result.n_per_group
    arm_sizes = (n, *(math.ceil(n * w / control) for w in treatments))
    n_total = sum(arm_sizes)
    days = max(1, math.ceil(n_total / planning["daily_traffic"]))
    return Plan(
        n_per_group=n,
        arm_sizes=arm_sizes,
        n_total=n_total,
        days=days,
        runtime_days=max(days, planning["min_days"]),
        mde_absolute=result.mde,
        power=result.power,
        achieved_power=result.achieved_power,
        alpha=result.alpha,
        method=result.method,
        warnings=tuple(w.message for w in result.warnings),
    )


def plan_document(plan: Plan) -> dict[str, Any]:
    """The plan as the exported spec shows it (JSON types only)."""
    out: dict[str, Any] = json.loads(json.dumps(asdict(plan)))
    return out


def export(spec: Mapping[str, Any], plan: Plan | Mapping[str, Any]) -> dict[str, Any]:
    """The spec with its computed plan, in the schema's key order (for YAML or JSON)."""
    order = [*schema()["properties"]]
    out = {key: spec[key] for key in order if key in spec}
    out["plan"] = plan_document(plan) if isinstance(plan, Plan) else dict(plan)
    return out


def to_yaml(document: Mapping[str, Any]) -> str:
    """Block-style YAML that :func:`parse_spec` reads back to the same document."""
    return yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True, width=100)


def store_fields(spec: Mapping[str, Any]) -> dict[str, Any]:
    """What :meth:`experiments.store.Store.create_experiment` takes, from a valid spec."""
    return {
        "name": spec["name"],
        "hypothesis": spec["hypothesis"],
        "primary_event": spec["primary_metric"]["event"],
        "guardrail_events": [g["event"] for g in spec["guardrails"]],
        "bandit": False,
        "variants": [dict(v) for v in spec["allocation"]["variants"]],
    }


def changed_sections(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[str, ...]:
    """Top-level sections whose content differs, in the schema's order."""
    return tuple(k for k in schema()["properties"] if k != "plan" and before.get(k) != after.get(k))


# -- helpers ------------------------------------------------------------------------------------


def _fail(field: str, detail: str) -> Any:
    raise SpecInvalid([SpecProblem(field, detail)])


def json_path(parts: Iterable[str | int]) -> str:
    """``["allocation", "variants", 1, "weight"]`` -> ``allocation.variants[1].weight``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problem(error: ValidationError) -> SpecProblem:
    """One schema violation, named by the path of the field at fault: a missing or unknown
    property is named itself, not its parent object."""
    path: list[str | int] = list(error.absolute_path)
    instance = error.instance
    if error.validator == "required" and isinstance(instance, Mapping):
        missing = [p for p in error.validator_value if p not in instance]
        if missing:
            return SpecProblem(json_path([*path, missing[0]]), "is required")
    if error.validator == "additionalProperties" and isinstance(instance, Mapping):
        known = error.schema.get("properties", {})
        extra = [p for p in instance if p not in known]
        if extra:
            return SpecProblem(
                json_path([*path, str(extra[0])]),
                f"is not a known field; known: {', '.join(known)}",
            )
    if error.validator == "not" and path and isinstance(instance, Mapping):
        return SpecProblem(json_path([*path, "method"]), "is only for mode sequential")
    return SpecProblem(json_path(path) or "body", error.message)


def _with_defaults(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy with the schema's defaults filled in and ``plan`` left out."""
    spec = json.loads(json.dumps({k: v for k, v in document.items() if k != "plan"}))
    spec.setdefault("guardrails", [])
    spec["allocation"].setdefault("unit", "user")
    spec["audience"].setdefault("description", "")
    spec["primary_metric"].setdefault("mde_type", "absolute")
    spec["planning"].setdefault("power", 0.8)
    spec["planning"].setdefault("min_days", 7)
    return spec


def _check_names(spec: Mapping[str, Any]) -> None:
    """What the schema cannot say: unique variant names, distinct events."""
    seen: set[str] = set()
    for i, v in enumerate(spec["allocation"]["variants"]):
        if v["name"] in seen:
            _fail(f"allocation.variants[{i}].name", f"must be unique, got {v['name']!r} twice")
        seen.add(v["name"])
    primary = spec["primary_metric"]["event"]
    if primary == EXPOSURE:
        _fail("primary_metric.event", f"must not be {EXPOSURE!r}, which marks exposures")
    events = {EXPOSURE, primary}
    for i, g in enumerate(spec["guardrails"]):
        if g["event"] in events:
            _fail(
                f"guardrails[{i}].event",
                f"must differ from 'exposure', the primary event and the other guardrails, got "
                f"{g['event']!r}",
            )
        events.add(g["event"])
