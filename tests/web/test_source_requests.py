"""The data endpoints on a configured source: the same rows in a DuckDB file and in a CSV
upload give the same answer (result, readout) on /api/abtest, /api/bayesian, /api/cuped and
/api/doe; unknown or hostile names are refused naming the field; the event schema form."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from tests.web.answers import close, warehouse_app
from tests.web.problems import problem

N = 400
DROPPED = ("csv", "mapping", "source", "distribution")
"""Result fields that describe where the data came from (not the analysis)."""


def rows() -> pa.Table:
    rng = np.random.default_rng(12)
    variant = np.where(np.arange(N) % 2 == 0, "control", "treatment")
    pre = rng.normal(10, 2, N)
    lift = np.where(variant == "treatment", 0.6, 0.0)
    return pa.table(
        {
            "variant": variant,
            "converted": (rng.random(N) < np.where(variant == "control", 0.3, 0.4)).astype(int),
            "revenue": np.round(pre + lift + rng.normal(0, 1, N), 6),
            "pre": np.round(pre, 6),
            "price": np.array(["low", "high"])[np.arange(N) // 2 % 2],
            "layout": np.array(["grid", "list", "cards"])[np.arange(N) % 3],
            "life": np.round(rng.normal(50, 5, N), 6),
        }
    )


def as_csv(table: pa.Table) -> str:
    out = io.StringIO()
    out.write(",".join(table.column_names) + "\n")
    for row in table.to_pylist():
        out.write(
            ",".join(
                "" if v is None else repr(v) if isinstance(v, float) else str(v)
                for v in row.values()
            )
        )
        out.write("\n")
    return out.getvalue()


def event_tables(con: Any) -> None:
    """Six units of experiment "exp": 1-3 in A, 4-6 in B (unit 7 saw both, left out)."""
    con.raw_sql(
        """
        CREATE TABLE exposures AS SELECT * FROM (VALUES
          ('exp', 1, 'A', TIMESTAMP '2024-01-10'), ('exp', 2, 'A', TIMESTAMP '2024-01-10'),
          ('exp', 3, 'A', TIMESTAMP '2024-01-11'), ('exp', 4, 'B', TIMESTAMP '2024-01-10'),
          ('exp', 5, 'B', TIMESTAMP '2024-01-11'), ('exp', 6, 'B', TIMESTAMP '2024-01-12'),
          ('exp', 7, 'A', TIMESTAMP '2024-01-10'), ('exp', 7, 'B', TIMESTAMP '2024-01-11'),
          ('other', 8, 'A', TIMESTAMP '2024-01-10')
        ) t(experiment, unit, variant, ts);
        CREATE TABLE metric_events AS SELECT * FROM (VALUES
          (1, 'purchase', 10.0, TIMESTAMP '2024-01-12'), (1, 'purchase', 4.0, TIMESTAMP '2024-01-05'),
          (2, 'purchase', 6.0, TIMESTAMP '2024-01-30'), (2, 'purchase', 3.0, TIMESTAMP '2024-01-01'),
          (3, 'purchase', 5.0, TIMESTAMP '2024-01-11'), (3, 'purchase', 2.0, TIMESTAMP '2024-01-09'),
          (4, 'purchase', 12.0, TIMESTAMP '2024-01-10'), (4, 'purchase', 5.0, TIMESTAMP '2024-01-08'),
          (5, 'purchase', 15.0, TIMESTAMP '2024-01-20'), (5, 'purchase', 6.0, TIMESTAMP '2024-01-02'),
          (6, 'purchase', 9.0, TIMESTAMP '2024-01-13'), (6, 'click', 99.0, TIMESTAMP '2024-01-13'),
          (6, 'purchase', 1.0, TIMESTAMP '2024-01-11')
        ) t(unit, name, value, ts)
        """
    )


def missing_pre(data: pa.Table) -> dict[str, pa.Table]:
    """``users`` with some pre-period values missing (NULL), as tables of the source:
    ``missing_some`` (every 7th user and a run of treatment users), ``missing_imbalanced``
    (the covariate shifted in treatment, so the balance check flags it), ``missing_arm``
    (no treatment user has one), ``missing_all`` (nobody has one) and ``missing_large``
    (the covariate's mean 1e8 against a spread of 2: the moments must not cancel)."""
    pre = np.asarray(data["pre"])
    treated = np.asarray(data["variant"]) == "treatment"
    i = np.arange(N)
    some = (i % 7 == 3) | (treated & (i > N - 40))
    cases = {
        "missing_some": (pre, some),
        "missing_imbalanced": (pre + np.where(treated, 3.0, 0.0), some),
        "missing_arm": (pre, treated),
        "missing_all": (pre, np.ones(N, dtype=bool)),
        "missing_large": (pre + 1e8, some),
    }
    return {
        name: data.set_column(
            data.column_names.index("pre"), "pre", pa.array(np.round(x, 6), mask=mask)
        )
        for name, (x, mask) in cases.items()
    }


@pytest.fixture(scope="module")
def data() -> pa.Table:
    return rows()


@pytest.fixture
def source_app(tmp_path: Path, data: pa.Table) -> Iterator[Flask]:
    path = tmp_path / "warehouse.duckdb"
    con = ibis.duckdb.connect(path)
    con.create_table("users", data)
    for name, table in missing_pre(data).items():
        con.create_table(name, table)
    event_tables(con)
    con.disconnect()
    app = create_app(
        {
            "TESTING": True,
            "DATABASE": str(tmp_path / "abacus.sqlite3"),
            "SOURCES": {"warehouse": f"duckdb:///{path}"},
        }
    )
    yield app
    if "abacus_sources" in app.extensions:
        app.extensions["abacus_sources"].close()


@pytest.fixture
def c(source_app: Flask) -> FlaskClient:
    return source_app.test_client()


def same_answer(
    c: FlaskClient, url: str, data: pa.Table, roles: dict[str, Any], table: str = "users"
) -> Any:
    """POST the roles with the rows as a CSV and as the source's ``table`` (holding the same
    rows); compare the answers."""
    upload = c.post(url, json={"csv": as_csv(data), **roles})
    assert upload.status_code == 200, upload.json
    source = c.post(url, json={"source": "warehouse", "table": table, **roles})
    assert source.status_code == 200, source.json
    a, b = upload.json, source.json
    close(
        {k: v for k, v in b["result"].items() if k not in DROPPED},
        {k: v for k, v in a["result"].items() if k not in DROPPED},
        "result",
    )
    assert b["readout"] == a["readout"]
    return b


def test_abtest_conversion_parity(c: FlaskClient, data: pa.Table) -> None:
    body = same_answer(
        c,
        "/api/abtest",
        data,
        {
            "variant": "variant",
            "metric": "converted",
            "control": "control",
            "guardrails": [{"metric": "revenue", "direction": "higher", "tolerance": 0.5}],
        },
    )
    assert body["result"]["source"] == {
        "source": "warehouse",
        "table": "users",
        "rows": N,
        "rows_used": N,
        "rows_excluded": 0,
    }
    assert body["result"]["mapping"]["kind"] == "binary"
    assert body["result"]["verdict"] in ("ship", "iterate", "hold", "stop", "rerun")


def test_abtest_mean_parity(c: FlaskClient, data: pa.Table) -> None:
    same_answer(c, "/api/abtest", data, {"variant": "variant", "metric": "revenue"})


def test_cuped_parity(c: FlaskClient, data: pa.Table) -> None:
    body = same_answer(
        c, "/api/cuped", data, {"variant": "variant", "outcome": "revenue", "covariate": "pre"}
    )
    assert body["result"]["theta"] > 0.5


@pytest.mark.parametrize(
    ("table", "n_missing", "flagged"),
    [
        ("missing_some", 74, False),
        ("missing_imbalanced", 74, True),
        ("missing_arm", N // 2, False),
        ("missing_all", N, False),
    ],
)
def test_cuped_parity_with_missing_covariates(
    c: FlaskClient, data: pa.Table, table: str, n_missing: int, flagged: bool
) -> None:
    """Users without a pre-period value are kept with a missing-value indicator on both
    paths (Deng 2013 section 4.2): the same numbers, readout and warnings (issue 12)."""
    rows = missing_pre(data)[table]
    roles = {"variant": "variant", "outcome": "revenue", "covariate": "pre"}
    body = same_answer(c, "/api/cuped", rows, roles, table)
    upload = c.post("/api/cuped", json={"csv": as_csv(rows), **roles}).json
    assert body["warnings"] == upload["warnings"]
    result = body["result"]
    assert result["n"] == N and result["n_missing_covariate"] == n_missing
    assert result["balance"]["flagged"] is flagged
    codes = [w["code"] for w in body["warnings"]]
    assert "missing_covariate" in codes
    assert ("covariate_imbalance" in codes) is flagged
    assert ("no_adjustment" in codes) is (table == "missing_all")


def test_cuped_missing_outcome_is_refused_on_both_paths(tmp_path: Path, data: pa.Table) -> None:
    """A user without an outcome is refused by the upload, so the source refuses it too
    (it used to be left out quietly), naming the outcome field."""
    mask = np.zeros(N, dtype=bool)
    mask[[3, 40]] = True
    rows = data.set_column(
        data.column_names.index("revenue"),
        "revenue",
        pa.array(data.column("revenue").to_numpy(), mask=mask),
    )
    app = warehouse_app(tmp_path, {"users": rows})
    roles = {"variant": "variant", "outcome": "revenue", "covariate": "pre"}
    upload = app.test_client().post("/api/cuped", json={"csv": as_csv(rows), **roles})
    source = app.test_client().post(
        "/api/cuped", json={"source": "warehouse", "table": "users", **roles}
    )
    app.extensions["abacus_sources"].close()
    assert upload.status_code == source.status_code == 422
    assert upload.json["errors"][0]["field"] == source.json["errors"][0]["field"]
    assert "2 missing values" in source.json["detail"]


def test_doe_parity(c: FlaskClient, data: pa.Table) -> None:
    same_answer(
        c, "/api/doe", data, {"factor_a": "price", "factor_b": "layout", "response": "life"}
    )


@pytest.mark.parametrize(
    "roles",
    [
        {"metric": "proportion", "variant": "variant", "value": "converted"},
        {"metric": "mean", "variant": "variant", "value": "revenue"},
    ],
)
def test_bayesian_parity(c: FlaskClient, data: pa.Table, roles: dict[str, Any]) -> None:
    same_answer(c, "/api/bayesian", data, {**roles, "threshold": 0.01, "seed": 3, "draws": 20000})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"source": "nope", "table": "users"}, "source"),
        ({"source": "warehouse", "table": "nope"}, "table"),
        ({"source": "warehouse", "table": "users; DROP TABLE x"}, "table"),
        ({"source": "warehouse", "table": "../../etc/passwd"}, "table"),
        ({"source": "../../etc/passwd", "table": "users"}, "source"),
        ({"source": "warehouse", "table": "users", "variant": "nope"}, "variant"),
        ({"source": "warehouse", "table": "users", "metric": "x; DROP TABLE users"}, "metric"),
    ],
)
def test_abtest_refuses_unknown_names(c: FlaskClient, body: dict[str, Any], field: str) -> None:
    roles = {"variant": "variant", "metric": "converted"}
    problem(c.post("/api/abtest", json={**roles, **body}), 422, field)
    assert c.post("/api/abtest", json={"source": "warehouse", "table": "users", **roles}).json


