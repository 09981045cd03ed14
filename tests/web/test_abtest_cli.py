"""``flask --app app analyze FILE.csv``: the readout or the API's JSON, and clean failures."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pandas as pd
from flask import Flask
from statsmodels.stats.proportion import proportions_ztest

SAMPLE = Path(__file__).parents[2] / "static" / "samples" / "abtest_users.csv"


def test_analyze_prints_the_readout(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["analyze", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(SAMPLE)
    b = frame[frame.variant == "B"].converted
    c = frame[frame.variant == "control"].converted
    assert result.output.startswith(
        f"{b.sum():,} of {b.size:,} users converted on B against {c.sum():,} of {c.size:,} on control"
    )
    assert "Verdict:" in result.output


def test_analyze_json_equals_the_api_answer(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["analyze", str(SAMPLE), "--control", "B", "--metric", "converted", "--json"]
    )
    assert result.exit_code == 0, result.output
    cli = orjson.loads(result.output)
    api = app.test_client().post(
        "/api/abtest",
        data={
            "file": (io.BytesIO(SAMPLE.read_bytes()), "s.csv"),
            "control": "B",
            "metric": "converted",
        },
        content_type="multipart/form-data",
    )
    assert cli["result"] == api.json["result"]
    assert cli["readout"] == api.json["readout"]
    frame = pd.read_csv(SAMPLE)
    counts = frame.groupby("variant").converted.agg(["sum", "size"])
    _, p = proportions_ztest(
        [counts.loc["C", "sum"], counts.loc["B", "sum"]],
        [counts.loc["C", "size"], counts.loc["B", "size"]],
    )
    c = next(x for x in cli["result"]["comparisons"] if x["variant"] == "C")
    assert abs(c["pvalue"] - p) <= 1e-6 * p


def test_bad_file_fails_cleanly(app: Flask, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("variant,users,conversions\nA,100,10\nB,100,120\n")
    result = app.test_cli_runner().invoke(args=["analyze", str(bad)])
    assert result.exit_code != 0
    assert (
        "bad.csv" in result.output
        and "row 2" in result.output
        and "more than the 100 users" in result.output
    )
    assert "Traceback" not in result.output


def test_unknown_control_and_missing_file_fail_cleanly(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["analyze", str(SAMPLE), "--control", "Z"])
    assert result.exit_code != 0 and "control must be one of B, C, control" in result.output
    missing = runner.invoke(args=["analyze", str(tmp_path / "nope.csv")])
    assert missing.exit_code != 0 and "does not exist" in missing.output


def test_options_are_checked_by_the_declared_request(app: Flask) -> None:
    """The command line goes through the API's request model: the same checks and words."""
    runner = app.test_cli_runner()
    result = runner.invoke(args=["analyze", str(SAMPLE), "--alpha", "0.7"])
    api = app.test_client().post("/api/abtest", json={"csv": SAMPLE.read_text(), "alpha": 0.7})
    assert api.status_code == 422 and api.json is not None
    assert result.exit_code != 0 and api.json["detail"] in result.output
    assert "Traceback" not in result.output
