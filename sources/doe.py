"""Long-format DoE data (JSON rows, a data frame, an upload's or a source's rows) as the arrays
:func:`stats.doe.two_way_anova_codes` takes.

:mod:`stats.doe` works on integer level codes of each factor, the level names they index and
a float response array. Picking the columns (named, or detected as the page does), reading
level labels as text (``15.0`` reads ``"15"``, booleans ``"true"``/``"false"``), coding them
in order of first appearance and reading the responses as numbers happen here, once; errors
name the observation (``rows[4].y``, 1-based ``row``) as the API spells it.

:func:`two_way_anova` is the notebook's entry point: rows or a data frame in, the
:class:`~stats.doe.AnovaResult` out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray
from pandas.api import types as ptypes

from stats import _validate
from stats.doe import (
    MAX_ABS_RESPONSE,
    MAX_LEVELS,
    MAX_ROWS,
    AnovaResult,
    check_levels,
    check_settings,
    two_way_anova_codes,
)
from stats.errors import InvalidInput

__all__ = [
    "MAX_LEVELS",
    "MAX_ROWS",
    "ROW_KEYS",
    "AnovaResult",
    "detect_columns",
    "frame_of",
    "observations",
    "two_way_anova",
]

ROW_KEYS = ("a", "b", "y")
"""Keys of one observation in the JSON ``rows`` list: level of A, level of B, response."""

Data: TypeAlias = pd.DataFrame | Sequence[Mapping[str, Any]]
"""Long-format observations: ``{"a", "b", "y"}`` objects, or a data frame's named columns."""


def _level(where: str, value: object, row: int | None = None) -> str:
    """A level label as text; whole-number floats read as integers (15.0 -> "15").

    Booleans (a CSV's true/false column, e.g. "coupon shown") read as "true" and "false".
    """
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if not isinstance(value, int | float | np.integer | np.floating):
        raise InvalidInput(
            f"{where} must be a level name (text or a number), got {value!r}",
            field=where,
            row=row,
        )
    if not math.isfinite(value):
        raise InvalidInput(
            f"{where} must be a level name (text or a number), got {value!r}",
            field=where,
            row=row,
        )
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _cell(column: str, i: int, value: object) -> float:
    """Observation ``i``'s response as a finite float; errors name ``rows[i].<column>`` and
    the 1-based ``row``."""
    try:
        return _validate.finite(f"rows[{i}].{column}", value)  # type: ignore[arg-type]
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field=exc.field, row=i + 1) from None


def _response(values: Sequence[object], column: str) -> NDArray[np.float64]:
    """Responses as float64; the first bad one raises ``rows[i].<column> must be ...``."""
    series = pd.Series(values)
    if ptypes.is_numeric_dtype(series) and not ptypes.is_bool_dtype(series):
        y = series.to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(y))
        if bad.size:
            i = int(bad[0])
            _cell(column, i, values[i])
    else:
        y = np.empty(len(values))
        for i, v in enumerate(values):
            if isinstance(v, bool):
                raise InvalidInput(
                    f"rows[{i}].{column} must be a number, got {v!r}",
                    field=f"rows[{i}].{column}",
                    row=i + 1,
                )
            y[i] = _cell(column, i, v)
    huge = np.flatnonzero(np.abs(y) > MAX_ABS_RESPONSE)
    if huge.size:
        i = int(huge[0])
        raise InvalidInput(
            f"rows[{i}].{column} must be at most {MAX_ABS_RESPONSE:g} in absolute value "
            f"(rescale the responses), got {values[i]!r}",
            field=f"rows[{i}].{column}",
            row=i + 1,
        )
    return y


def _long_columns(
    data: Data, factor_a: str, factor_b: str, response: str
) -> tuple[list[object], list[object], list[object], tuple[str, str, str]]:
    """Split the input into A labels, B labels and responses, with the column names used."""
    if isinstance(data, pd.DataFrame):
        cols = (factor_a, factor_b, response)
        for param, col in zip(("factor_a", "factor_b", "response"), cols, strict=True):
            if col not in data.columns:
                have = ", ".join(map(str, data.columns))
                raise InvalidInput(
                    f"{param} column {col!r} is not in the data (columns: {have})", field=param
                )
        return (
            data[factor_a].tolist(),
            data[factor_b].tolist(),
            data[response].tolist(),
            cols,
        )
    if isinstance(data, str | bytes) or not isinstance(data, Sequence):
        raise InvalidInput(
            f"rows must be a list of objects with keys a, b, y, got {data!r}", field="rows"
        )
    for i, row in enumerate(data):
        if not isinstance(row, Mapping):
            raise InvalidInput(
                f"rows[{i}] must be an object with keys a, b, y, got {row!r}",
                field=f"rows[{i}]",
                row=i + 1,
            )
        for key in ROW_KEYS:
            if key not in row:
                raise InvalidInput(
                    f"rows[{i}].{key} is required", field=f"rows[{i}].{key}", row=i + 1
                )
    a, b, y = ([row[k] for row in data] for k in ROW_KEYS)
    return a, b, y, ROW_KEYS


