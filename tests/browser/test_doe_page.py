"""The DoE page in a real browser: a 3 × 3 grid typed in, the ANOVA table, plots, toasts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

# Montgomery (8th ed.) Table 5.1, battery life by material (rows) × temperature (columns).
BATTERY = [
    ["130 155 74 180", "34 40 80 75", "20 70 82 58"],
    ["150 188 159 126", "136 122 106 115", "25 70 58 45"],
    ["138 110 168 160", "174 120 150 139", "96 104 82 60"],
]


def cell(page: Page, i: int, j: int) -> Locator:
    """The grid's textarea in row i (level i of A) and column j (level j of B)."""
    return page.locator("[data-grid] tbody tr").nth(i).locator("textarea").nth(j)


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
            cell(page, i, j).fill(values)
    expect(readout).to_contain_text("The effect of layout depends on price: p = 0.019")

    anova = page.locator('[data-table="anova"] table')
    expect(anova).to_contain_text("price × layout")
    expect(anova.locator("tbody tr")).to_have_count(4)
    expect(anova.locator("tbody tr").nth(2)).to_contain_text("9,613.78")  # Table 5.5 SS_AB
    expect(page.locator('[data-table="cells"] tbody tr')).to_have_count(9)
    for name in ("interaction", "main_effects", "residuals"):
        expect(page.locator(f"#fig-{name}.js-plotly-plot .main-svg").first).to_be_visible()

    mid_cards = cell(page, 1, 2)
    mid_cards.fill("25 70 abc 45")
    toast = page.locator('[data-field="rows"] .toast')
    expect(toast).to_contain_text("'abc'")
    expect(toast).to_contain_text("price='mid', layout='cards'")
    expect(mid_cards).to_have_attribute("aria-invalid", "true")

    mid_cards.fill("25 70 58 45")
    expect(toast).to_have_count(0)
    expect(readout).to_contain_text("p = 0.019")