@pytest.mark.parametrize(
    ("url", "roles", "field"),
    [
        ("/api/cuped", {"variant": "variant", "outcome": "nope", "covariate": "pre"}, "outcome"),
        ("/api/cuped", {"variant": "variant", "outcome": "revenue", "covariate": "x"}, "covariate"),
        ("/api/doe", {"factor_a": "price", "factor_b": "nope", "response": "life"}, "factor_b"),
        ("/api/bayesian", {"variant": "variant", "value": "nope", "threshold": 0.01}, "value"),
        (
            "/api/bayesian",
            {"variant": "variant", "value": "converted", "date": "x", "threshold": 0.01},
            "date",
        ),
    ],
)
def test_unknown_columns_name_the_role(
    c: FlaskClient, url: str, roles: dict[str, Any], field: str
) -> None:
    problem(c.post(url, json={"source": "warehouse", "table": "users", **roles}), 422, field)
    problem(c.post(url, json={"source": "warehouse", "table": "../x", **roles}), 422, "table")


def test_source_and_csv_together_is_refused(c: FlaskClient, data: pa.Table) -> None:
    body = {"source": "warehouse", "table": "users", "csv": as_csv(data)}
    problem(c.post("/api/abtest", json={**body, "variant": "variant", "metric": "converted"}), 422)


