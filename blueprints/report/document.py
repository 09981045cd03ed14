"""A report's content from an analysis answer: inputs, results and decision as tables, the
readout, and the figures; then the one HTML file (Plotly.js inlined, no network).

The answer is the envelope a page receives (``result``, ``figures``, ``readout``,
``warnings``), so every page's report is built the same way: no per-page code. Results are
laid out generically: scalars (and objects of scalars, one level down) in a summary table,
each list of objects as its own table, long lists of numbers left to the charts.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal, get_args

import orjson
from flask import Response, render_template
from plotly.offline import get_plotlyjs

MAX_ROWS = 500
"""Rows shown per table; the rest are counted ("… and 1,234 more rows")."""
MAX_LIST = 20
"""A list of numbers or words up to this long is shown inline; longer ones are in the charts."""
MAX_TEXT_LINES = 60
"""Lines of a long text input (a pasted CSV) shown; the rest are counted."""
Page = Literal[
    "abtest",
    "bayesian",
    "bayesian/stopping",
    "sequential/simulate",
    "sequential/boundaries",
    "sequential/monitor",
    "sequential/msprt",
    "cuped",
    "cuped/plan",
    "doe",
    "power",
    "segments",
]
PAGES: tuple[Page, ...] = get_args(Page)
"""The analyses a report can be made of: ``page`` is the endpoint's path after ``/api/``."""

DECISION_KEYS = ("decision", "verdict", "recommendation", "reasons", "winner")


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    more: int = 0


@dataclass(frozen=True, slots=True)
class Text:
    title: str
    lines: tuple[str, ...]
    more: int = 0


@dataclass(slots=True)
class Section:
    """Tables and texts laid out from one JSON object."""

    tables: list[Table] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)


def cell(value: Any) -> str:
    """A JSON value as table text: 6 significant digits, null as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return ", ".join(cell(v) for v in value)
    return str(value)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _short_list(value: Any) -> bool:
    return isinstance(value, list) and len(value) <= MAX_LIST and all(map(_scalar, value))


def _flat(obj: Mapping[str, Any], prefix: str = "", depth: int = 2) -> dict[str, Any]:
    """Scalars and short lists of ``obj`` by dotted key, objects followed ``depth`` levels."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if _scalar(value) or _short_list(value):
            out[name] = value
        elif isinstance(value, Mapping) and depth > 1:
            out.update(_flat(value, f"{name}.", depth - 1))
    return out


def _table(title: str, items: Sequence[Mapping[str, Any]]) -> Table:
    flat = [_flat(item) for item in items]
    columns: dict[str, None] = {}
    for row in flat:
        columns.update(dict.fromkeys(row))
    rows = tuple(tuple(cell(row.get(c)) for c in columns) for row in flat[:MAX_ROWS])
    return Table(title, tuple(columns), rows, max(0, len(flat) - MAX_ROWS))


def lay_out(obj: Mapping[str, Any], summary_title: str, skip: Sequence[str] = ()) -> Section:
    """``obj`` as a summary table of its scalars, a table per list of objects, and long texts
    (more than one line) as text blocks; null and empty fields are left out."""
    section = Section()
    summary: list[tuple[str, str]] = []
    for key, value in obj.items():
        if key in skip or value is None or value == [] or value == {}:
            continue  # absent parts (no CSV, no guardrails) say nothing
        if isinstance(value, str) and "\n" in value.strip():
            lines = value.strip().splitlines()
            section.texts.append(
                Text(key, tuple(lines[:MAX_TEXT_LINES]), max(0, len(lines) - MAX_TEXT_LINES))
            )
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            section.tables.append(_table(key, value))
        elif (
            isinstance(value, Mapping)
            and value
            and all(isinstance(v, Mapping) for v in value.values())
        ):
            section.tables.append(_table(key, [{"name": k, **v} for k, v in value.items()]))
        elif isinstance(value, Mapping):
            summary.extend(
                (k, cell(v)) for k, v in _flat(value, f"{key}.").items() if v is not None
            )
        elif _scalar(value) or _short_list(value):
            summary.append((key, cell(value)))
    if summary:
        section.tables.insert(0, Table(summary_title, ("field", "value"), tuple(summary)))
    return section


def decision_lines(result: Mapping[str, Any]) -> list[str]:
    """The verdict/decision fields of a result, as ``name: value`` lines."""
    lines: list[str] = []
    for key in DECISION_KEYS:
        value = result.get(key)
        if value in (None, "", []):
            continue
        if isinstance(value, list):
            lines.extend(f"{key}: {cell(v)}" for v in value)
        elif _scalar(value):
            lines.append(f"{key}: {cell(value)}")
    return lines


DRAW_JS = """(function () {
  var figures = JSON.parse(document.getElementById("report-figures").textContent);
  Object.keys(figures).forEach(function (name) {
    var el = document.getElementById("fig-" + name);
    var fig = figures[name];
    if (el) Plotly.newPlot(el, fig.data || [], fig.layout || {}, { displaylogo: false, responsive: true });
  });
})();"""
"""The report's one script of its own: draw each figure from the JSON beside it."""


def _script_hash(source: str) -> str:
    """A CSP source allowing exactly this inline script (CSP Level 2, hash-source)."""
    digest = hashlib.sha256(source.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


@cache
def report_csp() -> str:
    """The report's policy, sent as its header and kept in the file (a meta element) so it
    holds offline too: only its two inline scripts (Plotly.js and :data:`DRAW_JS`, by hash)
    run, no other script (a text that escaped its escaping) would, nothing is fetched."""
    scripts = " ".join(_script_hash(js) for js in (plotly_js(), DRAW_JS))
    return (
        f"default-src 'none'; script-src {scripts}; style-src 'unsafe-inline'; "
        "img-src data: blob:; font-src data:"
    )


def attachment(html: str, name: str) -> Response:
    """The report as a download named ``abacus-<name>-<UTC time>.html``, with its own CSP."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    response = Response(html, mimetype="text/html")
    response.headers["Content-Disposition"] = f'attachment; filename="abacus-{name}-{stamp}.html"'
    response.headers["Content-Security-Policy"] = report_csp()
    return response


@cache
def plotly_js() -> str:
    """The installed plotly package's Plotly.js bundle (as ``plotly.io.to_html`` inlines it)."""
    return get_plotlyjs()


def figures_json(figures: Mapping[str, Any]) -> str:
    """The figures as JSON safe inside a ``<script>`` element (``<`` escaped as ``\\u003c``)."""
    return orjson.dumps(figures, option=orjson.OPT_SERIALIZE_NUMPY).decode().replace("<", "\\u003c")


def render(
    *,
    title: str,
    subtitle: str,
    inputs: Mapping[str, Any],
    answer: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The report's HTML: ``inputs`` (the request, or an experiment's definition), the
    ``answer`` envelope and decision ``records`` (an experiment's, if any)."""
    result = answer.get("result") or {}
    figures = answer.get("figures") or {}
    return render_template(
        "report.html",
        title=title,
        subtitle=subtitle,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        inputs=lay_out(inputs, "Inputs"),
        results=lay_out(result, "Results", skip=DECISION_KEYS),
        decision=decision_lines(result),
        records=_table("Decision records", records) if records else None,
        readout=answer.get("readout") or "",
        warnings=[w.get("message", "") for w in answer.get("warnings") or []],
        figures=figures,
        figures_json=figures_json(figures),
        plotly_js=plotly_js(),
        draw_js=DRAW_JS,
        csp=report_csp(),
    )
