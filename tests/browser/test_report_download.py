"""Download report and Copy link, in a real browser: the report saved from a page opens from
file:// with the network blocked and draws its charts."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect


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
    button = page.locator("[data-report]").first
    expect(button).to_be_enabled()
    with page.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename.startswith("abacus-")
    assert download.suggested_filename.endswith(".html")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
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
