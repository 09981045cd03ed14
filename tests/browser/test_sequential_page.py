"""The sequential page in a real browser: simulation charts, boundaries table, monitoring."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect


def test_simulation_runs_and_draws_its_charts(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/sequential")
    sim = page.locator("#part-simulate")
    expect(sim.locator("[data-readout]")).to_contain_text("exactly 19.34%")
    for name in ("error_rates", "z_paths", "stopping"):
        expect(page.locator(f"#fig-{name} .main-svg").first).to_be_visible()
    page.fill("#f-sim-looks", "5")
    # Armitage, McPherson & Rowe (1969): 5 looks at 0.05 -> 0.1417
    expect(sim.locator("[data-readout]")).to_contain_text("exactly 14.17%")
    assert "sim.looks=5" in page.url
    sim.locator("summary", has_text="Simulation").click()
    page.fill("#f-sim-simulations", "200000")
    toast = sim.locator('[data-field="simulations"] .toast')
    expect(toast).to_contain_text("simulations must be <= 100,000")
    expect(page.locator("#f-sim-simulations")).to_have_attribute("aria-invalid", "true")


def test_boundaries_table_and_csv(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/sequential")
    table = page.locator('[data-table="boundaries"]')
    expect(table).to_contain_text("4.8769")  # gsDesign sfLDOF, K = 5, two-sided 0.05
    expect(table).to_contain_text("2.031")
    expect(page.locator("#fig-boundaries .main-svg").first).to_be_visible()
    with page.expect_download() as info:
        table.get_by_role("button", name="Download CSV").click()
    text = Path(info.value.path()).read_text()
    assert text.startswith("Look,Information fraction,z bound")
    page.fill("#f-gs-fractions", "0.5, 0.4, 1")
    expect(page.locator('[data-field="fractions"] .toast')).to_contain_text("fractions[1]")


def test_monitoring_decision_from_entered_looks(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/sequential")
    monitor = page.locator(".seq-monitor")
    readout = monitor.locator("[data-readout]")
    expect(readout).to_contain_text("Continue.")
    page.get_by_role("button", name="+ Add a look").click()
    row = monitor.locator("[data-looks] tr").nth(2)
    for i, value in enumerate(["7500", "750", "7500", "900"]):
        row.locator("input").nth(i).fill(value)
    expect(readout).to_contain_text("Stop for efficacy: at look 3")
    expect(page.locator("#fig-monitor .main-svg").first).to_be_visible()
    page.goto(page.url)  # a shared link reloads the entered looks and reaches the same decision
    expect(monitor.locator("[data-looks] tr")).to_have_count(3)
    expect(readout).to_contain_text("Stop for efficacy: at look 3")
    row.locator("input").nth(3).fill("9000")  # more conversions than users
    expect(monitor.locator(".toast").first).to_contain_text(
        "Look 3: conversions in B must be ≤ users (7500)"
    )


def test_msprt_and_phone_width(page: Page, live_server: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/sequential")
    part = page.locator("#part-msprt")
    expect(part.locator("[data-readout]")).to_contain_text("Keep going")
    expect(page.locator("#fig-log_lr .main-svg").first).to_be_visible()
    page.fill("#f-ms-conversions_b", "700")
    expect(part.locator("[data-readout]")).to_contain_text("Reject")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page scrolls sideways on a phone ({width}px)"