# --------------------------------------------------------------------------- event schema

EVENTS = {
    "exposures": "exposures",
    "metric_events": "metric_events",
    "experiment": "exp",
    "metric": "purchase",
    "window_days": 14,
}


def test_abtest_event_schema(c: FlaskClient) -> None:
    r = c.post("/api/abtest", json={"source": "warehouse", "events": EVENTS, "control": "A"})
    assert r.status_code == 200, r.json
    body = r.json
    # Windows: unit 1 → 10 (the 4.0 is before exposure), 2 → 0 (after the window), 3 → 5;
    # 4 → 12, 5 → 15, 6 → 9 (the click is another metric). Unit 7 saw both: left out.
    inputs = {v["name"]: v for v in body["result"]["inputs"]["primary"]}
    assert inputs["A"]["n"] == 3 and inputs["A"]["mean"] == pytest.approx(5.0)
    assert inputs["B"]["n"] == 3 and inputs["B"]["mean"] == pytest.approx(12.0)
    assert body["result"]["source"]["events"]["experiment"] == "exp"
    assert any("more than one variant" in w["message"] for w in body["warnings"])


def test_cuped_event_schema_uses_the_pre_period(c: FlaskClient) -> None:
    events = {**EVENTS, "pre_window_days": 14}
    r = c.post("/api/cuped", json={"source": "warehouse", "events": events, "control": "A"})
    assert r.status_code == 200, r.json
    result = r.json["result"]
    # Pre-period sums: A 4, 3, 2; B 5, 6, 1.
    arms = {a["name"]: a for a in result["arms"]}
    assert arms["A"]["mean_x"] == pytest.approx(3.0)
    assert arms["B"]["mean_x"] == pytest.approx(4.0)


