"""The "Data source" mode of the Bayesian, CUPED and DoE pages (issue 12): pick the live
server's source and a table (conftest.SOURCE_TABLES), map its columns, and the page shows the
analysis the API gives for ``{source, table, <roles>}``; with no source configured the mode
says so as a hint, not as an error.

DoE and Bayesian expectations are those of the same rows as a CSV (Montgomery's battery data:
interaction p = 0.019; the daily sample: B best with 99.7%). CUPED is compared with the
answer to the same sample as a CSV upload (its users without a pre-period value are kept on
both paths).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect


def test_cuped_analyses_a_table(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/cuped")
    page.select_option("#f-source", "table")
    expect(page.locator("#f-csv")).to_be_hidden()
    expect(page.locator("#f-source_name")).to_have_value("warehouse")
    page.select_option("#f-source_table", "cuped_users")
    # The table's columns fill the role selects with the CSV mode's guesses.
    expect(page.locator("#f-variant")).to_have_value("variant")
    expect(page.locator("#f-outcome")).to_have_value("spend")
    expect(page.locator("#f-covariate")).to_have_value("pre_spend")
    request = {
        "source": "warehouse",
        "table": "cuped_users",
        "variant": "variant",
        "outcome": "spend",
        "covariate": "pre_spend",
        "alpha": 0.05,
    }
    sample = Path(__file__).parents[2] / "static" / "samples" / "cuped_users.csv"
    upload = {k: v for k, v in request.items() if k not in ("source", "table")}
    upload["csv"] = sample.read_text()
    answer = page.request.post(f"{live_server}/api/cuped", data=upload).json()
    assert answer["result"]["n_missing_covariate"] > 0  # the sample has users without one
    expect(page.locator("[data-readout]").first).to_have_text(answer["readout"])
    expect(page.locator("#fig-intervals .main-svg").first).to_be_visible()
    expect(page.locator('[data-table="arms"]')).to_contain_text("Pre-period mean")


def test_doe_analyses_a_table(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/doe")
    page.select_option("#f-source", "table")
    expect(page.locator("[data-grid]")).to_be_hidden()
    page.select_option("#f-source_table", "battery")
    expect(page.locator("#f-table_factor_a")).to_have_value("")  # (detect), as a CSV's empty field
    page.select_option("#f-table_factor_a", "material")
    page.select_option("#f-table_factor_b", "temperature")
    page.select_option("#f-table_response", "life")
    readout = page.locator("[data-readout]")
    expect(readout).to_contain_text("p = 0.019 for the interaction")
    expect(readout).to_contain_text("155.8 at material = 2, temperature = 15")
    expect(page.locator("#fig-interaction .main-svg").first).to_be_visible()
    expect(page.locator('[data-table="anova"]')).to_contain_text("material × temperature")


def test_bayesian_analyses_a_table_with_dates(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/bayesian")
    page.select_option("#f-source", "table")
    page.select_option("#f-source_table", "daily")
    expect(page.locator("#f-table_variant")).to_have_value("variant")
    expect(page.locator("#f-table_value")).to_have_value("converted")
    expect(page.locator("#f-table_date")).to_have_value("date")
    expect(page.locator("[data-readout]").first).to_contain_text("B is best with probability 99.7%")
    expect(page.locator("[data-decision]")).to_contain_text("Ship")
    expect(page.locator("#fig-posteriors .main-svg").first).to_be_visible()
    expect(page.locator("#fig-loss_over_time .main-svg").first).to_be_visible()
    # Another metric column, without dates: no loss over time.
    page.select_option("#f-metric", "count")
    page.select_option("#f-table_value", "purchases")
    page.select_option("#f-table_date", "")
    expect(page.locator("[data-loss-card]")).to_be_hidden()
    expect(page.locator("[data-readout]").first).to_contain_text("is best with probability")


@pytest.mark.parametrize("path", ["/abtest", "/bayesian", "/cuped", "/doe"])
def test_no_configured_source_is_a_hint_not_an_error(
    page: Page, live_server: str, path: str
) -> None:
    def no_sources(route: Route) -> None:
        route.fulfill(json={"sources": []})

    page.route("**/api/sources", no_sources)
    page.goto(f"{live_server}{path}?source=table")
    status = page.locator("[data-status-text]").first
    expect(status).to_contain_text("No data source is configured")
    expect(page.locator("#h-source_name")).to_contain_text("No data source is configured")
    expect(page.locator("#f-source_name")).to_be_disabled()
    expect(page.locator(".toast-error")).to_have_count(0)
