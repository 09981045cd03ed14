"""Playwright against Debian's Chromium and a live Abacus server on 127.0.0.1.

No ``playwright install``: ``browser_type_launch_args`` points pytest-playwright at
/usr/bin/chromium. Every page fixture records console errors and CSP violations, and a test
fails if any were seen.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page
from werkzeug.serving import make_server

from app import create_app

from ..conftest import ADMIN_TOKEN

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Chromium flags for a closed network and a root user (see the machine notes in the README).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Records CSP violations in the page so a test can read them back.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""

# The live server's source ``warehouse``: table -> the sample in static/samples it holds.
SOURCE_TABLES = {
    "users": "abtest_users.csv",  # A/B: one row per user
    "cuped_users": "cuped_users.csv",  # CUPED: outcome and pre-period covariate
    "daily": "bayesian_daily.csv",  # Bayesian: one row per user with a date
    "battery": "doe_battery.csv",  # DoE: Montgomery's battery life, long format
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (Debian's chromium package)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on a free loopback port, served by werkzeug in a thread, with one configured
    data source: a DuckDB file holding the pages' samples as tables (``SOURCE_TABLES``)."""
    import ibis

    folder = tmp_path_factory.mktemp("db")
    db = folder / "abacus.sqlite3"
    warehouse = folder / "warehouse.duckdb"
    con = ibis.duckdb.connect(warehouse)
    samples = Path(__file__).parents[2] / "static" / "samples"
    for table, sample in SOURCE_TABLES.items():
        con.create_table(table, con.read_csv(samples / sample).to_pyarrow())
    con.disconnect()
    app = create_app(
        {
            "TESTING": True,
            "DATABASE": str(db),
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "SOURCES": {"warehouse": f"duckdb:///{warehouse}"},
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def page(page: Page, live_server: str) -> Iterator[Page]:
    """A page that fails the test on console errors or CSP violations."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(CSP_LISTENER)
    page.set_default_timeout(15_000)
    yield page
    violations = page.evaluate("window.__cspViolations || []") if not page.is_closed() else []
    assert not violations, f"CSP violations: {violations}"
    # A 4xx answer to a deliberately bad input is logged by Chromium as a failed resource;
    # that is the app working, not an error in it.
    real = [e for e in errors if "Failed to load resource" not in e]
    assert not real, f"console errors: {real}"
