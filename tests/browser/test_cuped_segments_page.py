"""The CUPED page with a segment column: each segment adjusted on its own, the forest plot,
the segment table and the sentence naming conflicts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from playwright.sync_api import Page, expect


def users_csv() -> str:
    rng = np.random.default_rng(5)
    lines = ["variant,device,pre_spend,spend"]
    for device, n, lift in (("iOS", 600, 3.0), ("Android", 900, 0.0), ("tablet", 20, 1.0)):
        for variant in ("A", "B"):
            pre = rng.normal(50, 10, n)
            spend = 10 + 0.8 * pre + (lift if variant == "B" else 0.0) + rng.normal(0, 3, n)
            lines += [
                f"{variant},{device},{p:.3f},{s:.3f}" for p, s in zip(pre, spend, strict=True)
            ]
    return "\n".join(lines) + "\n"


def test_cuped_by_segment(page: Page, live_server: str, tmp_path: Path) -> None:
    page.goto(f"{live_server}/cuped")
    readout = page.locator("#params").locator("xpath=..").locator("[data-readout]")
    expect(page.locator("#fig-scatter .main-svg").first).to_be_visible()
    data = tmp_path / "devices.csv"
    data.write_text(users_csv())
    page.set_input_files("#f-file", str(data))
    expect(page.locator("#f-segment option", has_text="device")).to_have_count(1)
    page.select_option("#f-segment", "device")
    expect(readout).to_contain_text(
        "B vs A by segment: wins on iOS, no effect on Android, tablet too thin to tell"
    )
    expect(page.locator("#fig-segments .main-svg").first).to_be_visible()
    expect(page.locator('[data-table="segments"] tbody tr')).to_have_count(3)
    page.select_option("#f-segment", "")
    expect(page.locator("[data-segments]")).to_be_hidden()
