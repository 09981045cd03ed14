"""POST /api/abtest with a CSV of aggregates, one row per variant and segment, and a
``segment`` column: the same result (totals, per-segment effects, heterogeneity and partial
pooling) as the row-level upload of equivalent data, whose aggregates are computed here with
numpy; errors keep the table's row numbers."""

from __future__ import annotations

import numpy as np
import pytest
from flask.testing import FlaskClient

from tests.web.answers import close
from tests.web.problems import problem

SEGMENTS = {"ios": 0.02, "android": 0.0, "web": -0.01}


def _users(kind: str, seed: int = 4) -> tuple[str, str]:
    """A row-level CSV (variant, device, value) and its aggregates per variant and device
    (users and conversions, or users, mean and ddof-1 sd), both in a shuffled order."""
    rng = np.random.default_rng(seed)
    rows, agg = ["variant,device,value"], []
    for device, lift in SEGMENTS.items():
        for arm in ("A", "B"):
            n = int(rng.integers(300, 600))
            shift = lift if arm == "B" else 0.0
            if kind == "binary":
                x = (rng.random(n) < 0.1 + shift).astype(int)
                agg.append(f"{device},{arm},{n},{int(x.sum())}")
                rows += [f"{arm},{device},{v}" for v in x]
            else:
                x = np.round(rng.lognormal(3.0 + 5 * shift, 0.8, n), 3)
                agg.append(f"{device},{arm},{n},{float(x.mean())!r},{float(x.std(ddof=1))!r}")
                rows += [f"{arm},{device},{v:.3f}" for v in x]
    header = "device,variant,users," + ("conversions" if kind == "binary" else "mean,sd")
    order = rng.permutation(len(agg))
    return "\n".join(rows) + "\n", "\n".join([header, *(agg[i] for i in order)]) + "\n"


@pytest.mark.parametrize(("kind", "metric"), [("binary", "conversions"), ("continuous", "mean")])
def test_aggregates_by_segment_equal_the_row_level_upload(
    client: FlaskClient, kind: str, metric: str
) -> None:
    users, aggregates = _users(kind)
    opts = {"control": "A", "segment": "device"}
    rows = client.post("/api/abtest", json={"csv": users, "metric": "value", "kind": kind, **opts})
    agg = client.post("/api/abtest", json={"csv": aggregates, "metric": metric, **opts})
    assert rows.status_code == 200, rows.get_data(as_text=True)
    assert agg.status_code == 200, agg.get_data(as_text=True)
    a, b = rows.json, agg.json
    assert a is not None and b is not None
    for key in ("variants", "comparisons", "segments", "heterogeneity", "segment_analyses"):
        want, got = a["result"][key], b["result"][key]
        if key == "variants":  # the row-level answer lists each arm's rows
            want = [{k: v for k, v in x.items() if k in y} for x, y in zip(want, got, strict=True)]
        close(want, got)
    assert [s["name"] for s in b["result"]["segments"]] == ["android", "ios", "web"]
    assert "segments" in b["figures"]
    codes = {w["code"] for w in b["warnings"]}
    assert codes == {w["code"] for w in a["warnings"]} - {"rows_left_out"}


def test_errors_keep_the_table_row(client: FlaskClient) -> None:
    _, aggregates = _users("binary")
    lines = aggregates.splitlines()
    cells = lines[5].split(",")  # data row 5
    lines[5] = ",".join([*cells[:3], str(int(cells[2]) + 1)])
    bad = problem(
        client.post("/api/abtest", json={"csv": "\n".join(lines), "segment": "device"}),
        422,
        "conversions",
    )
    assert bad["errors"][0]["row"] == 5
    assert "row 5," in bad["detail"] and f"segment {cells[0]!r}" in bad["detail"]
    lines = aggregates.splitlines()
    lines[3] = "," + lines[3].split(",", 1)[1]
    blank = problem(
        client.post("/api/abtest", json={"csv": "\n".join(lines), "segment": "device"}),
        422,
        "device",
    )
    assert blank["errors"][0]["row"] == 3
    problem(
        client.post(
            "/api/abtest",
            json={"csv": aggregates, "segment": "device", "guardrails": [{"metric": "users"}]},
        ),
        422,
        "guardrails",
    )
    problem(
        client.post("/api/abtest", json={"csv": aggregates, "segment": "users"}), 422, "segment"
    )
    one_arm = "\n".join(line for line in aggregates.splitlines() if line != lines[1]) + "\n"
    alone = problem(client.post("/api/abtest", json={"csv": one_arm, "segment": "device"}), 422)
    assert f"(segment {lines[1].split(',')[0]!r})" in alone["detail"]
