"""Screenshots of every module page for the README: ``python -m tests.browser.screenshots DIR``.

Each page is opened with its default inputs (every page computes on load) and captured once
its charts have drawn.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from app import create_app
from blueprints import registry
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import ADMIN_TOKEN


def api(base: str, method: str, path: str, token: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read() or b"null")


def seed_experiment(base: str) -> None:
    """A running experiment with a few thousand seeded events, so its page has an analysis."""
    spec = {
        "name": "Checkout copy",
        "hypothesis": "Saying 'free returns' at checkout raises purchases.",
        "primary_event": "purchase",
        "variants": [{"name": "control", "weight": 0.5}, {"name": "B", "weight": 0.5}],
    }
    experiment = api(base, "POST", "/api/experiments", ADMIN_TOKEN, spec)
    eid, key = experiment["id"], experiment["ingest_key"]
    api(base, "POST", f"/api/experiments/{eid}/launch", ADMIN_TOKEN)
    rng = np.random.default_rng(3)
    events = []
    for i in range(3000):
        unit = f"u{i}"
        variant = api(base, "GET", f"/api/experiments/{eid}/assign?unit={unit}", key)["variant"]
        events.append({"event_id": f"x{i}", "unit": unit, "variant": variant, "name": "exposure",
                       "ts": "2026-11-20T10:00:00Z"})  # fmt: skip
        if rng.random() < (0.10 if variant == "control" else 0.13):
            events.append({"event_id": f"c{i}", "unit": unit, "variant": variant, "name": "purchase",
                           "ts": "2026-11-20T11:00:00Z"})  # fmt: skip
    for start in range(0, len(events), 1000):
        api(
            base,
            "POST",
            f"/api/experiments/{eid}/events",
            key,
            {"events": events[start : start + 1000]},
        )


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    database = Path(tempfile.mkdtemp()) / "screenshots.sqlite3"
    app = create_app({"DATABASE": str(database), "ADMIN_TOKEN": ADMIN_TOKEN})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        seed_experiment(base)
        page.goto(base)
        page.evaluate(f"sessionStorage.setItem('abacus.adminToken', '{ADMIN_TOKEN}')")
        for slug in ["", *(m.slug for m in registry(app).modules)]:
            page.goto(f"{base}/{slug}")
            if slug == "experiments":
                page.get_by_role("button", name="View").first.click()
            if slug:
                page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
                page.wait_for_timeout(800)
            path = out / f"{slug or 'home'}.png"
            page.screenshot(path=str(path), full_page=False)
            print(path)
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