def test_doe_empty_cell_is_flagged(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/doe")
    expect(page.locator("[data-readout]")).to_contain_text("p = 0.019")
    empty = cell(page, 0, 1)
    empty.fill("")
    expect(page.locator('[data-field="rows"] .toast')).to_contain_text("has no observations")
    expect(empty).to_have_attribute("aria-invalid", "true")


def test_doe_state_reloads_from_url(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/doe")
    expect(page.locator("[data-readout]")).to_contain_text("p = 0.019")
    cell(page, 0, 0).fill("130 155 74")
    expect(page.locator("[data-kpis]")).to_contain_text("unbalanced")
    page.goto(page.url)
    expect(cell(page, 0, 0)).to_have_value("130 155 74")
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


def at(page: Page, a: str, b: str) -> Locator:
    """The grid's textarea for level a of factor A and level b of factor B."""
    return page.locator(f'[data-grid] textarea[data-a="{a}"][data-b="{b}"]')


def record_doe_requests(page: Page) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: (
            sent.append(json.loads(r.post_data or "{}")) if r.url.endswith("/api/doe") else None
        ),
    )
    return sent


def rows_of(request_body: dict[str, Any]) -> dict[tuple[str, str], list[float]]:
    cells: dict[tuple[str, str], list[float]] = {}
    for row in request_body["rows"]:
        cells.setdefault((row["a"], row["b"]), []).append(row["y"])
    return cells


def test_doe_data_follow_level_names_not_grid_positions(page: Page, live_server: str) -> None:
    """Issue 11: reordering levels (low, high -> high, low) swapped the data; inserting a level
    moved data under the wrong name. Cells are bound to level names in the page, URL and request."""
    sent = record_doe_requests(page)
    page.goto(f"{live_server}/doe")
    expect(page.locator("[data-readout]")).to_contain_text("p = 0.019")
    page.fill("#f-levels_a", "low, high")
    page.fill("#f-levels_b", "x, y")
    data = {
        ("low", "x"): "1 2 3",
        ("low", "y"): "4 5 6",
        ("high", "x"): "10 11",
        ("high", "y"): "20 21",
    }
    for (a, b), text in data.items():
        at(page, a, b).fill(text)
    expect(page.locator("[data-kpis]")).to_contain_text("cells (2 × 2)")

    page.fill("#f-levels_a", "high, low")  # reorder
    for (a, b), text in data.items():
        expect(at(page, a, b)).to_have_value(text)
    expect(page.locator("[data-grid] tbody th").first).to_have_text("high")
    expect(cell(page, 0, 0)).to_have_value("10 11")

    page.fill("#f-levels_a", "high, mid, low")  # insert a level: its cells start empty
    for (a, b), text in data.items():
        expect(at(page, a, b)).to_have_value(text)
    expect(at(page, "mid", "x")).to_have_value("")
    at(page, "mid", "x").fill("7 8")
    at(page, "mid", "y").fill("9 9.5")
    expect(page.locator("[data-kpis]")).to_contain_text("cells (3 × 2)")
    page.wait_for_timeout(600)
    last = rows_of(sent[-1])
    assert last[("high", "x")] == [10, 11]
    assert last[("low", "y")] == [4, 5, 6]
    assert last[("mid", "y")] == [9, 9.5]

    # The link carries cells by level name: a fresh page sends the same rows.
    other = page.context.new_page()
    theirs = record_doe_requests(other)
    other.goto(page.url)
    expect(other.locator("[data-kpis]")).to_contain_text("cells (3 × 2)")
    assert rows_of(theirs[0]) == last
    other.close()


def test_doe_renaming_a_level_keeps_its_data(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/doe")
    expect(page.locator("[data-readout]")).to_contain_text("p = 0.019")
    page.fill("#f-levels_b", "15, 70, 130")  # 125 renamed in place
    expect(cell(page, 0, 2)).to_have_value("20, 70, 82, 58")
    expect(at(page, "1", "130")).to_have_value("20, 70, 82, 58")


def test_doe_decimal_commas_are_read_or_refused_never_split(page: Page, live_server: str) -> None:
    """Issue 11: '2,7; 3,0; 2,8' in a cell was read as six numbers (2, 7, 3, 0, 2, 8)."""
    sent = record_doe_requests(page)
    page.goto(f"{live_server}/doe")
    expect(page.locator("[data-readout]")).to_contain_text("p = 0.019")
    page.fill("#f-levels_a", "a1, a2")
    page.fill("#f-levels_b", "b1, b2")
    values = {
        ("a1", "b1"): "2,7; 3,0; 2,8",
        ("a1", "b2"): "4,1 4,4 3,9",  # separated by spaces
        ("a2", "b1"): "3,3;3,6;3,1",
        ("a2", "b2"): "1.5, 1.9, 1.2",  # decimal points, comma separated: as before
    }
    for (a, b), text in values.items():
        at(page, a, b).fill(text)
    expect(page.locator("[data-kpis]")).to_contain_text("cells (2 × 2)")
    page.wait_for_timeout(600)
    assert rows_of(sent[-1]) == {
        ("a1", "b1"): [2.7, 3.0, 2.8],
        ("a1", "b2"): [4.1, 4.4, 3.9],
        ("a2", "b1"): [3.3, 3.6, 3.1],
        ("a2", "b2"): [1.5, 1.9, 1.2],
    }
    # "2,7" alone could be 2.7 or 2 and 7: refused at the cell, and no request is sent.
    before = len(sent)
    at(page, "a1", "b1").fill("2,7")
    toast = page.locator('[data-field="rows"] .toast')
    expect(toast).to_contain_text("one number (2.7) or two (2 and 7)")
    expect(at(page, "a1", "b1")).to_have_attribute("aria-invalid", "true")
    at(page, "a1", "b1").fill("2,7, 3,0")
    expect(toast).to_contain_text("mixes decimal commas")
    page.wait_for_timeout(600)
    assert len(sent) == before
    at(page, "a1", "b1").fill("2,7; 3,0; 2,8")
    expect(toast).to_have_count(0)
