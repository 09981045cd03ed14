"""Row-level CUPED data, a data frame or an upload, as the arrays :mod:`stats.cuped` takes.

:mod:`stats.cuped` works on integer arm codes, the arm names they index and float columns
(:func:`stats.cuped.cuped_rows`, :func:`stats.cuped.regression_adjustment`). Picking the
columns, reading text as numbers and coding the arm labels happen here, once:

- from an upload (:func:`upload_rows`), the arm codes come straight from Arrow: the indices
  of a dictionary-encoded variant column (what the reader hands over), or one
  ``dictionary_encode`` of a text column, kept with the upload; numbers are Arrow's buffers
  unless a cell needs :func:`sources.tabular.numeric_values` to name it;
- from a pandas data frame (:func:`cuped_from_frame`, :func:`regression_adjustment`,
  :func:`covariate_stats_from_frame`, for notebooks), a categorical column's codes are used
  as they are and anything else goes through ``pd.factorize``.

:func:`scatter` draws the users the CUPED chart shows from the same arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from sources.tabular import MAX_ABS_VALUE, Table, numeric_values
from stats.cuped import (
    OUTCOME_ITSELF,
    CovariateStats,
    CupedResult,
    RegressionAdjustmentResult,
    check_covariate_count,
    covariate_stats,
    cuped_rows,
)
from stats.cuped import regression_adjustment as _regression_adjustment
from stats.errors import InvalidInput

FloatArray = NDArray[np.float64]
Codes = NDArray[np.signedinteger[Any]]

SCATTER_POINTS = 2_000
"""At most this many users are drawn in the scatter (a seeded random subsample)."""


@dataclass(frozen=True, slots=True)
class Rows:
    """Row-level data as :mod:`stats.cuped` takes it: arm ``codes`` into ``names`` (−1 where
    the variant is blank; in any order, ``stats`` sorts), the outcome ``y`` and each
    covariate column by name (NaN where missing)."""

    codes: Codes
    names: tuple[str, ...]
    y: FloatArray
    covariates: dict[str, FloatArray]


@dataclass(frozen=True, slots=True)
class Scatter:
    """The users the outcome-against-covariate chart draws: per arm name, covariate and
    outcome values; ``low``/``high`` the covariate's range among them; ``shown`` how many."""

    points: dict[str, tuple[FloatArray, FloatArray]]
    low: float
    high: float
    shown: int


# --------------------------------------------------------------------------- columns


def covariate_names(covariates: Sequence[str]) -> tuple[str, ...]:
    if isinstance(covariates, str | bytes) or not isinstance(covariates, Sequence):
        raise InvalidInput(
            f"covariates must be a list of column names, got {covariates!r}", field="covariates"
        )
    check_covariate_count(len(covariates))
    for j, col in enumerate(covariates):
        if col in covariates[:j]:
            raise InvalidInput(
                f"covariates[{j}] must be unique, got {col!r} twice", field=f"covariates[{j}]"
            )
    return tuple(covariates)


def _not_outcome(column: str, field: str, outcome: str) -> None:
    if column == outcome:
        raise InvalidInput(f"{field} {OUTCOME_ITSELF} (both name column {column!r})", field=field)


def _missing_column(columns: Sequence[object], column: object, field: str) -> InvalidInput:
    listed = ", ".join(map(str, list(columns)[:20]))
    return InvalidInput(
        f"{field} must name a column of the data ({listed}), got {column!r}", field=field
    )


# --------------------------------------------------------------------------- data frames


def _column(df: pd.DataFrame, column: str, field: str) -> pd.Series:
    if not isinstance(column, str) or column not in df.columns:
        raise _missing_column(df.columns, column, field)
    return df[column]


