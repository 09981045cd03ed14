"""The DoE page in a real browser: a 3 × 3 grid typed in, the ANOVA table, plots, toasts."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

# Montgomery (8th ed.) Table 5.1, battery life by material (rows) × temperature (columns).
BATTERY = [
    ["130 155 74 180", "34 40 80 75", "20 70 82 58"],
    ["150 188 159 126", "136 122 106 115", "25 70 58 45"],
    ["138 110 168 160", "174 120 150 139", "96 104 82 60"],
]


def test_doe_grid_gives_anova_table_and_plots(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/doe")
    readout = page.locator("[data-readout]")
    # The default example is Montgomery's battery data: interaction p = 0.0186 (Table 5.5).
    expect(readout).to_contain_text("The effect of temperature depends on material: p = 0.019")

    page.fill("#f-factor_a", "price")
    page.fill("#f-levels_a", "low, mid, high")
    page.fill("#f-factor_b", "layout")
    page.fill("#f-levels_b", "grid, list, cards")
    for i, row in enumerate(BATTERY):
        for j, values in enumerate(row):
            page.fill(f'textarea[name="y_{i}_{j}"]', values)
    expect(readout).to_contain_text("The effect of layout depends on price: p = 0.019")

    anova = page.locator('[data-table="anova"] table')
    expect(anova).to_contain_text("price × layout")
    expect(anova.locator("tbody tr")).to_have_count(4)
    expect(anova.locator("tbody tr").nth(2)).to_contain_text("9,613.78")  # Table 5.5 SS_AB
    expect(page.locator('[data-table="cells"] tbody tr')).to_have_count(9)
    for name in ("interaction", "main_effects", "residuals"):
        expect(page.locator(f"#fig-{name}.js-plotly-plot .main-svg").first).to_be_visible()

    cell = page.locator('textarea[name="y_1_2"]')
    cell.fill("25 70 abc 45")
    toast = page.locator('[data-field="rows"] .toast')
    expect(toast).to_contain_text("'abc'")
    expect(toast).to_contain_text("price='mid', layout='cards'")
    expect(cell).to_have_attribute("aria-invalid", "true")

    cell.fill("25 70 58 45")
    expect(toast).to_have_count(0)
    expect(readout).to_contain_text("p = 0.019")


def test_doe_empty_cell_is_flagged(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/doe")
    expect(page.locator("[data-readout]")).to_contain_text("p = 0.019")
    cell = page.locator('textarea[name="y_0_1"]')
    cell.fill("")
    expect(page.locator('[data-field="rows"] .toast')).to_contain_text("has no observations")
    expect(cell).to_have_attribute("aria-invalid", "true")


def test_doe_state_reloads_from_url(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/doe")
    expect(page.locator("[data-readout]")).to_contain_text("p = 0.019")
    page.fill('textarea[name="y_0_0"]', "130 155 74")
    expect(page.locator("[data-kpis]")).to_contain_text("unbalanced")
    page.goto(page.url)
    expect(page.locator('textarea[name="y_0_0"]')).to_have_value("130 155 74")
    expect(page.locator("[data-kpis]")).to_contain_text("unbalanced")


def test_doe_csv_mode_and_download(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/doe")
    expect(page.locator("[data-readout]")).to_contain_text("p = 0.019")
    page.select_option("#f-source", "csv")
    expect(page.locator('[data-mode="grid"]')).to_be_hidden()
    page.get_by_role("button", name="paste it here").click()
    expect(page.locator("#f-csv")).to_have_value(re.compile(r"^material,temperature,life"))
    expect(page.locator("[data-readout]")).to_contain_text("depends on material: p = 0.019")
    with page.expect_download() as info:
        page.locator('[data-table="anova"] button.download').click()
    text = Path(info.value.path()).read_text()
    assert text.startswith("Source,Sum of squares,df,Mean square,F,p-value,Partial η²")
    assert "material:temperature" in text

    sample = page.locator("#f-csv").input_value()
    page.fill("#f-csv", sample.replace("1,15,155", "1,15,abc"))
    toast = page.locator('[data-field="csv"] .toast')
    expect(toast).to_contain_text("row 2, column 'life'")


def test_doe_page_works_on_a_phone(page: Page, live_server: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/doe")
    expect(page.locator("[data-readout]")).to_contain_text("p = 0.019")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page scrolls sideways on a phone ({width}px)"
