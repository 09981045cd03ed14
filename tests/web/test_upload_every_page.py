"""One reader, the same on every page (issue 12): the same file gives the same parse, or the
same error naming the same column and row, on the A/B, Bayesian, CUPED and DoE endpoints.

Every file holds the same rows (variant, segment, outcome ``y``, covariate ``x``) in another
dialect: a decimal comma with ``;``, UTF-16 with its BOM, Windows-1252, CR-only line ends,
CRLF, and Parquet uploaded under a ``.csv`` name. Each page's answer to it must equal its
answer to the plain UTF-8 CSV of the same rows. Broken files (a ragged row, binary junk, a
value that is not a number) must fail alike on all four pages.
"""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from flask.testing import FlaskClient

ROWS = [
    ("contrôle", "m", 1.5, 1.0),
    ("B", "m", 2.25, 1.25),
    ("contrôle", "f", 1.0, 0.5),
    ("B", "f", 3.0, 2.0),
    ("contrôle", "m", 1.75, 1.5),
    ("B", "f", 2.5, 1.5),
] * 4
FORMS: dict[str, dict[str, Any]] = {
    "/api/abtest": {"variant": "variant", "metric": "y"},
    "/api/bayesian": {"metric": "mean", "variant": "variant", "value": "y", "threshold": 0.01},
    "/api/cuped": {"variant": "variant", "outcome": "y", "covariate": "x"},
    "/api/doe": {"factor_a": "variant", "factor_b": "segment", "response": "y"},
}
ENDPOINTS = tuple(FORMS)


def _text(delimiter: str = ",", decimal: str = ".", newline: str = "\n", extra: str = "") -> str:
    lines = [delimiter.join(("variant", "segment", "y", "x"))]
    for v, s, y, x in ROWS:
        lines.append(
            delimiter.join((v, s, str(y).replace(".", decimal), str(x).replace(".", decimal)))
        )
    return newline.join(lines) + newline + extra


def _parquet() -> bytes:
    columns = list(zip(*ROWS, strict=True))
    table = pa.table(dict(zip(("variant", "segment", "y", "x"), columns, strict=True)))
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


PLAIN = _text().encode()
SAME_ROWS: dict[str, bytes] = {
    "decimal_comma_semicolon": _text(";", ",").encode(),
    "utf16_bom": _text().encode("utf-16"),
    "windows_1252": _text().encode("cp1252"),
    "utf8_bom": b"\xef\xbb\xbf" + PLAIN,
    "cr_only": _text(newline="\r").encode(),
    "crlf": _text(newline="\r\n").encode(),
    "tab": _text("\t").encode(),
    "parquet_named_csv": _parquet(),
}
BROKEN: dict[str, tuple[bytes, str, int | None]] = {
    # file, the field the error names, the row it names
    "ragged_row": (_text(extra="B,m,1,2,9\n").encode(), "file", len(ROWS) + 1),
    "cr_only_ragged": (_text(newline="\r", extra="B,m,1,2,9\r").encode(), "file", len(ROWS) + 1),
    "not_a_number": (_text(extra="B,m,abc,1\n").encode(), "y", len(ROWS) + 1),
    "decimal_comma_not_a_number": (
        _text(";", ",", extra="B;m;1,5x;1\n").encode(),
        "y",
        len(ROWS) + 1,
    ),
    "binary_junk": (bytes(range(1, 256)) * 20, "file", None),
    "truncated_parquet": (_parquet()[:200], "file", None),
}


def _post(client: FlaskClient, endpoint: str, data: bytes) -> Any:
    return client.post(
        endpoint,
        data={**FORMS[endpoint], "file": (io.BytesIO(data), "data.csv")},
        content_type="multipart/form-data",
    )


def _parse(endpoint: str, result: dict[str, Any]) -> dict[str, Any]:
    """The page's result without what only describes the file (delimiter, encoding, BOM)."""
    out = dict(result)
    if endpoint == "/api/abtest":
        csv = dict(out.pop("csv"))
        assert csv["rows"] == len(ROWS)
        assert csv["columns"] == ["variant", "segment", "y", "x"]
        out["csv_rows"] = (csv["rows"], csv["columns"], csv["rows_used"])
    return out


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("name", sorted(SAME_ROWS))
def test_same_rows_give_the_same_answer(client: FlaskClient, endpoint: str, name: str) -> None:
    reference = _post(client, endpoint, PLAIN)
    assert reference.status_code == 200, reference.json
    response = _post(client, endpoint, SAME_ROWS[name])
    assert response.status_code == 200, response.json
    assert _parse(endpoint, response.json["result"]) == _parse(endpoint, reference.json["result"])


def test_the_abtest_page_says_what_was_detected(client: FlaskClient) -> None:
    detected = {
        name: _post(client, "/api/abtest", data).json["result"]["csv"]
        for name, data in SAME_ROWS.items()
    }
    assert detected["decimal_comma_semicolon"]["delimiter"] == ";"
    assert detected["utf16_bom"]["encoding"] == "utf-16"
    assert detected["utf16_bom"]["had_bom"]
    assert detected["windows_1252"]["encoding"] == "windows-1252"
    assert detected["tab"]["delimiter"] == "\t"
    assert detected["parquet_named_csv"]["delimiter"] == ""


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_file_fails_alike_on_every_page(client: FlaskClient, name: str) -> None:
    data, field, row = BROKEN[name]
    errors = []
    for endpoint in ENDPOINTS:
        response = _post(client, endpoint, data)
        assert response.status_code == 422, (endpoint, response.json)
        assert response.mimetype == "application/problem+json"
        errors.append(response.json["errors"][0])
    assert all(e == errors[0] for e in errors), errors
    assert errors[0]["field"] == field
    assert errors[0].get("row") == row
    if row is not None:
        assert f"row {row}" in errors[0]["detail"]