def _numeric(df: pd.DataFrame, column: str, field: str) -> FloatArray:
    """Column ``column`` as float64 (NaN where missing); ``field`` names it in errors.

    Numeric and boolean columns convert directly; text columns must parse as numbers
    (blank text counts as missing). ``stats`` refuses infinite values.
    """
    series = _column(df, column, field)
    if not pd.api.types.is_numeric_dtype(series.dtype):
        text = series.astype("string").str.strip().replace("", pd.NA)
        parsed = pd.to_numeric(text, errors="coerce")
        bad = parsed.isna() & text.notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InvalidInput(
                f"{field} must be a numeric column, got {series.iloc[i]!r} in row {i + 1}",
                field=field,
            )
        series = parsed
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def _factorize(series: pd.Series) -> tuple[Codes, list[str]]:
    """Integer codes (−1 where missing) and the distinct values they index, as text.

    A categorical column (what a parser that dictionary-encodes text hands over) already
    carries its codes: they are used as they are, categories no row uses dropped, instead of
    hashing a million labels again (``pd.factorize`` costs ~12 ms per million text labels).
    Anything else goes through ``pd.factorize``.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()  # int8 up to 127 categories: no copy, 1 byte a row
        categories = [str(c) for c in series.cat.categories]
        used = np.array([np.count_nonzero(codes == i) for i in range(min(len(categories), 64))])
        if len(categories) > 64 or not used.all():  # categories no row uses: renumber
            wide = codes.astype(np.intp)
            used = np.bincount(wide + 1, minlength=len(categories) + 1)[1:] > 0
            table = np.concatenate([[-1], np.where(used, np.cumsum(used) - 1, -1)])
            return table[wide + 1], [c for c, u in zip(categories, used, strict=True) if u]
        return codes, categories
    codes, uniques = pd.factorize(series, sort=False)
    return codes.astype(np.intp, copy=False), [str(u) for u in uniques]


def frame_rows(
    df: pd.DataFrame, *, variant: str, outcome: str, covariates: Sequence[tuple[str, str]]
) -> Rows:
    """:class:`Rows` from a data frame; ``covariates`` pairs (field, column)."""
    if not isinstance(df, pd.DataFrame):
        raise InvalidInput(f"data must be a table of rows, got {type(df).__name__}", field="data")
    codes, names = _factorize(_column(df, variant, "variant"))
    y = _numeric(df, outcome, "outcome")
    xs = {}
    for field, column in covariates:
        _not_outcome(column, field, outcome)
        xs[column] = _numeric(df, column, field)
    return Rows(codes, tuple(names), y, xs)


def cuped_from_frame(
    df: pd.DataFrame,
    *,
    variant: str,
    outcome: str,
    covariate: str,
    control: str,
    alpha: float = 0.05,
) -> CupedResult:
    """:func:`stats.cuped.cuped_rows` on a data frame's ``variant``, ``outcome`` and
    ``covariate`` columns (one row per user; a missing covariate is kept, see there)."""
    rows = frame_rows(df, variant=variant, outcome=outcome, covariates=[("covariate", covariate)])
    return cuped_rows(
        rows.codes, rows.names, rows.y, rows.covariates[covariate], control=control, alpha=alpha
    )


def covariate_stats_from_frame(
    df: pd.DataFrame, *, variant: str, outcome: str, covariate: str
) -> tuple[CovariateStats, ...]:
    """:func:`stats.cuped.covariate_stats` (one ``CovariateStats`` per arm) of a data frame."""
    rows = frame_rows(df, variant=variant, outcome=outcome, covariates=[("covariate", covariate)])
    return covariate_stats(rows.codes, rows.names, rows.y, rows.covariates[covariate])


def regression_adjustment(
    df: pd.DataFrame,
    *,
    variant: str,
    outcome: str,
    covariates: Sequence[str],
    control: str,
    alpha: float = 0.05,
) -> RegressionAdjustmentResult:
    """:func:`stats.cuped.regression_adjustment` (Lin 2013) on a data frame's columns."""
    names = covariate_names(covariates)
    rows = frame_rows(
        df,
        variant=variant,
        outcome=outcome,
        covariates=[(f"covariates[{j}]", c) for j, c in enumerate(names)],
    )
    return _regression_adjustment(
        rows.codes, rows.names, rows.y, rows.covariates, control=control, alpha=alpha
    )


# --------------------------------------------------------------------------- uploads


