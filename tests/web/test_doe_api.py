"""POST /api/doe and GET /doe: Montgomery's published table, statsmodels, every error path."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import statsmodels.formula.api as smf
from flask.testing import FlaskClient
from scipy import stats as sps
from statsmodels.stats.anova import anova_lm

from tests.web.problems import problem

SAMPLE = Path(__file__).resolve().parents[2] / "static" / "samples" / "doe_battery.csv"

# Montgomery, Design and Analysis of Experiments (8th ed., 2013), Example 5.1, Table 5.1:
# battery life (hours) by plate material (1-3) and temperature (15, 70, 125 °F).
BATTERY = {
    1: {15: [130, 155, 74, 180], 70: [34, 40, 80, 75], 125: [20, 70, 82, 58]},
    2: {15: [150, 188, 159, 126], 70: [136, 122, 106, 115], 125: [25, 70, 58, 45]},
    3: {15: [138, 110, 168, 160], 70: [174, 120, 150, 139], 125: [96, 104, 82, 60]},
}
# Montgomery Table 5.5, as printed: source -> (SS, df, MS, F, P).
PUBLISHED = {
    "material": (10683.72, 2, 5341.86, 7.91, 0.0020),
    "temperature": (39118.72, 2, 19559.36, 28.97, None),  # printed as "< 0.0001"
    "material:temperature": (9613.78, 4, 2403.44, 3.56, 0.0186),
    "Residual": (18230.75, 27, 675.21, None, None),
}
NAMES = {"factor_a": "material", "factor_b": "temperature", "response": "life"}


def battery_rows() -> list[dict[str, Any]]:
    return [{"a": m, "b": t, "y": y} for m, d in BATTERY.items() for t, ys in d.items() for y in ys]


def post(client: FlaskClient, **changes: Any) -> Any:
    body = {k: v for k, v in {**NAMES, "rows": battery_rows(), **changes}.items() if v is not ...}
    return client.post("/api/doe", json=body)


def post_csv(client: FlaskClient, text: str, **form: Any) -> Any:
    data = {"file": (io.BytesIO(text.encode()), "data.csv"), **form}
    return client.post("/api/doe", data=data, content_type="multipart/form-data")


def by_source(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["source"]: row for row in result["anova"]}


def assert_published(result: dict[str, Any]) -> None:
    table = by_source(result)
    assert list(table) == list(PUBLISHED)
    for source, (ss, df, ms, f, p) in PUBLISHED.items():
        row = table[source]
        # Montgomery prints two decimals: agree to rounding of the last printed digit.
        assert row["sum_sq"] == pytest.approx(ss, abs=0.006)
        assert row["df"] == df
        assert row["mean_sq"] == pytest.approx(ms, abs=0.006)
        if f is not None:
            assert row["f"] == pytest.approx(f, abs=0.006)
        if p is not None:
            assert row["pvalue"] == pytest.approx(p, abs=0.00006)
    assert table["temperature"]["pvalue"] < 0.0001
    # Partial eta squared SS / (SS + SS_E) from the published sums of squares.
    assert table["material"]["partial_eta_sq"] == pytest.approx(
        10683.72 / (10683.72 + 18230.75), rel=1e-5
    )


def test_page_renders(client: FlaskClient) -> None:
    html = client.get("/doe").get_data(as_text=True)
    assert 'data-endpoint="/api/doe"' in html
    assert "js/doe.js" in html
    assert "samples/doe_battery.csv" in html


def test_sample_csv_is_served(client: FlaskClient) -> None:
    response = client.get("/static/samples/doe_battery.csv")
    assert response.status_code == 200
    frame = pd.read_csv(io.BytesIO(response.get_data()))
    assert list(frame.columns) == ["material", "temperature", "life"]
    assert len(frame) == 36 and frame["life"].sum() == 3799  # Montgomery Table 5.1: y... = 3799


def test_battery_rows_reproduce_montgomery_table_5_5(client: FlaskClient) -> None:
    response = post(client)
    assert response.status_code == 200
    data = response.json
    r = data["result"]
    assert_published(r)
    assert (r["n"], r["interaction_tested"], r["balanced"], r["anova_type"]) == (36, True, True, 2)
    assert r["levels_a"] == ["1", "2", "3"] and r["levels_b"] == ["15", "70", "125"]
    assert data["readout"].startswith(
        "The effect of temperature depends on material: p = 0.019 for the interaction"
    )
    assert data["warnings"] == []


def test_cell_means_and_intervals(client: FlaskClient) -> None:
    r = post(client).json["result"]
    cells = {(c["a"], c["b"]): c for c in r["cell_means"]}
    assert len(cells) == 9
    first = cells[("1", "15")]
    # (130 + 155 + 74 + 180) / 4 by hand; pooled t interval with Montgomery's MS_E = 675.21, 27 df.
    half = sps.t.ppf(0.975, 27) * (675.21 / 4) ** 0.5
    assert first["n"] == 4 and first["mean"] == pytest.approx(134.75)
    assert first["ci_low"] == pytest.approx(134.75 - half, rel=1e-5)
    assert first["ci_high"] == pytest.approx(134.75 + half, rel=1e-5)
    # Montgomery Table 5.1 level totals: material 1 = 998, temperature 15 = 1738 (12 each).
    marg_a = {m["level"]: m for m in r["marginal_means_a"]}
    marg_b = {m["level"]: m for m in r["marginal_means_b"]}
    assert marg_a["1"]["estimate"] == pytest.approx(998 / 12)
    assert marg_b["15"]["estimate"] == pytest.approx(1738 / 12)


def test_figures(client: FlaskClient) -> None:
    figures = post(client).json["figures"]
    assert set(figures) == {"interaction", "main_effects", "residuals"}
    inter = figures["interaction"]
    assert [t["name"] for t in inter["data"]] == [f"temperature = {t}" for t in (15, 70, 125)]
    # Line for 15 °F through the cell means of materials 1-3 (Table 5.1 cell totals / 4).
    assert inter["data"][0]["y"] == pytest.approx([539 / 4, 623 / 4, 576 / 4])
    assert all(len(t["error_y"]["array"]) == 3 for t in inter["data"])
    assert inter["layout"]["xaxis"]["ticktext"] == ["1", "2", "3"]
    main = figures["main_effects"]
    assert [t["x"] for t in main["data"]] == [["1", "2", "3"], ["15", "70", "125"]]
    assert len(figures["residuals"]["data"][0]["x"]) == 36
    assert all(f["data"][0]["type"] == "scatter" for f in figures.values())


def test_csv_upload_with_named_columns(client: FlaskClient) -> None:
    response = post_csv(client, SAMPLE.read_text(), **NAMES, anova_type="2")
    assert response.status_code == 200, response.json
    assert_published(response.json["result"])


def test_csv_columns_are_detected(client: FlaskClient) -> None:
    # Columns reordered and factor A given as text: the numeric column with many values is
    # the response, the text column comes first among the factors.
    frame = pd.read_csv(SAMPLE)[["temperature", "life", "material"]]
    frame["material"] = "m" + frame["material"].astype(str)
    response = client.post("/api/doe", json={"csv": frame.to_csv(index=False)})
    assert response.status_code == 200, response.json
    r = response.json["result"]
    assert (r["factor_a"], r["factor_b"], r["response"]) == ("material", "temperature", "life")
    assert by_source(r)["material:temperature"]["sum_sq"] == pytest.approx(9613.78, abs=0.006)


def test_pasted_csv_as_form_field(client: FlaskClient) -> None:
    data = {"csv": SAMPLE.read_text(), "alpha": "0.1"}
    response = client.post("/api/doe", data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    assert response.json["result"]["alpha"] == 0.1
    assert "90% intervals" in response.json["readout"]


def unbalanced_rows() -> list[dict[str, Any]]:
    drop = {(1, 15, 0), (1, 125, 1), (1, 125, 2), (2, 70, 3), (3, 125, 0), (3, 15, 2)}
    return [
        {"a": m, "b": t, "y": y}
        for m, d in BATTERY.items()
        for t, ys in d.items()
        for k, y in enumerate(ys)
        if (m, t, k) not in drop
    ]


@pytest.mark.parametrize("anova_type", [2, 3])
def test_unbalanced_agrees_with_statsmodels(client: FlaskClient, anova_type: int) -> None:
    rows = unbalanced_rows()
    r = post(client, rows=rows, anova_type=anova_type).json["result"]
    assert r["balanced"] is False
    frame = pd.DataFrame(rows).astype({"a": str, "b": str})
    fit = smf.ols("y ~ C(a, Sum) * C(b, Sum)", frame).fit()
    expected = anova_lm(fit, typ=anova_type)
    labels = {"material": "C(a, Sum)", "temperature": "C(b, Sum)",
              "material:temperature": "C(a, Sum):C(b, Sum)", "Residual": "Residual"}  # fmt: skip
    for source, row in by_source(r).items():
        assert row["sum_sq"] == pytest.approx(expected.loc[labels[source], "sum_sq"], rel=1e-9)
        if source != "Residual":
            assert row["pvalue"] == pytest.approx(expected.loc[labels[source], "PR(>F)"], rel=1e-9)


def test_single_replicate_fits_additive_model(client: FlaskClient) -> None:
    rows = [{"a": m, "b": t, "y": ys[0]} for m, d in BATTERY.items() for t, ys in d.items()]
    data = post(client, rows=rows).json
    r = data["result"]
    assert r["interaction_tested"] is False
    assert [row["source"] for row in r["anova"]] == ["material", "temperature", "Residual"]
    expected = anova_lm(smf.ols("y ~ C(a) + C(b)", pd.DataFrame(rows)).fit(), typ=2)
    assert by_source(r)["temperature"]["pvalue"] == pytest.approx(expected.loc["C(b)", "PR(>F)"])
    assert "interaction cannot be tested" in data["readout"]
    assert any(
        w["code"] == "interaction_untestable" and "single observation" in w["message"]
        for w in data["warnings"]
    )
    assert all(c["ci_low"] is None for c in r["cell_means"])
    assert "error_y" not in data["figures"]["interaction"]["data"][0]


def six_levels() -> list[dict[str, Any]]:
    return [{"a": f"a{i}", "b": b, "y": float(i + j)} for i in range(6) for j, b in enumerate("xy") for _ in range(2)]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"rows": six_levels()}, "factor_a", "at most 5 levels"),
        ({"rows": [{"a": m, "b": 15, "y": 1.0 * m} for m in (1, 2, 3)]}, "factor_b", "at least 2 levels"),
        ({"rows": battery_rows()[4:]}, "rows", "cell material=1, temperature=15 has no observations"),
        ({"rows": [*battery_rows()[:-1], {"a": 3, "b": 125, "y": "abc"}]}, "rows[35].y", "material=3"),
        ({"rows": [*battery_rows()[:-1], {"a": 3, "b": 125, "y": True}]}, "rows[35].y", "must be a number"),
        ({"rows": [*battery_rows()[:-1], {"a": 3, "b": 125, "y": "1e999"}]}, "rows[35].y", "finite"),
        ({"rows": [*battery_rows()[:-1], {"a": 3, "b": 125}]}, "rows[35].y", "required"),
        ({"rows": [*battery_rows()[:-1], {"a": {}, "b": 125, "y": 1}]}, "rows[35].a", "level name"),
        ({"rows": [*battery_rows()[:-1], 7]}, "rows[35]", "object"),
        ({"rows": []}, "rows", "at least one"),
        ({"anova_type": 4}, "anova_type", "2 or 3"),
        ({"alpha": 0.7}, "alpha", "(0, 0.5]"),
        ({"factor_b": "material"}, "factor_b", "differ"),
        ({"factor_a": " "}, "factor_a", "non-empty"),
    ],
)  # fmt: skip
def test_meaningless_values_are_422(
    client: FlaskClient, changes: dict[str, Any], field: str, words: str
) -> None:
    response = post(client, **changes)
    assert words in problem(response, 422, field)["detail"]


def test_too_many_rows_is_422(client: FlaskClient) -> None:
    rows = [{"a": i % 2, "b": i % 3, "y": 1.0} for i in range(100_001)]
    response = post(client, rows=rows)
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "rows"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"rows": ...}, "rows"),
        ({"rows": {"a": 1}}, "rows"),
        ({"anova_type": "2"}, "anova_type"),
        ({"anova_type": 2.5}, "anova_type"),
        ({"alpha": "0.05"}, "alpha"),
        ({"factor_a": 3}, "factor_a"),
    ],
)
def test_missing_or_wrong_type_is_400(
    client: FlaskClient, changes: dict[str, Any], field: str
) -> None:
    response = post(client, **changes)
    problem(response, 400, field)


def test_body_not_json_is_400(client: FlaskClient) -> None:
    response = client.post("/api/doe", data="rows", content_type="text/plain")
    assert response.status_code == 400
    assert response.json["errors"][0]["field"] == "body"


def sample_lines() -> list[str]:
    return SAMPLE.read_text().splitlines()


@pytest.mark.parametrize(
    ("text", "form", "field", "row", "words"),
    [
        ("\n".join(sample_lines()).replace("1,15,155", "1,15,abc"), {}, "life", 2, "abc"),
        ("\n".join(sample_lines()), {"response": "hours"}, "response", None, "'hours' is not in"),
        ("\n".join(line.rsplit(",", 1)[0] for line in sample_lines()), {}, "file", None, "three columns"),
        ("\n".join(sample_lines()[:1] + sample_lines()[5:]), {}, "file", None, "material=1, temperature=15"),
        ("", {}, "file", None, "empty"),
        ("material,temperature,life\n1,15,130\n1,15\n", {}, "file", 2, "fields"),
    ],
)  # fmt: skip
def test_bad_csv_is_422(
    client: FlaskClient, text: str, form: dict[str, str], field: str, row: int | None, words: str
) -> None:
    response = post_csv(client, text, **form)
    assert response.status_code == 422, response.json
    error = response.json["errors"][0]
    assert error["field"] == field
    assert error.get("row") == row
    assert words in response.json["detail"]


def test_pasted_csv_errors_name_csv(client: FlaskClient) -> None:
    text = "\n".join(line.rsplit(",", 1)[0] for line in sample_lines())
    response = client.post("/api/doe", json={"csv": text})
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "csv"


def test_csv_detection_keeps_a_response_with_a_typo(client: FlaskClient) -> None:
    # Few rows: the response has no more distinct values than a factor could, and one
    # value is not a number; it is still the column of mostly numbers, and the typo is named.
    text = "temperature,material,life\nhot,1,130\nhot,2,abc\ncold,1,1\ncold,2,2\n"
    error = post_csv(client, text).json["errors"][0]
    assert (error["field"], error["row"]) == ("life", 2)


def test_csv_true_false_column_is_a_factor(client: FlaskClient) -> None:
    lines = sample_lines()
    text = "\n".join([lines[0].replace("material", "coupon")] + [
        line.replace("1,", "true,", 1).replace("2,", "false,", 1)
        for line in lines[1:]
        if not line.startswith("3,")
    ])  # fmt: skip
    r = post_csv(client, text).json["result"]
    assert (r["factor_a"], r["levels_a"]) == ("coupon", ["true", "false"])


def test_huge_responses_are_422_naming_the_cell(client: FlaskClient) -> None:
    rows = [*battery_rows()[:-1], {"a": 3, "b": 125, "y": 1e308}]
    response = post(client, rows=rows)
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "rows[35].y"
    assert "rescale" in response.json["detail"]


def test_csv_with_too_many_rows_names_the_file(client: FlaskClient) -> None:
    text = "a,b,y\n" + "".join(f"{i % 2},{i % 3},{i}\n" for i in range(100_001))
    response = post_csv(client, text)
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "file"
    assert response.json["detail"].startswith("The CSV must hold at most 100000 observations")


@pytest.mark.parametrize(
    ("levels_a", "field", "message"),
    [
        (
            ["1", "2", "3", "4"],
            "rows",
            "cell material=4, temperature=15 has no observations (3 empty",
        ),
        (["1", "2", "3", "4", "5", "6"], "levels_a", "levels_a must name 2 to 5 levels"),
    ],
)
def test_a_declared_level_without_data_is_named(
    client: FlaskClient, levels_a: list[str], field: str, message: str
) -> None:
    # The grid sends the levels it shows; the battery rows only cover materials 1-3.
    response = post(client, levels_a=levels_a, levels_b=["15", "70", "125"], **NAMES)
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == field
    assert message in response.json["detail"]


def test_declared_levels_that_all_have_data_change_nothing(client: FlaskClient) -> None:
    plain = post(client, **NAMES).json["result"]["anova"]
    declared = post(client, levels_a=["1", "2", "3"], levels_b=["15", "70", "125"], **NAMES)
    assert declared.status_code == 200
    assert declared.json["result"]["anova"] == plain
