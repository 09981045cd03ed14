"""A CSV reduced to the per-variant records :func:`stats.bayes.engine.analyze_bayesian` takes.

Reuses the analyzer's reading (:func:`blueprints._upload.uploaded_csv`) and reduction
(:mod:`sources.tabular`): a row-per-user table gives users and conversions (``proportion``),
n, mean and sd (``mean``), users and total events (``count``) or the per-user amounts
(``revenue``) of each variant; a row-per-variant table of aggregates gives ``proportion`` or
``mean`` records. A date column (named by ``date``, or detected) splits the rows into days so
that the expected loss can be recomputed on the cumulative data of each day.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from blueprints._api import Fields, unprocessable
from blueprints._upload import csv_errors
from sources.tabular import (
    CSVError,
    Kind,
    Roles,
    Table,
    binary_values,
    infer_roles,
    numeric_values,
    summarize,
    summarize_aggregates,
    variant_labels,
)
from stats.bayes.decision import MAX_SUM_TERMS
from stats.bayes.engine import MAX_PERIODS
from stats.sufficient import MeanStats, ProportionStats
from stats.warnings import Code, ResultWarning, warning

Record = dict[str, Any]
KIND: dict[str, Kind] = {
    "proportion": "binary",
    "mean": "continuous",
    "count": "continuous",
    "revenue": "continuous",
}
HINTS = {
    "count": re.compile(r"purchase|order|event|count|click|visit|session|item|view", re.I),
    "revenue": re.compile(r"revenue|amount|spend|sales|gmv|value|price|paid", re.I),
}
"""Names that suggest the value column of a metric, tried before the first column of its kind."""
MAX_LOSS_DAYS = 200
"""Most days the expected loss over time is computed for; more are thinned evenly (the last
day always kept), with a warning."""
MAX_LOSS_TERMS = 4_000_000
"""Budget of Miller-sum terms for two conversion arms over time (each day's closed form costs
about 4 × its smallest Beta parameter, up to ``stats.bayes.decision.MAX_SUM_TERMS``)."""
MAX_REVENUE_CELLS = 5_000_000
"""Revenue over time lists every amount again for each day: days × dated rows at most this."""
DATE_SHARE = 0.9
"""A column is detected as a date when this share of its non-blank cells parse as dates."""


@dataclass(frozen=True, slots=True)
class CsvSource:
    """Which columns of the CSV were used, and how."""

    layout: str  # "users" (one row per user) or "variants" (aggregates)
    variant: str
    value: str
    date: str | None
    rows: int


@dataclass(frozen=True, slots=True)
class CsvRecords:
    """The variant records of the whole table and, with a date column, of each day's
    cumulative data (``periods[t]`` is the day, ``by_period[t]`` its records)."""

    source: CsvSource
    records: list[Record]
    periods: list[str]
    by_period: list[list[Record]]
    warnings: tuple[ResultWarning, ...]


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


def _date_column(f: Fields, table: Table, used: set[str]) -> tuple[str | None, pd.Series | None]:
    """The ``date`` field's column (every non-blank cell a date) or a detected one."""
    frame = table.frame
    name = f.string("date", None)
    if name is not None:
        if name not in frame.columns:
            unprocessable(
                "date",
                f"date column {name!r} not found; the columns are {', '.join(table.columns)}.",
            )
        days = _parse_dates(frame[name])
        bad = frame[name].notna() & days.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
            unprocessable(
                "date",
                f"date column {name!r}: {frame[name].iloc[row - 1]!r} on row {row} is not a date.",
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


def _value_column(f: Fields, roles: Roles, metric: str) -> str:
    value = f.string("value", None)
    if value is not None:
        return value
    wanted = KIND[metric]
    columns = [m.name for m in roles.metrics if m.kind == wanted]
    hint = HINTS.get(metric)
    found = next((c for c in columns if hint and hint.search(c)), columns[0] if columns else None)
    if found is None:
        what = "0/1 values" if wanted == "binary" else "numbers"
        unprocessable(
            "value",
            f"value is required: no column holds {what} for metric {metric}; name the column "
            f"in value.",
        )
    return found


def whole_numbers(s: pd.Series, column: str) -> None:
    """Raise :class:`CSVError` naming the first cell that is not a whole number >= 0."""
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


def _record(s: ProportionStats | MeanStats, metric: str) -> Record:
    """One variant's record in ``metric``'s shape."""
    if isinstance(s, ProportionStats):
        return {"name": s.name, "users": s.users, "conversions": s.conversions}
    if metric == "count":  # the sum of whole event counts, rounded off float error
        return {"name": s.name, "users": s.n, "total": round(s.total)}
    return {"name": s.name, "users": s.n, "mean": s.mean, "sd": s.sd}


def _user_records(
    table: Table, metric: str, variant: str, value: str, user_id: str | None
) -> tuple[list[Record], tuple[ResultWarning, ...]]:
    """Records from a row-per-user table (CSVError names the row and column)."""
    summary = summarize(table, variant=variant, metric=value, kind=KIND[metric], user_id=user_id)
    if metric == "revenue":
        labels, amounts = _labelled_amounts(table.frame, variant, value)
        names = [v.name for v in summary.variants]
        return _amount_records(names, labels, amounts), summary.warnings
    if metric == "count":
        whole_numbers(table.frame[value], value)
    return [_record(v, metric) for v in summary.variants], summary.warnings


def _labelled_amounts(frame: pd.DataFrame, variant: str, value: str) -> tuple[Any, Any]:
    """Variant label and amount of each row; the label is None where either is blank."""
    amounts = numeric_values(frame[value], value)
    labels = variant_labels(frame[variant]).to_numpy(dtype=object)
    labels[pd.isna(labels) | np.isnan(amounts)] = None
    return labels, amounts


def _amount_records(names: list[str], labels: Any, amounts: Any) -> list[Record]:
    return [{"name": name, "amounts": amounts[labels == name].tolist()} for name in names]


def _aggregate_records(table: Table, roles: Roles, metric: str) -> list[Record]:
    if metric in ("count", "revenue"):
        unprocessable(
            "metric",
            f"metric {metric} needs one row per user (the CSV has one row per variant); "
            "send a row-per-user CSV or JSON variants.",
        )
    summary = summarize_aggregates(table, roles)
    if KIND[metric] != summary.kind:
        unprocessable(
            "metric",
            f"metric {metric} does not fit this CSV of aggregates: it has "
            f"{'conversions' if summary.kind == 'binary' else 'a mean and sd'} per variant.",
        )
    return [_record(v, metric) for v in summary.variants]


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


def _thinned(
    periods: list[str], by_period: list[list[Record]], metric: str
) -> tuple[list[str], list[list[Record]], tuple[ResultWarning, ...]]:
    """At most ``MAX_LOSS_DAYS`` days (and ``MAX_LOSS_TERMS`` for two conversion arms),
    evenly spaced with the last day kept; a warning says so when days were left out."""
    d = len(periods)
    keep = min(d, MAX_LOSS_DAYS)
    if d and metric == "proportion" and len(by_period[-1]) == 2:
        last = by_period[-1]  # cumulative, so the largest parameters of all days
        smallest = min(min(r["conversions"], r["users"] - r["conversions"]) for r in last) + 1
        per_day = 4 * min(smallest, MAX_SUM_TERMS)
        keep = min(keep, max(2, MAX_LOSS_TERMS // per_day))
    if keep >= d:
        return periods, by_period, ()
    picked = np.unique(np.linspace(0, d - 1, keep).round().astype(int))
    note = (
        warning(
            Code.DAYS_SAMPLED,
            f"The expected loss over time is shown for {len(picked):,} of {d:,} days, evenly "
            "spaced (the last day included), to bound the work per request.",
        ),
    )
    return [periods[i] for i in picked], [by_period[i] for i in picked], note


def csv_records(f: Fields, table: Table, metric: str) -> CsvRecords:
    """Reduce ``table`` for ``metric``; columns come from ``variant``, ``value`` and ``date``
    when given, else from :func:`sources.tabular.infer_roles`."""
    with csv_errors():
        roles = infer_roles(table)
        variant = f.string("variant", None) or roles.variant
        if variant is None:
            raise CSVError(
                "variant: no column looks like the variant; name it in variant "
                f"(the columns are {', '.join(table.columns)})",
                field="variant",
            )
        if roles.layout == "variants":
            roles = dataclasses.replace(roles, variant=variant)
            records = _aggregate_records(table, roles, metric)
            value = roles.conversions if metric == "proportion" else roles.mean
            source = CsvSource("variants", variant, str(value), None, table.n_rows)
            return CsvRecords(source, records, [], [], ())
        value = _value_column(f, roles, metric)
        records, warnings = _user_records(table, metric, variant, value, roles.user_id)
        used = {variant, value, *(m.name for m in roles.metrics), *[roles.user_id or ""]}
        date, days = _date_column(f, table, used)
    periods: list[str] = []
    by_period: list[list[Record]] = []
    if date is not None and days is not None:
        unique = days.dropna().unique()
        if len(unique) > MAX_PERIODS:
            unprocessable(
                "date", f"date column {date!r} has {len(unique):,} days; at most {MAX_PERIODS:,}."
            )
        undated = int(days.isna().sum())
        if undated:
            warnings += (
                warning(
                    Code.ROWS_LEFT_OUT,
                    f"{undated:,} rows without a date are left out of the expected loss over time.",
                ),
            )
        dated = days.notna().to_numpy()
        order = np.argsort(days.to_numpy()[dated], kind="stable")
        frame = table.frame[dated].iloc[order]
        sorted_days = days[dated].iloc[order].to_numpy()
        names = [r["name"] for r in records]
        if metric != "revenue":
            days_sorted = np.sort(np.asarray(unique, dtype=sorted_days.dtype))
            periods, by_period = _cumulative_records(
                frame, sorted_days, days_sorted, names, metric, variant, value
            )
            periods, by_period, note = _thinned(periods, by_period, metric)
            source = CsvSource("users", variant, value, date, table.n_rows)
            return CsvRecords(source, records, periods, by_period, warnings + note)
        if len(unique) * len(frame) > MAX_REVENUE_CELLS:
            unprocessable(
                "date",
                f"revenue over time needs days × dated rows <= {MAX_REVENUE_CELLS:,}; "
                f"date column {date!r} has {len(unique):,} days over {len(frame):,} rows.",
            )
        # one pass, then prefixes: no re-reading per day
        labels, amounts = _labelled_amounts(frame, variant, value)
        for day in sorted(unique):
            end = int(np.searchsorted(sorted_days, np.datetime64(day), side="right"))
            day_records = _amount_records(names, labels[:end], amounts[:end])
            periods.append(pd.Timestamp(day).strftime("%Y-%m-%d"))
            by_period.append(day_records)
        periods, by_period, note = _thinned(periods, by_period, metric)
        warnings += note
    source = CsvSource("users", variant, value, date, table.n_rows)
    return CsvRecords(source, records, periods, by_period, warnings)


def source_records(f: Fields, metric: str) -> CsvRecords:
    """The records of a configured source's table (``source``, ``table``) whose ``variant``
    and ``value`` (and optional ``date``) name columns, one row per user: reduced in the
    engine (:mod:`sources.reduce`; per day with a date), except ``revenue``, whose model
    takes every amount: those two columns are read, at most the upload's row cap."""
    from blueprints._source import column_name, open_table, reducing, select_rows
    from sources.reduce import daily_statistics, sufficient_statistics
    from sources.tabular import MAX_ROWS

    st = open_table(f)
    variant = column_name(f, "variant", st)
    value = column_name(f, "value", st)
    date = column_name(f, "date", st, None)
    roles = {"metric": "value"}
    periods: list[str] = []
    by_period: list[list[Record]] = []
    note: tuple[ResultWarning, ...] = ()
    if metric == "revenue":
        if date is not None:
            unprocessable("date", "revenue over time needs every amount: leave date out.")
        frame = select_rows(st, [variant, value], MAX_ROWS).to_pandas()
        with csv_errors():
            labels, amounts = _labelled_amounts(frame, variant, value)
        names = sorted({str(x) for x in labels if x is not None})
        records = _amount_records(names, labels, amounts)
        rows = len(frame)
        warnings: tuple[ResultWarning, ...] = ()
    else:
        with reducing(st, roles):
            stats = sufficient_statistics(
                st.table, variant=variant, metric=value, kind=KIND[metric]
            )
            if date is not None:
                daily = daily_statistics(
                    st.table, variant=variant, metric=value, date=date, kind=KIND[metric]
                )
                if len(daily.periods) > MAX_PERIODS:
                    unprocessable("date", f"date column {date!r}: more than {MAX_PERIODS:,} days.")
                periods = list(daily.periods)
                by_period = [[_record(v, metric) for v in day] for day in daily.by_period]
                periods, by_period, note = _thinned(periods, by_period, metric)
        records = [_record(v, metric) for v in stats.variants]
        rows = stats.rows
        warnings = tuple(warning(Code.ROWS_LEFT_OUT, w) for w in stats.warnings)
    source = CsvSource("users", variant, value, date, rows)
    return CsvRecords(source, records, periods, by_period, warnings + note)
