"""The A/B page with a segment column: the forest plot, the segment table and the sentence
naming conflicts, kept in a shared link."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from playwright.sync_api import Page, expect

from .abtest_steps import open_csv_mode


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


def upload(page: Page, live_server: str, path: Path, text: str) -> None:
    """The A/B page in CSV mode with ``text`` uploaded as the file ``path``."""
    open_csv_mode(page, live_server)
    path.write_text(text)
    page.set_input_files("#f-file", str(path))


def test_segment_column_shows_forest_table_and_conflicts(
    page: Page, live_server: str, tmp_path: Path
) -> None:
    upload(page, live_server, tmp_path / "devices.csv", device_csv())
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


def orders_csv() -> str:
    """One row per user with a device: orders ~ Poisson(1.3) and revenue per order 30 on
    control, B's lift 3 on desktop and 0 on mobile and tablet."""
    rng = np.random.default_rng(21)
    lines = ["variant,device,orders,revenue"]
    for device, n, lift in (("desktop", 600, 3.0), ("mobile", 800, 0.0), ("tablet", 40, 0.0)):
        for variant in ("A", "B"):
            y = rng.poisson(1.3, n)
            x = (30.0 + (lift if variant == "B" else 0.0)) * y + 4.0 * rng.standard_normal(n)
            lines += [f"{variant},{device},{b},{a:.2f}" for a, b in zip(x, y, strict=True)]
    return "\n".join(lines) + "\n"


def test_ratio_metric_by_segment(page: Page, live_server: str, tmp_path: Path) -> None:
    upload(page, live_server, tmp_path / "orders.csv", orders_csv())
    expect(page.locator("#f-numerator")).to_be_visible()
    page.select_option("#f-numerator", "revenue")
    page.select_option("#f-denominator", "orders")
    readout = page.locator("[data-readout]")
    expect(readout).to_contain_text("The ratio on B was")
    page.select_option("#f-segment", "device")
    expect(readout).to_contain_text("B vs A by segment:")
    expect(page.locator("#fig-segments .main-svg").first).to_be_visible()
    expect(page.locator('[data-table="segments"] table tbody tr')).to_have_count(3)

    # On a source's table the segment goes with the ratio's columns (user_id: too many values).
    page.get_by_label("Data source").check()
    page.select_option("#f-source_table", "users")
    expect(readout).to_contain_text("users converted on B")  # the table's first metric
    page.select_option("#f-numerator", "revenue")
    page.select_option("#f-denominator", "converted")
    expect(readout).to_contain_text("The ratio on B was")
    with page.expect_request(
        lambda r: r.url.endswith("/api/abtest") and r.method == "POST"
    ) as sent:
        page.select_option("#f-segment", "user_id")
    body = sent.value.post_data_json or {}
    roles = ("numerator", "denominator", "segment")
    assert [body.get(k) for k in roles] == ["revenue", "converted", "user_id"]
    expect(page.locator(".toast").first).to_contain_text("segment")
