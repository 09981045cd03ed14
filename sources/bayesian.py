"""An upload's (or a source's) rows as the per-variant records the Bayesian page analyses.

:func:`stats.bayes.engine.variant_stats` parses variant records (``{"name", "users",
"conversions"}``, ``{"name", "users", "mean", "sd"}``, ``{"name", "users", "total"}`` or
``{"name", "amounts"}``). The parts of that reduction that handle data frames live here:
reading a date column (named, or detected) into days, the per-day per-variant counts and
sums accumulated over the days (:func:`dated_records`), and the per-user amounts of the
revenue model. Problems the user fixes in a request field raise :class:`InvalidInput` with
that ``field`` (``date``); a cell that is not a number raises :class:`CSVError` naming its
column and row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray
from pandas.api import types as ptypes

from sources.tabular import (
    CSVError,
    Kind,
    Table,
    binary_values,
    numeric_values,
    variant_labels,
)
from stats.errors import InvalidInput
from stats.sufficient import MeanStats

Record = dict[str, Any]
KIND: dict[str, Kind] = {
    "proportion": "binary",
    "mean": "continuous",
    "count": "continuous",
    "revenue": "continuous",
}
"""The kind of value column each Bayesian metric reads."""
MAX_REVENUE_CELLS = 5_000_000
"""Revenue over time lists every amount again for each day: days × dated rows at most this."""
DATE_SHARE = 0.9
"""A column is detected as a date when this share of its non-blank cells parse as dates."""


def _parse_dates(s: pd.Series) -> pd.Series:
    """Days (midnight timestamps) of a column of dates or ISO/common date text; NaT if not."""
    if ptypes.is_datetime64_any_dtype(s):
        return pd.to_datetime(s).dt.normalize()
    if ptypes.is_numeric_dtype(s) or ptypes.is_bool_dtype(s):
        return pd.Series(pd.NaT, index=s.index)
    # Parse each distinct text once (a million rows hold a few hundred dates), then map back.
    codes, uniques = pd.factorize(s)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    text = pd.Series(np.asarray(uniques, dtype=object)).astype("str").str.strip()
    parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
    if counts[parsed.notna().to_numpy()].sum() < DATE_SHARE * counts.sum():
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
    days = parsed.dt.tz_localize(None).dt.normalize() if parsed.dt.tz else parsed.dt.normalize()
    values = days.to_numpy()
    out = np.full(len(s), np.datetime64("NaT"), dtype=values.dtype)
    out[codes >= 0] = values[codes[codes >= 0]]
    return pd.Series(out, index=s.index)


def date_column(
    table: Table, name: str | None, used: set[str]
) -> tuple[str | None, pd.Series | None]:
    """The column ``name`` (every non-blank cell a date) or a detected one, with its days.

    A named column that is missing or holds a cell that is not a date raises
    :class:`InvalidInput` (``field="date"``)."""
    frame = table.frame
    if name is not None:
        if name not in frame.columns:
            raise InvalidInput(
                f"date column {name!r} not found; the columns are {', '.join(table.columns)}.",
                field="date",
            )
        days = _parse_dates(frame[name])
        bad = frame[name].notna() & days.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
            raise InvalidInput(
                f"date column {name!r}: {frame[name].iloc[row - 1]!r} on row {row} is not a date.",
                field="date",
            )
        return name, days
    for column in map(str, frame.columns):
        if column in used:
            continue
        days = _parse_dates(frame[column])
        filled = int(frame[column].notna().sum())
        if filled and days.notna().sum() >= DATE_SHARE * filled:
            return column, days
    return None, None


def whole_numbers(table: Table, column: str) -> None:
    """Raise :class:`CSVError` naming the first cell of ``column`` that is not a whole number
    >= 0 (a count of events)."""
    s = table.frame[column]
    x = numeric_values(s, column)
    bad = ~np.isnan(x) & ((x < 0) | (x != np.round(x)))
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 1
        raise CSVError(
            f"row {row}, column {column!r}: {s.iloc[row - 1]!r} is not a whole number of "
            "events >= 0",
            field=column,
            row=row,
        )


def _labelled_amounts(
    frame: pd.DataFrame, variant: str, value: str
) -> tuple[NDArray[Any], NDArray[np.float64]]:
    """Variant label and amount of each row; the label is None where either is blank."""
    amounts = numeric_values(frame[value], value)
    labels = variant_labels(frame[variant]).to_numpy(dtype=object)
    labels[pd.isna(labels) | np.isnan(amounts)] = None
    return labels, amounts


def _amount_records(names: list[str], labels: Any, amounts: Any) -> list[Record]:
    return [{"name": name, "amounts": amounts[labels == name].tolist()} for name in names]


def amount_records(table: Table, variant: str, value: str, names: list[str]) -> list[Record]:
    """Each variant's per-user amounts (``{"name", "amounts"}``, the revenue model's input)."""
    labels, amounts = _labelled_amounts(table.frame, variant, value)
    return _amount_records(names, labels, amounts)


def source_amount_records(rows: pa.Table, variant: str, value: str) -> list[Record]:
    """:func:`amount_records` of rows read from a source (Arrow), variants in name order."""
    labels, amounts = _labelled_amounts(rows.to_pandas(), variant, value)
    names = sorted({str(x) for x in labels if x is not None})
    return _amount_records(names, labels, amounts)


def _cumulative_records(
    frame: pd.DataFrame,
    sorted_days: Any,
    days: Any,
    names: list[str],
    metric: str,
    variant: str,
    value: str,
) -> tuple[list[str], list[list[Record]]]:
    """Each day's cumulative records in one pass: per-day per-variant sums (``bincount``)
    and their running totals, instead of re-reducing every prefix of the rows (which took
    days × rows work). Days before every variant has a user are left out."""
    x = (binary_values if KIND[metric] == "binary" else numeric_values)(frame[value], value)
    codes = pd.Categorical(variant_labels(frame[variant]), categories=names).codes
    keep = (codes >= 0) & ~np.isnan(x)
    k, d = len(names), len(days)
    cell = np.searchsorted(days, sorted_days[keep]) * k + codes[keep]
    xs = x[keep]
    shift = float(xs.mean()) if xs.size else 0.0

    def running(weights: Any = None) -> Any:
        sums = np.bincount(cell, weights=weights, minlength=d * k)
        return sums.reshape(d, k).cumsum(axis=0)

    n, total = running(), running(xs)
    s1, s2 = running(xs - shift), running((xs - shift) ** 2)
    periods: list[str] = []
    by_period: list[list[Record]] = []
    for t in range(d):
        if (n[t] == 0).any():
            continue
        records: list[Record] = []
        for i, name in enumerate(names):
            users = int(n[t, i])
            if metric == "proportion":
                records.append({"name": name, "users": users, "conversions": round(total[t, i])})
            elif metric == "count":
                records.append({"name": name, "users": users, "total": round(total[t, i])})
            else:
                m = MeanStats.from_sums(name, users, float(s1[t, i]), float(s2[t, i]))
                records.append({"name": name, "users": users, "mean": m.mean + shift, "sd": m.sd})
        periods.append(pd.Timestamp(days[t]).strftime("%Y-%m-%d"))
        by_period.append(records)
    return periods, by_period


def dated_records(
    table: Table,
    days: pd.Series,
    *,
    date: str,
    names: list[str],
    metric: str,
    variant: str,
    value: str,
    max_periods: int,
) -> tuple[list[str], list[list[Record]], int]:
    """The records of the cumulative data of each day of ``days`` (the parsed ``date``
    column), and how many rows have no date (left out).

    More than ``max_periods`` days, or for ``revenue`` (which lists every amount again for
    each day) more than :data:`MAX_REVENUE_CELLS` days × dated rows, raise
    :class:`InvalidInput` (``field="date"``)."""
    unique = days.dropna().unique()
    if len(unique) > max_periods:
        raise InvalidInput(
            f"date column {date!r} has {len(unique):,} days; at most {max_periods:,}.",
            field="date",
        )
    undated = int(days.isna().sum())
    dated = days.notna().to_numpy()
    order = np.argsort(days.to_numpy()[dated], kind="stable")
    frame = table.frame[dated].iloc[order]
    sorted_days = days[dated].iloc[order].to_numpy()
    if metric != "revenue":
        days_sorted = np.sort(np.asarray(unique, dtype=sorted_days.dtype))
        periods, by_period = _cumulative_records(
            frame, sorted_days, days_sorted, names, metric, variant, value
        )
        return periods, by_period, undated
    if len(unique) * len(frame) > MAX_REVENUE_CELLS:
        raise InvalidInput(
            f"revenue over time needs days × dated rows <= {MAX_REVENUE_CELLS:,}; "
            f"date column {date!r} has {len(unique):,} days over {len(frame):,} rows.",
            field="date",
        )
    # one pass, then prefixes: no re-reading per day
    labels, amounts = _labelled_amounts(frame, variant, value)
    periods = []
    by_period = []
    for day in sorted(unique):
        end = int(np.searchsorted(sorted_days, np.datetime64(day), side="right"))
        periods.append(pd.Timestamp(day).strftime("%Y-%m-%d"))
        by_period.append(_amount_records(names, labels[:end], amounts[:end]))
    return periods, by_period, undated
