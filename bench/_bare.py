"""The baseline of ``bench_throughput``: a bare Flask JSON route, served like the app."""

from __future__ import annotations

from typing import Any

from flask import Flask, request

app = Flask(__name__)


@app.post("/bare")
def bare() -> dict[str, Any]:
    body = request.get_json()
    return {"result": {"ok": True, "keys": len(body)}, "figures": {}, "readout": "", "warnings": []}
