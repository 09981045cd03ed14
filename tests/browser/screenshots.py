"""Screenshots of every module page for the README: ``python -m tests.browser.screenshots DIR``.

Each page is opened with its default inputs (every page computes on load) and captured once
its charts have drawn.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from app import create_app
from blueprints import MODULES
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import ADMIN_TOKEN


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    app = create_app({"DATABASE": str(out / "screenshots.sqlite3"), "ADMIN_TOKEN": ADMIN_TOKEN})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for slug in ["", *(m.slug for m in MODULES)]:
            page.goto(f"{base}/{slug}")
            if slug:
                page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
                page.wait_for_timeout(800)
            path = out / f"{slug or 'home'}.png"
            page.screenshot(path=str(path), full_page=False)
            print(path)
        browser.close()
    server.shutdown()
    (out / "screenshots.sqlite3").unlink(missing_ok=True)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
