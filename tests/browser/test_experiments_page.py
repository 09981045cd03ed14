"""The Experiments admin page in a real browser: token, create, launch, ingest, analyse, stop."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from ..conftest import ADMIN_TOKEN
from ..experiment_events import traffic as events_for


def post_events(base: str, experiment_id: str, key: str, events: list[dict[str, str]]) -> Any:
    request = urllib.request.Request(
        f"{base}/api/experiments/{experiment_id}/events",
        data=json.dumps({"events": events}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.load(r)


def traffic(counts: dict[str, tuple[int, int]]) -> list[dict[str, str]]:
    """Exposures, and signups at 10:03 UTC (the detail view's last event time)."""
    return events_for(counts, event="signup", converted_at="2026-11-20T10:03:00Z")


def sign_in(page: Page, live_server: str, token: str = ADMIN_TOKEN) -> None:
    page.goto(f"{live_server}/experiments")
    page.fill("#f-token", token)
    page.get_by_role("button", name="Use token").click()


def winners(page: Page) -> int:
    """The summary's count of winners found, over every experiment the shared server holds
    (other tests' experiments included)."""
    summary = page.locator("[data-summary]")
    expect(summary).to_contain_text("winners found")
    found = re.search(r"([\d,]+)\s*winners found", summary.inner_text())
    assert found is not None
    return int(found.group(1).replace(",", ""))


def test_create_launch_ingest_analyse_stop(page: Page, live_server: str) -> None:
    sign_in(page, live_server)
    expect(page.locator("[data-summary]")).to_contain_text("experiments")
    winners_before = winners(page)

    page.locator("#create-card summary").click()
    page.fill("#f-name", "Signup button")
    page.fill("#f-hypothesis", "A green button lifts signups.")
    page.get_by_role("button", name="Add variant").click()
    page.get_by_label("Variant 3 name").fill("C")
    page.get_by_role("button", name="Remove variant 3").click()  # back to two variants
    page.get_by_label("Variant 2 name").fill("green")
    page.fill("#f-primary_event", "signup")
    page.get_by_role("button", name="Create draft").click()

    detail = page.locator("#detail")
    expect(detail).to_be_visible()
    expect(detail.locator('[data-d="name"]')).to_have_text("Signup button")
    expect(detail.locator('[data-d="status"]')).to_have_text("draft")
    row = page.locator("#exp-table tbody tr", has_text="Signup button")
    expect(row).to_contain_text("draft")

    detail.get_by_role("button", name="Launch").click()
    expect(detail.locator('[data-d="status"]')).to_have_text("running")
    key = page.locator("#ingest-key").input_value()
    experiment_id = detail.locator('[data-d="id"]').first.inner_text()
    assert len(key) > 20

    answer = post_events(
        live_server, experiment_id, key, traffic({"control": (3000, 300), "green": (3000, 420)})
    )
    assert answer == {"accepted": 6720, "duplicates": 0}

    detail.get_by_role("button", name="Analyze").click()
    readout = page.locator("[data-readout]")
    expect(readout).to_contain_text("Ship green")
    expect(page.locator("#fig-rates .main-svg").first).to_be_visible()
    expect(page.locator("#fig-exposures .main-svg").first).to_be_visible()
    table = page.locator('[data-table="analysis"] table')
    expect(table).to_contain_text("3,000")
    expect(page.locator("[data-kpis]")).to_contain_text("green")
    with page.expect_download() as info:
        page.locator('[data-table="analysis"]').get_by_role("button", name="Download CSV").click()
    csv = Path(info.value.path()).read_text()
    assert csv.startswith("Variant,Exposures") and "green,3000" in csv
    expect(page.locator("[data-summary]")).to_contain_text(f"{winners_before + 1}winners found")

    detail.get_by_role("button", name="Stop").click()
    page.locator("dialog#confirm").get_by_role("button", name="Stop for good").click()
    expect(detail.locator('[data-d="status"]')).to_have_text("stopped")
    expect(row).to_contain_text("stopped")


def test_bandit_shows_thompson_parameters_and_weights_chart(page: Page, live_server: str) -> None:
    sign_in(page, live_server)
    page.locator("#create-card summary").click()
    page.fill("#f-name", "Bandit headline")
    page.fill("#f-primary_event", "signup")
    page.check("#f-bandit")
    page.get_by_role("button", name="Create draft").click()
    detail = page.locator("#detail")
    expect(detail.locator('[data-d="bandit"]')).to_be_visible()
    detail.get_by_role("button", name="Launch").click()
    expect(detail.locator('[data-d="status"]')).to_have_text("running")
    key = page.locator("#ingest-key").input_value()
    experiment_id = detail.locator('[data-d="id"]').first.inner_text()
    post_events(live_server, experiment_id, key, traffic({"control": (200, 10), "B": (200, 40)}))
    detail.get_by_role("button", name="Analyze").click()
    expect(page.locator("#fig-weights .main-svg").first).to_be_visible()
    variants = page.locator("#variant-table")
    expect(variants).to_contain_text("Thompson α")
    expect(variants.locator("tbody tr").nth(1)).to_contain_text("41")  # 1 + 40 conversions


def test_wrong_token_and_bad_input_are_reported(page: Page, live_server: str) -> None:
    sign_in(page, live_server, "wrong")
    expect(page.locator('[data-field="Authorization"] .toast')).to_contain_text("wrong")
    expect(page.locator("#app")).to_be_hidden()
    sign_in(page, live_server)
    page.locator("#create-card summary").click()
    page.fill("#f-name", "Dup")
    page.get_by_label("Variant 2 name").fill("control")
    page.get_by_role("button", name="Create draft").click()
    expect(page.locator('[data-field="variants[1].name"] .toast')).to_contain_text("unique")


def test_experiments_page_works_on_a_phone(page: Page, live_server: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server)
    expect(page.locator("[data-summary]")).to_contain_text("experiments")
    page.locator("#create-card summary").click()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page scrolls sideways on a phone ({width}px)"


LONG_NAME = "Checkout redesign with a long descriptive name " * 2 + "Pneumonoultramicroscopic" * 2


def in_viewport(page: Page, selector: str) -> None:
    """Every matching visible button lies wholly inside the viewport."""
    width = page.viewport_size["width"] if page.viewport_size else 0
    boxes = page.eval_on_selector_all(
        selector,
        "els => els.filter(e => e.offsetParent).map(e => {"
        " const r = e.getBoundingClientRect(); return [e.textContent, r.left, r.right]; })",
    )
    assert boxes, f"no visible {selector}"
    for text, left, right in boxes:
        assert left >= 0 and right <= width + 0.5, (
            f"{text!r} is off-screen ({left}..{right} of {width})"
        )


def create_running(page: Page, name: str) -> None:
    page.locator("#create-card summary").click()
    page.fill("#f-name", name)
    page.fill("#f-primary_event", "signup")
    page.get_by_role("button", name="Create draft").click()
    detail = page.locator("#detail")
    expect(detail.locator('[data-d="status"]')).to_have_text("draft")
    detail.get_by_role("button", name="Launch").click()
    expect(detail.locator('[data-d="status"]')).to_have_text("running")


@pytest.mark.parametrize("width", [1366, 390])
def test_long_name_keeps_the_actions_on_screen(page: Page, live_server: str, width: int) -> None:
    """Issue 11: a long experiment name pushed Stop and Delete off-screen."""
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server)
    create_running(page, f"{width} {LONG_NAME}")
    row = page.locator("#exp-table tbody tr", has_text=f"{width} Checkout")
    expect(row.get_by_role("button", name="Stop")).to_be_visible()
    row.scroll_into_view_if_needed()
    in_viewport(page, f"#exp-table tbody tr:has-text('{width} Checkout') button")
    page.locator("#detail").scroll_into_view_if_needed()
    in_viewport(page, "#detail .exp-actions button")
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width + 1, f"the page scrolls sideways ({scroll}px at {width}px)"


