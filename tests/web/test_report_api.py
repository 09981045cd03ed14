"""Reports: POST /api/report for every analysis page and GET /api/experiments/<id>/report,
each one self-contained HTML file: the page's readout and figure data, nothing external."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from flask.testing import FlaskClient

from blueprints.report.document import MAX_TEXT_LINES, PAGES, lay_out

from .test_experiments_api import ADMIN, running, send, traffic


class Parsed(HTMLParser):
    """Every tag's attributes, the text of elements by id, and the script bodies."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.attrs: list[tuple[str, dict[str, str | None]]] = []
        self.by_id: dict[str, str] = {}
        self._open: list[str | None] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.attrs.append((tag, found))
        if tag not in ("meta", "br", "img", "link", "input"):
            self._open.append(found.get("id"))
            if found.get("id"):
                self.by_id[str(found["id"])] = ""

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for element in self._open:
            if element:
                self.by_id[element] += data


def check_offline(html: str) -> Parsed:
    """The report parses, loads nothing (no src/href to anywhere, no stylesheet link) and
    carries Plotly.js inline."""
    doc = Parsed(html)
    for tag, attrs in doc.attrs:
        for name in ("src", "href", "action", "data", "poster"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), (tag, name, value)
        assert not (tag == "script" and attrs.get("src")), attrs
        assert tag != "link", attrs
    assert "Plotly.newPlot" in html and "plotly.js v" in html.lower()
    return doc


def examples(client: FlaskClient) -> dict[str, Any]:
    doc = client.get("/api/openapi.json").json
    assert doc is not None
    out = {}
    for page in PAGES:
        media = doc["paths"][f"/api/{page}"]["post"]["requestBody"]["content"]["application/json"]
        out[page] = next(iter(media["examples"].values()))["value"]
    return out


@pytest.mark.parametrize("page", PAGES)
def test_every_page_report_holds_its_readout_and_figures(client: FlaskClient, page: str) -> None:
    body = examples(client)[page]
    direct = client.post(f"/api/{page}", json=body)
    assert direct.status_code == 200, direct.json
    r = client.post("/api/report", json={"page": page, "request": body})
    assert r.status_code == 200, r.data[:500]
    assert r.mimetype == "text/html"
    assert r.headers["Content-Disposition"].startswith('attachment; filename="abacus-')
    doc = check_offline(r.get_data(as_text=True))
    page_answer = direct.json
    assert page_answer is not None
    assert doc.by_id["readout"].strip() == page_answer["readout"].strip()
    figures = json.loads(doc.by_id["report-figures"])
    assert figures.keys() == page_answer["figures"].keys()
    for name, figure in figures.items():
        assert figure["data"] == page_answer["figures"][name]["data"], name
        assert f"fig-{name}" in doc.by_id


def test_the_report_runs_only_its_own_scripts(client: FlaskClient) -> None:
    """Its policy, in the header and in the file (so it holds offline), allows each of its
    inline scripts by hash and no other: no 'unsafe-inline' for scripts."""
    body = examples(client)["power"]
    r = client.post("/api/report", json={"page": "power", "request": body})
    html = r.get_data(as_text=True)
    header = r.headers["Content-Security-Policy"]
    metas = [a for t, a in Parsed(html).attrs if t == "meta" and a.get("http-equiv")]
    assert [m["content"] for m in metas] == [header]
    script_src = next(d for d in header.split(";") if d.strip().startswith("script-src"))
    assert "unsafe-inline" not in script_src
    executable = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    assert len(executable) == 2  # Plotly.js and the drawing script; the figures are JSON
    for source in executable:
        digest = base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_src
    assert len(re.findall(r"'sha256-", script_src)) == 2


def test_page_errors_name_the_field_inside_request(client: FlaskClient) -> None:
    r = client.post("/api/report", json={"page": "power", "request": {"baseline": 2}})
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert r.json is not None and r.json["errors"][0]["field"] == "request.baseline"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"page": "nope", "request": {}}, 422, "page"),
        ({"page": "experiments", "request": {}}, 422, "page"),
        ({"request": {}}, 400, "page"),
        ({"page": "power"}, 400, "request"),
        ({"page": "power", "request": [1]}, 400, "request"),
        ({"page": 3, "request": {}}, 400, "page"),
    ],
)
def test_invalid_report_requests_name_the_field(
    client: FlaskClient, body: dict[str, Any], status: int, field: str
) -> None:
    r = client.post("/api/report", json=body)
    assert r.status_code == status and r.mimetype == "application/problem+json"
    assert r.json is not None and r.json["errors"][0]["field"] == field


