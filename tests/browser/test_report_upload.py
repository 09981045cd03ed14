"""Download report for data uploaded as a file, in a real browser: the page's form goes to
POST /api/report as it is, and the saved report opens from file:// offline with its charts."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from .abtest_steps import open_csv_mode
from .test_report_download import open_offline

SAMPLE = Path(__file__).parents[2] / "static" / "samples" / "abtest_users.csv"


def test_uploaded_csv_report_downloads_and_opens_offline(
    page: Page, live_server: str, browser: Browser, tmp_path: Path
) -> None:
    open_csv_mode(page, live_server)
    page.set_input_files("#f-file", str(SAMPLE))
    readout = page.locator("[data-readout]")
    expect(readout).to_contain_text("users converted on B against 215 of 1,998 on control")
    button = page.locator("[data-report]").first
    expect(button).to_be_enabled()
    with page.expect_request("**/api/report") as sent, page.expect_download() as info:
        button.click()
    assert "multipart/form-data" in (sent.value.headers.get("content-type") or "")
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name.startswith("abacus-abtest-") and saved.suffix == ".html"
    html = saved.read_text(encoding="utf-8")
    assert readout.inner_text().strip()[:60] in html
    assert f"abtest_users.csv ({SAMPLE.stat().st_size:,} bytes)" in html
    open_offline(browser, saved)
