"""Specs and decision records on the Experiments page (issue 15): write a spec (the sample,
broken then fixed), create and launch, analyse against the policy, record and find a decision,
export the spec and the records."""

from __future__ import annotations

import json
import re
import urllib.request

import yaml
from playwright.sync_api import Page, expect

from ..conftest import ADMIN_TOKEN
from ..experiment_events import traffic
from .test_experiments_page import post_events, sign_in


def create_plain(base: str, name: str) -> None:
    """An experiment made through POST /api/experiments, without a spec."""
    body = {"name": name, "primary_event": "purchase",
            "variants": [{"name": "control", "weight": 1}, {"name": "B", "weight": 1}]}  # fmt: skip
    request = urllib.request.Request(
        f"{base}/api/experiments",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    urllib.request.urlopen(request, timeout=10).close()


def test_spec_to_decision_record(page: Page, live_server: str) -> None:
    create_plain(live_server, "Made without a spec")
    sign_in(page, live_server)
    page.locator("#spec-card summary").click()
    page.get_by_role("button", name="Load the sample").click()
    editor = page.locator("#f-spec")
    expect(editor).to_have_value(re.compile("spec_version: 1"))
    sample = editor.input_value()

    # a bad field is named by its JSON path
    editor.fill(sample.replace("mde: 0.02", "mde: -0.02"))
    page.get_by_role("button", name="Create from spec").click()
    expect(page.locator("[data-spec-problems]")).to_contain_text("primary_metric.mde")

    editor.fill(sample)
    page.get_by_role("button", name="Create from spec").click()
    detail = page.locator("#detail")
    expect(detail.locator('[data-d="name"]')).to_have_text("Checkout copy")
    expect(detail.locator('[data-d="status"]')).to_have_text("draft")
    policy = page.locator("#policy-card")
    expect(policy.locator("[data-policy]")).to_contain_text("7,682 units over 8 days")

    # the spec exports as YAML with its computed plan
    with page.expect_download() as spec_file:
        page.get_by_role("button", name="Download spec (YAML)").click()
    exported = yaml.safe_load(spec_file.value.path().read_text(encoding="utf-8"))
    assert exported["plan"]["n_total"] == 7682 and exported["owner"] == "ana.lopez@example.com"

    detail.get_by_role("button", name="Launch").click()
    expect(detail.locator('[data-d="status"]')).to_have_text("running")
    key = page.locator("#ingest-key").input_value()
    experiment_id = detail.locator('[data-d="id"]').first.inner_text()
    events = traffic({"control": (300, 30), "pay-now": (300, 45)}, prefix="spec")
    assert post_events(live_server, experiment_id, key, events)["accepted"] == len(events)

    # analysed against the policy: the α and planned sample come from the spec
    detail.get_by_role("button", name="Analyze").click()
    expect(page.locator("#f-alpha")).to_have_value("0.05")
    expect(page.locator("#f-planned_n")).to_have_value("7682")
    expect(policy.locator("[data-policy]")).to_contain_text("Keep collecting")
    expect(policy.locator("[data-deviations]")).to_contain_text("Deviation (peeking)")
    expect(policy).to_contain_text("Audit trail: no amendment since launch")
    expect(policy.locator("[data-plan]")).to_contain_text("600 / 7,682")
    expect(page.locator("#fig-looks .main-svg").first).to_be_visible()

    # record a decision; the owner comes from the spec
    decisions = page.locator("#decisions-card")
    expect(decisions.locator("#f-owner")).to_have_value("ana.lopez@example.com")
    decisions.locator("#f-decision").select_option("iterate")
    decisions.locator("#f-rationale").fill("Too early: peeked at 600 of 7,682 units.")
    decisions.locator("#f-follow_up").fill("Look again at the horizon.")
    decisions.get_by_role("button", name="Record decision").click()
    table = decisions.locator('[data-table="decisions"]')
    expect(table).to_contain_text("1 decision record")
    expect(table).to_contain_text("Too early")
    expect(table).to_contain_text("continue")  # what the policy said then

    decisions.locator("#f-decision_q").fill("nothing like this")
    expect(table).to_contain_text("0 decision records")
    decisions.locator("#f-decision_q").fill("HORIZON")
    expect(table).to_contain_text("1 decision record matching")

    with page.expect_download() as markdown:
        decisions.get_by_role("button", name="Export Markdown").click()
    text = markdown.value.path().read_text(encoding="utf-8")
    assert "iterate" in text and "Look again at the horizon." in text

    # then an experiment made without a spec: no policy card, the page's own analysis options
    row = page.locator("#exp-table tbody tr", has_text="Made without a spec")
    row.get_by_role("button", name="View").click()
    expect(detail.locator('[data-d="name"]')).to_have_text("Made without a spec")
    expect(policy).to_be_hidden()
    expect(page.locator("#f-planned_n")).to_have_value("10000")
    expect(page.locator("#f-alpha")).to_have_value("0.05")
