"""POST /api/cuped with a segment column: each segment adjusted on its own, then compared
across segments as /api/segments does."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from flask.testing import FlaskClient

from tests.web.answers import ok
from tests.web.problems import problem


def users(seed: int = 5) -> pd.DataFrame:
    """Spend with a pre-period covariate; B lifts spend by 3 on iOS and not on Android."""
    rng = np.random.default_rng(seed)
    parts = []
    for device, n, lift in (("iOS", 1500, 3.0), ("Android", 2000, 0.0), ("tablet", 40, 1.0)):
        for variant in ("A", "B"):
            pre = rng.normal(50, 10, n)
            spend = 10 + 0.8 * pre + (lift if variant == "B" else 0.0) + rng.normal(0, 4, n)
            parts.append(
                pd.DataFrame(
                    {
                        "variant": variant,
                        "device": device,
                        "pre_spend": pre.round(4),
                        "spend": spend.round(4),
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


def body(frame: pd.DataFrame, **extra: Any) -> dict[str, Any]:
    out = io.StringIO()
    frame.to_csv(out, index=False)
    return {
        "csv": out.getvalue(),
        "variant": "variant",
        "outcome": "spend",
        "covariate": "pre_spend",
        **extra,
    }


def answer(client: FlaskClient, request: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = ok(client.post("/api/cuped", json=request))
    return data


def test_each_segment_is_adjusted_on_its_own(client: FlaskClient) -> None:
    frame = users()
    data = answer(client, body(frame, segment="device"))
    rows = {s["name"]: s for s in data["result"]["segments"]}
    assert set(rows) == {"Android", "iOS", "tablet"}
    for device, g in frame.groupby("device"):
        # CUPED with θ pooled within arms is the regression of spend on the arm and the
        # centred covariate; its coefficient on the arm is the adjusted difference.
        x = np.column_stack([(g.variant == "B").to_numpy(float), g.pre_spend - g.pre_spend.mean()])
        fit = sm.OLS(g.spend.to_numpy(), sm.add_constant(x)).fit()
        assert rows[device]["estimate"] == pytest.approx(fit.params[1], rel=1e-6)
    assert rows["iOS"]["verdict"] == "wins" and rows["Android"]["verdict"] == "no effect"
    assert (
        "B vs A by segment: wins on iOS, no effect on Android, tablet too thin to tell"
        in data["readout"]
    )
    assert data["result"]["heterogeneity"][0]["pvalue"] < 0.05
    assert "segments" in data["figures"]
    [analysis] = data["result"]["segment_analyses"]
    assert analysis["pooled"]["estimate"] == pytest.approx(
        data["result"]["comparisons"][0]["estimate"]
    )


def test_without_segment_the_answer_is_unchanged(client: FlaskClient) -> None:
    data = answer(client, body(users()))
    assert "segments" not in data["result"] and "segments" not in data["figures"]


def test_segment_needs_rows_and_a_known_column(client: FlaskClient) -> None:
    problem(client.post("/api/cuped", json=body(users(), segment="nope")), 422, "segment")
    summaries = {
        "variants": [
            {
                "name": n,
                "users": 100,
                "mean_y": 1.0,
                "mean_x": 1.0,
                "var_y": 1.0,
                "var_x": 1.0,
                "cov_xy": 0.5,
            }
            for n in "AB"
        ],
        "segment": "device",
    }
    problem(client.post("/api/cuped", json=summaries), 422, "segment")
