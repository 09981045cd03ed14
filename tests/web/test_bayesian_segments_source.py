"""POST /api/bayesian with a segment column of a configured DuckDB source: the segments,
heterogeneity and partial pooling reduced in the engine answer as the upload of the same
rows (every number to 1e-9)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.web.answers import close, ok, warehouse_app
from tests.web.problems import problem
from tests.web.test_abtest_segments import berkeley_csv, csv_of, devices

BODY = {"threshold": 0.1, "draws": 10_000, "seed": 1, "control": "A", "segment": "device"}


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    """A DuckDB source with the ``devices`` and ``berkeley`` tables."""
    return warehouse_app(
        tmp_path, {"devices": csv_of(devices()), "berkeley": berkeley_csv()}
    ).test_client()


@pytest.mark.parametrize(
    ("table", "text", "body"),
    [
        ("devices", csv_of(devices()), {"metric": "mean", "variant": "variant", "value": "revenue"}),
        (
            "berkeley",
            berkeley_csv(),
            {"metric": "proportion", "variant": "gender", "value": "admitted", "control": "men",
             "segment": "dept", "threshold": 0.001},
        ),
    ],
)  # fmt: skip
def test_source_segments_equal_the_same_rows_uploaded(
    client: FlaskClient, table: str, text: str, body: dict[str, Any]
) -> None:
    request = {**BODY, **body}
    upload = ok(client.post("/api/bayesian", json={**request, "csv": text}))
    source = ok(
        client.post("/api/bayesian", json={**request, "source": "warehouse", "table": table})
    )
    for key in ("segments", "heterogeneity", "segment_analyses", "comparisons"):
        close(upload["result"][key], source["result"][key])
    assert source["readout"] == upload["readout"]
    assert "segments" in source["figures"]
    assert {w["code"] for w in source["warnings"]} == {w["code"] for w in upload["warnings"]}


def test_source_segment_errors_name_the_field(client: FlaskClient) -> None:
    body = {**BODY, "metric": "mean", "variant": "variant", "value": "revenue"}
    table = {"source": "warehouse", "table": "devices"}
    problem(client.post("/api/bayesian", json={**body, **table, "segment": "nope"}), 422, "segment")
    problem(
        client.post("/api/bayesian", json={**body, **table, "segment": "variant"}), 422, "segment"
    )
    problem(client.post("/api/bayesian", json={**body, **table, "metric": "count"}), 422, "segment")


def _typed(frame: Any, by: str, variant: str, value: str, metric: str) -> list[dict[str, Any]]:
    """Per-variant records of ``frame``'s rows, computed with numpy (ddof-1 sd)."""
    out = []
    for name, part in frame.groupby(variant, sort=True):
        x = part[value].to_numpy(dtype=float)
        if metric == "proportion":
            out.append({"name": name, "users": len(x), "conversions": int(x.sum())})
        else:
            out.append({"name": name, "users": len(x), "mean": x.mean(), "sd": x.std(ddof=1)})
    return out


def test_typed_segments_equal_the_segment_column(client: FlaskClient) -> None:
    frame = devices()
    body = {**BODY, "metric": "mean", "variant": "variant", "value": "revenue"}
    upload = ok(client.post("/api/bayesian", json={**body, "csv": csv_of(frame)}))
    segments = [
        {"name": name, "variants": _typed(part, "device", "variant", "revenue", "mean")}
        for name, part in frame.groupby("device", sort=True)
    ]
    typed = {k: v for k, v in BODY.items() if k != "segment"} | {
        "metric": "mean",
        "variants": _typed(frame, "device", "variant", "revenue", "mean"),
        "segments": segments,
    }
    answer = ok(client.post("/api/bayesian", json=typed))
    for key in ("segments", "heterogeneity", "segment_analyses"):
        want = json.loads(json.dumps(upload["result"][key]).replace('"device"', '"segment"'))
        close(want, answer["result"][key])  # typed segments are named "segment", not a column
    assert "segments" in answer["figures"]
    problem(
        client.post("/api/bayesian", json={**typed, "metric": "count"}), 400, "variants[0].total"
    )
    bad = {**typed, "segments": [{"name": "x", "variants": [{"name": "A", "users": 3}]}]}
    problem(client.post("/api/bayesian", json=bad), 400, "segments[0].variants[0].mean")