def _arrow_numbers(table: Table, column: str) -> FloatArray:
    """An upload's column as float64 (NaN where blank), read the way every page reads numbers
    (:func:`sources.tabular.numeric_values`). Numeric Arrow columns whose values are all
    within ``±MAX_ABS_VALUE`` are taken from Arrow's buffers; anything else goes through
    ``numeric_values``, which names the first bad cell."""
    col = table.arrow.column(column)
    t = col.type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
        if not pa.types.is_floating(t):
            col = col.cast(pa.float64())
        # Chunk by chunk (zero-copy each; nulls as NaN): a third of ChunkedArray.to_numpy's
        # time. One chunk without nulls (what the reader hands over for numbers) is Arrow's
        # buffer itself, read-only: no copy and no page faults on a fresh 8 MB array, which
        # cost a third of CUPED's time on a million rows. fmin/fmax (NaN skipped, as
        # pc.min_max does) cost a quarter of pc.min_max's.
        parts = [np.asarray(c.to_numpy(zero_copy_only=False), np.float64) for c in col.chunks]
        x = parts[0] if len(parts) == 1 else np.concatenate(parts or [np.empty(0)])
        low, high = (np.fmin.reduce(x), np.fmax.reduce(x)) if x.size else (np.nan, np.nan)
        if np.isnan(low) or (low >= -MAX_ABS_VALUE and high <= MAX_ABS_VALUE):
            return x
    return numeric_values(table.column(column), column)


def _arrow_codes(table: Table, variant: str) -> tuple[Codes, tuple[str, ...]]:
    """Arm codes (−1 where blank) and labels of an upload's variant column, once per upload.

    A dictionary-encoded column (what the reader hands over for text with few distinct
    values) gives its indices as they are; other text is dictionary-encoded once by Arrow;
    numbers, booleans and dates are factorised by pandas (labels as ``str`` of the value).
    """
    key = f"codes:{variant}"
    if key not in table.cache:
        col = table.arrow.column(variant)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            col = pc.dictionary_encode(col)
        if pa.types.is_dictionary(col.type):
            col = col.unify_dictionaries()
            first = col.chunk(0).dictionary if col.num_chunks else pa.array([], pa.string())
            names = tuple(str(v) for v in first.to_pylist())
            # One byte a row when the labels fit (the per-arm moments read the codes several
            # times: a quarter of the memory traffic of Arrow's int32 indices).
            codes = np.empty(len(col), np.int8 if len(names) < 128 else np.intp)
            start = 0
            for c in col.chunks:
                indices = c.indices if c.null_count == 0 else c.indices.fill_null(-1)
                codes[start : start + len(c)] = indices.to_numpy()
                start += len(c)
            table.cache[key] = (codes, names)
        else:
            codes, labels = _factorize(table.column(variant))
            table.cache[key] = (codes, tuple(labels))
    codes, names = table.cache[key]
    return codes, names


def upload_rows(
    table: Table, *, variant: str, outcome: str, covariates: Sequence[tuple[str, str]]
) -> Rows:
    """:class:`Rows` from an upload; ``covariates`` pairs (field, column).

    The numeric columns present are read first, so a cell that is not a number is refused
    naming its column and row (:class:`~sources.upload.CSVError`) before anything else; a
    column the table lacks is then named by its field."""
    numbers = {
        c: _arrow_numbers(table, c)
        for c in dict.fromkeys([outcome, *(c for _, c in covariates)])
        if isinstance(c, str) and c in table.columns
    }
    if not isinstance(variant, str) or variant not in table.columns:
        raise _missing_column(table.columns, variant, "variant")
    codes, names = _arrow_codes(table, variant)
    if outcome not in numbers:
        raise _missing_column(table.columns, outcome, "outcome")
    xs = {}
    for field, column in covariates:
        _not_outcome(column, field, outcome)
        if column not in numbers:
            raise _missing_column(table.columns, column, field)
        xs[column] = numbers[column]
    return Rows(codes, names, numbers[outcome], xs)


def scatter(rows: Rows, covariate: str, points: int = SCATTER_POINTS) -> Scatter:
    """The users with a pre-period value, by arm; a seeded subsample of ``points`` above it."""
    x = rows.covariates[covariate]
    keep = np.flatnonzero(~np.isnan(x) & ~np.isnan(rows.y) & (rows.codes >= 0))
    if keep.size > points:
        keep = keep[np.sort(np.random.default_rng(0).choice(keep.size, points, replace=False))]
    codes, xs, ys = rows.codes[keep], x[keep], rows.y[keep]
    drawn = {name: (xs[codes == i], ys[codes == i]) for i, name in enumerate(rows.names)}
    low, high = (float(xs.min()), float(xs.max())) if keep.size else (0.0, 1.0)
    return Scatter(drawn, low, high, int(keep.size))
