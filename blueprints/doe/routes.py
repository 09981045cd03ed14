"""``GET /doe`` (the page) and ``POST /api/doe`` (parse → stats → figures → JSON).

The request is :class:`DoeRequest`. The data arrive as JSON ``rows`` (``{"a", "b", "y"}`` per observation) or as a long-format
CSV (multipart ``file``, pasted ``csv``, or a JSON ``csv`` string) whose columns are named by
``factor_a``, ``factor_b`` and ``response``, or detected when those are left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from flask import Response, render_template, request
from pydantic import BeforeValidator, Field, TypeAdapter
from typing_extensions import TypedDict  # pydantic reads TypedDicts from here on 3.11

from blueprints._api import bad_request, invalid_input, respond, stats_errors, unprocessable
from blueprints._contract import Range, whole
from blueprints._source import SourceFields
from blueprints._upload import csv_errors, is_multipart, read_data
from blueprints.doe import bp, contract
from blueprints.doe.figures import doe_figures
from blueprints.doe.readout import readout
from sources.doe import detect_columns, frame_of, two_way_anova
from sources.tabular import numeric_frame
from stats.doe import MAX_LEVELS, MAX_ROWS, AnovaResult
from stats.errors import InvalidInput


@bp.get("/doe")
def page() -> str:
    return render_template("doe.html")


def csv_columns(
    frame: Any, factor_a: str | None, factor_b: str | None, response: str | None
) -> tuple[str, str, str]:
    """The named columns, with the ones left out detected (:func:`sources.doe.detect_columns`);
    too few columns name the CSV."""
    try:
        return detect_columns(frame, factor_a, factor_b, response)
    except InvalidInput as exc:
        unprocessable(_csv_field(), str(exc))


def _csv_field() -> str:
    """Where the CSV came from, to name it in errors: an uploaded ``file`` or ``csv`` text."""
    upload = request.files.get("file") if is_multipart() else None
    return "file" if upload is not None and upload.filename else "csv"


@contextmanager
def _data_errors(rows: Sequence[Any] | None, names: tuple[str, str]) -> Iterator[None]:
    """Stats errors about the data, named where the user can fix them (from the error's
    ``field`` and ``row``, never its message).

    An empty cell names ``rows`` (or the CSV). A bad observation keeps its field
    (``rows[4].y``) and says which cell it is in; from a CSV it names the column and the
    1-based data row, as every CSV error does.
    """
    try:
        yield
    except InvalidInput as exc:
        message, field, row = str(exc), exc.field or "", exc.row
        if rows is None and field == "rows":  # e.g. an empty cell, too many rows in the CSV
            if message.startswith("rows "):
                message = "The CSV " + message.removeprefix("rows ")
            unprocessable(_csv_field(), message + ".")
        if row is None or not field.startswith("rows["):
            raise
        if rows is None:  # a CSV: rows[3].life -> column life, data row 4
            column = field.partition(".")[2]
            problem = message.removeprefix(f"{field} ")
            detail = f"row {row}, column {column!r}: the value {problem}."
            raise invalid_input(InvalidInput(detail, field=column, row=row)) from None
        cell = rows[row - 1] if row <= len(rows) else None
        if isinstance(cell, Mapping) and "a" in cell and "b" in cell:
            message += f" (in cell {names[0]}={cell['a']!r}, {names[1]}={cell['b']!r})"
        raise InvalidInput(message, field=field, row=row) from None


def _check_declared_levels(
    rows: list[Any], names: tuple[str, str], levels_a: list[Any] | None, levels_b: list[Any] | None
) -> None:
    """When the grid says which levels it has, each must exist and every cell hold data.

    The rows alone cannot show a level the user typed but left empty: the ANOVA would quietly
    run without it.
    """
    if levels_a is None or levels_b is None:
        return
    for key, declared, name in (("levels_a", levels_a, names[0]), ("levels_b", levels_b, names[1])):
        if not 2 <= len(declared) <= MAX_LEVELS:
            unprocessable(
                key, f"{key} must name 2 to {MAX_LEVELS} levels of {name}, got {len(declared)}."
            )
    present = {(str(r.get("a")), str(r.get("b"))) for r in rows if isinstance(r, dict)}
    empty = [
        (a, b) for a in map(str, levels_a) for b in map(str, levels_b) if (a, b) not in present
    ]
    if empty:
        a, b = empty[0]
        unprocessable(
            "rows",
            f"cell {names[0]}={a}, {names[1]}={b} has no observations ({len(empty)} empty "
            "cells in all); every combination of levels needs at least one.",
        )


class Row(TypedDict):
    """One observation: the levels of factor A and B (text or numbers) and the response.
    Its cells are data, read as a CSV's are (:mod:`sources.doe`: numbers may come as text),
    so the model documents them and ``stats`` checks them, naming the row."""

    a: str | float
    b: str | float
    y: float


Levels = Annotated[list[Any], Field(json_schema_extra={"items": {"type": ["string", "number"]}})]


class DoeRequest(SourceFields):
    """One observation per row: the levels of factor A (a) and B (b) and the response (y).
    Each factor needs 2 to 5 levels and every combination at least one observation; more
    than one per cell lets the interaction be tested. Instead of rows, csv may hold the same
    long format as CSV text, or source and table name a configured source's table in that
    format (factor_a, factor_b and response naming its columns)."""

    rows: (
        Annotated[
            list[Any],
            Field(max_length=MAX_ROWS, json_schema_extra={"items": TypeAdapter(Row).json_schema()}),
        ]
        | None
    ) = None
    levels_a: Levels | None = Field(
        None, description="Optional: the levels of A the grid has; every cell must then hold data."
    )
    levels_b: Levels | None = Field(None, description="Optional: as levels_a, for B.")
    csv: str | None = Field(None, description="Long-format CSV text (instead of rows).")
    factor_a: str | None = Field(
        None,
        description="With rows: the name of factor A (default A). With a CSV: the column "
        "holding its levels (detected when left out).",
    )
    factor_b: str | None = Field(None, description="As factor_a, for factor B (default B).")
    response: str | None = Field(
        None, description="With rows: the response's name (default y). With a CSV: its column."
    )
    anova_type: Annotated[Literal[2, 3], BeforeValidator(whole)] = Field(
        2, description="Type II (default) or Type III sums of squares (sum-to-zero contrasts)."
    )
    alpha: Annotated[float, Range(gt=0, le=0.5)] = 0.05


def source_frame(r: DoeRequest) -> tuple[Any, str, str, str]:
    """``source`` and ``table`` with ``factor_a``, ``factor_b`` and ``response`` naming its
    columns (those left out detected as for a CSV): the ANOVA takes observations, so those
    three columns of at most ``MAX_ROWS`` rows are read (an Ibis select, in the engine)."""
    from blueprints._source import column, open_table, select_rows

    st = open_table(r)
    names = [column(st, key, getattr(r, key)) for key in ("factor_a", "factor_b", "response")]
    named = [n for n in names if n is not None]
    wanted = named if len(named) == len(names) else list(st.columns)
    frame = frame_of(select_rows(st, wanted, MAX_ROWS))
    factor_a, factor_b, response = csv_columns(frame, *names)
    return frame, factor_a, factor_b, response


def analyse(r: DoeRequest) -> AnovaResult:
    """Read the request (JSON rows, a CSV or a source) and run the two-way ANOVA."""
    options: dict[str, Any] = {"anova_type": r.anova_type, "alpha": r.alpha}
    table = read_data(r.csv)
    if r.source is not None:
        if table is not None or r.rows is not None:
            unprocessable("source", "Send a source, a CSV or rows: only one of them.")
        frame, factor_a, factor_b, response = source_frame(r)
        with stats_errors(), _data_errors(None, (factor_a, factor_b)):
            return two_way_anova(
                frame, factor_a=factor_a, factor_b=factor_b, response=response, **options
            )
    if table is not None:
        factor_a, factor_b, response = csv_columns(table.frame, r.factor_a, r.factor_b, r.response)
        with csv_errors():
            frame = numeric_frame(table, [response])
        with stats_errors(), _data_errors(None, (factor_a, factor_b)):
            return two_way_anova(
                frame, factor_a=factor_a, factor_b=factor_b, response=response, **options
            )
    if r.rows is None:
        bad_request(
            "rows",
            "rows is required: send one {a, b, y} object per observation, or a CSV "
            "(multipart file, or csv text) in long format.",
        )
    names = (r.factor_a or "A", r.factor_b or "B")
    _check_declared_levels(r.rows, names, r.levels_a, r.levels_b)
    with stats_errors(), _data_errors(r.rows, names):
        return two_way_anova(
            r.rows, factor_a=names[0], factor_b=names[1], response=r.response or "y", **options
        )


@contract.post(
    "/api/doe",
    summary="Two-way ANOVA of a two-factor experiment, with the interaction",
    request=DoeRequest,
    result=AnovaResult,
    examples={
        "price × layout": {
            "factor_a": "price",
            "factor_b": "layout",
            "response": "revenue",
            "anova_type": 2,
            "alpha": 0.05,
            "rows": [
                {"a": a, "b": b, "y": y}
                for a, b, ys in [
                    ("low", "grid", [3.1, 3.4]),
                    ("low", "list", [2.8, 2.6]),
                    ("high", "grid", [3.9, 4.2]),
                    ("high", "list", [2.7, 3.0]),
                ]
                for y in ys
            ],
        }
    },
    form=True,
)
def api(r: DoeRequest) -> Response:
    result = analyse(r)
    return respond(result, doe_figures(result), readout(result), result.warnings)
