"""POST /api/cuped with typed per-segment summaries (``segments`` beside the totals in
``variants``): each segment adjusted on its own, answered as the segment column of the same
rows, whose summaries are computed here with numpy (means, ddof-1 variances and covariance:
the moments CUPED needs, Deng, Xu, Kohavi & Walker 2013)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from flask.testing import FlaskClient

from tests.web.answers import close
from tests.web.problems import problem
from tests.web.test_cuped_segments import answer, body, users


def summaries(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for name, part in frame.groupby("variant", sort=True):
        y, x = part["spend"].to_numpy(float), part["pre_spend"].to_numpy(float)
        cov = pd.DataFrame({"y": y, "x": x}).cov(ddof=1)
        out.append(
            {
                "name": name,
                "users": len(y),
                "mean_y": y.mean(),
                "mean_x": x.mean(),
                "var_y": cov.loc["y", "y"],
                "var_x": cov.loc["x", "x"],
                "cov_xy": cov.loc["x", "y"],
            }
        )
    return out


def test_typed_segments_equal_the_segment_column(client: FlaskClient) -> None:
    frame = users()
    rows = answer(client, body(frame, segment="device", control="A"))
    typed = {
        "control": "A",
        "variants": summaries(frame),
        "segments": [
            {"name": name, "variants": summaries(part)}
            for name, part in frame.groupby("device", sort=True)
        ],
    }
    data = answer(client, typed)
    for key in ("segments", "heterogeneity", "segment_analyses"):
        want = json.loads(json.dumps(rows["result"][key]).replace('"device"', '"segment"'))
        close(want, data["result"][key])  # typed segments are named "segment", not a column
    assert "segments" in data["figures"]
    bad = {**typed, "segments": [{"name": "x", "variants": [{"name": "A", "users": 5}]}]}
    problem(client.post("/api/cuped", json=bad), 422, "segments[0].variants[0].mean_y")
    problem(
        client.post("/api/cuped", json={**body(frame), "segments": typed["segments"]}),
        422,
        "segments",
    )
