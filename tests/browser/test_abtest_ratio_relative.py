"""The A/B page's ratio metric and relative-interval choice in a real browser (issue 14)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect


def test_ratio_metric_and_relative_interval(page: Page, live_server: str) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server}/abtest")
    readout = page.locator("[data-readout]")
    expect(readout).to_contain_text("the score interval for the risk ratio, dual to the test")
    page.select_option("#f-relative_interval", "delta")
    expect(readout).to_contain_text("(the delta method)")

    page.select_option("#f-metric", "ratio")
    expect(page.locator('[data-field="variants[0].numerator_mean"] input')).to_be_visible()
    expect(readout).to_contain_text("The ratio on B was 32 (64 over 2 per user, 1,000 users)")
    page.select_option("#f-relative_interval", "dual")
    expect(readout).to_contain_text("Fieller's interval for the ratio of means")
    table = page.locator('[data-table="primary"] table')
    expect(table).to_contain_text("Ratio")
    expect(table).to_contain_text("Fieller")
    expect(page.locator("#fig-forest .main-svg").first).to_be_visible()
    with page.expect_download() as info:
        page.locator('[data-table="primary"]').get_by_role("button", name="Download CSV").click()
    text = Path(info.value.path()).read_text()
    assert "Lift CI method" in text.splitlines()[0] and "Fieller" in text

    # A denominator of 0 is a toast naming the field, not a broken page.
    page.locator('[data-field="variants[0].denominator_mean"] input').fill("0")
    expect(page.locator(".toast").first).to_contain_text("denominator_mean must be > 0")
    assert not [e for e in errors if "Content Security Policy" in e]


def test_csv_ratio_from_two_columns(page: Page, live_server: str) -> None:
    rows = ["variant,orders,revenue"]
    for i in range(40):
        rows.append(f"A,{1 + i % 3},{30 * (1 + i % 3) + i % 7}")
        rows.append(f"B,{1 + i % 3},{33 * (1 + i % 3) + i % 5}")
    page.goto(f"{live_server}/abtest")
    page.get_by_label("Paste or upload CSV").check()
    page.fill("#f-csv", "\n".join(rows) + "\n")
    expect(page.locator("#f-numerator")).to_be_visible()
    page.select_option("#f-numerator", "revenue")
    page.select_option("#f-denominator", "orders")
    readout = page.locator("[data-readout]")
    expect(readout).to_contain_text("The ratio on B was")
    expect(readout).to_contain_text("Fieller's interval")
    expect(page.locator('[data-table="primary"] table')).to_contain_text("Ratio")


def test_power_for_a_ratio_metric(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/power")
    page.select_option("#f-metric", "ratio")
    expect(page.locator("#f-covariance")).to_be_visible()
    expect(page.locator("#f-sd")).to_be_hidden()
    page.fill("#f-mde", "1.5")
    expect(page.locator("[data-readout]")).to_contain_text(
        "has a delta-method standard deviation of 15.17 per user"
    )
    expect(page.locator("#fig-power .main-svg, .js-plotly-plot .main-svg").first).to_be_visible()


def test_bayesian_ratio_metric(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/bayesian")
    page.select_option("#f-metric", "ratio")
    expect(page.locator('[data-key="covariance"]').first).to_be_visible()
    readout = page.locator("[data-readout]").first
    expect(readout).to_contain_text("normal approximation N(ratio, se²)")
    expect(page.locator("#fig-posteriors .main-svg").first).to_be_visible()


def test_cuped_ratio_columns(page: Page, live_server: str) -> None:
    rows = ["variant,revenue,orders,revenue_pre,orders_pre"]
    for i in range(60):
        k, j = 1 + i % 3, 1 + (i * 7) % 3
        rows.append(f"A,{30 * k + i % 5},{k},{30 * j + i % 4},{j}")
        rows.append(f"B,{32 * k + i % 7},{k},{30 * j + i % 6},{j}")
    page.goto(f"{live_server}/cuped")
    page.fill("#f-csv", "\n".join(rows) + "\n")
    page.select_option("#f-variant", "variant")
    page.select_option("#f-outcome", "revenue")
    page.select_option("#f-covariate", "revenue_pre")
    page.select_option("#f-denominator", "orders")
    page.select_option("#f-denominator_pre", "orders_pre")
    readout = page.locator("[data-readout]").first
    expect(readout).to_contain_text("Ratio CUPED: revenue per orders adjusted by the pre-period")
    expect(readout).to_contain_text("Adjusted relative lift")
    expect(page.locator('[data-table="comparisons"] table')).to_contain_text("Lift CI low")
