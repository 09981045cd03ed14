"""CSV input shared by every module that takes data: uploaded, pasted, or inside JSON.

A request may carry a CSV as a multipart file (field ``file``), as pasted text (form field
``csv``) or as a ``csv`` string in a JSON body. Options travel beside it: as JSON fields, or as
form fields that :func:`form_values` converts (``"0.05"`` → 0.05, ``"true"`` → True, JSON text
for lists and objects), so one request model (:mod:`blueprints._contract`) validates both.
The body size limit (413) is Flask's ``MAX_CONTENT_LENGTH``; the file itself (CSV in any
dialect, or Parquet, told apart by its content) is read by the one reader,
:func:`sources.upload.read_upload`, on every page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from flask import request

from blueprints._api import ApiError, invalid_input
from sources.upload import MAX_ROWS, CSVError, Upload, read_upload

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _coerce(value: str) -> Any:
    """A form field's text as the JSON value it stands for."""
    text = value.strip()
    if text == "":
        return None
    if text in ("true", "false"):
        return text == "true"
    if _NUMBER.match(text):
        return float(text)
    if text[0] in "[{":
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
    return text


def is_multipart() -> bool:
    return request.mimetype == "multipart/form-data"


def form_values() -> dict[str, Any]:
    """The multipart form's fields as the JSON values they stand for; ``csv`` (pasted text)
    stays text, and is left out when blank."""
    values = {k: _coerce(v) for k, v in request.form.items() if k != "csv"}
    if request.form.get("csv", "").strip():
        values["csv"] = request.form["csv"]
    return values


@contextmanager
def csv_errors() -> Iterator[None]:
    """A ``CSVError`` as a 422 naming the column (or ``file``) and the row."""
    try:
        yield
    except CSVError as exc:
        raise invalid_input(exc) from None


def read_data(csv: str | None) -> Upload | None:
    """The request's data, read: the multipart ``file``, else the ``csv`` text (a form field
    or a JSON string); ``None`` when it carries neither."""
    data: bytes | str | None = csv
    if is_multipart():
        upload = request.files.get("file")
        if upload is not None and upload.filename:
            data = upload.read()
            if not data:
                raise ApiError(
                    422,
                    "The uploaded file is empty.",
                    [{"field": "file", "detail": "The uploaded file is empty."}],
                )
    if data is None:
        return None
    with csv_errors():
        return read_upload(data, max_rows=MAX_ROWS)
