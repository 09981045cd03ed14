"""Download report and Copy link, in a real browser: the report saved from a page opens from
file:// with the network blocked and draws its charts."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from ..conftest import ADMIN_TOKEN
from ..experiment_events import covariate_traffic


def download_report(page: Page, button: Locator, tmp_path: Path) -> Path:
    """Click the enabled ``button`` and save the download under ``tmp_path``: its path."""
    expect(button).to_be_enabled()
    with page.expect_download() as info:
        button.click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    return saved


def open_offline(browser: Browser, report: Path) -> None:
    """Open the saved report in a fresh offline context that also refuses any request, and
    check that its charts render and nothing was fetched."""
    context = browser.new_context(offline=True)
    fetched: list[str] = []
    errors: list[str] = []
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else (fetched.append(route.request.url), route.abort()))  # fmt: skip
    offline = context.new_page()
    offline.on("pageerror", lambda e: errors.append(str(e)))
    offline.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    offline.goto(report.as_uri())
    charts = offline.locator(".chart")
    assert charts.count() >= 1
    for i in range(charts.count()):
        expect(charts.nth(i).locator(".main-svg").first).to_be_visible()
    expect(offline.locator("#readout")).not_to_be_empty()
    assert not fetched, fetched
    assert not errors, errors
    context.close()


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/power", "You need 3,841 users per group"), ("/sequential", "")],
)
def test_download_report_opens_offline_with_charts(
    page: Page, live_server: str, browser: Browser, tmp_path: Path, path: str, expected: str
) -> None:
    page.goto(f"{live_server}{path}")
    readout = page.locator("[data-readout]").first
    expect(readout).not_to_be_empty()
    expect(readout).to_contain_text(expected)
    saved = download_report(page, page.locator("[data-report]").first, tmp_path)
    assert saved.name.startswith("abacus-") and saved.suffix == ".html"
    html = saved.read_text(encoding="utf-8")
    assert readout.inner_text().strip()[:60] in html
    open_offline(browser, saved)


def test_copy_link_copies_the_page_url(page: Page, live_server: str) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"{live_server}/power")
    expect(page.locator("[data-readout]")).to_contain_text("3,841")
    page.fill("#f-mde", "0.03")
    expect(page.locator("[data-readout]")).to_contain_text("1,774")
    page.locator("[data-copy-link]").first.click()
    expect(page.locator(".toast")).to_contain_text("Link copied")
    assert page.evaluate("navigator.clipboard.readText()") == page.url
    assert "mde=0.03" in page.url


def api(base: str, method: str, path: str, body: Any, token: str) -> Any:
    request = urllib.request.Request(
        f"{base}{path}",
        data=json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.load(r)


def test_experiment_with_covariates_shows_cuped_and_downloads_its_report(
    page: Page, live_server: str, browser: Browser, tmp_path: Path
) -> None:
    spec = {"name": "Covariate checkout", "primary_event": "purchase",
            "guardrail_events": ["refund"],
            "variants": [{"name": "control", "weight": 1}, {"name": "B", "weight": 1}]}  # fmt: skip
    exp = api(live_server, "POST", "/api/experiments", spec, ADMIN_TOKEN)
    api(live_server, "POST", f"/api/experiments/{exp['id']}/launch", {}, ADMIN_TOKEN)
    events = covariate_traffic(("control", "B"), seed=5, slope=0.03, lift=0.04, refund_every=20)
    path = f"/api/experiments/{exp['id']}/events"
    assert api(live_server, "POST", path, {"events": events}, exp["ingest_key"])["accepted"]

    page.goto(f"{live_server}/experiments")
    page.fill("#f-token", ADMIN_TOKEN)
    page.get_by_role("button", name="Use token").click()
    page.goto(f"{live_server}/experiments?experiment={exp['id']}")
    detail = page.locator("#detail")
    expect(detail.locator('[data-d="name"]')).to_have_text("Covariate checkout")
    detail.get_by_role("button", name="Analyze").click()
    expect(page.locator("#analysis [data-readout]")).to_contain_text("With CUPED")
    expect(page.locator("#fig-cuped .main-svg").first).to_be_visible()
    expect(page.locator("[data-kpis]")).to_contain_text("always-valid p (CUPED)")
    expect(page.locator("#fig-guardrails .main-svg").first).to_be_visible()
    expect(page.locator('[data-table="cuped"]')).to_contain_text("CUPED difference")
    expect(page.locator('[data-table="guardrails"]')).to_contain_text("refund")
    saved = download_report(page, page.locator("#analysis [data-report]"), tmp_path)
    assert saved.name.startswith(f"abacus-experiment-{exp['id']}-")
    html = saved.read_text(encoding="utf-8")
    assert "Covariate checkout" in html and "With CUPED" in html
    open_offline(browser, saved)