def test_cuped_missing_covariates_with_a_large_mean(c: FlaskClient, data: pa.Table) -> None:
    """A covariate around 1e8 with a spread of 2: the engine's var_samp/covar_samp and the
    strata's pairwise combination lose nothing that matters. The adjusted estimate carries
    ``θ·(x̄_i − x̄)``, a difference of two means near 1e8 known to an ulp (1.5e-8) on
    either path, so estimates agree to that absolute precision; θ and ρ to 1e-8."""
    rows = missing_pre(data)["missing_large"]
    roles = {"variant": "variant", "outcome": "revenue", "covariate": "pre"}
    upload = c.post("/api/cuped", json={"csv": as_csv(rows), **roles}).json
    source = c.post("/api/cuped", json={"source": "warehouse", "table": "missing_large", **roles})
    assert source.status_code == 200, source.json
    a, b = upload["result"], source.json["result"]
    for key in ("theta", "rho"):
        assert b[key] == pytest.approx(a[key], rel=1e-8)
    for key, value in a["comparisons"][0].items():
        if isinstance(value, float) and not key.endswith(("statistic", "pvalue")):
            assert b["comparisons"][0][key] == pytest.approx(value, abs=1e-7), key
    assert b["n_missing_covariate"] == a["n_missing_covariate"] == 74
    assert source.json["readout"] == upload["readout"]
    assert source.json["warnings"] == upload["warnings"]


