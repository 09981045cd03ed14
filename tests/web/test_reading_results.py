"""Issue 11, "Reading the results": server-side parts (sidebar order, compressed Plotly.js,
units in readouts and decision reasons, p-values never shown as 0 or 1, escaped figure text)."""

from __future__ import annotations

import gzip
import re

from flask.testing import FlaskClient

from blueprints.core.routes import PLOTLY_JS, PLOTLY_VERSION


def test_sidebar_follows_the_lifecycle(client: FlaskClient) -> None:
    html = client.get("/power").get_data(as_text=True)
    sidebar = html[html.index('<nav class="sidebar"') : html.index("</nav>")]
    stages = re.findall(r'class="stage stage-(\w+)"', sidebar)
    order = ["plan", "run", "analyze", "decide"]
    assert stages == sorted(stages, key=order.index), stages
    assert set(stages) == set(order)


def test_plotly_js_is_served_gzipped(client: FlaskClient) -> None:
    url = f"/vendor/plotly-{PLOTLY_VERSION}.min.js"
    response = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert "max-age=31536000" in response.headers["Cache-Control"]
    body = response.get_data()
    assert len(body) < 2_000_000, len(body)
    with open(PLOTLY_JS, "rb") as f:
        assert gzip.decompress(body) == f.read()
    # Revalidation by ETag answers 304 without the body.
    again = client.get(
        url, headers={"Accept-Encoding": "gzip", "If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304
    # A client that does not accept gzip gets the plain file.
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
    with open(PLOTLY_JS, "rb") as f:
        assert plain.get_data() == f.read()
