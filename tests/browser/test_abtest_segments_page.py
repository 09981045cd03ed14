"""The A/B page with a segment column: the forest plot, the segment table and the sentence
naming conflicts, kept in a shared link."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from playwright.sync_api import Page, expect


def device_csv() -> str:
    rng = np.random.default_rng(14)
    lines = ["variant,device,revenue"]
    for device, n, base, lift in (
        ("iOS", 800, 10.0, 1.5),
        ("Android", 1200, 12.0, 0.0),
        ("tablet", 25, 8.0, 0.5),
    ):
        for variant in ("A", "B"):
            for y in rng.normal(base + (lift if variant == "B" else 0.0), 3.0, n):
                lines.append(f"{variant},{device},{y:.4f}")
    return "\n".join(lines) + "\n"


def test_segment_column_shows_forest_table_and_conflicts(
    page: Page, live_server: str, tmp_path: Path
) -> None:
    page.goto(f"{live_server}/abtest")
    expect(page.locator("[data-verdict]")).to_be_visible()
    page.get_by_label("Paste or upload CSV").check()
    data = tmp_path / "devices.csv"
    data.write_text(device_csv())
    page.set_input_files("#f-file", str(data))
    readout = page.locator("[data-readout]")
    expect(readout).to_contain_text("B averaged")
    expect(page.locator("[data-segments]")).to_be_hidden()

    page.select_option("#f-segment", "device")
    expect(readout).to_contain_text(
        "B vs A by segment: wins on iOS, no effect on Android, tablet too thin to tell"
    )
    expect(page.locator("#fig-segments .main-svg").first).to_be_visible()
    table = page.locator('[data-table="segments"] table')
    expect(table.locator("tbody tr")).to_have_count(3)
    with page.expect_download() as info:
        page.locator('[data-table="segments"]').get_by_role("button", name="Download CSV").click()
    assert Path(info.value.path()).read_text().startswith("Variant,Segment,Difference")
    assert "segment=device" in page.url

    page.select_option("#f-segment", "")
    expect(page.locator("[data-segments]")).to_be_hidden()
    expect(page.locator('[data-table="segments"]')).to_be_hidden()
