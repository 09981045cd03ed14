"""The Bayesian page with a ratio metric from a CSV's numerator and denominator columns: the
readout states the normal approximation; leaving the denominator out names its field."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.web.test_bayesian_ratio import _orders


def test_bayesian_ratio_from_csv_columns(page: Page, live_server: str, tmp_path: Path) -> None:
    page.goto(f"{live_server}/bayesian")
    readout = page.locator("[data-readout]").first
    expect(readout).to_contain_text("so ship B.")
    page.select_option("#f-metric", "ratio")
    page.select_option("#f-source", "csv")
    data = tmp_path / "orders.csv"
    data.write_text(_orders()[0])
    page.set_input_files("#f-file", str(data))
    page.fill("#f-variant", "variant")
    page.fill("#f-numerator", "revenue")
    page.fill("#f-denominator", "orders")
    page.fill("#f-threshold", "0.1")
    expect(readout).to_contain_text("normal approximation")
    page.fill("#f-denominator", "")
    expect(page.locator("body")).to_contain_text("denominator is required")
