"""sources.tabular (moved from stats.tabular): reading what users have, and every bad input the issue lists.

Reference reductions come from plain pandas groupby on the same rows (an independent path
from the factorize + bincount reduction under test).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sources.tabular import (
    CSVError,
    guess_control,
    infer_roles,
    read_upload,
    summarize,
    summarize_aggregates,
    summarize_table,
)
from stats.sufficient import MeanStats, ProportionStats
from stats.warnings import Code

SAMPLES = Path(__file__).resolve().parents[2] / "static" / "samples"


def csv_error(data: bytes | str, **kwargs) -> CSVError:
    with pytest.raises(CSVError) as err:
        summarize_table(read_upload(data), **kwargs)
    return err.value


# --- reading -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "delimiter"),
    [
        (b"variant,converted\nA,1\nB,0\n", ","),
        (b"variant;converted;revenue\nA;1;1,5\nB;0;2\n", ";"),
        (b"variant\tconverted\nA\t1\nB\t0\n", "\t"),
        (b"variant|converted\nA|1\nB|0\n", "|"),
    ],
)
def test_delimiters_are_detected(data, delimiter):
    table = read_upload(data)
    assert table.delimiter == delimiter
    assert table.columns[:2] == ("variant", "converted") and table.n_rows == 2


def test_semicolon_file_with_decimal_commas_reads_numbers():
    table = read_upload(b"variant;converted;revenue\nA;1;1,5\nB;0;2\nA;0;0,25\n")
    s = summarize(table, variant="variant", metric="revenue", kind="continuous")
    assert [v.mean for v in s.variants] == pytest.approx([(1.5 + 0.25) / 2, 2.0])


def test_utf8_bom_is_stripped_and_reported():
    table = read_upload(b"\xef\xbb\xbfvariant,converted\nA,1\nB,0\n")
    assert table.had_bom and table.columns == ("variant", "converted")
    assert read_upload("\ufeffvariant,converted\nA,1\nB,0\n").had_bom


def test_quoted_fields_with_commas_stay_whole():
    table = read_upload(b'variant,converted,note\n"A, the control",1,"x, y"\nB,0,z\n')
    assert table.frame["variant"].tolist() == ["A, the control", "B"]
    assert table.frame["note"].tolist() == ["x, y", "z"]


def test_missing_header_is_detected_and_named():
    table = read_upload(b"A,1,2.5\nB,0,3\nA,1,1\n")
    assert not table.has_header and table.columns == ("col1", "col2", "col3")
    assert table.n_rows == 3
    roles = infer_roles(table)
    assert roles.variant == "col1" and [m.name for m in roles.metrics] == ["col2", "col3"]


def test_blank_and_repeated_header_names_get_unique_names():
    table = read_upload(b"variant,,x,x\nA,1,2,3\nB,0,2,3\n")
    assert table.columns == ("variant", "col2", "x", "x_2")


def test_blank_cells_are_counted_per_column():
    table = read_upload(b"variant,converted,revenue\nA,1,\nB,,NA\nA,0,3\n")
    assert table.blank_cells == {"variant": 0, "converted": 1, "revenue": 2}


# --- bad files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "file is empty"),
        (b"\n\r\n  \n", "file is empty"),
        (b"variant,converted\n", "file has only a header row"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "file is not a text CSV: it contains binary data"),
        (b"PK\x03\x04\x14\x00", "file is not a text CSV: it looks like an Excel workbook"),
    ],
)
def test_unreadable_files_say_why(data, message):
    with pytest.raises(CSVError) as err:
        read_upload(data)
    assert str(err.value).startswith(message)
    assert err.value.field == "file" and err.value.row is None


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("variant,converted\nCafé,1\nB,0\n".encode(), "utf-8"),
        ("variant,converted\nCafé,1\nB,0\n".encode("utf-16"), "utf-16"),  # Excel "Unicode text"
        ("variant,converted\nCafé,1\nB,0\n".encode("cp1252"), "windows-1252"),  # Excel "CSV"
        ("variant,converted\nCaf\u00e9\u0081,1\nB,0\n".encode("latin-1"), "latin-1"),
    ],
)
def test_text_in_other_encodings_is_read(data, encoding):
    table = read_upload(data)
    assert table.encoding == encoding
    assert table.frame["variant"].iloc[0].startswith("Café")
    assert list(table.frame["converted"]) == [1, 0]


def test_ragged_row_is_named():
    with pytest.raises(CSVError) as err:
        read_upload(b"variant,converted\nA,1\nB,0\nA,1,7\nB,0\n")
    assert err.value.row == 3 and err.value.field == "file"
    assert str(err.value).startswith("row 3 has 3 fields but the header has 2")


def test_row_limit():
    with pytest.raises(CSVError, match="file has 3 rows; the limit is 2"):
        read_upload(b"v,c\nA,1\nB,0\nA,1\n", max_rows=2)


# --- roles ---------------------------------------------------------------------------------


def test_roles_of_the_user_sample():
    table = read_upload((SAMPLES / "abtest_users.csv").read_bytes())
    roles = infer_roles(table)
    assert roles.layout == "users" and roles.variant == "variant" and roles.user_id == "user_id"
    assert [(m.name, m.kind) for m in roles.metrics] == [
        ("converted", "binary"),
        ("revenue", "continuous"),
    ]
    assert roles.candidates["variant"][0] == "variant"
    assert roles.candidates["metric"] == ("converted", "revenue")


def test_roles_of_the_summary_sample():
    table = read_upload((SAMPLES / "abtest_summary.csv").read_bytes())
    roles = infer_roles(table)
    assert (roles.layout, roles.variant, roles.users, roles.conversions) == (
        "variants",
        "variant",
        "users",
        "conversions",
    )
    assert (roles.mean, roles.sd) == ("revenue_mean", "revenue_sd")


def test_variant_named_columns_win_and_yes_no_is_binary():
    table = read_upload(b"country,arm,purchased\nFR,x,yes\nDE,y,no\nFR,x,no\nDE,y,yes\n")
    roles = infer_roles(table)
    assert roles.variant == "arm" and roles.metrics[0].kind == "binary"
    assert set(roles.candidates["variant"]) == {"country", "arm", "purchased"}


@pytest.mark.parametrize(
    ("names", "control"),
    [(["B", "control", "C"], "control"), (["v2", "Baseline"], "Baseline"), (["x", "y"], "x")],
)
def test_guess_control(names, control):
    assert guess_control(names) == control


# --- reduction -----------------------------------------------------------------------------


def test_reduction_matches_a_pandas_groupby():
    raw = (SAMPLES / "abtest_users.csv").read_bytes()
    table = read_upload(raw)
    ref = pd.read_csv(SAMPLES / "abtest_users.csv").groupby("variant")
    conv = summarize(table, variant="variant", metric="converted", kind="binary")
    assert conv.variants == tuple(
        ProportionStats(str(k), len(g), int(g["converted"].sum())) for k, g in ref
    )
    rev = summarize(table, variant="variant", metric="revenue", kind="continuous")
    for got, (name, g) in zip(rev.variants, ref, strict=True):
        assert isinstance(got, MeanStats) and got.name == name and got.n == len(g)
        assert got.mean == pytest.approx(g["revenue"].mean(), rel=1e-12)
        assert got.sd == pytest.approx(g["revenue"].std(ddof=1), rel=1e-10)


def test_large_offset_does_not_lose_the_variance():
    # values 1e9 + {0, 1, 2}: the naive Σx² − (Σx)²/n formula loses every digit here
    rows = "\n".join(f"{v},{1e9 + x}" for v in "AB" for x in (0, 1, 2))
    s = summarize(
        read_upload(f"variant,x\n{rows}\n"), variant="variant", metric="x", kind="continuous"
    )
    assert [v.sd for v in s.variants] == pytest.approx([1.0, 1.0], rel=1e-9)


def test_aggregates_read_both_metric_kinds():
    table = read_upload((SAMPLES / "abtest_summary.csv").read_bytes())
    conv = summarize_table(table)
    assert conv.kind == "binary" and conv.variants[0] == ProportionStats("control", 1998, 215)
    rev = summarize_table(table, metric="revenue_mean")
    assert rev.kind == "continuous" and rev.variants[1] == MeanStats("B", 1958, 5.5996, 17.7647)


def test_blank_cells_are_left_out_and_reported_with_rows():
    data = b"variant,revenue\nA,1\nB,\nA,2\n,5\nB,4\nA,\nB,6\n"
    s = summarize_table(read_upload(data))
    assert [v.n for v in s.variants] == [2, 2] and s.excluded_rows == 3
    left_out = [w.message for w in s.warnings if w.code == Code.ROWS_LEFT_OUT]
    assert "2 blank cells in column 'revenue' left out (rows 2, 6)" in left_out
    assert "1 row with a blank 'variant' cell left out (row 4)" in left_out


def test_duplicate_user_ids_are_warned():
    data = b"user_id,variant,converted\nu1,A,1\nu2,B,0\nu1,B,1\nu3,A,0\nu2,B,0\n"
    s = summarize_table(read_upload(data))
    assert s.duplicate_ids == 2
    assert s.warnings[0].code == Code.DUPLICATE_IDS
    assert s.warnings[0].message.startswith(
        "2 rows repeat a user id from an earlier row (first: 'u1' on row 3"
    )
    assert s.warnings[1].code == Code.IDS_IN_SEVERAL_VARIANTS
    assert s.warnings[1].message.startswith("1 user id appears in more than one variant")


def test_the_summary_is_json_friendly():
    s = summarize_table(read_upload(b"variant,converted\nA,1\nB,0\n"))
    assert dataclasses.asdict(s)["variants"][0] == {"name": "A", "users": 1, "conversions": 1}


@pytest.mark.parametrize(
    ("data", "kwargs", "field", "row", "message"),
    [
        (  # single variant
            b"variant,converted\nA,1\nA,0\n",
            {},
            "variant",
            None,
            "variant column 'variant' has only one variant ('A')",
        ),
        (  # non-numeric value in a metric column
            b"variant,revenue\nA,1\nB,abc\nA,2\nB,3\n",
            {},
            "revenue",
            2,
            "row 2, column 'revenue': 'abc' is not a number",
        ),
        (  # non-binary value in a conversion column
            b"variant,converted\nA,1\nB,0\nA,2\nB,1\n",
            {"metric": "converted", "kind": "binary"},
            "converted",
            3,
            "row 3, column 'converted': 2 is not 0 or 1",
        ),
        (
            b"variant,converted\nA,yes\nB,no\nA,maybe\nB,yes\n",
            {"metric": "converted", "kind": "binary"},
            "converted",
            3,
            "row 3, column 'converted': 'maybe' is not a 0/1",
        ),
        (  # missing column
            b"variant,converted\nA,1\nB,0\n",
            {"metric": "revenue"},
            "revenue",
            None,
            "metric column 'revenue' not found; the columns are variant, converted",
        ),
        (  # unmappable: no variant column
            b"x,y\n1.5,2\n2.5,3\n",
            {},
            "variant",
            None,
            "variant: no column looks like the variant",
        ),
        (  # unmappable: no metric column
            b"variant,note\nA,hello\nB,world\n",
            {},
            "metric",
            None,
            "metric: no column holds numbers or 0/1 values",
        ),
        (  # conversions above users
            b"variant,users,conversions\nA,1000,120\nB,1000,1200\n",
            {},
            "conversions",
            2,
            "row 2, column 'conversions': 1200 conversions are more than the 1000 users",
        ),
        (  # negative counts
            b"variant,users,conversions\nA,-5,1\nB,10,1\n",
            {},
            "users",
            1,
            "row 1, column 'users': -5 is negative; users must be >= 0",
        ),
        (
            b"variant,users,conversions\nA,10.5,1\nB,10,1\n",
            {},
            "users",
            1,
            "row 1, column 'users': 10.5 is not a whole number of users",
        ),
        (
            b"variant,users,conversions\nA,10,\nB,10,1\n",
            {},
            "conversions",
            1,
            "row 1, column 'conversions': the conversions cell is blank",
        ),
        (
            b"variant,users,conversions\nA,10,1\nA,10,1\n",
            {},
            "variant",
            2,
            "row 2, column 'variant': 'A' appears on more than one row",
        ),
        (
            b"variant,revenue\nA,1\nB,inf\nA,2\n",
            {},
            "revenue",
            2,
            "row 2, column 'revenue': inf is not a finite number",
        ),
    ],
)
def test_bad_data_names_row_and_column(data, kwargs, field, row, message):
    err = csv_error(data, **kwargs)
    assert str(err).startswith(message)
    assert (err.field, err.row) == (field, row)


def test_unmapped_aggregate_roles_name_the_role():
    table = read_upload(b"variant,users,conversions\nA,10,1\nB,10,2\n")
    roles = dataclasses.replace(infer_roles(table), users=None)
    with pytest.raises(CSVError) as err:
        summarize_aggregates(table, roles)
    assert err.value.field == "users" and str(err.value).startswith("users: no column")


def test_too_many_variants_suggests_an_id_column():
    rows = "\n".join(f"id{i},{i % 2}" for i in range(60))
    err = csv_error(f"variant,converted\n{rows}\n", metric="converted")
    assert "60 distinct values" in str(err) and err.field == "variant"


def test_kind_is_checked():
    table = read_upload(b"variant,converted\nA,1\nB,0\n")
    with pytest.raises(ValueError, match=r"^kind must be one of binary, continuous"):
        summarize(table, variant="variant", metric="converted", kind="count")  # type: ignore[arg-type]


def test_million_rows_parse_and_reduce_quickly():
    # A smoke test of the vectorised path at 200k rows (the 1M-row timing lives in
    # bench/bench_abtest.py): counts must add up exactly.
    rng = np.random.default_rng(0)
    n = 200_000
    frame = pd.DataFrame(
        {"variant": rng.choice(["A", "B", "C"], n), "converted": rng.integers(0, 2, n)}
    )
    table = read_upload(frame.to_csv(index=False).encode())
    s = summarize_table(table)
    assert sum(v.n for v in s.variants) == n
    assert [v.conversions for v in s.variants] == frame.groupby("variant")[
        "converted"
    ].sum().tolist()
