"""A shared link sends the same request: every page, after edits, removed rows, metric
switches and CSV mode.

Issue 11: the page state lives in the URL so a result can be shared, but a removed Bayesian
variant stayed in the URL and came back for the recipient ("ship C" where the sender saw
"ship B"). Here each scenario edits a page, takes its URL, opens it in a fresh page and asserts
that the fresh page's first request to each of the page's endpoints is the sender's last one,
compared as parsed JSON or multipart fields. (The Experiments page keeps no state in its URL:
it is a list behind a token, so it has no scenario here.)
"""

from __future__ import annotations

import email.parser
import email.policy
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, Request, expect

SETTLE_MS = 900  # longer than the pages' 400 ms debounce plus a local answer


def body_of(request: Request) -> Any:
    """The request body as JSON, or as {field: value} for multipart (a file as its bytes)."""
    content_type = request.headers.get("content-type", "")
    data = request.post_data_buffer or b""
    if content_type.startswith("multipart/"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + data
        )
        fields = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            fields[name] = part.get_payload(decode=True)
        return fields
    return json.loads(data or b"{}")


class Recorder:
    """Request bodies per API path, in the order the page sent them."""

    def __init__(self, page: Page) -> None:
        self.sent: dict[str, list[Any]] = {}
        page.on("request", self._on)

    def _on(self, request: Request) -> None:
        path = urlsplit(request.url).path
        if request.method == "POST" and path.startswith("/api/"):
            self.sent.setdefault(path, []).append(body_of(request))


def settle(page: Page) -> None:
    page.wait_for_timeout(SETTLE_MS)
    expect(page.locator("[data-status-text]").first).not_to_have_text("Computing…")


# ---------------------------------------------------------------- scenarios: edits per page


def power_edits(page: Page) -> None:
    page.fill("#f-mde", "0.03")
    page.select_option("#f-alternative", "larger")
    page.locator("details:has(#f-bonferroni) > summary").click()
    page.check("#f-bonferroni")


def power_mean_relative(page: Page) -> None:
    page.select_option("#f-mde_type", "relative")
    page.fill("#f-mde", "0.1")
    settle(page)
    page.select_option("#f-metric", "mean")
    page.fill("#f-baseline_mean", "50")
    page.select_option("#f-solve_for", "power")
    page.fill("#f-n_per_group", "200")


def abtest_added_and_removed_rows(page: Page) -> None:
    page.get_by_role("button", name="+ Add variant").click()
    row = page.locator("[data-variants] tbody tr").nth(2)
    row.locator('input[data-key="users"]').fill("1010")
    row.locator('input[data-key="conversions"]').fill("140")
    settle(page)
    page.get_by_role("button", name="Remove variant 2").click()


def abtest_mean_metric(page: Page) -> None:
    page.select_option("#f-metric", "mean")
    for i, (mean, sd) in enumerate([("10", "3"), ("10.6", "3.1")]):
        row = page.locator("[data-variants] tbody tr").nth(i)
        row.locator('input[data-key="mean"]').fill(mean)
        row.locator('input[data-key="sd"]').fill(sd)


def abtest_csv(page: Page) -> None:
    page.get_by_label("Paste or upload CSV").check()
    page.fill("#f-csv", "variant,users,conversions\nA,1000,100\nB,1000,131\nC,990,118\n")
    settle(page)
    page.fill("#f-alpha", "0.1")


def bayesian_removed_variant(page: Page) -> None:
    page.get_by_role("button", name="+ Add variant").click()
    page.fill('[name="variants[2].users"]', "1000")
    page.fill('[name="variants[2].conversions"]', "160")
    settle(page)
    page.get_by_role("button", name="Remove variant 3").click()
    settle(page)
    page.get_by_role("button", name="Remove variant 1").click()  # needs >= 2: refused
    page.get_by_role("button", name="+ Add variant").click()
    page.fill('[name="variants[2].users"]', "990")
    page.fill('[name="variants[2].conversions"]', "101")
    settle(page)
    page.get_by_role("button", name="Remove variant 1").click()


def bayesian_metric_round_trip(page: Page) -> None:
    page.select_option("#f-metric", "mean")
    settle(page)
    page.select_option("#f-metric", "count")
    settle(page)
    page.select_option("#f-metric", "proportion")
    page.fill('[name="variants[0].conversions"]', "95")
    page.fill('[name="variants[1].conversions"]', "125")


def bayesian_csv(page: Page) -> None:
    page.select_option("#f-source", "csv")
    page.fill("#f-csv", "variant,users,conversions\nA,1000,100\nB,1000,128\n")
    settle(page)
    page.fill("#f-s_days", "12")  # the second form on the page


