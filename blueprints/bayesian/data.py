"""A CSV reduced to the per-variant records :func:`stats.bayes.engine.variant_stats` parses
(and :func:`~stats.bayes.engine.period_stats`, per day) into what the engine takes.

Reuses the analyzer's reading (:func:`blueprints._upload.read_data`) and reduction
(:mod:`sources.tabular`): a row-per-user table gives users and conversions (``proportion``),
n, mean and sd (``mean``), users and total events (``count``) or the per-user amounts
(``revenue``) of each variant; a row-per-variant table of aggregates gives ``proportion`` or
``mean`` records. A date column (named by ``date``, or detected) splits the rows into days so
that the expected loss can be recomputed on the cumulative data of each day.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from blueprints._api import stats_errors, unprocessable
from blueprints._source import SourceFields
from blueprints._upload import csv_errors
from sources.bayesian import (
    KIND,
    Record,
    amount_records,
    date_column,
    dated_records,
    source_amount_records,
    whole_numbers,
)
from sources.reduce import Segment
from sources.tabular import (
    CSVError,
    Roles,
    Table,
    infer_roles,
    summarize,
    summarize_aggregates,
    summarize_ratio,
)
from stats.bayes.decision import MAX_SUM_TERMS
from stats.bayes.engine import MAX_PERIODS
from stats.errors import InvalidInput
from stats.sufficient import RATIO_KEYS, MeanStats, ProportionStats, RatioStats
from stats.warnings import Code, ResultWarning, warning

__all__ = [
    "KIND",
    "CsvRecords",
    "CsvSource",
    "Ratio",
    "Record",
    "csv_ratio_records",
    "csv_records",
    "source_ratio_records",
    "source_records",
]

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
    segments: tuple[Segment, ...] = ()
    """A source's per-segment statistics, when a ``segment`` column is named."""


@dataclass(frozen=True, slots=True)
class Columns:
    """The column roles a request names (``None``: detect it)."""

    variant: str | None
    value: str | None
    date: str | None


def _date_column(c: Columns, table: Table, used: set[str]) -> tuple[str | None, Any]:
    """The ``date`` field's column (every non-blank cell a date) or a detected one, with its
    days (:func:`sources.bayesian.date_column`)."""
    try:
        return date_column(table, c.date, used)
    except CSVError:
        raise
    except InvalidInput as exc:
        unprocessable("date", str(exc))


def _value_column(c: Columns, roles: Roles, metric: str) -> str:
    value = c.value
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


def _not_ratio(variants: Sequence[object]) -> Sequence[ProportionStats | MeanStats]:
    """A one-column summary's variants (:func:`summarize` makes no ratio statistics)."""
    return cast("Sequence[ProportionStats | MeanStats]", variants)


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
        names = [v.name for v in summary.variants]
        return amount_records(table, variant, value, names), summary.warnings
    if metric == "count":
        whole_numbers(table, value)
    return [_record(v, metric) for v in _not_ratio(summary.variants)], summary.warnings


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
    return [_record(v, metric) for v in _not_ratio(summary.variants)]


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


def csv_records(c: Columns, table: Table, metric: str) -> CsvRecords:
    """Reduce ``table`` for ``metric``; columns come from ``variant``, ``value`` and ``date``
    when given, else from :func:`sources.tabular.infer_roles`."""
    with csv_errors():
        roles = infer_roles(table)
        variant = c.variant or roles.variant
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
        value = _value_column(c, roles, metric)
        records, warnings = _user_records(table, metric, variant, value, roles.user_id)
        used = {variant, value, *(m.name for m in roles.metrics), *[roles.user_id or ""]}
        date, days = _date_column(c, table, used)
    periods: list[str] = []
    by_period: list[list[Record]] = []
    if date is not None and days is not None:
        names = [r["name"] for r in records]
        try:
            periods, by_period, undated = dated_records(
                table,
                days,
                date=date,
                names=names,
                metric=metric,
                variant=variant,
                value=value,
                max_periods=MAX_PERIODS,
            )
        except CSVError:
            raise
        except InvalidInput as exc:
            unprocessable("date", str(exc))
        if undated:
            warnings += (
                warning(
                    Code.ROWS_LEFT_OUT,
                    f"{undated:,} rows without a date are left out of the expected loss over time.",
                ),
            )
        periods, by_period, note = _thinned(periods, by_period, metric)
        warnings += note
    source = CsvSource("users", variant, value, date, table.n_rows)
    return CsvRecords(source, records, periods, by_period, warnings)