def test_stop_and_delete_ask_first_and_name_the_consequence(page: Page, live_server: str) -> None:
    """Issue 11: Stop and Delete acted at once; a stopped experiment cannot be relaunched."""
    sign_in(page, live_server)
    create_running(page, "Confirm me")
    detail = page.locator("#detail")
    dialog = page.locator("dialog#confirm")

    detail.get_by_role("button", name="Stop").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Stop Confirm me?")
    expect(dialog).to_contain_text("cannot be relaunched")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(detail.locator('[data-d="status"]')).to_have_text("running")

    row = page.locator("#exp-table tbody tr", has_text="Confirm me")
    row.get_by_role("button", name="Stop").click()  # from the list too
    expect(dialog).to_contain_text("cannot be relaunched")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("running")

    detail.get_by_role("button", name="Stop").click()
    dialog.get_by_role("button", name="Stop for good").click()
    expect(detail.locator('[data-d="status"]')).to_have_text("stopped")
    expect(page.locator("[data-readout]")).to_contain_text("This experiment is stopped")
    expect(page.locator("[data-readout]")).not_to_contain_text("as often as you like")

    detail.get_by_role("button", name="Delete").click()
    expect(dialog).to_contain_text("Delete Confirm me?")
    expect(dialog).to_contain_text("cannot be undone")
    dialog.get_by_role("button", name="Cancel").click()
    expect(row).to_be_visible()
    detail.get_by_role("button", name="Delete").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    expect(detail).to_be_hidden()