def _codes(
    labels: list[object], column: str, param: str, name: str
) -> tuple[NDArray[np.intp], tuple[str, ...]]:
    """Integer codes and level names (in order of first appearance), checking 2..5 levels."""
    text = [_level(f"rows[{i}].{column}", v, i + 1) for i, v in enumerate(labels)]
    codes, uniques = pd.factorize(pd.Series(text, dtype=object), sort=False)
    levels = tuple(str(u) for u in uniques)
    check_levels(levels, param, name)
    return codes.astype(np.intp), levels


def observations(
    data: Data, *, factor_a: str = "a", factor_b: str = "b", response: str = "y"
) -> tuple[NDArray[np.intp], tuple[str, ...], NDArray[np.intp], tuple[str, ...], NDArray[Any]]:
    """``(codes_a, levels_a, codes_b, levels_b, y)`` of long-format ``data``: a list of
    ``{"a", "b", "y"}`` objects (the names then only display names) or a data frame whose
    columns ``factor_a``, ``factor_b`` and ``response`` hold them. Errors name the first bad
    observation; more than :data:`~stats.doe.MAX_ROWS` rows is refused before any is read."""
    raw_a, raw_b, raw_y, (col_a, col_b, col_y) = _long_columns(data, factor_a, factor_b, response)
    n = len(raw_y)
    if n == 0:
        raise InvalidInput("rows must hold at least one observation, got none", field="rows")
    if n > MAX_ROWS:
        raise InvalidInput(f"rows must hold at most {MAX_ROWS} observations, got {n}", field="rows")
    codes_a, levels_a = _codes(raw_a, col_a, "factor_a", factor_a)
    codes_b, levels_b = _codes(raw_b, col_b, "factor_b", factor_b)
    return codes_a, levels_a, codes_b, levels_b, _response(raw_y, col_y)


def two_way_anova(
    data: Data,
    *,
    factor_a: str = "a",
    factor_b: str = "b",
    response: str = "y",
    anova_type: int = 2,
    alpha: float = 0.05,
) -> AnovaResult:
    """:func:`stats.doe.two_way_anova_codes` on long-format ``data`` (see
    :func:`observations`): levels are text or numbers, kept in order of first appearance."""
    factor_a, factor_b, response, anova_type, alpha = check_settings(
        factor_a, factor_b, response, anova_type, alpha
    )
    codes_a, levels_a, codes_b, levels_b, y = observations(
        data, factor_a=factor_a, factor_b=factor_b, response=response
    )
    return two_way_anova_codes(
        codes_a,
        codes_b,
        y,
        levels_a=levels_a,
        levels_b=levels_b,
        factor_a=factor_a,
        factor_b=factor_b,
        response=response,
        anova_type=anova_type,
        alpha=alpha,
    )


# --------------------------------------------------------------------------- column roles


def frame_of(data: pa.Table | pd.DataFrame) -> pd.DataFrame:
    """Rows read from a source (Arrow) as the data frame :func:`two_way_anova` takes."""
    return data.to_pandas() if isinstance(data, pa.Table) else data


def _is_number(s: pd.Series) -> bool:
    return ptypes.is_numeric_dtype(s) and not ptypes.is_bool_dtype(s)


def _mostly_numbers(s: pd.Series) -> bool:
    """Whether most values read as numbers (a response with a typo is still a response)."""
    if _is_number(s):
        return True
    return bool(pd.to_numeric(s, errors="coerce").notna().mean() > 0.5)


def detect_columns(
    frame: pd.DataFrame, factor_a: str | None, factor_b: str | None, response: str | None
) -> tuple[str, str, str]:
    """The named columns, with the ones left out detected.

    The response is the column most likely to be a measurement: one with more distinct
    values than a factor may have levels, then one holding mostly numbers, then the last
    such column. The factors are the remaining columns, text columns first, in file order.
    Too few columns raise :class:`InvalidInput` (``field="csv"``) listing the columns.
    """
    named = {c for c in (factor_a, factor_b, response) if c is not None}
    free = [c for c in map(str, frame.columns) if c not in named]
    if response is None and free:
        response = max(
            free,
            key=lambda c: (
                frame[c].nunique() > MAX_LEVELS,
                _mostly_numbers(frame[c]),
                free.index(c),
            ),
        )
        free.remove(response)
    free.sort(key=lambda c: _is_number(frame[c]))  # stable: text columns first
    if factor_a is None and free:
        factor_a = free.pop(0)
    if factor_b is None and free:
        factor_b = free.pop(0)
    if factor_a is None or factor_b is None or response is None:
        have = ", ".join(map(str, frame.columns))
        raise InvalidInput(
            "The CSV needs three columns in long format: a level of factor A, a level of "
            f"factor B and the response (one row per observation); it has: {have}.",
            field="csv",
        )
    return factor_a, factor_b, response
