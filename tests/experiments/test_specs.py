"""Experiment specs: the sample validates, every bad field is named by its JSON path, and the
plan is the closed-form Fleiss sample size (computed here independently of stats.power)."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from scipy.stats import norm

from experiments.specs import (
    SCHEMA_PATH,
    SpecInvalid,
    changed_sections,
    export,
    parse_spec,
    store_fields,
    to_yaml,
    validate_spec,
)

SAMPLE = Path(__file__).resolve().parents[2] / "static" / "samples" / "experiment_spec.yaml"


def sample() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    return loaded


def fleiss_n(p1: float, p2: float, alpha: float, power: float, ratio: float = 1.0) -> int:
    """Fleiss, Levin & Paik (2003) eq. 4.14 for unequal groups (n2 = ratio * n1), two-sided:
    n1 = (z_a sqrt(pbar qbar (1 + 1/r)) + z_b sqrt(p1 q1 + p2 q2 / r))^2 / delta^2."""
    pbar = (p1 + ratio * p2) / (1 + ratio)
    za, zb = norm.ppf(1 - alpha / 2), norm.ppf(power)
    root = za * math.sqrt(pbar * (1 - pbar) * (1 + 1 / ratio)) + zb * math.sqrt(
        p1 * (1 - p1) + p2 * (1 - p2) / ratio
    )
    return math.ceil(root**2 / (p2 - p1) ** 2)


def problems(document: Any) -> list[tuple[str, str]]:
    with pytest.raises(SpecInvalid) as caught:
        validate_spec(document)
    return [(p.field, p.detail) for p in caught.value.problems]


def test_the_published_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def test_the_sample_validates_and_plans_with_the_fleiss_closed_form() -> None:
    spec, plan = validate_spec(parse_spec(SAMPLE.read_bytes()))
    n = fleiss_n(0.10, 0.12, alpha=0.05, power=0.8)
    assert plan.n_per_group == n
    assert plan.arm_sizes == (n, n)
    assert plan.n_total == 2 * n
    assert plan.days == math.ceil(2 * n / 1000)
    assert plan.runtime_days == max(plan.days, 7)
    assert spec["guardrails"][0] == {"event": "refund", "threshold": 0.01}


def test_unequal_allocation_plans_the_smallest_arm_and_gives_each_arm_its_share() -> None:
    doc = sample()
    doc["allocation"]["variants"] = [
        {"name": "control", "weight": 0.6},
        {"name": "B", "weight": 0.4},
    ]
    _, plan = validate_spec(doc)
    n = fleiss_n(0.10, 0.12, alpha=0.05, power=0.8, ratio=0.4 / 0.6)
    assert plan.n_per_group == n
    assert plan.arm_sizes == (n, math.ceil(n * 0.4 / 0.6))


def test_several_treatments_plan_at_the_bonferroni_level() -> None:
    doc = sample()
    doc["allocation"]["variants"].append({"name": "C", "weight": 0.5})
    _, plan = validate_spec(doc)
    n = fleiss_n(0.10, 0.12, alpha=0.05 / 2, power=0.8)
    assert plan.arm_sizes == (n, n, n)


def test_a_decrease_and_a_relative_mde_give_a_signed_absolute_effect() -> None:
    doc = sample()
    doc["primary_metric"].update(direction="decrease", mde=0.1, mde_type="relative")
    _, plan = validate_spec(doc)
    assert plan.mde_absolute == pytest.approx(-0.01)
    assert plan.n_per_group == fleiss_n(0.10, 0.09, alpha=0.05, power=0.8)


def test_the_plan_carries_the_power_warnings() -> None:
    doc = sample()
    doc["planning"]["daily_traffic"] = 10
    _, plan = validate_spec(doc)
    assert plan.days == math.ceil(plan.n_total / 10) > 365
    assert any("days at your traffic" in w for w in plan.warnings)
    assert validate_spec(sample())[1].warnings == ()


def test_yaml_and_json_are_the_same_spec_and_export_round_trips() -> None:
    from_yaml = validate_spec(parse_spec(SAMPLE.read_bytes()))
    from_json = validate_spec(parse_spec(json.dumps(sample()).encode()))
    assert from_yaml == from_json
    exported = export(*from_yaml)
    assert exported["plan"]["n_total"] == from_yaml[1].n_total
    again = validate_spec(parse_spec(to_yaml(exported)))  # a repeated plan is accepted
    assert again == from_yaml


def test_store_fields_map_the_spec_onto_the_experiment() -> None:
    spec, _ = validate_spec(sample())
    fields = store_fields(spec)
    assert fields["primary_event"] == "purchase"
    assert fields["guardrail_events"] == ["refund", "support_ticket"]
    assert [v["name"] for v in fields["variants"]] == ["control", "pay-now"]


def edit(path: str, value: Any) -> dict[str, Any]:
    """The sample with the dotted ``path`` set (or deleted when value is ...)."""
    doc = copy.deepcopy(sample())
    *parents, last = path.replace("[", ".").replace("]", "").split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    key: Any = int(last) if last.isdigit() else last
    if value is ...:
        del node[key]
    else:
        node[key] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        ("owner", ..., "owner"),
        ("primary_metric.mde", -0.01, "primary_metric.mde"),
        ("primary_metric.direction", "up", "primary_metric.direction"),
        ("primary_metric.baseline", 1.5, "primary_metric.baseline"),
        ("allocation.variants[1].weight", "half", "allocation.variants[1].weight"),
        ("allocation.variants[1].colour", "red", "allocation.variants[1].colour"),
        ("guardrails[0].threshold", 0, "guardrails[0].threshold"),
        ("policy.alpha", 0.9, "policy.alpha"),
        ("policy.mode", "sequential", "policy.method"),
        ("policy.method", "msprt", "policy.method"),
        ("policy.rules[2].then", "launch", "policy.rules[2].then"),
        ("policy.rules[2].when", "always", "policy.rules[2].when"),
        ("planning.daily_traffic", 0, "planning.daily_traffic"),
        ("audience.exclude", ..., "audience.exclude"),
        ("spec_version", 2, "spec_version"),
    ],
)
def test_schema_violations_name_the_json_path(path: str, value: Any, named: str) -> None:
    assert named in [field for field, _ in problems(edit(path, value))]


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        ("allocation.variants[1].name", "control", "allocation.variants[1].name"),
        ("guardrails[0].event", "purchase", "guardrails[0].event"),
        ("primary_metric.event", "exposure", "primary_metric.event"),
        # a treatment rate of 0.99 + 0.02 leaves (0, 1): stats.power's field, renamed
        ("primary_metric.baseline", 0.99, "primary_metric.mde"),
        ("plan", {"n_total": 100}, "plan.n_total"),
    ],
)
def test_cross_field_problems_name_the_json_path(path: str, value: Any, named: str) -> None:
    assert [field for field, _ in problems(edit(path, value))] == [named]


def test_every_violation_is_listed() -> None:
    doc = edit("owner", ...)
    doc["policy"]["alpha"] = 2
    assert {f for f, _ in problems(doc)} == {"owner", "policy.alpha"}


@pytest.mark.parametrize(
    "text",
    [b"name: [unclosed", b"\xff\xfe", b"!!python/object/apply:os.system ['true']", b"- a list"],
)
def test_unreadable_or_unsafe_text_is_a_problem_with_the_body(text: bytes) -> None:
    with pytest.raises(SpecInvalid) as caught:
        validate_spec(parse_spec(text))
    assert caught.value.problems[0].field == "body"


def test_a_huge_body_is_refused_before_parsing() -> None:
    with pytest.raises(SpecInvalid, match="at most"):
        parse_spec(b"#" * 200_000)


def test_changed_sections_lists_what_differs() -> None:
    before, _ = validate_spec(sample())
    after = copy.deepcopy(before)
    after["primary_metric"]["event"] = "refund"
    after["owner"] = "someone else"
    assert changed_sections(before, after) == ("owner", "primary_metric")
