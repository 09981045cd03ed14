"""The Segments page in a real browser: the eight schools, pasted CSV, verdicts, forest plot,
CSV download, a shared link and error toasts."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect


def test_segments_default_is_eight_schools_with_forest_plot(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/segments")
    readout = page.locator("[data-readout]")
    # BDA3 §5.5: school A's 28 points shrink to about 11 under partial pooling.
    expect(readout).to_contain_text("all 8 segments are too thin to tell")
    expect(readout).to_contain_text("moves A most, from 28 to 11.4")
    expect(page.locator("#fig-forest.js-plotly-plot .main-svg").first).to_be_visible()
    table = page.locator('[data-table="segments"] table')
    expect(table.locator("tbody tr")).to_have_count(8)
    with page.expect_download() as info:
        page.locator('[data-table="segments"] button.download').click()
    text = Path(info.value.path()).read_text()
    assert text.startswith("Segment,Effect,Std. error,CI low,CI high,p,p adjusted (holm)")
    assert text.count("\n") == 9


def test_pasted_csv_names_conflicts_and_survives_a_shared_link(
    page: Page, live_server: str
) -> None:
    page.goto(f"{live_server}/segments")
    expect(page.locator("[data-readout]")).to_contain_text("too thin to tell")
    page.locator("details", has_text="Paste CSV").locator("summary").click()
    page.fill(
        "#f-paste", "segment,estimate,se\niOS,0.021,0.006\nAndroid,0.001,0.004\ntablet,0.015,0.03\n"
    )
    page.get_by_role("button", name="Use these rows").click()
    readout = page.locator("[data-readout]")
    expect(readout).to_contain_text("wins on iOS, no effect on Android, tablet too thin to tell")
    expect(page.locator('[data-table="segments"] tbody tr')).to_have_count(3)

    page.fill("#f-pooled_estimate", "-0.012")
    page.fill("#f-pooled_se", "0.004")
    expect(page.locator('[data-warnings] li[data-code="simpsons_paradox"]')).to_be_visible()

    page.goto(page.url)  # the shared link rebuilds the rows
    expect(page.locator("[data-segments] tr")).to_have_count(3)
    expect(page.locator('input[name="segments[2].name"]')).to_have_value("tablet")
    expect(readout).to_contain_text("wins on iOS")
    expect(page.locator('[data-warnings] li[data-code="simpsons_paradox"]')).to_be_visible()


def test_bad_standard_error_is_a_toast_on_its_cell(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/segments")
    expect(page.locator("[data-readout]")).to_contain_text("too thin to tell")
    se = page.locator('input[name="segments[1].se"]')
    se.fill("0")
    toast = page.locator('[data-field="segments"] .toast')
    expect(toast).to_contain_text("segments[1].se must be > 0")
    expect(se).to_have_attribute("aria-invalid", "true")
