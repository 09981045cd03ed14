"""The parameter panel holds its controls: nothing in it reaches past its right edge.

A row editor's cells once took the results tables' minimum cell width, which pushed the A/B
panel's selects and the variants' remove buttons under the panel's edge at desktop width.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

PAGES = ["power", "abtest", "sequential", "bayesian", "cuped", "doe"]

OVERFLOW = """() => {
  const panel = document.querySelector('.params');
  const edge = panel.getBoundingClientRect().right - parseFloat(getComputedStyle(panel).paddingRight);
  return [...panel.querySelectorAll('input, select, textarea, button, table')]
    .filter((el) => el.offsetParent !== null && el.getBoundingClientRect().right > edge + 1)
    .map((el) => `${el.tagName.toLowerCase()}#${el.id || el.name || el.className}`);
}"""


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("module", PAGES)
def test_parameter_panel_holds_its_controls(
    page: Page, live_server: str, module: str, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server}/{module}")
    page.wait_for_selector(".js-plotly-plot .main-svg")
    assert page.evaluate(OVERFLOW) == []
