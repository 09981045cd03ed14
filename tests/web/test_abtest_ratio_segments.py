"""A ratio metric by segment on POST /api/abtest: an upload's rows, the same rows as a DuckDB
source's table, and typed per-segment moments.

References, computed here from the rows: each segment's per-user numerator and denominator
means, sds and covariance (numpy) as :class:`stats.sufficient.RatioStats`, compared by
:func:`stats.comparisons.compare_ratios` and by the delta-method variance written out
(Deng, Knoblich & Lu 2018, eq. 4); the stratified effect, Cochran's Q, I² and the
DerSimonian–Laird τ² by statsmodels' ``combine_effects``; Holm's adjustment by statsmodels'
``multipletests``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient
from scipy import stats as sps
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests

from stats.comparisons import compare_ratios
from stats.sufficient import RatioStats
from tests.web.answers import ok, warehouse_app
from tests.web.problems import problem

ROLES = {"variant": "variant", "numerator": "revenue", "denominator": "orders", "control": "A"}
DEVICES = (("desktop", 900, 30.0, 1.5), ("mobile", 1200, 25.0, 0.0), ("tablet", 150, 28.0, 1.0))
"""Segment, users per arm, control's revenue per order, treatment's lift per order."""


def orders(seed: int = 21) -> pd.DataFrame:
    """One row per user: variant A or B, device, orders ~ Poisson(1.3) and revenue
    ratio·orders + 6·√orders·ε (cents)."""
    rng = np.random.default_rng(seed)
    parts = []
    for device, n, ratio, lift in DEVICES:
        for arm in ("A", "B"):
            y = rng.poisson(1.3, n).astype(float)
            value = ratio + (lift if arm == "B" else 0.0)
            x = np.round(value * y + 6.0 * np.sqrt(y) * rng.standard_normal(n), 2)
            parts.append(
                pd.DataFrame({"variant": arm, "device": device, "orders": y, "revenue": x})
            )
    frame = pd.concat(parts, ignore_index=True)
    return frame.sample(frac=1.0, random_state=3).reset_index(drop=True)


def csv_of(frame: pd.DataFrame) -> str:
    out = io.StringIO()
    frame.to_csv(out, index=False)
    return out.getvalue()


def moments(rows: pd.DataFrame, name: str) -> dict[str, Any]:
    """The per-user moments of a ratio's numerator and denominator (numpy, ddof = 1)."""
    x, y = rows.revenue.to_numpy(), rows.orders.to_numpy()
    cov = np.cov(x, y)
    return {
        "name": name,
        "users": len(x),
        "numerator_mean": float(x.mean()),
        "denominator_mean": float(y.mean()),
        "numerator_sd": float(np.sqrt(cov[0, 0])),
        "denominator_sd": float(np.sqrt(cov[1, 1])),
        "covariance": float(cov[0, 1]),
    }


def delta_var(m: dict[str, Any]) -> float:
    """Var(R̂) = (σx²/μy² − 2μx·σxy/μy³ + μx²σy²/μy⁴) / n (Deng et al. 2018, eq. 4)."""
    mx, my = m["numerator_mean"], m["denominator_mean"]
    vx, vy, cxy = m["numerator_sd"] ** 2, m["denominator_sd"] ** 2, m["covariance"]
    return float((vx / my**2 - 2 * mx * cxy / my**3 + mx**2 * vy / my**4) / m["users"])