def admin_call(base: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        f"{base}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.load(r)


def running_with_events(base: str, name: str) -> str:
    """A running experiment (created over the API) with 8 events, the last at 10:03 UTC."""
    exp = admin_call(base, "POST", "/api/experiments", {
        "name": name, "primary_event": "signup",
        "variants": [{"name": "control", "weight": 0.5}, {"name": "B", "weight": 0.5}]})  # fmt: skip
    admin_call(base, "POST", f"/api/experiments/{exp['id']}/launch")
    post_events(base, str(exp["id"]), exp["ingest_key"], traffic({"control": (3, 1), "B": (2, 2)}))
    return str(exp["id"])


def test_detail_shows_events_and_lives_in_the_url(page: Page, live_server: str) -> None:
    """Issue 15: the detail view shows the event count and the last event's time, and the
    open detail view is in the URL: a link opens it, reload and back/forward restore it."""
    first = running_with_events(live_server, "Linked one")
    second = running_with_events(live_server, "Linked two")
    sign_in(page, live_server)
    detail = page.locator("#detail")
    events = detail.locator('[data-d="events"]')
    page.locator("#exp-table tbody tr", has_text="Linked one").get_by_role(
        "button", name="View"
    ).click()
    expect(detail.locator('[data-d="name"]')).to_have_text("Linked one")
    expect(events).to_contain_text("8 events · last 2026-11-20 10:03 UTC (received 20")
    expect(page).to_have_url(f"{live_server}/experiments?experiment={first}")

    page.reload()  # the token stays in sessionStorage: the same detail comes back
    expect(detail.locator('[data-d="name"]')).to_have_text("Linked one")
    expect(events).to_contain_text("8 events")
    expect(page.locator("#analysis")).to_be_visible()  # its analysis done, as a user sees it

    page.locator("#exp-table tbody tr", has_text="Linked two").get_by_role(
        "button", name="View"
    ).click()
    expect(page).to_have_url(f"{live_server}/experiments?experiment={second}")
    expect(detail.locator('[data-d="name"]')).to_have_text("Linked two")
    page.go_back()
    expect(page).to_have_url(f"{live_server}/experiments?experiment={first}")
    expect(detail.locator('[data-d="name"]')).to_have_text("Linked one")

    detail.get_by_role("button", name="Close").click()
    expect(detail).to_be_hidden()
    expect(page).to_have_url(f"{live_server}/experiments")
    page.go_back()
    expect(detail).to_be_visible()
    expect(detail.locator('[data-d="name"]')).to_have_text("Linked one")
    page.go_forward()
    expect(detail).to_be_hidden()

    page.goto(f"{live_server}/experiments?experiment={second}")  # a shared link
    expect(detail.locator('[data-d="name"]')).to_have_text("Linked two")
    expect(events).to_contain_text("8 events")

    draft = admin_call(live_server, "POST", "/api/experiments", {
        "name": "Quiet draft", "primary_event": "signup",
        "variants": [{"name": "control", "weight": 0.5}, {"name": "B", "weight": 0.5}]})  # fmt: skip
    page.goto(f"{live_server}/experiments?experiment={draft['id']}")
    expect(detail.locator('[data-d="name"]')).to_have_text("Quiet draft")
    expect(events).to_have_text("no events yet")
