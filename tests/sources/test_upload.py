"""sources.upload: the one reader detects what a file is from its content.

(The reader's older cases, from the A/B analyzer's reader, live in tests/sources/test_tabular.py.)
"""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sources.upload import MAX_COLUMNS, CSVError, read_upload

PLAIN = "variant,y\nA,0.25\nB,1.5\nA,2\n"


def _parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def test_decimal_comma_with_a_semicolon_reads_as_numbers() -> None:
    up = read_upload(b"variant;y;n\nA;0,25;1\nB;1,5;2\nA;-2,0;3\n")
    assert (up.delimiter, up.decimal) == (";", ",")
    assert up.arrow.column("y").to_pylist() == [0.25, 1.5, -2.0]
    assert up.arrow.column("n").to_pylist() == [1, 2, 3]


def test_a_decimal_point_with_a_semicolon_stays_a_point() -> None:
    up = read_upload(b"variant;y\nA;0.25\nB;1,5\n")
    assert up.decimal == "."


@pytest.mark.parametrize(
    ("data", "encoding", "bom"),
    [
        (PLAIN.encode(), "utf-8", False),
        (b"\xef\xbb\xbf" + PLAIN.encode(), "utf-8", True),
        (PLAIN.encode("utf-16"), "utf-16", True),
        (PLAIN.replace("A", "Ä").encode("cp1252"), "windows-1252", False),
    ],
)
def test_encodings(data: bytes, encoding: str, bom: bool) -> None:
    up = read_upload(data)
    assert (up.encoding, up.had_bom, up.n_rows, up.columns) == (encoding, bom, 3, ("variant", "y"))


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(newline: str) -> None:
    up = read_upload(PLAIN.replace("\n", newline).encode())
    assert up.arrow.column("y").to_pylist() == [0.25, 1.5, 2.0]


def test_parquet_is_told_by_its_magic_bytes_not_its_name() -> None:
    table = pa.table({"variant": ["A", "B", None], "y": [0.25, None, 2.0], "k": [1, 2, 3]})
    up = read_upload(_parquet(table))
    assert up.format == "parquet"
    assert up.columns == ("variant", "y", "k")
    assert dict(up.blank_cells) == {"variant": 1, "y": 1, "k": 0}
    assert up.frame["y"].tolist()[0] == 0.25


def test_parquet_limits_are_checked_from_its_footer() -> None:
    with pytest.raises(CSVError, match="rows; the limit is 2"):
        read_upload(_parquet(pa.table({"y": [1, 2, 3]})), max_rows=2)
    wide = pa.table({f"c{i}": [1] for i in range(MAX_COLUMNS + 1)})
    with pytest.raises(CSVError, match="columns; at most"):
        read_upload(_parquet(wide))


def test_a_broken_or_unusable_parquet_names_the_file_or_column() -> None:
    with pytest.raises(CSVError, match="starts like Parquet") as err:
        read_upload(_parquet(pa.table({"y": [1.0]}))[:40])
    assert err.value.field == "file"
    nested = pa.table({"variant": ["A"], "tags": [[1, 2]]})
    with pytest.raises(CSVError, match="'tags' holds list") as err:
        read_upload(_parquet(nested))
    assert err.value.field == "tags"


def test_dictionary_and_decimal_parquet_columns_read_as_text_and_numbers() -> None:
    import decimal

    table = pa.table(
        {
            "variant": pa.array(["A", "B"]).dictionary_encode(),
            "y": pa.array([decimal.Decimal("0.25"), decimal.Decimal("1.50")], pa.decimal128(5, 2)),
        }
    )
    up = read_upload(_parquet(table))
    assert up.arrow.schema.types == [pa.string(), pa.float64()]


def test_columns_become_pandas_once_and_only_when_read() -> None:
    up = read_upload(PLAIN)
    assert up.column("y") is up.column("y")
    assert list(up.frame.columns) == ["variant", "y"]
    assert up.sample(2).index.tolist() == [0, 1, 2]  # every 3 // 2 = 1st row: all of them
    ten = read_upload("y\n" + "\n".join(map(str, range(10))) + "\n")
    assert ten.sample(3)["y"].tolist() == [0, 3, 6, 9]
    assert ten.sample(3).index.tolist() == [0, 3, 6, 9]  # rows keep their numbers


def _ids_csv(rows: int, segment_from: int | None = None) -> bytes:
    """A per-user CSV: two arm labels, a unique text id per row, and a segment column of one
    value until row ``segment_from`` and of unique values after it."""
    lines = ["variant,user_id,segment,y"]
    for i in range(rows):
        seg = "s" if segment_from is None or i < segment_from else f"s{i}"
        lines.append(f"{'AB'[i % 2]},u{i},{seg},{i % 7}")
    return ("\n".join(lines) + "\n").encode()


def test_few_valued_text_is_dictionary_encoded_and_ids_stay_text() -> None:
    up = read_upload(_ids_csv(500))
    types = dict(zip(up.columns, up.arrow.schema.types, strict=True))
    assert pa.types.is_dictionary(types["variant"])
    assert types["variant"].value_type == pa.string()
    assert types["user_id"] == pa.string()
    assert types["y"] == pa.int64()
    assert up.arrow.column("variant").to_pylist()[:3] == ["A", "B", "A"]
    assert up.column("variant").tolist()[:3] == ["A", "B", "A"]  # pandas gets plain text
    assert not isinstance(up.column("variant").dtype, pd.CategoricalDtype)


@pytest.mark.parametrize("streaming", [False, True])
def test_text_that_gains_values_in_a_later_block_reads_as_plain_text(
    monkeypatch: pytest.MonkeyPatch, streaming: bool
) -> None:
    import sources.upload as upload

    monkeypatch.setattr(upload, "_BLOCK_BYTES", 4096)  # many blocks
    if streaming:
        monkeypatch.setattr(upload, "_STREAM_BYTES", 0)  # read block by block
    up = read_upload(_ids_csv(3000, segment_from=2500))
    types = dict(zip(up.columns, up.arrow.schema.types, strict=True))
    assert up.arrow.column("user_id").num_chunks > 1
    assert pa.types.is_dictionary(types["variant"])  # the other text keeps its encoding
    assert types["segment"] == pa.string()
    assert types["user_id"] == pa.string()
    assert up.arrow.column("segment").to_pylist()[2499:2501] == ["s", "s2500"]
    assert up.column("variant").tolist()[:3] == ["A", "B", "A"]
