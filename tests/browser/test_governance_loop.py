"""Issue 15's loop in one browser session: write a spec, create and launch the experiment, send
events with a pre-period covariate, analyse (CUPED, the anytime-valid SRM, the policy's
verdict), record a decision, download the report and open it offline."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from ..conftest import ADMIN_TOKEN
from ..experiment_events import covariate_traffic
from .test_experiments_page import post_events, sign_in
from .test_report_download import download_report, open_offline

SEQUENTIAL = "mode: sequential\n  method: msprt"


def test_spec_to_offline_report(
    page: Page, live_server: str, browser: Browser, tmp_path: Path
) -> None:
    # 1. write a spec (the sample, renamed, with a sequential policy)
    sign_in(page, live_server)
    page.locator("#spec-card summary").click()
    page.get_by_role("button", name="Load the sample").click()
    editor = page.locator("#f-spec")
    expect(editor).to_have_value(re.compile("spec_version: 1"))
    text = editor.input_value().replace("name: Checkout copy", "name: Loop checkout")
    editor.fill(text.replace("mode: fixed-horizon", SEQUENTIAL))

    # 2. create and launch
    page.get_by_role("button", name="Create from spec").click()
    detail = page.locator("#detail")
    expect(detail.locator('[data-d="name"]')).to_have_text("Loop checkout")
    detail.get_by_role("button", name="Launch").click()
    expect(detail.locator('[data-d="status"]')).to_have_text("running")

    # 3. events with a covariate, through the ingest key shown on the page
    key = page.locator("#ingest-key").input_value()
    experiment_id = detail.locator('[data-d="id"]').first.inner_text()
    events = covariate_traffic(
        ("control", "pay-now"), seed=15, slope=0.02, lift=0.15, prefix="loop"
    )
    assert post_events(live_server, experiment_id, key, events)["accepted"] == len(events)

    # 4. analyse: CUPED, the anytime-valid SRM, and the pre-registered policy's verdict
    detail.get_by_role("button", name="Analyze").click()
    analysis = page.locator("#analysis")
    expect(analysis.locator("[data-readout]")).to_contain_text("With CUPED")
    expect(page.locator("#fig-cuped .main-svg").first).to_be_visible()
    expect(analysis.locator("[data-kpis]")).to_contain_text("SRM p (always-valid)")
    policy = page.locator("#policy-card [data-policy]")
    expect(policy).to_contain_text("Policy verdict: ship")
    expect(policy).to_contain_text("rules[3] (win → ship)")

    # 5. record the decision the policy points to
    decisions = page.locator("#decisions-card")
    expect(decisions.locator("#f-decision")).to_have_value("ship")
    decisions.locator("#f-rationale").fill("Pay now wins under the sequential policy.")
    decisions.locator("#f-follow_up").fill("Roll out to mobile.")
    decisions.get_by_role("button", name="Record decision").click()
    expect(decisions.locator('[data-table="decisions"]')).to_contain_text("1 decision record")

    # 6. download the report and open it offline
    saved = download_report(page, analysis.locator("[data-report]"), tmp_path)
    html = saved.read_text(encoding="utf-8")
    assert "Loop checkout" in html and "With CUPED" in html
    assert "Pay now wins under the sequential policy." in html  # the decision record
    assert "rules[3] (win → ship)" in html  # the policy's verdict, in the results
    open_offline(browser, saved)

    # leave the shared server's summary as it was (other tests count winners)
    for method, path in (("POST", "/stop"), ("DELETE", "")):
        request = urllib.request.Request(
            f"{live_server}/api/experiments/{experiment_id}{path}",
            method=method,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        urllib.request.urlopen(request, timeout=10).close()
