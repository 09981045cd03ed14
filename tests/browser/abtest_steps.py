"""Steps several A/B page tests take the same way."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def open_csv_mode(page: Page, live_server: str) -> None:
    """The A/B page, once its first answer is shown, switched to "Paste or upload CSV"."""
    page.goto(f"{live_server}/abtest")
    expect(page.locator("[data-verdict]")).to_be_visible()
    page.get_by_label("Paste or upload CSV").check()
