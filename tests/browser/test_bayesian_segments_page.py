"""The Bayesian page with a segment column: the forest plot, the segment table and the
sentence naming conflicts."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.test_abtest_segments_page import device_csv


def test_bayesian_by_segment(page: Page, live_server: str, tmp_path: Path) -> None:
    page.goto(f"{live_server}/bayesian")
    readout = page.locator("[data-readout]").first
    expect(readout).to_contain_text("so ship B.")
    page.select_option("#f-metric", "mean")
    page.select_option("#f-source", "csv")
    data = tmp_path / "devices.csv"
    data.write_text(device_csv())
    page.set_input_files("#f-file", str(data))
    page.fill("#f-value", "revenue")
    page.fill("#f-segment", "device")
    expect(readout).to_contain_text(
        "B vs A by segment: wins on iOS, no effect on Android, tablet too thin to tell"
    )
    expect(page.locator("#fig-segments .main-svg").first).to_be_visible()
    expect(page.locator('[data-table="segments"] tbody tr')).to_have_count(3)
    page.fill("#f-segment", "")
    expect(page.locator("[data-segments-card]")).to_be_hidden()
