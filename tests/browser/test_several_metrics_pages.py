"""Issue 14 in a real browser: multiplicity options and quantile metrics on the A/B analyzer,
lower-is-better, the effect prior and the composite score on the Bayesian page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from playwright.sync_api import Page, expect

from .abtest_steps import open_csv_mode


def latency_csv() -> str:
    rng = np.random.default_rng(14)
    rows = ["user_id,variant,latency"]
    for variant, shift in (("A", 0.0), ("B", 0.3), ("C", 0.05)):
        for i, x in enumerate(rng.lognormal(shift, 1.0, 300)):
            rows.append(f"{variant}{i},{variant},{x:.3f}")
    return "\n".join(rows)


def test_abtest_quantiles_and_all_pairs(page: Page, live_server: str) -> None:
    open_csv_mode(page, live_server)
    page.fill("#f-csv", latency_csv())
    readout = page.locator("[data-readout]")
    expect(readout).to_contain_text("The median of latency is")
    expect(page.locator("#fig-quantiles .main-svg").first).to_be_visible()
    expect(page.locator("#fig-distribution .main-svg").first).to_be_visible()
    table = page.locator('[data-table="quantiles"]')
    expect(table).to_contain_text("p90")

    page.locator("summary", has_text="Quantiles").click()
    page.fill("#f-quantiles", "0.5, 0.99")
    expect(readout).to_contain_text("The p99 of latency")
    with page.expect_download() as info:
        table.get_by_role("button", name="Download CSV").click()
    text = Path(info.value.path()).read_text()
    assert text.startswith("Quantile,Variant,Difference,CI low,CI high,p-value")
    assert len(text.splitlines()) == 1 + 2 * 2  # two levels × two variants against A

    page.select_option("#f-comparisons", "all")
    page.select_option("#f-correction", "bh")
    expect(readout).to_contain_text("every pair of the 3 variants (3 comparisons)")
    expect(readout).to_contain_text("Benjamini–Hochberg-adjusted")
    pairs = page.locator('[data-table="pairs"]')
    expect(pairs).to_be_visible()
    expect(pairs.locator("tbody tr")).to_have_count(3)
    expect(page.locator('[data-table="primary"] thead')).to_contain_text(
        "Adjusted p (Benjamini–Hochberg)"
    )


def test_bayesian_lower_is_better_effect_prior_and_composite(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/bayesian")
    readout = page.locator("[data-readout]").first
    expect(readout).to_contain_text("B is best with probability 92%")
    page.select_option("#f-higher_is_better", "false")
    expect(readout).to_contain_text("Lower is better for proportion")
    expect(readout).to_contain_text("A is best with probability 92%")
    page.select_option("#f-higher_is_better", "true")

    page.locator("summary", has_text="Effect prior and several metrics").click()
    page.fill("#f-effect_prior_sd", "0.01")
    expect(readout).to_contain_text("The effect prior N(0, 1²) moves the lift of B")
    expect(page.locator("#fig-effect_prior .main-svg").first).to_be_visible()
    expect(page.locator('[data-table="prior"]')).to_contain_text("Prior's weight")

    page.fill("#f-weights", "1")
    expect(readout).to_contain_text("The composite score of B (weights 1")
    expect(page.locator('[data-table="joint"]')).to_contain_text("Composite score")
