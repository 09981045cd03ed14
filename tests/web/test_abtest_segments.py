"""POST /api/abtest with a segment column: per-segment results, heterogeneity and the Simpson
warning from an upload and from a configured source."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from flask.testing import FlaskClient

from tests.stats.test_segments import BERKELEY
from tests.web.answers import ok, warehouse_app
from tests.web.problems import problem


def berkeley_csv() -> str:
    """One row per applicant: gender as the variant (men the control), the department as
    the segment, admitted as the conversion."""
    lines = ["gender,dept,admitted"]
    for dept, (am, nm, aw, nw) in BERKELEY.items():
        for gender, admitted, applied in (("men", am, nm), ("women", aw, nw)):
            lines += [f"{gender},{dept},1"] * admitted + [f"{gender},{dept},0"] * (
                applied - admitted
            )
    return "\n".join(lines) + "\n"


def berkeley_request() -> dict[str, Any]:
    """The A/B request for :func:`berkeley_csv`, segmented by department."""
    return {"csv": berkeley_csv(), "variant": "gender", "metric": "admitted", "control": "men",
            "segment": "dept"}  # fmt: skip


def devices() -> pd.DataFrame:
    rng = np.random.default_rng(14)
    parts = []
    for device, n, base, lift in (
        ("iOS", 3000, 10.0, 1.0),
        ("Android", 4000, 12.0, 0.0),
        ("tablet", 60, 8.0, 0.5),
    ):
        for variant in ("A", "B"):
            y = rng.normal(base + (lift if variant == "B" else 0.0), 4.0, n)
            parts.append(
                pd.DataFrame({"variant": variant, "device": device, "revenue": np.round(y, 6)})
            )
    return pd.concat(parts, ignore_index=True)


def csv_of(frame: pd.DataFrame) -> str:
    out = io.StringIO()
    frame.to_csv(out, index=False)
    return out.getvalue()


def answer(client: FlaskClient, body: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = ok(client.post("/api/abtest", json=body))
    return data


def test_berkeley_admissions_warn_of_simpsons_paradox(client: FlaskClient) -> None:
    body = answer(client, berkeley_request())
    r = body["result"]
    assert [s["name"] for s in r["segments"]] == list("ABCDEF")
    for s in r["segments"]:
        am, nm, aw, nw = BERKELEY[s["name"]]
        assert s["variant"] == "women" and s["control"] == "men"
        assert s["estimate"] == pytest.approx(aw / nw - am / nm, rel=1e-12)
    [analysis] = r["segment_analyses"]
    assert analysis["pooled"]["estimate"] == pytest.approx(557 / 1835 - 1198 / 2691, rel=1e-12)
    assert analysis["overall"]["method"] == "mantel-haenszel"
    assert analysis["overall"]["estimate"] > 0 > analysis["pooled"]["estimate"]
    assert "simpsons_paradox" in [w["code"] for w in body["warnings"]]
    assert r["heterogeneity"][0]["df"] == 5
    assert "segments" in body["figures"]
    assert "women vs men by segment:" in body["readout"]


def test_mean_metric_by_segment_matches_pandas_and_hc2_regression(client: FlaskClient) -> None:
    frame = devices()
    body = answer(
        client, {"csv": csv_of(frame), "metric": "revenue", "segment": "device", "control": "A"}
    )
    rows = {s["name"]: s for s in body["result"]["segments"]}
    for device, g in frame.groupby("device"):
        a, b = g[g.variant == "A"].revenue, g[g.variant == "B"].revenue
        assert rows[device]["estimate"] == pytest.approx(b.mean() - a.mean(), rel=1e-9)
        # The unpooled standard error is the HC2 robust se of the regression on a dummy.
        fit = sm.OLS(g.revenue.to_numpy(), sm.add_constant((g.variant == "B").to_numpy(float))).fit(
            cov_type="HC2"
        )
        assert rows[device]["se"] == pytest.approx(fit.bse[1], rel=1e-9)
    [analysis] = body["result"]["segment_analyses"]
    fit = sm.OLS(
        frame.revenue.to_numpy(), sm.add_constant((frame.variant == "B").to_numpy(float))
    ).fit(cov_type="HC2")
    assert analysis["pooled"]["estimate"] == pytest.approx(fit.params[1], rel=1e-9)
    assert analysis["pooled"]["se"] == pytest.approx(fit.bse[1], rel=1e-9)
    # Inverse-variance overall = weighted least squares of the segment effects.
    est = np.array([rows[d]["estimate"] for d in sorted(rows)])
    se = np.array([rows[d]["se"] for d in sorted(rows)])
    wls = sm.WLS(est, np.ones_like(est), weights=se**-2).fit()
    assert analysis["overall"]["estimate"] == pytest.approx(wls.params[0], rel=1e-9)
    assert rows["iOS"]["verdict"] == "wins" and rows["Android"]["verdict"] == "no effect"
    assert "wins on iOS, no effect on Android, tablet too thin to tell" in body["readout"]


def test_without_a_segment_the_fields_are_null(client: FlaskClient) -> None:
    body = answer(client, {"csv": csv_of(devices()), "metric": "revenue"})
    assert body["result"]["segments"] is None and body["result"]["heterogeneity"] is None
    assert "segments" not in body["figures"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"segment": "nope"}, "segment"),
        ({"segment": "variant"}, "segment"),
    ],
)
def test_segment_errors_name_the_field(
    client: FlaskClient, change: dict[str, Any], field: str
) -> None:
    body = {"csv": csv_of(devices()), "metric": "revenue", **change}
    problem(client.post("/api/abtest", json=body), 422, field)


def test_one_segment_value_is_refused(client: FlaskClient) -> None:
    frame = devices()
    frame = frame[frame.device == "iOS"]
    problem(
        client.post(
            "/api/abtest", json={"csv": csv_of(frame), "metric": "revenue", "segment": "device"}
        ),
        422,
        "segment",
    )


def test_aggregate_rows_refuse_a_segment(client: FlaskClient) -> None:
    csv = "variant,users,conversions,device\nA,100,10,x\nB,100,12,x\n"
    problem(client.post("/api/abtest", json={"csv": csv, "segment": "device"}), 422, "segment")


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[FlaskClient]:
    app = warehouse_app(tmp_path, {"users": devices()})
    yield app.test_client()
    if "abacus_sources" in app.extensions:
        app.extensions["abacus_sources"].close()


def test_source_table_answers_as_the_upload(warehouse: FlaskClient) -> None:
    roles = {"variant": "variant", "metric": "revenue", "segment": "device", "control": "A"}
    upload = answer(warehouse, {"csv": csv_of(devices()), **roles})
    source = answer(warehouse, {"source": "warehouse", "table": "users", **roles})
    for a, b in zip(upload["result"]["segments"], source["result"]["segments"], strict=True):
        for key, value in a.items():
            if isinstance(value, float):
                assert math.isclose(value, b[key], rel_tol=1e-9, abs_tol=1e-12), key
            else:
                assert value == b[key]
    marker = "B vs A by segment:"
    segment_words = upload["readout"][upload["readout"].index(marker) :]
    assert source["readout"].endswith(segment_words)


def typed_berkeley() -> dict[str, Any]:
    segments = [
        {
            "name": dept,
            "variants": [
                {"name": "men", "users": nm, "conversions": am},
                {"name": "women", "users": nw, "conversions": aw},
            ],
        }
        for dept, (am, nm, aw, nw) in BERKELEY.items()
    ]
    totals = [
        {"name": "men", "users": 2691, "conversions": 1198},
        {"name": "women", "users": 1835, "conversions": 557},
    ]
    return {"variants": totals, "segments": segments, "control": "men"}


def test_typed_segment_summaries_answer_as_the_rows(client: FlaskClient) -> None:
    typed = answer(client, typed_berkeley())
    rows = answer(client, berkeley_request())
    for a, b in zip(typed["result"]["segments"], rows["result"]["segments"], strict=True):
        assert a == pytest.approx(b)
    assert "simpsons_paradox" in [w["code"] for w in typed["warnings"]]


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        (
            {
                "segments": [
                    {
                        "name": "x",
                        "variants": [
                            {"name": v, "users": 10, "mean": 1.0, "sd": 1.0}
                            for v in ("men", "women")
                        ],
                    }
                ]
            },
            422,
            "segments[0].variants",
        ),
        ({"segments": [{"variants": []}]}, 400, "segments[0].name"),
        ({"segments": "x"}, 400, "segments"),
    ],
)
def test_typed_segment_errors(
    client: FlaskClient, change: dict[str, Any], status: int, field: str
) -> None:
    problem(client.post("/api/abtest", json={**typed_berkeley(), **change}), status, field)