def source_records(
    request: SourceFields, c: Columns, metric: str, segment: str | None = None
) -> CsvRecords:
    """The records of a configured source's table (``source``, ``table``) whose ``variant``
    and ``value`` (and optional ``date``) name columns, one row per user: reduced in the
    engine (:mod:`sources.reduce`; per day with a date; per ``segment`` value in the same
    query), except ``revenue``, whose model takes every amount: those two columns are read,
    at most the upload's row cap."""
    from blueprints._source import column, open_table, reducing, required_column, select_rows
    from sources.reduce import daily_statistics, sufficient_statistics
    from sources.tabular import MAX_ROWS

    st = open_table(request)
    variant = required_column(st, "variant", c.variant)
    value = required_column(st, "value", c.value)
    date = column(st, "date", c.date)
    segment = column(st, "segment", segment)
    roles = {"metric": "value"}
    periods: list[str] = []
    by_period: list[list[Record]] = []
    note: tuple[ResultWarning, ...] = ()
    segments: tuple[Segment, ...] = ()
    if metric == "revenue":
        if date is not None:
            unprocessable("date", "revenue over time needs every amount: leave date out.")
        data = select_rows(st, [variant, value], MAX_ROWS)
        with csv_errors():
            records = source_amount_records(data, variant, value)
        rows = data.num_rows
        warnings: tuple[ResultWarning, ...] = ()
    else:
        with reducing(st, roles):
            stats = sufficient_statistics(
                st.table, variant=variant, metric=value, kind=KIND[metric], segment=segment
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
        segments = stats.segments
    source = CsvSource("users", variant, value, date, rows)
    return CsvRecords(source, records, periods, by_period, warnings + note, segments)


@dataclass(frozen=True, slots=True)
class Ratio:
    """The ``numerator`` and ``denominator`` columns of a ratio metric, one row per user."""

    numerator: str
    denominator: str


def _ratio_records(variants: Sequence[RatioStats]) -> list[Record]:
    """Ratio variants as the typed path's records (``RATIO_KEYS``)."""
    return [{k: getattr(v, k) for k in RATIO_KEYS} for v in variants]


def csv_ratio_records(c: Columns, table: Table, ratio: Ratio) -> CsvRecords:
    """A row-per-user table's ratio metric per variant, reduced as the A/B analyzer reduces
    it (:func:`sources.tabular.summarize_ratio`) into the typed path's records."""
    with csv_errors(), stats_errors():
        roles = infer_roles(table)
        variant = c.variant or roles.variant
        if roles.layout != "users" or variant is None:
            unprocessable(
                "numerator",
                "numerator and denominator need one row per user (a variant column beside "
                "them); send typed ratio variants instead.",
            )
        summary = summarize_ratio(
            table,
            variant=variant,
            numerator=ratio.numerator,
            denominator=ratio.denominator,
            user_id=roles.user_id,
        )
    records = _ratio_records(cast("Sequence[RatioStats]", summary.variants))
    source = CsvSource("users", variant, summary.metric, None, table.n_rows)
    return CsvRecords(source, records, [], [], summary.warnings)


def source_ratio_records(request: SourceFields, c: Columns, ratio: Ratio) -> CsvRecords:
    """A configured source's ratio metric per variant, reduced in the engine in one query
    (:func:`sources.reduce.ratio_statistics`, as the A/B analyzer's source path)."""
    from blueprints._source import open_table, reducing, required_column
    from sources.reduce import ratio_statistics

    st = open_table(request)
    variant = required_column(st, "variant", c.variant)
    numerator = required_column(st, "numerator", ratio.numerator)
    denominator = required_column(st, "denominator", ratio.denominator)
    with reducing(st, {"metric": "numerator", "covariate": "denominator"}):
        variants, reduced = ratio_statistics(
            st.table, variant=variant, numerator=numerator, denominator=denominator
        )
    source = CsvSource("users", variant, f"{numerator} / {denominator}", None, reduced.rows)
    warnings = tuple(warning(Code.ROWS_LEFT_OUT, w) for w in reduced.warnings)
    return CsvRecords(source, _ratio_records(variants), [], [], warnings)