def cuped_edits(page: Page) -> None:
    page.fill("#f-alpha", "0.1")
    page.fill("#p-rho", "0.3")


def doe_reordered_levels(page: Page) -> None:
    page.fill("#f-levels_a", "3, 1, 2")
    page.fill("#f-levels_b", "15, 70, 125, 150")
    for cell in page.locator('[data-grid] textarea[data-b="150"]').all():
        cell.fill("60; 70,5; 80")
    page.select_option("#f-anova_type", "3")


def doe_csv(page: Page) -> None:
    page.select_option("#f-source", "csv")
    page.get_by_role("button", name="paste it here").click()
    settle(page)
    page.fill("#f-alpha", "0.01")


def abtest_source(page: Page) -> None:
    page.get_by_label("Data source").check()
    page.select_option("#f-source_table", "users")
    page.select_option("#f-metric_column", "revenue")
    settle(page)
    page.fill("#f-alpha", "0.1")


def bayesian_source(page: Page) -> None:
    page.select_option("#f-source", "table")
    page.select_option("#f-source_table", "daily")
    settle(page)
    page.select_option("#f-metric", "count")
    page.select_option("#f-table_value", "purchases")
    page.select_option("#f-table_date", "")  # (none): the link must not bring a date back


def cuped_source(page: Page) -> None:
    page.select_option("#f-source", "table")
    page.select_option("#f-source_table", "cuped_users")
    settle(page)
    page.fill("#f-alpha", "0.1")


def doe_source(page: Page) -> None:
    page.select_option("#f-source", "table")
    page.select_option("#f-source_table", "battery")
    page.select_option("#f-table_factor_a", "temperature")
    page.select_option("#f-table_factor_b", "material")
    settle(page)
    page.select_option("#f-anova_type", "3")


def sequential_edits(page: Page) -> None:
    page.fill("#f-sim-looks", "5")
    page.fill("#f-gs-fractions", "0.25, 0.5, 1")
    page.select_option("#f-mon-spending", "pocock")
    page.fill("#f-ms-conversions_b", "600")


SCENARIOS: dict[str, tuple[str, Callable[[Page], None]]] = {
    "power": ("/power", power_edits),
    "power-mean-relative": ("/power", power_mean_relative),
    "abtest-rows": ("/abtest", abtest_added_and_removed_rows),
    "abtest-mean": ("/abtest", abtest_mean_metric),
    "abtest-csv": ("/abtest", abtest_csv),
    "abtest-source": ("/abtest", abtest_source),
    "bayesian-removed-variant": ("/bayesian", bayesian_removed_variant),
    "bayesian-metric-round-trip": ("/bayesian", bayesian_metric_round_trip),
    "bayesian-csv": ("/bayesian", bayesian_csv),
    "bayesian-source": ("/bayesian", bayesian_source),
    "cuped": ("/cuped", cuped_edits),
    "cuped-source": ("/cuped", cuped_source),
    "doe-levels": ("/doe", doe_reordered_levels),
    "doe-csv": ("/doe", doe_csv),
    "doe-source": ("/doe", doe_source),
    "sequential": ("/sequential", sequential_edits),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_shared_link_sends_the_senders_request(
    page: Page, context: BrowserContext, live_server: str, scenario: str
) -> None:
    path, edit = SCENARIOS[scenario]
    sender = Recorder(page)
    page.goto(f"{live_server}{path}")
    settle(page)
    edit(page)
    settle(page)
    link = page.url
    last = {endpoint: bodies[-1] for endpoint, bodies in sender.sent.items()}
    assert last, "the sender's page sent no request"

    fresh = context.browser.new_context() if context.browser else context
    try:
        other = fresh.new_page()
        recipient = Recorder(other)
        other.goto(link)
        settle(other)
        for endpoint, body in last.items():
            got = recipient.sent.get(endpoint)
            assert got, f"the shared link sent nothing to {endpoint}"
            differ = {k for k in set(body) | set(got[0]) if body.get(k) != got[0].get(k)}
            assert got[0] == body, f"{endpoint}: the link's request differs in {sorted(differ)}"
            if scenario.endswith("-source"):  # the table's columns arrive after the first request
                differ = {k for k in set(body) | set(got[-1]) if body.get(k) != got[-1].get(k)}
                assert got[-1] == body, f"{endpoint}: a later request differs in {sorted(differ)}"
    finally:
        if fresh is not context:
            fresh.close()