def answer(client: FlaskClient, body: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = ok(client.post("/api/abtest", json=body))
    return data


def test_each_segment_is_the_delta_method_and_the_overall_is_inverse_variance(
    client: FlaskClient,
) -> None:
    frame = orders()
    body = answer(client, {"csv": csv_of(frame), "segment": "device", **ROLES})
    r = body["result"]
    rows = {s["name"]: s for s in r["segments"]}
    assert sorted(rows) == ["desktop", "mobile", "tablet"]
    est, var, pvalues = [], [], []
    for device, g in sorted(frame.groupby("device")):
        a, b = moments(g[g.variant == "A"], "A"), moments(g[g.variant == "B"], "B")
        ref = compare_ratios(RatioStats(**a), RatioStats(**b))
        ra = a["numerator_mean"] / a["denominator_mean"]
        rb = b["numerator_mean"] / b["denominator_mean"]
        se = math.sqrt(delta_var(a) + delta_var(b))
        s = rows[device]
        assert s["variant"] == "B" and s["control"] == "A"
        assert s["estimate"] == pytest.approx(ref.estimate, rel=1e-9, abs=1e-12)
        assert s["estimate"] == pytest.approx(rb - ra, rel=1e-9, abs=1e-12)
        assert s["se"] == pytest.approx(se, rel=1e-9)
        assert s["pvalue"] == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
        assert s["pvalue"] == pytest.approx(2 * sps.norm.sf(abs(rb - ra) / se), rel=1e-9)
        est.append(rb - ra)
        var.append(se**2)
        pvalues.append(s["pvalue"])
    holm = multipletests(pvalues, method="holm")[1]
    for device, p in zip(sorted(rows), holm, strict=True):
        assert rows[device]["pvalue_adjusted"] == pytest.approx(p, rel=1e-9)
    meta = combine_effects(np.array(est), np.array(var), method_re="dl")
    [analysis] = r["segment_analyses"]
    assert analysis["overall"]["method"] == "inverse-variance"
    assert analysis["overall"]["estimate"] == pytest.approx(meta.mean_effect_fe, rel=1e-9)
    assert analysis["overall"]["se"] == pytest.approx(math.sqrt(meta.var_eff_w_fe), rel=1e-9)
    [het] = r["heterogeneity"]
    assert het["q"] == pytest.approx(meta.q, rel=1e-9)
    assert het["i2"] == pytest.approx(meta.i2, rel=1e-9, abs=1e-12)
    assert het["tau2"] == pytest.approx(meta.tau2, rel=1e-9, abs=1e-12)
    # The pooled (unstratified) effect is the whole table's delta-method comparison.
    whole = [moments(frame[frame.variant == v], v) for v in ("A", "B")]
    ref = compare_ratios(RatioStats(**whole[0]), RatioStats(**whole[1]))
    assert analysis["pooled"]["estimate"] == pytest.approx(ref.estimate, rel=1e-9)
    assert analysis["pooled"]["estimate"] == pytest.approx(r["comparisons"][0]["estimate"])
    assert analysis["hierarchical"] is not None  # 3 segments: partial pooling applies
    assert all(math.isfinite(s["shrunk_estimate"]) for s in r["segments"])
    assert "segments" in body["figures"]
    assert "B vs A by segment:" in body["readout"]


def test_an_arm_without_a_ratio_leaves_its_segment_out(client: FlaskClient) -> None:
    frame = orders()
    lone = pd.DataFrame({"variant": ["A", "B"], "device": "kiosk", "orders": 1.0, "revenue": 9.0})
    text = csv_of(pd.concat([frame, lone], ignore_index=True))
    body = answer(client, {"csv": text, "segment": "device", **ROLES})
    [analysis] = body["result"]["segment_analyses"]
    assert analysis["left_out"] == ["kiosk"]
    assert "kiosk" not in [s["name"] for s in body["result"]["segments"]]
    assert any("kiosk" in w["message"] for w in body["warnings"])


def test_uneven_traffic_warns_of_simpsons_paradox(client: FlaskClient) -> None:
    """B is 1 better per order within each segment, but most of B's users are in the segment
    with the low ratio (10 against 50): pooled, B's ratio is far lower."""
    rng = np.random.default_rng(8)
    parts = []
    for device, ratio, users in (
        ("web", 50.0, {"A": 1800, "B": 200}),
        ("app", 10.0, {"A": 200, "B": 1800}),
    ):
        for arm, n in users.items():
            y = rng.poisson(2.0, n).astype(float) + 1.0
            x = np.round((ratio + (1.0 if arm == "B" else 0.0)) * y + rng.standard_normal(n), 2)
            parts.append(
                pd.DataFrame({"variant": arm, "device": device, "orders": y, "revenue": x})
            )
    text = csv_of(pd.concat(parts, ignore_index=True))
    body = answer(client, {"csv": text, "segment": "device", **ROLES})
    [analysis] = body["result"]["segment_analyses"]
    assert analysis["pooled"]["estimate"] < 0 < analysis["overall"]["estimate"]
    assert all(s["estimate"] > 0 for s in body["result"]["segments"])
    assert "simpsons_paradox" in [w["code"] for w in body["warnings"]]
    assert analysis["hierarchical"] is None  # 2 segments: no partial pooling, and a warning
    assert "few_segments" in [w["code"] for w in body["warnings"]]


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[FlaskClient]:
    """A DuckDB source whose ``orders`` table holds the rows of :func:`orders`."""
    app = warehouse_app(tmp_path, {"orders": orders()})
    yield app.test_client()
    if "abacus_sources" in app.extensions:
        app.extensions["abacus_sources"].close()


def _same(a: Any, b: Any, path: str) -> None:
    """``a`` and ``b`` equal, their floats to 1e-9."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) or (
            math.isnan(a) and math.isnan(b)
        ), path
    else:
        assert a == b, path


def test_source_table_answers_as_the_upload(warehouse: FlaskClient) -> None:
    upload = answer(warehouse, {"csv": csv_of(orders()), "segment": "device", **ROLES})
    source = answer(
        warehouse, {"source": "warehouse", "table": "orders", "segment": "device", **ROLES}
    )
    for key in ("segments", "heterogeneity", "segment_analyses"):
        _same(upload["result"][key], source["result"][key], key)
    assert source["readout"] == upload["readout"]
    assert "segments" in source["figures"]


def test_source_segment_errors_name_the_field(warehouse: FlaskClient) -> None:
    base = {"source": "warehouse", "table": "orders", **ROLES}
    for segment in ("nope", "variant", "revenue", "orders"):
        problem(warehouse.post("/api/abtest", json={**base, "segment": segment}), 422, "segment")


@pytest.mark.parametrize("segment", ["nope", "variant", "revenue", "orders"])
def test_upload_segment_errors_name_the_field(client: FlaskClient, segment: str) -> None:
    body = {"csv": csv_of(orders()), "segment": segment, **ROLES}
    problem(client.post("/api/abtest", json=body), 422, "segment")


def test_typed_ratio_segments_answer_as_the_rows(client: FlaskClient) -> None:
    frame = orders()
    segments = [
        {"name": device, "variants": [moments(g[g.variant == v], v) for v in ("A", "B")]}
        for device, g in sorted(frame.groupby("device"))
    ]
    totals = [moments(frame[frame.variant == v], v) for v in ("A", "B")]
    typed = {"metric": "ratio", "variants": totals, "segments": segments, "control": "A"}
    got = answer(client, typed)
    rows = answer(client, {"csv": csv_of(frame), "segment": "device", **ROLES})
    for key in ("segments", "heterogeneity", "segment_analyses"):
        want = rows["result"][key]
        if key == "segment_analyses":  # typed segments are named by the field "segment"
            want = [{**a, "column": "segment"} for a in want]
        _same(got["result"][key], want, key)
    mixed = [{"name": "x", "variants": [{"name": v, "users": 10, "conversions": 1} for v in "AB"]}]
    problem(
        client.post("/api/abtest", json={**typed, "segments": mixed}), 422, "segments[0].variants"
    )
