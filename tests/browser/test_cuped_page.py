"""The CUPED page in a real browser: sample loaded on open, charts, slider, upload, toasts.

Expected numbers come from statsmodels fits of the same rows (the CUPED estimate is the
treatment coefficient of OLS on the mean-filled covariate and a missing-value indicator) or
from hand arithmetic, never from the app itself.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from playwright.sync_api import Page, expect

SAMPLE = Path(__file__).parents[2] / "static" / "samples" / "cuped_users.csv"


def sample_estimate() -> float:
    df = pd.read_csv(SAMPLE)
    df["gap"] = df["pre_spend"].isna().astype(float)
    df["filled"] = df["pre_spend"].fillna(df["pre_spend"].mean())
    fit = smf.ols("spend ~ C(variant) + filled + gap", data=df).fit()
    return float(fit.params["C(variant)[T.B]"])


def test_cuped_page_loads_the_sample_and_plans_live(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/cuped")
    readout = page.locator("[data-readout]").first
    expect(readout).to_contain_text(f"B vs A: {sample_estimate():+.2f} (95% CI")
    expect(readout).to_contain_text("the CUPED-adjusted variance is")
    for name in ("scatter", "intervals", "plan_n", "plan_width"):
        expect(page.locator(f"#fig-{name} .main-svg").first).to_be_visible()
    expect(page.locator("#f-variant")).to_have_value("variant")
    expect(page.locator("#f-outcome")).to_have_value("spend")
    expect(page.locator("#f-covariate")).to_have_value("pre_spend")
    expect(page.locator("#f-control")).to_have_value("A")
    missing = int(pd.read_csv(SAMPLE)["pre_spend"].isna().sum())
    expect(page.locator("[data-kpis]")).to_contain_text(str(missing))

    plan = page.locator("[data-plan-root] [data-readout]")
    # 5000 × (1 − 0.6²) = 3200 and 5000 × (1 − 0.8²) = 1800 users per group.
    expect(plan).to_contain_text("CUPED needs 3,200 users per group")
    page.fill("#p-rho", "0.8")
    expect(plan).to_contain_text("At ρ = 0.80, CUPED needs 1,800 users per group")
    expect(page.locator("[data-rho-out]")).to_have_text("0.80")

    page.fill("#p-sd", "0")
    expect(page.locator('#plan [data-field="sd"] .toast')).to_contain_text("sd must be > 0")
    page.fill("#p-sd", "10")
    expect(page.locator("#plan .toast")).to_have_count(0)


def test_malformed_csv_shows_a_toast_at_the_data_field(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/cuped")
    expect(page.locator("#fig-intervals .main-svg").first).to_be_visible()
    page.fill("#f-csv", "variant,pre,spend\nA,1,2\nB,3\n")
    toast = page.locator('[data-field="csv"] .toast')
    expect(toast).to_contain_text("row 2 has 2 fields")
    expect(page.locator("#f-csv")).to_have_attribute("aria-invalid", "true")


def test_uploaded_file_maps_its_columns(page: Page, live_server: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    n = 300
    arm = np.repeat(["control", "test"], n)
    before = rng.normal(50, 10, 2 * n)
    after = before + 2.0 * (arm == "test") + rng.normal(0, 8, 2 * n)
    df = pd.DataFrame({"arm": arm, "before": before.round(3), "after": after.round(3)})
    path = tmp_path / "mine.csv"
    df.to_csv(path, index=False)
    fit = smf.ols("after ~ C(arm) + before", data=df).fit()

    page.goto(f"{live_server}/cuped")
    expect(page.locator("#fig-intervals .main-svg").first).to_be_visible()
    page.set_input_files("#f-file", str(path))
    readout = page.locator("[data-readout]").first
    expect(readout).to_contain_text(f"test vs control: {fit.params['C(arm)[T.test]']:+.2f}")
    expect(page.locator("#f-variant")).to_have_value("arm")
    expect(page.locator("#f-covariate")).to_have_value("before")
    expect(page.locator("#f-outcome")).to_have_value("after")
    expect(page.locator("[data-file-name]")).to_contain_text("mine.csv")


def test_comparison_table_downloads_as_csv(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/cuped")
    expect(page.locator("[data-readout]").first).to_contain_text("B vs A")
    with page.expect_download() as info:
        page.locator('[data-table="comparisons"] button.download').click()
    text = Path(info.value.path()).read_text()
    assert text.startswith("Variant,Adjusted difference,CI low,CI high,p-value")
    assert re.search(rf"^B,{sample_estimate():.6f}", text, re.M)


def test_cuped_page_works_on_a_phone(page: Page, live_server: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/cuped")
    expect(page.locator("#fig-plan_width .main-svg").first).to_be_visible()
    expect(page.locator("[data-readout]").first).to_contain_text("B vs A")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page scrolls sideways on a phone ({width}px)"
