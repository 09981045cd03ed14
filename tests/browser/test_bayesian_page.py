"""The Bayesian page in a real browser: decision and charts on load, live updates, field
toasts, metric switch, CSV with dates, the honest-stopping simulation, a phone-sized screen."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

SAMPLE = Path(__file__).resolve().parents[2] / "static" / "samples" / "bayesian_daily.csv"


def test_bayesian_page_decides_updates_and_reports_bad_input(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/bayesian")
    readout = page.locator("[data-readout]").first
    # The example: P(B > A) = 0.923183, expected loss of B 0.00048461 = 0.048 points.
    expect(readout).to_contain_text("B is best with probability 92%")
    expect(readout).to_contain_text("so ship B.")
    expect(page.locator("[data-decision]")).to_have_class(re.compile("verdict-ship"))
    for name in ("posteriors", "lift", "prob_best", "expected_loss"):
        expect(page.locator(f"#fig-{name} .main-svg").first).to_be_visible()

    # Equal arms (issue: A 50/500 vs B 50/500 → 0.5): no decision yet.
    page.fill('[name="variants[1].conversions"]', "100")
    expect(readout).to_contain_text("keep collecting data")
    assert "variants%5B1%5D.conversions=100" in page.url  # the inputs live in the URL

    page.fill('[name="variants[1].conversions"]', "1200")
    toast = page.locator(".toast-field")
    expect(toast).to_contain_text("variants[1].conversions must be <= users (1000)")
    expect(page.locator('[name="variants[1].conversions"]')).to_have_attribute(
        "aria-invalid", "true"
    )
    page.fill('[name="variants[1].conversions"]', "120")
    expect(toast).to_have_count(0)
    expect(readout).to_contain_text("so ship B.")

    page.fill("#f-threshold", "-1")
    expect(page.locator('[data-field="threshold"] .toast')).to_contain_text(
        "threshold must be >= 0"
    )


def test_bayesian_page_adds_variants_and_switches_metric(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/bayesian")
    expect(page.locator("[data-readout]").first).to_contain_text("so ship B.")
    page.get_by_role("button", name="+ Add variant").click()
    expect(page.locator('[name="variants[2].name"]')).to_have_value("C")
    # A new variant starts empty (no copy of B's data) and is incomplete, not an error.
    expect(page.locator('[name="variants[2].users"]')).to_have_value("")
    expect(page.locator("[data-status-text]").first).to_contain_text("Fill in the users")
    expect(page.locator(".toast")).to_have_count(0)
    page.fill('[name="variants[2].users"]', "1000")
    page.fill('[name="variants[2].conversions"]', "110")
    expect(page.locator('[data-table="variants"] tbody tr')).to_have_count(3)
    page.select_option("#f-metric", "mean")
    expect(page.locator('[name="variants[0].sd"]')).to_be_visible()
    for i, (mean, sd) in enumerate([("61.2", "40.1"), ("66", "42.3"), ("63", "41")]):
        page.fill(f'[name="variants[{i}].mean"]', mean)
        page.fill(f'[name="variants[{i}].sd"]', sd)
    expect(page.locator("[data-readout]").first).to_contain_text("in the metric's units")
    page.select_option("#f-metric", "revenue")
    for i in range(3):
        amounts = f"0, 12.5, 30, 0, 8, 41, 0, 22, 15, 0, 9, {30 + i}, 18, 0, 27, 11"
        page.fill(f'[name="variants[{i}].amounts"]', amounts)
    expect(page.locator("[data-readout]").first).to_contain_text("of revenue per user")


def test_bayesian_metric_switch_keeps_variants_and_says_what_it_reset(
    page: Page, live_server: str
) -> None:
    """Issue 11: switching metric threw away typed variants and reset the threshold silently."""
    page.goto(f"{live_server}/bayesian")
    expect(page.locator("[data-readout]").first).to_contain_text("so ship B.")
    page.fill('[name="variants[0].name"]', "control")
    page.fill('[name="variants[1].name"]', "new checkout")
    page.fill('[name="variants[0].users"]', "4200")
    page.fill('[name="variants[1].users"]', "4300")
    page.fill("#f-threshold", "0.002")
    expect(page.locator("[data-readout]").first).to_contain_text("new checkout")
    page.select_option("#f-metric", "mean")
    # Names and users mean the same for a mean metric: kept. Conversions have no meaning: gone.
    expect(page.locator('[name="variants[0].name"]')).to_have_value("control")
    expect(page.locator('[name="variants[1].name"]')).to_have_value("new checkout")
    expect(page.locator('[name="variants[0].users"]')).to_have_value("4200")
    expect(page.locator('[name="variants[1].users"]')).to_have_value("4300")
    expect(page.locator('[name="variants[0].mean"]')).to_have_value("")
    # The threshold is in the metric's units: reset, and a toast says so with the old value.
    expect(page.locator("#toasts .toast")).to_contain_text("0.002")
    expect(page.locator("#toasts .toast")).to_contain_text("defaults for the continuous (mean)")
    expect(page.locator("[data-status-text]").first).to_contain_text("Fill in")
    expect(page.locator(".toast-field")).to_have_count(0)


def test_bayesian_removed_variant_leaves_the_url(page: Page, live_server: str) -> None:
    """Issue 11: a removed variant's keys stayed in the URL and came back in a shared link."""
    page.goto(f"{live_server}/bayesian")
    expect(page.locator("[data-readout]").first).to_contain_text("so ship B.")
    page.get_by_role("button", name="+ Add variant").click()
    page.fill('[name="variants[2].users"]', "1000")
    page.fill('[name="variants[2].conversions"]', "160")
    expect(page.locator("[data-readout]").first).to_contain_text("ship C")
    assert "variants%5B2%5D.conversions=160" in page.url
    page.get_by_role("button", name="Remove variant 3").click()
    expect(page.locator("[data-readout]").first).to_contain_text("ship B")
    expect(page).not_to_have_url(re.compile(r"variants%5B2%5D"))
    shared = page.url
    other = page.context.new_page()
    other.goto(shared)
    expect(other.locator("[data-readout]").first).to_contain_text("so ship B.")
    expect(other.locator('[name="variants[2].name"]')).to_have_count(0)
    other.close()


