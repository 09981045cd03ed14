"""The one reader for uploaded and pasted data, the same on every page (issue 12).

:func:`read_upload` turns the bytes of an upload (or pasted text) into an Arrow table and says
what it found. The format is detected from the content, never from the file name: Parquet by
its ``PAR1`` magic bytes (read with :mod:`pyarrow.parquet`), anything else as a CSV read by
:mod:`pyarrow.csv` with options taken from the sniffed dialect:

* encoding: UTF-8 (with or without a byte-order mark), UTF-16 (by its BOM, Excel's "Unicode
  text"), else Windows-1252 (Excel's plain "CSV"; Latin-1 for its five undefined bytes);
* line endings: LF, CRLF and CR alone (old Mac exports), mixed in one file;
* delimiter ``,`` ``;`` tab or ``|`` (the one giving the most consistent field count, quotes
  honoured), and whether the first row is a header;
* a decimal comma (``0,25``) when the delimiter is not a comma and the sample's numbers use it.

Hostile files are refused with a :class:`CSVError` naming the column
(``field``) and 1-based data row (``row``) where there is one, or ``file``: binary content (NUL
bytes, zip/xlsx archives, control characters), more than ``MAX_COLUMNS`` columns, lines over
8 MB, rows with a different field count than the header (naming the row), more rows than
``max_rows`` (Parquet checked from its footer before reading), Parquet columns of types no
page can use. A blank cell (``""``, ``NA``, ``null``…, see ``MISSING``) is null.

A text column with at most ``DICT_MAX_LABELS`` distinct values (arm labels, segments) comes
dictionary-encoded from the parser, so pages take arm codes from it without hashing a million
labels (issue 16); text with more (user ids) stays plain. Pandas readers get plain text either way.

The Arrow table goes to DuckDB (:func:`sources.local.local_table`) for reductions; pandas is
built only when a caller asks for :attr:`Upload.frame`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from stats.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DELIMITERS",
    "MAX_COLUMNS",
    "MAX_ROWS",
    "MISSING",
    "CSVError",
    "Upload",
    "detect_delimiter",
    "read_upload",
]

Format = Literal["csv", "parquet"]

MAX_ROWS = 2_000_000
"""Most data rows an upload may have (the web layer's cap; ``read_upload(max_rows=None)`` takes any)."""
MAX_COLUMNS = 200
"""A file with more columns than this is refused (no A/B table needs them; each costs work)."""
MISSING = ("", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None")
"""Cell contents read as blank (left out and counted)."""
DICT_MAX_LABELS = 64
"""A text column with at most this many distinct values is handed over dictionary-encoded
(arm codes from the parser, issue 16); one with more (user ids) stays plain text."""

DELIMITERS = (",", ";", "\t", "|")
PARQUET_MAGIC = b"PAR1"

_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_SNIFF_BYTES = 64 * 1024
_SNIFF_LINES = 50
_MAX_LINE_BYTES = 8 * 1024 * 1024
_BLOCK_BYTES = 4 * 1024 * 1024
"""pyarrow.csv block size: a row longer than this is refused (as a CSV error, not a crash).

Tables are allocated from jemalloc with immediate decay (:func:`memory_pool`) rather than pyarrow's
default mimalloc, which keeps freed parse buffers: a 50 MB upload peaks ~50 MB lower."""
_STREAM_BYTES = 32 * 1024 * 1024
"""CSVs larger than this are read block by block (:func:`_read_streaming`) to bound memory."""
_LINE_BREAK = re.compile(rb"\r\n?|\n")
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"
_MAX_CONTROL_SHARE = 0.01
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_COMMA_NUMBER = re.compile(r"^\s*[+-]?\d*,\d+([eE][+-]?\d+)?\s*$")
_POINT_NUMBER = re.compile(r"^\s*[+-]?\d*\.\d+([eE][+-]?\d+)?\s*$")


class CSVError(InvalidInput):
    """An upload that cannot be used, saying what is wrong and where (an :class:`InvalidInput`).

    ``field`` is the column name, or ``"file"`` for the file as a whole; ``row`` is the
    1-based data row, or ``None`` when the problem is not on one row.
    """

    field: str

    def __init__(self, message: str, *, field: str = "file", row: int | None = None) -> None:
        super().__init__(message, field=field, row=row)

    def __reduce__(self) -> tuple[object, ...]:
        return (_csv_error, (self.message, self.field, self.row))


def _csv_error(message: str, field: str, row: int | None) -> CSVError:
    return CSVError(message, field=field, row=row)


@dataclass(frozen=True)
class Upload:
    """An uploaded table (Arrow) and what was detected while reading it."""

    arrow: pa.Table
    format: Format
    delimiter: str
    """The CSV delimiter (``""`` for Parquet)."""
    had_bom: bool
    encoding: str
    """utf-8, utf-16, windows-1252 / latin-1 (Excel's plain CSV), or binary (Parquet)."""
    has_header: bool
    decimal: str
    """The decimal separator of the CSV's numbers: ``.`` or ``,``."""
    blank_cells: Mapping[str, int]
    """Blank (or NA/null) cells per column."""
    _pandas: dict[str, pd.Series] = field(default_factory=dict, repr=False, compare=False)
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """What readers derive from the rows once per upload (e.g. its DuckDB relation)."""

    @property
    def n_rows(self) -> int:
        return int(self.arrow.num_rows)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.arrow.column_names)

    def column(self, name: str) -> pd.Series:
        """One column as pandas (converted on first use, then kept): a page pays for the
        columns it reads, not for the whole file (an id column of text is the costly one)."""
        series = self._pandas.get(name)
        if series is None:
            series = _decoded(self.arrow.column(name)).to_pandas()
            series.name = name
            self._pandas[name] = series
        return series

    @property
    def frame(self) -> pd.DataFrame:
        """All rows as pandas, for the pages that need rows (DoE, CUPED's scatter)."""
        import pandas as pd

        return pd.DataFrame({name: self.column(name) for name in self.columns}, copy=False)

    def sample(self, rows: int) -> pd.DataFrame:
        """At most about ``rows`` evenly spaced rows (every ``n // rows``-th) as pandas."""
        import numpy as np
        import pandas as pd

        step = max(1, self.n_rows // rows)
        if step == 1:
            return self.frame
        # Batch by batch: Table.take concatenates the chunks first (a transient copy of the
        # whole table, whose buffers the default pool then keeps).
        batches, start = [], 0
        for batch in self.arrow.to_batches():
            batches.append(batch.take(pa.array(np.arange((-start) % step, batch.num_rows, step))))
            start += batch.num_rows
        picked = pa.Table.from_batches(batches, schema=self.arrow.schema)
        frame = pa.table([_decoded(c) for c in picked.columns], names=picked.column_names)
        frame = frame.to_pandas()
        frame.index = pd.RangeIndex(0, self.n_rows, step)
        return frame


def _decoded(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """A dictionary-encoded column as its plain values (what pandas readers get: text, not a
    categorical whose order is the file's); any other column as it is."""
    if pa.types.is_dictionary(col.type):
        return col.cast(col.type.value_type)
    return col


def is_text(t: pa.DataType) -> bool:
    """Whether an upload's column type is text: plain, or dictionary-encoded by the reader."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


# --------------------------------------------------------------------------- detection


def _not_binary(raw: bytes) -> bytes:
    if raw.startswith(b"PK\x03\x04"):
        raise CSVError(
            "file is not a text CSV: it looks like an Excel workbook or a zip archive; "
            "save it as 'CSV UTF-8' and try again"
        )
    if b"\x00" in raw:
        raise CSVError("file is not a text CSV: it contains binary data (NUL bytes)")
    sample = raw[:_SNIFF_BYTES]
    control = len(sample) - len(sample.translate(None, _CONTROL))
    if control > 2 and control > _MAX_CONTROL_SHARE * len(sample):
        raise CSVError(
            f"file is not a text CSV: {control:,} of its first {len(sample):,} bytes are "
            "control characters (binary data)"
        )
    return raw


def _to_utf8(data: bytes | str) -> tuple[bytes, bool, str]:
    """UTF-8 bytes without a BOM, whether there was one, and the encoding the file was in.

    UTF-8 first; UTF-16 when it starts with its BOM; otherwise Windows-1252 (every byte
    decodes in it but five, which fall back to Latin-1). Binary content is refused.
    """
    if isinstance(data, str):
        had_bom = data.startswith("\ufeff")
        raw = data.removeprefix("\ufeff").encode("utf-8", errors="surrogatepass")
        return _not_binary(raw), had_bom, "utf-8"
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CSVError(f"file must be bytes or text, got {type(data).__name__}")
    raw = bytes(data)
    if raw.startswith(_UTF16_BOMS):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise CSVError(
                "file is not a text CSV: it starts like UTF-16 but does not decode"
            ) from None
        return _not_binary(text.encode("utf-8")), True, "utf-16"
    had_bom = raw.startswith(_BOM)
    raw = _not_binary(raw.removeprefix(_BOM))
    if raw.isascii():  # no copy: the common case
        return raw, had_bom, "utf-8"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
            encoding = "windows-1252"
        except UnicodeDecodeError:
            text, encoding = raw.decode("latin-1"), "latin-1"
        return text.encode("utf-8"), had_bom, encoding
    return raw, had_bom, "utf-8"


def _sample_rows(text: str) -> list[str]:
    """The first non-empty lines of the file, for sniffing."""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[:_SNIFF_LINES]


def detect_delimiter(lines: Sequence[str]) -> str:
    """The candidate delimiter giving the most consistent field count (> 1) across lines.

    Scored by the share of lines whose field count equals the most common count, then by
    that count; quotes are honoured (``csv.reader``). Falls back to ``,`` for one column.
    """
    best, best_score = ",", (0.0, 1)
    for delim in DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(lines, delimiter=delim)]
        except csv.Error:  # a field over csv.field_size_limit: not this delimiter's table
            continue
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        score = (counts.count(mode) / len(counts), mode)
        if mode > 1 and score > best_score:
            best, best_score = delim, score
    return best


def _looks_numeric(cell: str) -> bool:
    return bool(_NUMBER.match(cell) or _COMMA_NUMBER.match(cell))


def _has_header(rows: list[list[str]]) -> bool:
    """A first row is data, not a header, when a cell in it looks like a number and so does
    that column further down (column names are not numbers); otherwise it is a header."""
    first, rest = rows[0], rows[1:]
    for j, cell in enumerate(first):
        below = [r[j] for r in rest if j < len(r) and r[j].strip()]
        if _looks_numeric(cell) and (not below or all(_looks_numeric(c) for c in below)):
            return False
    return True


def _decimal(rows: list[list[str]], delimiter: str) -> str:
    """``,`` when the delimiter is not a comma and the sample's numbers use a decimal comma
    (``0,25``) and none a decimal point; else ``.``."""
    if delimiter == ",":
        return "."
    cells = [c for r in rows for c in r]
    if any(_COMMA_NUMBER.match(c) for c in cells) and not any(
        _POINT_NUMBER.match(c) for c in cells
    ):
        return ","
    return "."


def _column_names(header: list[str]) -> list[str]:
    """Header cells stripped; blanks become ``colN``; repeats get a ``_2``, ``_3`` suffix."""
    names: list[str] = []
    for j, cell in enumerate(header, start=1):
        base = cell.strip() or f"col{j}"
        name, k = base, 2
        while name in names:
            name, k = f"{base}_{k}", k + 1
        names.append(name)
    return names


def _ragged_row(text: str, delimiter: str, width: int, skip: int) -> tuple[int, int] | None:
    """The first data row (1-based) whose field count differs from ``width``, and its count."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    row = 0
    try:
        for fields in reader:
            if not fields or (not "".join(fields).strip() and len(fields) == 1):
                continue
            if skip:
                skip -= 1
                continue
            row += 1
            if len(fields) != width:
                return row, len(fields)
    except csv.Error:  # a field over csv.field_size_limit, a stray quote: no row to name
        return None
    return None


def _sniff_end(raw: bytes) -> int:
    """Where the sample for sniffing ends: the last line break in the first 64 KB, or after
    the first data row when the header alone is longer (a very wide file)."""
    head = raw[:_SNIFF_BYTES]
    if len(raw) <= _SNIFF_BYTES:
        return len(raw)
    last = max(head.rfind(b"\n"), head.rfind(b"\r"))
    breaks = 0
    for match in _LINE_BREAK.finditer(raw, 0, _MAX_LINE_BYTES):
        breaks += 1
        if breaks == 2:
            return max(last + 1, match.start())
    if last > 0 and breaks:
        return last + 1
    raise CSVError(
        f"the first lines of the file are longer than {_MAX_LINE_BYTES // (1024 * 1024)} MB; "
        "is it a CSV?"
    )


def _delimiter_name(delimiter: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}[delimiter]


def memory_pool() -> pa.MemoryPool:
    """jemalloc with immediate decay (freed parse buffers go back to the system at once),
    else the system allocator; not pyarrow's default mimalloc, which keeps them."""
    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
    except NotImplementedError:
        pool = pa.system_memory_pool()
    return pool


def _numbers_in_one_chunk(table: pa.Table, pool: pa.MemoryPool) -> pa.Table:
    """A large CSV's numeric columns each as one chunk (one column copied at a time), so the
    pages take them as numpy without a copy (the text columns stay in the parser's blocks):
    a 50 MB upload peaks ~20 MB lower."""
    for i, col in enumerate(table.columns):
        t = col.type
        if col.num_chunks > 1 and (pa.types.is_integer(t) or pa.types.is_floating(t)):
            whole = pa.chunked_array([col.combine_chunks(memory_pool=pool)], t)
            table = table.set_column(i, table.field(i), whole)
            del whole
    return table


def _blank_cells(table: pa.Table) -> dict[str, int]:
    out = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_floating(col.type):
            out[name] = int(pc.sum(pc.is_null(col, nan_is_null=True)).as_py() or 0)
        else:
            out[name] = int(col.null_count)
    return out


# --------------------------------------------------------------------------- CSV


def _read_streaming(raw: bytes, options: dict[str, Any]) -> pa.Table | None:
    """A large CSV read block by block (peak memory about the table plus one block, against
    about twice the table for :func:`pyarrow.csv.read_csv`); ``None`` when a later block does
    not fit the types inferred from the first (a column of integers with a decimal further
    down, a column blank at first) or the file is malformed: the whole-file reader then
    decides, and names the problem."""
    import pyarrow.csv as pacsv

    try:
        reader = pacsv.open_csv(pa.py_buffer(raw), **options)
        table = pa.Table.from_batches(list(reader), schema=reader.schema)
        return _numbers_in_one_chunk(table, options["memory_pool"])
    except pa.ArrowIndexError as exc:
        # A text column dictionary-encoded from the first block has more distinct values
        # further down (the whole-file reader falls back to plain text per column; the
        # streaming one refuses): read again, still block by block, with that column as plain
        # text (or, after a few such columns, every column).
        convert = options["convert_options"]
        if not convert.auto_dict_encode:
            return None
        found = re.search(r"CSV column #(\d+)", str(exc))
        names = options["read_options"].column_names
        if found and len(convert.column_types) < 3:
            plain = names[int(found.group(1))]
            convert.column_types = {**convert.column_types, plain: pa.string()}
        else:
            convert.auto_dict_encode = False
        return _read_streaming(raw, options)
    except (pa.ArrowInvalid, ValueError):
        return None


def _read_csv(data: bytes | str, max_rows: int | None) -> Upload:
    import pyarrow.csv as pacsv

    raw, had_bom, encoding = _to_utf8(data)
    raw = raw.lstrip(b"\r\n")
    if not raw or raw.isspace():  # (no copy of the file, unlike raw.strip())
        raise CSVError("file is empty")
    head = raw[: _sniff_end(raw)].decode("utf-8", errors="ignore")
    lines = _sample_rows(head)
    delimiter = detect_delimiter(lines)
    try:
        rows = list(csv.reader(lines, delimiter=delimiter))
    except csv.Error as exc:
        raise CSVError(f"file could not be parsed as CSV: {exc}") from None
    if len(rows[0]) > MAX_COLUMNS:
        raise CSVError(f"file has {len(rows[0]):,} columns; at most {MAX_COLUMNS:,} are supported")
    has_header = _has_header(rows)
    if has_header and len(rows) == 1:
        raise CSVError("file has only a header row and no data rows")
    names = _column_names(rows[0]) if has_header else [f"col{j + 1}" for j in range(len(rows[0]))]
    decimal = _decimal(rows[1:] if has_header else rows, delimiter)
    options = {
        "read_options": pacsv.ReadOptions(
            column_names=names, skip_rows=1 if has_header else 0, block_size=_BLOCK_BYTES
        ),
        "parse_options": pacsv.ParseOptions(delimiter=delimiter),
        "convert_options": pacsv.ConvertOptions(
            null_values=list(MISSING),
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            decimal_point=decimal,
            auto_dict_encode=True,
            auto_dict_max_cardinality=DICT_MAX_LABELS,
        ),
        "memory_pool": memory_pool(),
    }
    table = _read_streaming(raw, options) if len(raw) > _STREAM_BYTES else None
    try:
        if table is None:
            table = pacsv.read_csv(pa.py_buffer(raw), **options)
    except (pa.ArrowInvalid, ValueError) as exc:
        ragged = _ragged_row(
            raw.decode("utf-8", errors="replace"), delimiter, len(names), 1 if has_header else 0
        )
        if ragged is not None:
            row, width = ragged
            raise CSVError(
                f"row {row} has {width} fields but the {'header' if has_header else 'first row'}"
                f" has {len(names)}; check for a missing or extra {_delimiter_name(delimiter)}"
                " or an unquoted value containing one",
                row=row,
            ) from None
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        reason = reason if len(reason) <= 200 else reason[:200] + "…"
        raise CSVError(f"file could not be parsed as CSV: {reason}") from None
    if table.num_rows == 0:
        raise CSVError("file has only a header row and no data rows")
    if max_rows is not None and table.num_rows > max_rows:
        raise CSVError(f"file has {table.num_rows:,} rows; the limit is {max_rows:,}")
    return Upload(
        arrow=table,
        format="csv",
        delimiter=delimiter,
        had_bom=had_bom,
        encoding=encoding,
        has_header=has_header,
        decimal=decimal,
        blank_cells=_blank_cells(table),
    )


# --------------------------------------------------------------------------- Parquet


def _parquet_column(name: str, col: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as a type the pages read: numbers, text, booleans, dates; decimals as floats,
    dictionaries decoded. Anything else (lists, structs, binary) is refused, naming it."""
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    if pa.types.is_decimal(t):
        return col.cast(pa.float64())
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return col.cast(pa.string())
    if (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
        or pa.types.is_string(t)
        or pa.types.is_temporal(t)
        or pa.types.is_null(t)
    ):
        return col
    raise CSVError(
        f"column {name!r} holds {t} values; only numbers, text, true/false and dates can be "
        "analysed",
        field=name,
    )


def _read_parquet(raw: bytes, max_rows: int | None) -> Upload:
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(pa.BufferReader(raw))
    except (pa.ArrowException, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise CSVError(f"file starts like Parquet but could not be read: {reason}") from None
    if meta.num_columns > MAX_COLUMNS:
        raise CSVError(
            f"file has {meta.num_columns:,} columns; at most {MAX_COLUMNS:,} are supported"
        )
    if meta.num_rows == 0:
        raise CSVError("file has no data rows")
    if max_rows is not None and meta.num_rows > max_rows:
        raise CSVError(f"file has {meta.num_rows:,} rows; the limit is {max_rows:,}")
    try:
        table = pq.read_table(pa.BufferReader(raw))
    except (pa.ArrowException, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise CSVError(f"file starts like Parquet but could not be read: {reason}") from None
    names = _column_names([str(n) for n in table.column_names])
    columns = [_parquet_column(n, c) for n, c in zip(names, table.columns, strict=True)]
    table = pa.table(columns, names=names)
    return Upload(
        arrow=table,
        format="parquet",
        delimiter="",
        had_bom=False,
        encoding="binary",
        has_header=True,
        decimal=".",
        blank_cells=_blank_cells(table),
    )


# --------------------------------------------------------------------------- entry point


def is_parquet(data: bytes | str | bytearray | memoryview) -> bool:
    """Whether the content starts as a Parquet file does (its ``PAR1`` magic bytes)."""
    return not isinstance(data, str) and bytes(data[:4]) == PARQUET_MAGIC


def read_upload(data: bytes | str, *, max_rows: int | None = MAX_ROWS) -> Upload:
    """Read an upload (CSV or Parquet, told apart by content) into an :class:`Upload`.

    ``max_rows`` caps the data rows (default ``MAX_ROWS``; ``None`` for no cap). Raises
    :class:`CSVError` naming the column or ``file`` and the row where there
    is one (see the module docstring for what is refused).
    """
    if not isinstance(data, str) and is_parquet(data):
        return _read_parquet(bytes(data), max_rows)
    return _read_csv(data, max_rows)