def test_experiment_report_holds_definition_analysis_and_charts(client: FlaskClient) -> None:
    exp = running(client, guardrail_events=["refund"])
    send(client, exp, traffic({"control": (400, 40), "B": (400, 60)}))
    url = f"/api/experiments/{exp['id']}/report?alpha=0.1&guardrail_tolerance=0.02"
    r = client.get(url, headers=ADMIN)
    assert r.status_code == 200, r.data[:500]
    html = r.get_data(as_text=True)
    doc = check_offline(html)
    analysed = client.post(
        f"/api/experiments/{exp['id']}/analyze",
        json={"alpha": 0.1, "guardrails": [{"event": "refund", "tolerance": 0.02}]},
        headers=ADMIN,
    ).json
    assert analysed is not None
    assert doc.by_id["readout"].strip() == analysed["readout"].strip()
    figures = json.loads(doc.by_id["report-figures"])
    assert {"rates", "exposures", "guardrails"} <= figures.keys()
    assert figures["rates"]["data"] == analysed["figures"]["rates"]["data"]
    assert exp["name"] in html and exp["ingest_key"] not in html
    assert "decision: continue" in doc.by_id["decision"]
    assert "Decision records" not in html


def test_experiment_report_lists_its_decision_records(client: FlaskClient) -> None:
    exp = running(client)
    send(client, exp, traffic({"control": (40, 4), "B": (40, 9)}))
    record = {"decision": "iterate", "owner": "ana", "rationale": "Too early to tell."}
    made = client.post(f"/api/experiments/{exp['id']}/decisions", json=record, headers=ADMIN)
    assert made.status_code == 201, made.json
    html = client.get(f"/api/experiments/{exp['id']}/report", headers=ADMIN).get_data(as_text=True)
    doc = check_offline(html)
    assert "Decision records" in html
    assert "Too early to tell." in html and "ana" in html and "iterate" in html
    assert doc.by_id["decision"]


def test_experiment_report_errors(client: FlaskClient) -> None:
    exp = running(client)
    assert client.get(f"/api/experiments/{exp['id']}/report").status_code == 401
    assert client.get("/api/experiments/999999/report", headers=ADMIN).status_code == 404
    bad = client.get(f"/api/experiments/{exp['id']}/report?alpha=x", headers=ADMIN)
    assert bad.status_code == 400 and bad.json is not None
    assert bad.json["errors"][0]["field"] == "alpha"
    meaningless = client.get(f"/api/experiments/{exp['id']}/report?alpha=0.9", headers=ADMIN)
    assert meaningless.status_code == 422 and meaningless.json is not None
    assert meaningless.json["errors"][0]["field"] == "alpha"


def test_lay_out_puts_scalars_lists_of_objects_and_long_text_apart() -> None:
    csv = "\n".join(["variant,converted"] + [f"A,{i % 2}" for i in range(100)])
    section = lay_out(
        {
            "alpha": 0.05,
            "flag": True,
            "missing": None,
            "empty": [],
            "split": [1, 1],
            "long": list(range(500)),
            "srm": {"pvalue": 0.5, "flagged": False, "note": None},
            "variants": [{"name": "A", "users": 10}, {"name": "B", "users": 12, "x": 1.23456789}],
            "csv": csv,
        },
        "Inputs",
    )
    summary, variants = section.tables
    assert summary.rows == (
        ("alpha", "0.05"),
        ("flag", "yes"),
        ("split", "1, 1"),
        ("srm.pvalue", "0.5"),
        ("srm.flagged", "no"),
    )
    assert variants.columns == ("name", "users", "x")
    assert variants.rows == (("A", "10", "—"), ("B", "12", "1.23457"))
    (text,) = section.texts
    assert text.lines[0] == "variant,converted" and text.more == 101 - MAX_TEXT_LINES
