"""The A/B analyzer in a real browser: typed default, CSV upload, mapping, download, errors."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from .abtest_steps import open_csv_mode

SAMPLE = Path(__file__).parents[2] / "static" / "samples" / "abtest_users.csv"


def test_default_typed_example_shows_a_verdict(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/abtest")
    expect(page.locator("[data-readout]")).to_contain_text(
        "160 of 1,000 users converted on B against 120 of 1,000 on A: +4.0 points (+33%)"
    )
    expect(page.locator("[data-verdict]")).to_have_class(re.compile(r"verdict-ship"))
    expect(page.locator("#fig-estimates .main-svg").first).to_be_visible()
    expect(page.locator("#fig-forest .main-svg").first).to_be_visible()
    # Typing a number re-runs: B no better than A is a hold.
    page.locator('[data-field="variants[1].conversions"] input').fill("121")
    expect(page.locator("[data-verdict]")).to_have_class(re.compile(r"verdict-hold"))


def test_upload_map_download_and_malformed_paste(page: Page, live_server: str) -> None:
    open_csv_mode(page, live_server)
    page.set_input_files("#f-file", str(SAMPLE))
    readout = page.locator("[data-readout]")
    expect(readout).to_contain_text("users converted on B against 215 of 1,998 on control")
    expect(page.locator("#f-variant")).to_have_value("variant")
    expect(page.locator("#f-metric_column")).to_have_value("converted")
    expect(page.locator('[data-table="primary"] table')).to_contain_text("control (control)")

    # Change the mapping: analyse revenue (a continuous metric) instead.
    page.select_option("#f-metric_column", "revenue")
    expect(readout).to_contain_text("B averaged")
    expect(page.locator("#fig-distribution .main-svg").first).to_be_visible()
    expect(page.locator("[data-verdict]")).to_have_class(re.compile(r"verdict-\w+"))

    # A guardrail from the CSV's columns gets its own table.
    page.select_option("#f-metric_column", "converted")
    expect(readout).to_contain_text("users converted on B")
    page.get_by_role("button", name="+ Add guardrail").click()
    expect(page.locator("[data-guardrail-tables]")).to_contain_text("Guardrail: revenue")

    with page.expect_download() as info:
        page.locator('[data-table="primary"]').get_by_role("button", name="Download CSV").click()
    text = Path(info.value.path()).read_text()
    # The deciding columns come first (issue 11), then the counts.
    assert text.startswith("Variant,Difference,Diff. CI low,Diff. CI high,Adjusted p (Holm)")
    assert "Users,Conversions,Rate" in text.splitlines()[0]
    control = next(line for line in text.splitlines() if line.startswith("control (control),"))
    assert ",1998,215," in control

    # A malformed paste: a clear toast under the data box.
    page.set_input_files("#f-file", [])
    page.fill("#f-csv", "variant,converted\nA,1\nB,0,9\nA,0\n")
    toast = page.locator('[data-field="csv"] .toast')
    expect(toast).to_contain_text("row 2 has 3 fields")


def test_abtest_page_works_on_a_phone(page: Page, live_server: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/abtest")
    expect(page.locator("[data-verdict]")).to_have_class(re.compile(r"verdict-ship"))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page scrolls sideways on a phone ({width}px)"


def test_added_variant_starts_empty_and_is_incomplete_not_an_error(
    page: Page, live_server: str
) -> None:
    """Issue 11: "+ Add variant" invented 1,000 users and 100 conversions (an SRM verdict)."""
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if r.url.endswith("/api/abtest") else None)
    page.goto(f"{live_server}/abtest")
    expect(page.locator("[data-verdict]")).to_have_class(re.compile(r"verdict-ship"))
    page.wait_for_timeout(600)
    before = len(requests)
    page.get_by_role("button", name="+ Add variant").click()
    row = page.locator("[data-variants] tbody tr").nth(2)
    expect(row.locator('input[data-key="name"]')).to_have_value("C")
    for key in ("users", "conversions", "mean", "sd"):
        expect(row.locator(f'input[data-key="{key}"]')).to_have_value("")
    # Incomplete, not an error: no toast storm, no request, a plain status line.
    expect(page.locator("[data-status-text]")).to_contain_text("Fill in the users, conversions")
    page.wait_for_timeout(600)
    expect(page.locator(".toast")).to_have_count(0)
    assert len(requests) == before
    row.locator('input[data-key="users"]').fill("1000")
    expect(page.locator(".toast")).to_have_count(0)
    row.locator('input[data-key="conversions"]').fill("130")
    expect(page.locator("[data-readout]")).to_contain_text("130 of 1,000 users converted on C")
    expect(page.locator("[data-readout]")).not_to_contain_text("sample ratio")


def test_data_source_mode_shows_a_verdict(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/abtest")
    expect(page.locator("[data-verdict]")).to_be_visible()
    page.get_by_label("Data source").check()
    expect(page.locator("#f-source_name")).to_have_value("warehouse")
    page.select_option("#f-source_table", "users")  # the source lists every page's sample
    expect(page.locator("#f-variant")).to_have_value("variant")
    page.select_option("#f-metric_column", "converted")
    readout = page.locator("[data-readout]")
    expect(readout).to_contain_text("users converted on B against 215 of 1,998 on control")
    expect(page.locator("[data-verdict]")).to_have_class(re.compile(r"verdict-\w+"))
    expect(page.locator("#fig-forest .main-svg").first).to_be_visible()
