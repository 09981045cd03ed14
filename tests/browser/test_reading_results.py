"""Issue 11, "Reading the results", in a real browser: units, p-values, CSV downloads, tables at
desktop and phone widths, charts (mode bar, escaped names, the expected-loss axis), the A/B
guardrail row and CSV mode, monitoring errors, and the compressed Plotly.js."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from .abtest_steps import open_csv_mode


def fill_variant(page: Page, i: int, **values: str) -> None:
    for key, value in values.items():
        page.locator(f'[data-field="variants[{i}].{key}"] input').fill(value)


def box(page: Page, selector: str) -> dict[str, float]:
    b = page.locator(selector).first.bounding_box()
    assert b is not None, selector
    return b


def test_bayesian_decision_card_states_losses_in_points(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/bayesian")
    card = page.locator("[data-decision]")
    expect(card).to_contain_text("expected loss of 0.048 points")
    expect(card).to_contain_text("your threshold is 0.1 points")
    assert "0.0004846" not in card.inner_text()
    expect(page.locator("[data-kpis]")).to_contain_text("0.048 pts")


def test_msprt_outputs_are_in_points(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/sequential")
    part = page.locator("#part-msprt")
    expect(part.locator("[data-readout]")).to_contain_text(
        re.compile(r"B − A = [+−]\d+\.\d\d points")
    )
    kpis = part.locator("[data-kpis]")
    expect(kpis).to_contain_text(re.compile(r"pts to [+−-]?\d+\.\d\d pts"))


def test_p_values_are_never_shown_as_0_or_1(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/abtest")
    expect(page.locator("[data-verdict]")).to_be_visible()
    fill_variant(page, 0, users="1000000", conversions="10000")
    fill_variant(page, 1, users="1000000", conversions="50000")
    readout = page.locator("[data-readout]")
    expect(readout).to_contain_text("adjusted p < 0.0001")
    kpis = page.locator("[data-kpis]")
    expect(kpis).to_contain_text("< 0.0001")  # adjusted p (0 in floating point)
    expect(kpis).to_contain_text("> 0.9999")  # SRM p of an even split (exactly 1)
    table = page.locator('[data-table="primary"] table')
    expect(table).to_contain_text("< 0.0001")
    cells = table.locator("td").all_inner_texts()
    assert "0" not in cells and "1" not in cells
    for kpi in kpis.locator(".kpi").all():
        label = kpi.locator("span").inner_text()
        if "p-value" in label:
            assert kpi.locator("strong").inner_text() not in {"0", "1", "0.0000", "1.0000"}


def test_csv_download_has_no_float_noise_and_neutralises_formulas(
    page: Page, live_server: str
) -> None:
    page.goto(f"{live_server}/abtest")
    expect(page.locator("[data-verdict]")).to_be_visible()
    # The shared writer: shortest round trip at 12 digits, formulas quoted, numbers kept.
    csv = page.evaluate(
        """async () => {
          const { toCSV } = await import("/static/js/app.js");
          return toCSV([{ key: "a", label: "a" }, { key: "b", label: "b" }], [
            { a: 0.1 + 0.2, b: "=HYPERLINK(\\"http://x\\")" },
            { a: 0.005000000000000001, b: "+1+2" },
            { a: -0.5, b: "-A" },
            { a: 1234567890123456, b: "@SUM(A1)" },
            { a: -3e-7, b: "-0.25" },
          ]);
        }"""
    )
    lines = csv.strip().split("\r\n")
    assert lines[1] == '0.3,"\'=HYPERLINK(""http://x"")"'
    assert lines[2] == "0.005,'+1+2"
    assert lines[3] == "-0.5,'-A"
    assert lines[4] == "1234567890123456,'@SUM(A1)"
    assert lines[5] == "-3e-7,-0.25"

    # A real download: a variant named like a formula comes out inert.
    fill_variant(page, 1, name="=1+1")
    expect(page.locator('[data-table="primary"] table')).to_contain_text("=1+1")
    with page.expect_download() as info:
        page.locator('[data-table="primary"] button.download').click()
    text = Path(info.value.path()).read_text()
    assert "\n'=1+1," in text
    for cell in re.split(r"[,\r\n]+", text):
        if re.fullmatch(r"-?\d+\.\d+", cell):
            digits = cell.lstrip("-").replace(".", "").lstrip("0")
            assert len(digits) <= 12, f"float noise in {cell}"


def test_deciding_columns_are_in_view_at_1366(page: Page, live_server: str) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server}/abtest")
    table = page.locator('[data-table="primary"] table')
    expect(table).to_be_visible()
    wrap = box(page, '[data-table="primary"] .table-wrap')
    for label in ("Difference", "Diff. CI low", "Diff. CI high", "Adjusted p (Holm)", "p-value"):
        th = table.locator("th", has_text=re.compile(f"^{re.escape(label)}$"))
        b = th.bounding_box()
        assert b is not None
        assert b["x"] + b["width"] <= wrap["x"] + wrap["width"] + 1, f"{label} is scrolled away"
    page.goto(f"{live_server}/cuped")
    table = page.locator('[data-table="comparisons"] table')
    expect(table).to_be_visible()
    wrap = box(page, '[data-table="comparisons"] .table-wrap')
    for label in ("Adjusted difference", "CI low", "CI high", "p-value"):
        b = table.locator("th", has_text=re.compile(f"^{label}$")).bounding_box()
        assert b is not None
        assert b["x"] + b["width"] <= wrap["x"] + wrap["width"] + 1, f"{label} is scrolled away"


def test_tables_on_a_phone_show_their_numbers_or_a_scroll_cue(page: Page, live_server: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/power")
    table = page.locator('[data-table="summary"] table')
    expect(table).to_contain_text("3,841")
    for cell in table.locator("td.num").all():
        b = cell.bounding_box()
        assert b is not None
        assert b["x"] + b["width"] <= 390, f"{cell.inner_text()} is off-screen"
    # A table that must scroll says so.
    page.goto(f"{live_server}/abtest")
    card = page.locator('[data-table="primary"]')
    expect(card.locator("table")).to_be_visible()
    expect(card.locator(".scroll-hint")).to_be_visible()
    expect(card.locator(".scroll-hint")).to_contain_text("scroll")
    expect(card.locator(".table-wrap")).to_have_class(re.compile(r"\bmore-right\b"))
    shadow = card.locator(".table-wrap").evaluate("el => getComputedStyle(el).boxShadow")
    assert shadow != "none"
    # Scrolled to the end, the cue on the right goes.
    card.locator(".table-wrap").evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    expect(card.locator(".table-wrap")).not_to_have_class(re.compile(r"\bmore-right\b"))


@pytest.fixture
def touch_page(browser: Browser, live_server: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not errors, errors


def overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


@pytest.mark.parametrize("path", ["/power", "/bayesian"])
def test_mode_bar_never_covers_a_title_on_touch(
    touch_page: Page, live_server: str, path: str
) -> None:
    touch_page.goto(f"{live_server}{path}")
    expect(touch_page.locator(".js-plotly-plot .main-svg").first).to_be_visible()
    touch_page.wait_for_timeout(300)
    charts = touch_page.locator(".js-plotly-plot").all()
    assert charts
    for chart in charts:
        if not chart.is_visible():
            continue
        title, modebar = chart.locator(".gtitle"), chart.locator(".modebar")
        if not title.count() or not modebar.count():
            continue
        t, m = title.bounding_box(), modebar.bounding_box()
        assert t and m
        assert not overlaps(t, m), f"{chart.get_attribute('id')}: mode bar {m} covers title {t}"


def test_variant_names_are_shown_literally_in_charts(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/abtest")
    expect(page.locator("[data-verdict]")).to_be_visible()
    fill_variant(page, 1, name="<b>B</b>")
    table = page.locator('[data-table="primary"] table')
    expect(table).to_contain_text("<b>B</b>")  # the table shows the name as typed
    estimates = page.locator("#fig-estimates")
    expect(estimates.locator(".ytick").filter(has_text="<b>B</b>")).to_have_count(1)
    # No bold markup was interpreted anywhere in the figure.
    bold = estimates.evaluate(
        "el => [...el.querySelectorAll('tspan')].some(t => t.style.fontWeight === 'bold')"
    )
    assert not bold
    forest = page.locator("#fig-forest")
    expect(forest.locator(".ytick").filter(has_text="<b>B</b>")).to_have_count(1)


def test_expected_loss_axis_is_readable(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/bayesian")
    chart = page.locator("#fig-expected_loss")
    expect(chart.locator(".main-svg").first).to_be_visible()
    ticks = [t.strip() for t in chart.locator(".ytick text").all_text_contents()]
    assert len(ticks) >= 3
    assert len(ticks) == len(set(ticks)), f"repeated minor labels: {ticks}"
    values = [float(t) for t in ticks]  # plain numbers, no 1e-3 or µ
    mantissas = {round(v / 10 ** math.floor(math.log10(v)), 6) for v in values}
    assert mantissas <= {1.0, 2.0, 5.0}, ticks
    title, ytitle = box(page, "#fig-expected_loss .gtitle"), box(page, "#fig-expected_loss .ytitle")
    assert not overlaps(title, ytitle), (title, ytitle)


def test_guardrail_controls_have_visible_labels_and_room(page: Page, live_server: str) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server}/abtest")
    page.get_by_label("Paste or upload CSV").check()
    page.get_by_role("button", name="paste it here").click()
    expect(page.locator("[data-readout]")).to_contain_text("control")
    page.get_by_role("button", name="+ Add guardrail").click()
    row = page.locator(".ab-guardrail").first
    expect(row).to_be_visible()
    controls = row.locator("select, input").all()
    assert len(controls) == 4
    for control in controls:
        label = row.locator(f'label[for="{control.get_attribute("id")}"]')
        expect(label).to_be_visible()
        assert label.inner_text().strip()
        b = control.bounding_box()
        assert b and b["width"] >= 70, f"{label.inner_text()}: {b}"
    for select in row.locator("select").all():
        # The chosen option is not cut off: its text fits the control.
        fits = select.evaluate(
            """el => { const c = document.createElement('canvas').getContext('2d');
                 c.font = getComputedStyle(el).font;
                 return c.measureText(el.selectedOptions[0].text).width + 24 <= el.clientWidth; }"""
        )
        assert fits, select.input_value()


def test_empty_csv_box_and_csv_links_give_a_hint_not_an_error(page: Page, live_server: str) -> None:
    open_csv_mode(page, live_server)
    status = page.locator("[data-status-text]")
    expect(status).to_contain_text("Paste a CSV")
    expect(page.locator(".toast")).to_have_count(0)
    # A shared link in CSV mode (the data cannot travel in it) opens on the hint, with no
    # error and no blank cards.
    page.goto(f"{live_server}/abtest?source=csv&metric_column=converted&variant=variant")
    expect(status).to_contain_text("Paste a CSV")
    page.wait_for_timeout(800)
    expect(page.locator(".toast")).to_have_count(0)
    assert "empty" not in status.inner_text()
    for card in page.locator(".chart-card").all():
        b = card.bounding_box()
        assert b is None or b["height"] < 2 or not card.is_visible()
    expect(page.locator("[data-verdict]")).to_be_hidden()


def test_monitor_error_names_the_look_in_words_and_is_not_clipped(
    page: Page, live_server: str
) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server}/sequential")
    monitor = page.locator("#form-monitor")
    expect(monitor.locator("[data-looks] tr")).to_have_count(2)
    monitor.locator("[data-looks] tr").nth(1).locator("input").nth(3).fill("6000")
    toast = monitor.locator(".toast")
    expect(toast.first).to_contain_text("Look 2: conversions in B must be ≤ users (5000)")
    assert "looks[" not in toast.first.inner_text()
    # Fully visible: inside the panel that scrolls (and would clip it) and on screen.
    t = box(page, "#form-monitor .toast")
    panel = box(page, "#form-monitor")
    assert t["x"] >= panel["x"] - 1 and t["x"] + t["width"] <= panel["x"] + panel["width"] + 1
    assert t["x"] + t["width"] <= 1366
    toast.first.scroll_into_view_if_needed()
    clipped = toast.first.evaluate(
        """el => { const r = el.getBoundingClientRect();
             const hit = document.elementFromPoint(r.right - 3, r.top + r.height / 2);
             return !(hit && (hit === el || el.contains(hit))); }"""
    )
    assert not clipped


def test_sidebar_follows_the_lifecycle(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/power")
    stages = page.locator(".sidebar .stage").all_inner_texts()
    order = ["plan", "run", "analyze", "decide"]
    assert [s.lower() for s in stages] == sorted((s.lower() for s in stages), key=order.index)


def test_plotly_arrives_compressed_and_charts_render(page: Page, live_server: str) -> None:
    encodings: list[str] = []

    def seen(response: Any) -> None:
        if "/vendor/plotly-" in response.url:
            encodings.append(response.all_headers().get("content-encoding", ""))

    page.on("response", seen)
    page.goto(f"{live_server}/power")
    expect(page.locator("#fig-power_vs_mde .main-svg").first).to_be_visible()
    assert encodings == ["gzip"]