def test_bayesian_metric_round_trip_leaves_no_stale_keys(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/bayesian")
    expect(page.locator("[data-readout]").first).to_contain_text("so ship B.")
    page.select_option("#f-metric", "mean")
    expect(page).to_have_url(re.compile(r"variants%5B0%5D.sd="))
    page.select_option("#f-metric", "proportion")
    expect(page.locator("[data-readout]").first).to_contain_text("so ship B.")
    expect(page).not_to_have_url(re.compile(r"\.sd=|\.mean="))


def test_bayesian_page_reads_a_csv_with_dates(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/bayesian")
    expect(page.locator("[data-readout]").first).to_contain_text("so ship B.")
    page.select_option("#f-source", "csv")
    page.set_input_files("#f-file", str(SAMPLE))
    expect(page.locator("#fig-loss_over_time .main-svg").first).to_be_visible()
    expect(page.locator("#h-value")).to_contain_text("Using column converted")
    expect(page.locator("[data-readout]").first).to_contain_text("B is best with probability 99.7%")


def test_bayesian_honest_stopping(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/bayesian")
    stop = page.locator("[data-stop-root] [data-readout]")
    expect(stop).to_contain_text("checked every day ships B in")
    expect(stop).to_contain_text("once at the end of 30 days")
    expect(page.locator("#fig-stopping .main-svg").first).to_be_visible()
    page.fill("#f-s_days", "10")
    expect(stop).to_contain_text("once at the end of 10 days")
    page.fill("#f-s_baseline", "2")
    expect(page.locator('[data-field="s_baseline"] .toast')).to_contain_text(
        "baseline must be in (0, 1)"
    )


def test_bayesian_tables_download_and_fit_a_phone(page: Page, live_server: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/bayesian")
    expect(page.locator("[data-readout]").first).to_contain_text("so ship B.")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page scrolls sideways on a phone ({width}px)"
    with page.expect_download() as info:
        page.locator('[data-table="comparisons"]').get_by_role(
            "button", name="Download CSV"
        ).click()
    text = Path(info.value.path()).read_text()
    assert text.startswith("Variant,P(better),Lift")
    assert "0.923183" in text