def test_cuped_event_schema_matches_the_upload_of_its_units(c: FlaskClient) -> None:
    """A unit with no pre-period event has covariate 0 (sources.events: a sum over no
    events), not a missing one: with a 2-day pre-period units 1, 2 and 5 have none, and the
    answer is the upload of the per-unit rows with 0 there (nothing missing)."""
    events = {**EVENTS, "pre_window_days": 2}
    r = c.post("/api/cuped", json={"source": "warehouse", "events": events, "control": "A"})
    assert r.status_code == 200, r.json
    units = pa.table(
        {
            "variant": ["A", "A", "A", "B", "B", "B"],
            "value": [10.0, 0.0, 5.0, 12.0, 15.0, 9.0],
            "covariate": [0.0, 0.0, 2.0, 5.0, 0.0, 1.0],
        }
    )
    roles = {"variant": "variant", "outcome": "value", "covariate": "covariate"}
    upload = c.post("/api/cuped", json={"csv": as_csv(units), **roles, "control": "A"})
    assert upload.status_code == 200, upload.json
    a, b = upload.json, r.json
    close(
        {k: v for k, v in b["result"].items() if k not in DROPPED},
        {k: v for k, v in a["result"].items() if k not in DROPPED},
        "result",
    )
    assert b["result"]["n_missing_covariate"] == 0
    assert b["readout"] == a["readout"]


@pytest.mark.parametrize(
    ("events", "field"),
    [
        ({**EVENTS, "exposures": "users; DROP TABLE x"}, "events.exposures"),
        ({**EVENTS, "metric_events": "../../etc/passwd"}, "events.metric_events"),
        ({**EVENTS, "exposures": "users"}, "events.exposures"),
        ({**EVENTS, "window_days": 0}, "events.window_days"),
    ],
)
def test_event_schema_errors_name_the_field(
    c: FlaskClient, events: dict[str, Any], field: str
) -> None:
    problem(c.post("/api/abtest", json={"source": "warehouse", "events": events}), 422, field)


# --------------------------------------------------------------------------- command line


def cli_json(app: Flask, *args: str) -> Any:
    result = app.test_cli_runner().invoke(args=["analyze", *args, "--json"])
    assert result.exit_code == 0, result.output
    return orjson.loads(result.output)


def test_cli_source_equals_the_csv_file(source_app: Flask, data: pa.Table, tmp_path: Path) -> None:
    roles = ["--variant", "variant", "--metric", "converted", "--control", "control"]
    csv = tmp_path / "users.csv"
    csv.write_text(as_csv(data))
    from_file = cli_json(source_app, str(csv), *roles)
    from_source = cli_json(source_app, "--source", "warehouse", "--table", "users", *roles)
    close(
        {k: v for k, v in from_source["result"].items() if k not in DROPPED},
        {k: v for k, v in from_file["result"].items() if k not in DROPPED},
    )
    assert from_source["readout"] == from_file["readout"]
    assert from_source["result"]["source"]["table"] == "users"


def test_cli_reads_parquet(source_app: Flask, data: pa.Table, tmp_path: Path) -> None:
    roles = ["--variant", "variant", "--metric", "revenue", "--control", "control"]
    csv, parquet = tmp_path / "users.csv", tmp_path / "users.data"
    csv.write_text(as_csv(data))
    pq.write_table(data, parquet)  # detected by content, not by the file name
    a, b = cli_json(source_app, str(csv), *roles), cli_json(source_app, str(parquet), *roles)
    close(
        {k: v for k, v in a["result"].items() if k != "csv"},
        {k: v for k, v in b["result"].items() if k != "csv"},
    )
    assert a["readout"] == b["readout"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "nope", "--table", "users"], "not configured"),
        (["--source", "warehouse", "--table", "users; DROP TABLE x"], "not a table"),
        (["--source", "warehouse"], "--source and --table"),
        ([], "FILE"),
    ],
)
def test_cli_source_errors(source_app: Flask, args: list[str], message: str) -> None:
    result = source_app.test_cli_runner().invoke(
        args=["analyze", *args, "--variant", "variant", "--metric", "converted"]
    )
    assert result.exit_code != 0
    assert message in result.output
