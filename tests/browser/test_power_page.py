"""The power calculator in a real browser: live updates, charts, toasts, URL state."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect


def test_power_page_updates_live_and_reports_bad_input(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/power")
    readout = page.locator("[data-readout]")
    expect(readout).to_contain_text("You need 3,841 users per group")
    expect(readout).to_contain_text("16 days")
    expect(page.locator("#fig-power_vs_mde .main-svg").first).to_be_visible()
    expect(page.locator("#fig-n_vs_power .main-svg").first).to_be_visible()

    page.fill("#f-mde", "0.03")
    # statsmodels samplesize_proportions_2indep_onetail(0.03, 0.10, 0.8) = 1773.98
    expect(readout).to_contain_text("You need 1,774 users per group")
    assert "mde=0.03" in page.url  # the inputs live in the URL

    page.fill("#f-baseline", "1.5")
    toast = page.locator('[data-field="baseline"] .toast')
    expect(toast).to_contain_text("baseline")
    expect(page.locator("#f-baseline")).to_have_attribute("aria-invalid", "true")

    results = page.locator("section.results")
    expect(results).to_have_class(re.compile(r"\bstale\b"))  # the old answer is dimmed

    page.fill("#f-baseline", "0.1")
    expect(toast).to_have_count(0)
    expect(results).not_to_have_class(re.compile(r"\bstale\b"))

    page.fill("#f-mde", "")  # an empty visible field is named, not the hidden unknown
    expect(page.locator('[data-field="mde"] .toast')).to_contain_text("mde is empty")
    page.fill("#f-mde", "0.03")
    expect(readout).to_contain_text("1,774")

    page.select_option("#f-solve_for", "power")
    expect(page.locator('[data-field="power"]')).to_be_hidden()
    page.keyboard.press("Control+Enter")
    expect(readout).to_contain_text(re.compile(r"you have \d+\.\d% power"))


def test_power_state_reloads_from_url(page: Page, live_server: str) -> None:
    page.goto(
        f"{live_server}/power?metric=mean&sd=10&mde=1&solve_for=n_per_group&power=0.8&alpha=0.05"
    )
    expect(page.locator("[data-readout]")).to_contain_text("You need 1,571 users per group")
    expect(page.locator('[data-field="baseline"]')).to_be_hidden()


def test_power_table_downloads_as_csv(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/power")
    expect(page.locator("[data-readout]")).to_contain_text("3,841")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    text = Path(info.value.path()).read_text()
    assert text.startswith("Quantity,Value")
    assert "3841" in text


def test_power_page_works_on_a_phone(page: Page, live_server: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/power")
    expect(page.locator("[data-readout]")).to_contain_text("3,841")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page scrolls sideways on a phone ({width}px)"


def test_switching_to_a_mean_never_reinterprets_the_effect(page: Page, live_server: str) -> None:
    """Issue 11: switching to a mean metric read a relative MDE of 0.1 as an absolute 0.1
    (156,979 users per group). A relative effect stays relative, on the baseline mean."""
    sent: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: (
            sent.append(json.loads(r.post_data or "{}")) if r.url.endswith("/api/power") else None
        ),
    )
    page.goto(f"{live_server}/power")
    readout = page.locator("[data-readout]")
    expect(readout).to_contain_text("You need")
    page.select_option("#f-mde_type", "relative")
    page.fill("#f-mde", "0.1")
    expect(readout).to_contain_text("+10% relative")
    page.wait_for_timeout(600)
    count = len(sent)
    page.select_option("#f-metric", "mean")
    # The relative effect is kept and needs the baseline mean: asked for, nothing sent.
    expect(page.locator("#f-mde_type")).to_be_visible()
    expect(page.locator("#f-mde_type")).to_have_value("relative")
    expect(page.locator("#f-mde")).to_have_value("0.1")
    expect(page.locator('[data-field="baseline_mean"] .toast')).to_contain_text(
        "Give the baseline mean"
    )
    page.wait_for_timeout(600)
    assert len(sent) == count
    page.fill("#f-baseline_mean", "50")  # sd 10: +10% = +5 = 0.5 sd -> 64 per group
    expect(readout).to_contain_text("You need 64 users per group")
    expect(readout).to_contain_text("+10.0% relative")
    assert sent[-1]["mde_type"] == "relative"
    assert sent[-1]["mde"] == 0.1
    assert sent[-1]["baseline_mean"] == 50

    # An absolute effect changes meaning with the metric: cleared, and the page says so.
    page.select_option("#f-mde_type", "absolute")
    page.fill("#f-mde", "5")
    expect(readout).to_contain_text("You need 64 users per group")
    page.select_option("#f-metric", "proportion")
    expect(page.locator("#f-mde")).to_have_value("")
    expect(page.locator("#toasts .toast")).to_contain_text(
        "The effect 5 was in units of the metric"
    )
    expect(page.locator('[data-field="mde"] .toast')).to_contain_text("mde is empty")
