"""POST /api/abtest with several comparisons (correction, all pairs) and quantile metrics.

References: statsmodels ``multipletests`` and ``proportions_ztest`` for the corrections;
numpy quantiles and scipy ``binom`` order-statistic ranks for the quantile differences.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from flask.testing import FlaskClient
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from tests.web.answers import warehouse_app
from tests.web.problems import problem

THREE = {
    "metric": "proportion",
    "control": "A",
    "variants": [
        {"name": "A", "users": 2000, "conversions": 200},
        {"name": "B", "users": 2000, "conversions": 250},
        {"name": "C", "users": 2000, "conversions": 215},
    ],
}


def post(client: FlaskClient, **changes: Any) -> Any:
    return client.post("/api/abtest", json={**THREE, **changes})


@pytest.mark.parametrize(("correction", "method"), [("bh", "fdr_bh"), ("bonferroni", "bonferroni")])
def test_all_pairs_with_a_correction(client: FlaskClient, correction: str, method: str) -> None:
    r = post(client, correction=correction, comparisons="all").json
    res = r["result"]
    assert res["correction"] == correction and res["comparison_set"] == "all"
    counts = {"A": 200, "B": 250, "C": 215}
    pairs = [(c["control"], c["variant"]) for c in res["comparisons"]]
    assert pairs == [("A", "B"), ("A", "C"), ("B", "C")]
    raw = [proportions_ztest([counts[v], counts[b]], [2000, 2000])[1] for b, v in pairs]
    ref = multipletests(raw, method=method)[1]
    assert [c["pvalue_adjusted"] for c in res["comparisons"]] == pytest.approx(ref, rel=1e-6)
    assert "every pair of the 3 variants" in r["readout"]
    assert "B − A" in r["figures"]["forest"]["data"][0]["y"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"correction": "fdr"}, "correction"),
        ({"comparisons": "every"}, "comparisons"),
        ({"correction": 3}, "correction"),
    ],
)
def test_bad_multiplicity_options_are_4xx(
    client: FlaskClient, changes: dict[str, Any], field: str
) -> None:
    r = post(client, **changes)
    problem(r, r.status_code, field)
    assert r.status_code in (400, 422)


def test_openapi_declares_the_options(client: FlaskClient) -> None:
    doc = client.get("/api/openapi.json").json
    body = doc["paths"]["/api/abtest"]["post"]["requestBody"]["content"]["application/json"]
    props = body["schema"]["properties"]
    assert props["correction"]["enum"] == ["holm", "bonferroni", "bh"]
    assert props["comparisons"]["enum"] == ["control", "all"]


def latency_csv(n: int = 1500, seed: int = 4) -> tuple[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    values = {"A": rng.lognormal(0, 1, n).round(4), "B": rng.lognormal(0.15, 1, n).round(4)}
    rows = ["user_id,variant,latency"]
    rows += [f"u{v}{i},{v},{x}" for v, xs in values.items() for i, x in enumerate(xs)]
    return "\n".join(rows), values


def test_quantiles_of_row_level_data(client: FlaskClient) -> None:
    text, values = latency_csv()
    r = client.post("/api/abtest", json={"csv": text, "control": "A", "quantiles": [0.5, 0.99]})
    assert r.status_code == 200, r.json
    q = r.json["result"]["quantiles"]
    assert q["quantiles"] == [0.5, 0.99] and q["method"] == "order-statistic"
    for d in q["differences"]:
        p = d["quantile"]
        ref = np.quantile(values["B"], p) - np.quantile(values["A"], p)
        assert d["estimate"] == pytest.approx(ref, rel=1e-12)
        # each arm's interval is the pair of order statistics at the binomial ranks
        low, high = (int(sps.binom.ppf(t, 1500, p)) for t in (0.025, 0.975))
        arm = np.sort(values["A"])
        assert (d["arms"][0]["ci_low"], d["arms"][0]["ci_high"]) == (arm[low - 1], arm[high])
        assert d["ci_low"] < d["estimate"] < d["ci_high"]
    assert "The median of latency is" in r.json["readout"]
    assert "order-statistic" in r.json["readout"]
    fig = r.json["figures"]
    assert len(fig["quantiles"]["data"]) == 2
    assert {s["label"]["text"] for s in fig["distribution"]["layout"]["shapes"]} == {
        "median",
        "p99",
    }


def test_quantile_bootstrap_upload_is_seeded(client: FlaskClient) -> None:
    text, _ = latency_csv(600)
    form = {
        "file": (io.BytesIO(text.encode()), "latency.csv"),
        "quantiles": "[0.9]",
        "quantile_method": "bootstrap",
        "bootstrap_resamples": "1000",
        "seed": "7",
    }
    first = client.post("/api/abtest", data=form, content_type="multipart/form-data")
    assert first.status_code == 200, first.json
    (d,) = first.json["result"]["quantiles"]["differences"]
    assert d["method"] == "bootstrap" and d["pvalue"] is None and d["resamples"] == 1000
    again = client.post(
        "/api/abtest",
        json={
            "csv": text,
            "quantiles": [0.9],
            "seed": 7,
            "quantile_method": "bootstrap",
            "bootstrap_resamples": 1000,
        },
    )
    (e,) = again.json["result"]["quantiles"]["differences"]
    assert (e["ci_low"], e["ci_high"]) == (d["ci_low"], d["ci_high"])
    assert "percentile bootstraps" in again.json["readout"]


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"quantiles": [0.5, 1.0]}, 422, "quantiles[1]"),
        ({"quantiles": ["p90"]}, 400, "quantiles[0]"),
        ({"quantile_method": "jackknife"}, 422, "quantile_method"),
        ({"quantile_method": "bootstrap", "bootstrap_resamples": 50}, 422, "bootstrap_resamples"),
        ({"quantile_method": "bootstrap", "bootstrap_resamples": 1.5}, 400, "bootstrap_resamples"),
    ],
)
def test_bad_quantile_options(
    client: FlaskClient, changes: dict[str, Any], status: int, field: str
) -> None:
    text, _ = latency_csv(200)
    problem(client.post("/api/abtest", json={"csv": text, **changes}), status, field)


def test_quantiles_need_row_level_data(client: FlaskClient) -> None:
    problem(post(client, quantiles=[0.5]), 422, "quantiles")
    binary = "variant,converted\nA,0\nA,1\nB,1\nB,0\n"
    problem(client.post("/api/abtest", json={"csv": binary, "quantiles": [0.5]}), 422, "quantiles")
    # a binary metric without quantile options answers without quantiles
    assert client.post("/api/abtest", json={"csv": binary}).json["result"]["quantiles"] is None


def test_source_quantiles_match_the_upload(tmp_path: Path) -> None:
    # The same rows as a CSV and as a DuckDB table of a configured source: the engine hands
    # over only the order statistics, and the answer is the same.
    text, values = latency_csv(800)
    frame = pa.table(
        {
            "variant": [v for v, xs in values.items() for _ in xs],
            "latency": np.concatenate(list(values.values())),
        }
    )
    app = warehouse_app(tmp_path, {"users": frame})
    c = app.test_client()
    roles = {"variant": "variant", "metric": "latency", "control": "A", "quantiles": [0.5, 0.95]}
    source = c.post("/api/abtest", json={"source": "warehouse", "table": "users", **roles})
    upload = c.post("/api/abtest", json={"csv": text, **roles})
    assert source.status_code == 200, source.json
    a, b = source.json["result"]["quantiles"], upload.json["result"]["quantiles"]
    assert a["quantiles"] == b["quantiles"] == [0.5, 0.95]
    for x, y in zip(a["differences"], b["differences"], strict=True):
        for key in ("estimate", "ci_low", "ci_high", "pvalue"):
            assert x[key] == pytest.approx(y[key], rel=1e-12)
    body = {"source": "warehouse", "table": "users", **roles, "quantile_method": "bootstrap"}
    problem(c.post("/api/abtest", json=body), 422, "quantile_method")
    app.extensions["abacus_sources"].close()
