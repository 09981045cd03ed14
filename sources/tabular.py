"""Uploaded tables (from :mod:`sources.upload`) reduced once to sufficient statistics.

Moved here from ``stats/tabular.py`` (issue 12): reading files and handling data frames
belong to :mod:`sources`; :mod:`stats` works on the sufficient statistics this produces.

1. :func:`sources.upload.read_upload` reads the bytes (CSV in any dialect, or Parquet) into an
   :class:`~sources.upload.Upload` (``Table`` here). Problems raise :class:`CSVError`, which
   names the column (``field``) and the 1-based data row (``row``) where that applies.
2. :func:`infer_roles` guesses the layout (one row per user, or one row per variant with
   aggregates) and which column plays which role, and lists the candidates for each role so
   a UI can show the mapping and let the user change it.
3. :func:`summarize` (row per user) and :func:`summarize_aggregates` (row per variant), or
   :func:`summarize_table` which dispatches on the layout, reduce the table to
   :class:`~stats.sufficient.ProportionStats` or :class:`~stats.sufficient.MeanStats` per
   variant, with plain-language warnings for what was left out.

Row numbers in messages count data rows from 1 (the row after the header is row 1); empty
lines are skipped and not counted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types as ptypes

from sources.upload import (
    MAX_COLUMNS,
    MAX_ROWS,
    MISSING,
    CSVError,
    is_text,
    memory_pool,
    read_upload,
)
from sources.upload import Upload as Table
from stats.distribution import Distribution, binned_distribution
from stats.errors import InvalidInput
from stats.sufficient import MeanStats, ProportionStats, RatioStats
from stats.warnings import Code, ResultWarning, warning

__all__ = [
    "MAX_COLUMNS",
    "MAX_ROWS",
    "MAX_VARIANTS",
    "MISSING",
    "CSVError",
    "Kind",
    "Roles",
    "Summary",
    "Table",
    "guess_control",
    "infer_roles",
    "read_upload",
    "summarize",
    "summarize_aggregates",
    "summarize_table",
    "table_distribution",
]

Kind = Literal["binary", "continuous"]
Layout = Literal["users", "variants"]

MAX_VARIANTS = 50
"""A column with more distinct values than this is not a variant column."""
_INFER_ROWS = 50_000
_ROWS_LISTED = 5
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
MAX_ABS_VALUE = 1e100
"""Largest magnitude of a metric value: squares and sums of larger ones overflow."""
_TRUE = frozenset({"1", "true", "t", "yes", "y"})
_FALSE = frozenset({"0", "false", "f", "no", "n"})


def _cell_error(column: str, row: int, problem: str) -> CSVError:
    return CSVError(f"row {row}, column {column!r}: {problem}", field=column, row=row)


# ---------------------------------------------------------------------------------------------
# Column roles


@dataclass(frozen=True, slots=True)
class MetricColumn:
    """A metric column and whether it is 0/1 (``binary``) or a number (``continuous``)."""

    name: str
    kind: Kind


@dataclass(frozen=True, slots=True)
class Roles:
    """The detected layout and column for each role (``None`` when nothing fits).

    ``layout="users"`` uses ``variant``, ``user_id`` and ``metrics``; ``layout="variants"``
    uses ``variant``, ``users`` and either ``conversions`` or ``mean`` and ``sd``.
    ``candidates`` maps each role (``variant``, ``user_id``, ``metric``, ``users``,
    ``conversions``, ``mean``, ``sd``) to the columns that could fill it, best first.
    Change a mapping with ``dataclasses.replace(roles, variant="arm")``.
    """

    layout: Layout
    variant: str | None
    user_id: str | None = None
    metrics: tuple[MetricColumn, ...] = ()
    users: str | None = None
    conversions: str | None = None
    mean: str | None = None
    sd: str | None = None
    candidates: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_VARIANT_NAMES = _words(
    "variant variation group arm bucket treatment cohort branch condition version "
    "experiment_group test_group ab_group split"
)
_ID_NAMES = _words(
    "id user user_id userid uid customer_id visitor_id client_id account_id member_id "
    "session_id device_id"
)
_USERS_NAMES = _words(
    "users n visitors sessions count participants sample_size exposures exposed "
    "n_users num_users total_users observations trials"
)
_CONVERSIONS_NAMES = _words(
    "conversions converted conversion conversion_count successes buyers purchasers"
)
_MEAN_NAMES = _words("mean avg average")
_SD_NAMES = _words("sd std stdev stddev std_dev standard_deviation")
_BINARY_HINTS = re.compile(r"(^|_)(convert\w*|purchased|clicked|retained|churned|is|has|did)(_|$)")


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _named(name: str, names: frozenset[str]) -> bool:
    key = _norm(name)
    return key in names or any(key.startswith(f"{n}_") or key.endswith(f"_{n}") for n in names)


def _is_text(s: pd.Series) -> bool:
    if isinstance(s.dtype, pd.CategoricalDtype):  # a dictionary-encoded column of text
        return _is_text(pd.Series(s.dtype.categories))
    return bool(ptypes.is_string_dtype(s) or ptypes.is_object_dtype(s))


def _is_number(s: pd.Series) -> bool:
    return bool(ptypes.is_numeric_dtype(s) and not ptypes.is_bool_dtype(s))


def _binary_share(s: pd.Series) -> float:
    """Share of non-blank cells that read as 0/1, true/false or yes/no."""
    s = s.dropna()
    if s.empty:
        return 0.0
    if ptypes.is_bool_dtype(s):
        return 1.0
    if _is_number(s):
        return float(s.isin((0, 1)).mean())
    return float(s.astype(str).str.strip().str.lower().isin(_TRUE | _FALSE).mean())


def _parse_numbers(s: pd.Series) -> pd.Series:
    """Text cells as floats (NaN where not a number); a decimal comma (``1,5``) reads as 1.5."""
    text = s.astype("str").str.strip()
    num = pd.to_numeric(text, errors="coerce")
    comma = num.isna() & text.str.fullmatch(r"[+-]?\d+,\d+")
    if comma.any():
        num = num.where(~comma, pd.to_numeric(text[comma].str.replace(",", ".")))
    return num.astype("float64")


def _numeric_share(s: pd.Series) -> float:
    s = s.dropna()
    if s.empty:
        return 0.0
    if ptypes.is_numeric_dtype(s) or ptypes.is_bool_dtype(s):
        return 1.0
    return float(_parse_numbers(s).notna().mean())


def metric_kind(s: pd.Series, name: str = "") -> Kind | None:
    """``binary`` when every value is 0/1-like, or when the name says so (``converted``,
    ``is_*``) and at least 90% are; ``continuous`` when at least half are numbers (so that
    :func:`summarize` can name the row of a stray value); else None."""
    share = _binary_share(s)
    if share == 1.0 or (share >= 0.9 and _BINARY_HINTS.search(_norm(name))):
        return "binary"
    if _numeric_share(s) >= 0.5:
        return "continuous"
    return None


def infer_roles(table: Table) -> Roles:
    """Guess the layout and the column for each role, from names first and values second.

    Variant: a column named like variant/group/arm/bucket/treatment, else the text column with
    the fewest distinct values (2 to ``MAX_VARIANTS``). User id: a column named like
    user_id/id, else a text column with unique values. Metrics: the other columns that are
    mostly numbers or 0/1 values (see :func:`metric_kind`). The layout is ``variants``
    (aggregates) when the table has at most ``MAX_VARIANTS`` rows and a count column
    (users/n/visitors) beside conversions or a mean; otherwise ``users``. Inference looks at
    an evenly spaced sample of at most 50,000 rows.
    """
    sample = table.sample(_INFER_ROWS)
    columns = list(table.columns)
    distinct = {c: int(sample[c].nunique()) for c in columns}
    filled = {c: int(sample[c].notna().sum()) for c in columns}

    def unique(c: str) -> bool:
        return filled[c] > 0 and distinct[c] == filled[c]

    variant_cands = sorted(
        (c for c in columns if 2 <= distinct[c] <= MAX_VARIANTS or _named(c, _VARIANT_NAMES)),
        key=lambda c: (not _named(c, _VARIANT_NAMES), not _is_text(sample[c]), distinct[c]),
    )
    variant = next(
        (c for c in variant_cands if _named(c, _VARIANT_NAMES) or _is_text(sample[c])), None
    )
    numeric = [c for c in columns if c != variant and _numeric_share(sample[c]) >= 0.9]

    def pick(names: frozenset[str]) -> str | None:
        return next((c for c in numeric if _named(c, names)), None)

    users, conversions = pick(_USERS_NAMES), pick(_CONVERSIONS_NAMES)
    mean, sd = pick(_MEAN_NAMES), pick(_SD_NAMES)
    aggregate = (
        variant is not None
        and table.n_rows <= MAX_VARIANTS
        and users is not None
        and (conversions is not None or mean is not None)
    )
    if aggregate:
        return Roles(
            layout="variants",
            variant=variant,
            users=users,
            conversions=conversions,
            mean=mean,
            sd=sd,
            candidates={
                "variant": tuple(variant_cands),
                "users": tuple(numeric),
                "conversions": tuple(numeric),
                "mean": tuple(numeric),
                "sd": tuple(numeric),
            },
        )
    id_cands = sorted(
        (
            c
            for c in columns
            if c != variant and (_named(c, _ID_NAMES) or (unique(c) and _is_text(sample[c])))
        ),
        key=lambda c: (not _named(c, _ID_NAMES), -distinct[c]),
    )
    user_id = next(
        (c for c in id_cands if _named(c, _ID_NAMES) or _numeric_share(sample[c]) < 0.5), None
    )
    metrics = []
    for c in columns:
        kind = metric_kind(sample[c], c) if c not in (variant, user_id) else None
        if kind is not None:
            metrics.append(MetricColumn(c, kind))
    return Roles(
        layout="users",
        variant=variant,
        user_id=user_id,
        metrics=tuple(metrics),
        candidates={
            "variant": tuple(variant_cands),
            "user_id": tuple(id_cands),
            "metric": tuple(m.name for m in metrics),
        },
    )


def guess_control(names: Sequence[str]) -> str:
    """The variant most likely to be the control: one named control/ctrl/baseline/base/
    original/default/a/0 (in that order of preference), else the first."""
    keys = {_norm(n): n for n in names}
    for key in ("control", "ctrl", "baseline", "base", "original", "default", "a", "0"):
        if key in keys:
            return keys[key]
    return names[0]


# ---------------------------------------------------------------------------------------------
# Reducing to sufficient statistics


@dataclass(frozen=True, slots=True)
class Summary:
    """One metric reduced to sufficient statistics per variant (sorted by name)."""

    metric: str
    kind: Kind | Literal["ratio"]
    variants: tuple[ProportionStats, ...] | tuple[MeanStats, ...] | tuple[RatioStats, ...]
    n_rows: int
    """Rows used."""
    excluded_rows: int = 0
    """Rows left out for a blank variant or metric cell."""
    duplicate_ids: int = 0
    """Rows whose user id already appeared on an earlier row."""
    warnings: tuple[ResultWarning, ...] = ()


def _column(table: Table, name: str, role: str) -> pd.Series:
    _column_check(table, name, role)
    return table.column(name)


def _column_check(table: Table, name: str, role: str) -> None:
    if name not in table.columns:
        raise CSVError(
            f"{role} column {name!r} not found; the columns are {', '.join(table.columns)}",
            field=name,
        )


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def _rows(positions: np.ndarray) -> str:
    """``rows 5, 9, 14, …`` from 0-based positions."""
    shown = ", ".join(str(int(p) + 1) for p in positions[:_ROWS_LISTED])
    return f"row{'s' if len(positions) > 1 else ''} {shown}{', …' if len(positions) > 5 else ''}"


def _first_bad(s: pd.Series, bad: np.ndarray, column: str, problem: str) -> None:
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        value = s.iloc[pos]
        shown = repr(value) if isinstance(value, str) else str(value)
        raise _cell_error(column, pos + 1, f"{shown} {problem}")


def binary_values(s: pd.Series, column: str) -> np.ndarray:
    """0/1 floats (NaN for blanks) from 0/1, true/false, yes/no, y/n, t/f cells.

    Raises :class:`CSVError` naming the row and column of the first other value.
    """
    if ptypes.is_bool_dtype(s):
        return s.astype("float64").to_numpy()
    if _is_number(s):
        x = s.to_numpy(dtype="float64", na_value=np.nan)
        _first_bad(s, ~np.isnan(x) & (x != 0) & (x != 1), column, "is not 0 or 1")
        return x
    text = s.astype("str").str.strip().str.lower()
    x = np.where(text.isin(_TRUE), 1.0, np.where(text.isin(_FALSE), 0.0, np.nan))
    _first_bad(
        s, s.notna().to_numpy() & np.isnan(x), column, "is not a 0/1, true/false or yes/no value"
    )
    return x


def numeric_values(s: pd.Series, column: str) -> np.ndarray:
    """Floats (NaN for blanks); text with a decimal comma (``1,5``) is read as ``1.5``.

    Raises :class:`CSVError` naming the row and column of the first value that is not a
    finite number.
    """
    if ptypes.is_bool_dtype(s) or _is_number(s):
        x = s.astype("float64").to_numpy(na_value=np.nan)
    else:
        x = _parse_numbers(s).to_numpy(dtype="float64", na_value=np.nan)
        _first_bad(s, s.notna().to_numpy() & np.isnan(x), column, "is not a number")
    _first_bad(s, np.isinf(x), column, "is not a finite number")
    _first_bad(
        s, np.abs(x) > MAX_ABS_VALUE, column, f"is too large (the limit is ±{MAX_ABS_VALUE:g})"
    )
    return x


def variant_labels(s: pd.Series) -> pd.Series:
    """Variant labels as text; whole-number floats (1.0 from a column with blanks) as ``1``."""
    if ptypes.is_float_dtype(s) and bool((s.dropna() % 1 == 0).all()):
        s = s.astype("Int64")
    out = s.astype("str").str.strip()
    return out.where(s.notna() & (out != ""))


def factorize_labels(labels: pd.Series, column: str) -> tuple[np.ndarray, list[str]]:
    """Integer codes and sorted names of the variants; 2 to MAX_VARIANTS of them, or a CSVError."""
    codes, uniques = pd.factorize(labels, sort=True)
    names = [str(u) for u in uniques]
    if len(names) < 2:
        found = f"only one variant ({names[0]!r})" if names else "no variants"
        raise CSVError(
            f"variant column {column!r} has {found}; an A/B test needs at least two",
            field=column,
        )
    if len(names) > MAX_VARIANTS:
        raise CSVError(
            f"variant column {column!r} has {len(names):,} distinct values; at most "
            f"{MAX_VARIANTS} variants are supported (is it an id column?)",
            field=column,
        )
    return codes, names


def _duplicate_id_warnings(
    table: Table, user_id: str, label_codes: np.ndarray
) -> tuple[int, tuple[ResultWarning, ...]]:
    """Rows repeating an earlier row's user id, and ids seen in more than one variant
    (``label_codes``: the variant of each row as an integer, -1 for a blank).

    Each id becomes its dense rank in Arrow (one integer per row: no Python object per row, no
    hash table of 2M strings, no sorted copy of the text); fewer ranks than ids means repeats.
    Then the ranks are sorted stably, and in that order an id equal to its predecessor repeats
    an earlier row."""
    _column_check(table, user_id, "user id")
    ids = table.arrow.column(user_id)
    if pa.types.is_dictionary(ids.type):  # few distinct ids: Arrow ranks their values
        ids = ids.cast(ids.type.value_type)
    blank = np.asarray(pc.is_null(ids, nan_is_null=True).to_numpy(zero_copy_only=False), dtype=bool)
    values = ids.filter(pa.array(~blank)) if blank.any() else ids
    if len(values) < 2:
        return 0, ()
    ranks = pc.rank(values, tiebreaker="dense", memory_pool=memory_pool())
    del values
    count = len(ranks) - int(pc.max(ranks).as_py())
    if not count:
        return 0, ()
    key = ranks.to_numpy()
    order = np.argsort(key, kind="stable")  # equal ids keep row order
    ordered = key[order]
    same = ordered[1:] == ordered[:-1]
    del ranks, key, ordered
    rows = order  # the row of each sorted id
    if blank.any():
        rows = np.flatnonzero(~blank)[rows]
    pos = int(rows[1:][same].min())
    out = [
        warning(
            Code.DUPLICATE_IDS,
            f"{_plural(count, 'row repeats', 'rows repeat')} a user id from an earlier row (first: {ids[pos].as_py()!r} on "
            f"row {pos + 1}, column {user_id!r}); each row was counted as a separate observation",
        )
    ]
    # An id is in several variants when two of its rows carry different (non-blank) labels.
    labels = label_codes[rows]
    group = np.cumsum(np.concatenate(([True], ~same)), dtype=np.int32)
    has = labels >= 0
    if has.all():  # two different labels in a run of one id sit side by side somewhere
        change = (group[1:] == group[:-1]) & (labels[1:] != labels[:-1])
        crossed = int(np.unique(group[1:][change]).size)
    elif has.any():  # blank labels do not count: distinct (id, label) pairs per id
        width = int(labels.max()) + 1
        pairs = np.unique(group[has].astype(np.int64) * width + labels[has])
        crossed = int((np.bincount(pairs // width) > 1).sum())
    else:
        crossed = 0
    if crossed:
        out.append(
            warning(
                Code.IDS_IN_SEVERAL_VARIANTS,
                f"{_plural(crossed, 'user id appears', 'user ids appear')} in more than one variant, which suggests broken "
                "assignment; check the randomisation before trusting the result",
            )
        )
    return count, tuple(out)


def _blank_warnings(
    variant: str, metric: str, blank_variant: np.ndarray, blank_metric: np.ndarray
) -> list[ResultWarning]:
    warnings: list[ResultWarning] = []
    if blank_variant.any():
        pos = np.flatnonzero(blank_variant)
        warnings.append(
            warning(
                Code.ROWS_LEFT_OUT,
                f"{_plural(len(pos), 'row', 'rows')} with a blank {variant!r} cell left out ({_rows(pos)})",
            )
        )
    if blank_metric.any():
        pos = np.flatnonzero(blank_metric)
        warnings.append(
            warning(
                Code.ROWS_LEFT_OUT,
                f"{_plural(len(pos), 'blank cell', 'blank cells')} in column {metric!r} left out ({_rows(pos)})",
            )
        )
    return warnings


_VARIANT = "__variant"
"""The cleaned variant column's name in an upload's DuckDB relation."""


def _clean_labels(column: pa.ChunkedArray) -> tuple[pa.DictionaryArray, np.ndarray]:
    """Variant labels as :func:`variant_labels` reads them (stripped, blank as null), as a
    dictionary: the few distinct labels are stripped, not the million rows. Also its codes
    as numpy (-1 for a blank): int8 when there are few names (2 MB for 2M rows), else int32."""
    encoded = pc.dictionary_encode(column).unify_dictionaries()  # one dictionary, no copy
    dictionary = encoded.chunk(0).dictionary if encoded.num_chunks else pa.array([], pa.string())
    stripped = pc.utf8_trim_whitespace(dictionary).to_pylist()
    names = sorted({x for x in stripped if x})
    small = np.int8 if len(names) <= np.iinfo(np.int8).max else np.int32
    lookup = np.array([names.index(x) if x else -1 for x in stripped] + [-1], dtype=small)
    # A null cell takes the last lookup entry (-1): blank, as an empty label is. Chunk by
    # chunk: no row-sized int32 copy of the parser's indices.
    indices = np.concatenate(
        [lookup[c.indices.fill_null(len(stripped)).to_numpy()] for c in encoded.chunks]
        or [np.empty(0, small)]
    )
    labels = pa.DictionaryArray.from_arrays(
        pa.array(indices, mask=indices < 0), pa.array(names, pa.string())
    )
    return labels, indices


def _labels(table: Table, variant: str) -> tuple[pa.DictionaryArray, list[str], np.ndarray]:
    """The variant column's cleaned labels (:func:`_clean_labels`), the sorted names and
    which rows have a blank variant; computed once per upload and column."""
    key = f"labels:{variant}"
    if key not in table.cache:
        labels, codes = _clean_labels(table.arrow.column(variant))
        table.cache[key] = (labels, labels.dictionary.to_pylist(), codes < 0)
        table.cache[f"codes:{variant}"] = codes
    labels, names, blank = table.cache[key]
    return labels, list(names), blank


def _label_codes(table: Table, variant: str) -> np.ndarray:
    """The cleaned labels' codes (:func:`_labels`) as numpy, -1 for a blank variant."""
    _labels(table, variant)
    codes: np.ndarray = table.cache[f"codes:{variant}"]
    return codes


def _engine_table(table: Table, variant: str) -> Any:
    """The upload registered with DuckDB once per variant column (:func:`sources.local.
    local_table`, zero-copy from Arrow): its numeric columns and the cleaned labels."""
    key = f"engine:{variant}"
    if key not in table.cache:
        from sources.local import local_table

        labels = _labels(table, variant)[0]
        numeric = [
            c
            for c, t in zip(table.arrow.column_names, table.arrow.schema.types, strict=True)
            if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)
        ]
        table.cache[key] = local_table(table.arrow.select(numeric).append_column(_VARIANT, labels))
    return table.cache[key]


_ENGINE_METRICS = 20
"""Numeric columns reduced together in one DuckDB scan (a wider file: the asked one alone)."""


def _engine_means(table: Table, variant: str, metric: str) -> tuple[MeanStats, ...]:
    """Per-variant n, mean and sd of ``metric`` from DuckDB (:func:`sources.reduce.
    metrics_statistics`): the upload's numeric columns (up to ``_ENGINE_METRICS``) are
    reduced in one scan on first use, so a page's primary metric and its guardrails cost
    one query."""
    key = f"means:{variant}"
    cached: dict[str, tuple[MeanStats, ...]] = table.cache.setdefault(key, {})
    if metric not in cached:
        from sources.reduce import metrics_statistics

        engine = _engine_table(table, variant)
        numeric = [c for c in engine.columns if c != _VARIANT]
        wanted = numeric if len(numeric) <= _ENGINE_METRICS else [metric]
        reduced = metrics_statistics(
            engine, variant=_VARIANT, metrics=wanted, kinds=dict.fromkeys(wanted, "continuous")
        )
        for name, stats in reduced.items():
            cached[name] = tuple(v for v in stats.variants if isinstance(v, MeanStats))
        if wanted == numeric:  # every column is reduced: free DuckDB's memory for the rest
            table.cache.pop(f"engine:{variant}")
            engine.get_backend().disconnect()
    return cached[metric]


def _numbers_beside_text(table: Table, variant: str, metric: str) -> pa.ChunkedArray | None:
    """The ``metric`` column as float64, from Arrow, when ``variant`` is a text column beside
    it; ``None`` when either is absent, the variant is not text or the metric not numbers or
    booleans (the pandas path then reads them and names a bad cell)."""
    if variant not in table.columns or metric not in table.columns:
        return None
    v, m = table.arrow.column(variant), table.arrow.column(metric)
    if not is_text(v.type):
        return None
    if not (
        pa.types.is_integer(m.type) or pa.types.is_floating(m.type) or pa.types.is_boolean(m.type)
    ):
        return None
    if pa.types.is_float64(m.type):
        return m  # (a cast would copy it)
    # From jemalloc, as the table is: the default pool (mimalloc) would keep the 16 MB copy.
    return pc.cast(m, pa.float64(), memory_pool=memory_pool())


def _largest_magnitude(x: pa.ChunkedArray) -> float | None:
    """The largest absolute value in ``x`` (``None`` when it holds none), without the
    row-sized array ``abs`` would make."""
    bounds = pc.min_max(x)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    return None if low is None or high is None else max(-low, high)


def _summarize_in_engine(
    table: Table, *, variant: str, metric: str, kind: Kind, user_id: str | None
) -> Summary | None:
    """:func:`summarize` on DuckDB, from the Arrow table (:func:`sources.local.local_table`,
    :func:`sources.reduce.sufficient_statistics`), for the common case: a text variant
    column and a numeric metric column whose values are all valid. ``None`` otherwise, and
    the pandas path below reads the values and names the row of a bad one."""
    if user_id is not None and user_id not in table.columns:
        return None
    x = _numbers_beside_text(table, variant, metric)
    if x is None:
        return None
    if pc.any(pc.is_nan(x)).as_py():
        return None  # NaN (from Parquet) is a blank: the pandas path treats it so
    if kind == "binary":
        if pc.any(pc.and_(pc.not_equal(x, 0.0), pc.not_equal(x, 1.0))).as_py():
            return None
    else:
        top = _largest_magnitude(x)
        if top is not None and not top <= MAX_ABS_VALUE:  # inf, or too large: name the row
            return None
    _, names, blank_variant = _labels(table, variant)
    if not 2 <= len(names) <= MAX_VARIANTS:
        return None  # the pandas path says why
    blank_metric = np.asarray(pc.is_null(x).to_numpy(zero_copy_only=False), dtype=bool)
    del x  # (a float64 copy of an integer column: not kept through the reductions below)
    blank_metric &= ~blank_variant
    keep = ~(blank_variant | blank_metric)
    if not keep.any():
        return None
    warnings = _blank_warnings(variant, metric, blank_variant, blank_metric)
    duplicates = 0
    if user_id is not None:  # once per upload: a page's metric and its guardrails share it
        key = f"duplicates:{user_id}:{variant}"
        if key not in table.cache:
            codes = _label_codes(table, variant)
            table.cache[key] = _duplicate_id_warnings(table, user_id, codes)
        duplicates, dup_warnings = table.cache[key]
        warnings.extend(dup_warnings)

    # After the duplicate check: its buffers are freed before DuckDB takes its own memory.
    means = _engine_means(table, variant, metric)
    if [v.name for v in means] != names:  # a variant with no metric value
        return None
    variants: tuple[ProportionStats, ...] | tuple[MeanStats, ...]
    if kind == "binary":  # as sources.reduce.Moments.variant: conversions = n × mean
        variants = tuple(ProportionStats(v.name, v.n, round(v.mean * v.n)) for v in means)
    else:
        variants = means
    return Summary(
        metric=metric,
        kind=kind,
        variants=variants,
        n_rows=int(keep.sum()),
        excluded_rows=int((~keep).sum()),
        duplicate_ids=duplicates,
        warnings=tuple(warnings),
    )


def summarize(
    table: Table,
    *,
    variant: str,
    metric: str,
    kind: Kind,
    user_id: str | None = None,
) -> Summary:
    """Reduce a row-per-user table to sufficient statistics per variant, in one pass.

    Binary metrics give users and conversions per variant; continuous metrics give n, sum
    and sum of squares (of values shifted by the overall mean, so the variance formula of
    :meth:`MeanStats.from_sums` does not cancel catastrophically), computed with
    ``numpy.bincount`` over ``pandas.factorize`` codes. Rows with a blank variant or metric
    cell are left out and reported; repeated user ids are counted and reported. Raises
    :class:`CSVError` for a missing column, a non-numeric or non-binary value (naming its
    row), or fewer than two (more than ``MAX_VARIANTS``) variants.
    """
    if kind not in ("binary", "continuous"):
        raise InvalidInput(f"kind must be one of binary, continuous, got {kind!r}", field="kind")
    fast = _summarize_in_engine(table, variant=variant, metric=metric, kind=kind, user_id=user_id)
    if fast is not None:
        return fast
    labels = variant_labels(_column(table, variant, "variant"))
    values = _column(table, metric, "metric")
    x = binary_values(values, metric) if kind == "binary" else numeric_values(values, metric)
    blank_variant = labels.isna().to_numpy()
    blank_metric = np.isnan(x) & ~blank_variant
    warnings = _blank_warnings(variant, metric, blank_variant, blank_metric)
    keep = ~(blank_variant | blank_metric)
    duplicates = _duplicates(table, user_id, labels, warnings)
    codes, names = factorize_labels(labels[keep], variant)
    x = x[keep]
    n = np.bincount(codes, minlength=len(names))
    stats: tuple[ProportionStats, ...] | tuple[MeanStats, ...]
    if kind == "binary":
        conv = np.bincount(codes, weights=x, minlength=len(names))
        stats = tuple(
            ProportionStats(name, int(k), round(c))
            for name, k, c in zip(names, n, conv, strict=True)
        )
    else:
        shift = float(x.mean())
        d = x - shift
        s1 = np.bincount(codes, weights=d, minlength=len(names))
        s2 = np.bincount(codes, weights=d * d, minlength=len(names))
        shifted = [
            MeanStats.from_sums(nm, int(k), a, b)
            for nm, k, a, b in zip(names, n, s1, s2, strict=True)
        ]
        stats = tuple(MeanStats(m.name, m.n, m.mean + shift, m.sd) for m in shifted)
    return Summary(
        metric=metric,
        kind=kind,
        variants=stats,
        n_rows=int(keep.sum()),
        excluded_rows=int((~keep).sum()),
        duplicate_ids=duplicates,
        warnings=tuple(warnings),
    )


def _duplicates(
    table: Table, user_id: str | None, labels: pd.Series, warnings: list[ResultWarning]
) -> int:
    """Rows repeating a user id (0 without a user id column); their warnings join ``warnings``."""
    if user_id is None:
        return 0
    label_codes = pd.factorize(labels)[0].astype(np.int32)
    duplicates, dup_warnings = _duplicate_id_warnings(table, user_id, label_codes)
    warnings.extend(dup_warnings)
    return duplicates


@dataclass(frozen=True, slots=True)
class RatioCells:
    """Per cell (a variant, or a segment × variant): ``n`` and the sums ``Σx``, ``Σy``,
    ``Σx²``, ``Σy²``, ``Σxy`` of a ratio's numerator ``x`` and denominator ``y`` less
    ``shift`` (their overall means)."""

    n: np.ndarray
    sums: tuple[np.ndarray, ...]
    shift: tuple[float, float]

    def stats(self, i: int, name: str) -> RatioStats:
        """Cell ``i`` as :meth:`stats.sufficient.RatioStats.from_sums` (which refuses fewer
        than 2 users)."""
        x, y, xx, yy, xy = (float(s[i]) for s in self.sums)
        return RatioStats.from_sums(name, int(self.n[i]), x, y, xx, yy, xy, shift=self.shift)

    def defined(self, i: int) -> bool:
        """Whether cell ``i`` has a ratio: at least 2 users, denominators averaging > 0."""
        n = int(self.n[i])
        return n >= 2 and self.sums[1][i] / n + self.shift[1] > 0


def ratio_cells(codes: np.ndarray, x: np.ndarray, y: np.ndarray, size: int) -> RatioCells:
    """The :class:`RatioCells` of ``size`` cells from each row's cell code, numerator and
    denominator: one ``numpy.bincount`` per sum of values shifted by their overall means (as
    :func:`summarize` shifts a mean, so the sums do not cancel)."""
    shift = (float(x.mean()), float(y.mean())) if x.size else (0.0, 0.0)
    dx, dy = x - shift[0], y - shift[1]
    sums = tuple(
        np.bincount(codes, weights=w, minlength=size) for w in (dx, dy, dx * dx, dy * dy, dx * dy)
    )
    return RatioCells(np.bincount(codes, minlength=size), sums, shift)


def summarize_ratio(
    table: Table,
    *,
    variant: str,
    numerator: str,
    denominator: str,
    user_id: str | None = None,
) -> Summary:
    """Reduce a row-per-user table to a ratio metric per variant: revenue per order from a
    revenue and an orders column, clicks per impression, ...

    Per variant ``n``, ``Σx``, ``Σy``, ``Σx²``, ``Σy²`` and ``Σxy`` of the numerator ``x`` and
    denominator ``y`` (shifted by their overall means, as :func:`summarize` shifts a mean),
    by ``numpy.bincount``, into :meth:`stats.sufficient.RatioStats.from_sums`. Rows with a
    blank variant, numerator or denominator cell are left out and reported; repeated user ids
    are reported. Raises :class:`CSVError` for a missing column or a non-numeric value, and
    ``InvalidInput`` (``denominator_mean``) when a variant's denominators average 0 or less.
    """
    labels = variant_labels(_column(table, variant, "variant"))
    x = numeric_values(_column(table, numerator, "numerator"), numerator)
    y = numeric_values(_column(table, denominator, "denominator"), denominator)
    blank_variant = labels.isna().to_numpy()
    warnings = _blank_warnings(variant, numerator, blank_variant, np.isnan(x) & ~blank_variant)
    none = np.zeros_like(blank_variant)  # the blank variants are reported once, above
    warnings += _blank_warnings(variant, denominator, none, np.isnan(y) & ~blank_variant)
    keep = ~(blank_variant | np.isnan(x) | np.isnan(y))
    duplicates = _duplicates(table, user_id, labels, warnings)
    codes, names = factorize_labels(labels[keep], variant)
    cells = ratio_cells(codes, x[keep], y[keep], len(names))
    stats = tuple(cells.stats(i, name) for i, name in enumerate(names))
    return Summary(
        metric=f"{numerator} / {denominator}",
        kind="ratio",
        variants=stats,
        n_rows=int(keep.sum()),
        excluded_rows=int((~keep).sum()),
        duplicate_ids=duplicates,
        warnings=tuple(warnings),
    )


def _aggregate_column(table: Table, name: str, role: str, *, whole: bool) -> np.ndarray:
    s = _column(table, name, role)
    x = numeric_values(s, name)
    blank = np.isnan(x)
    if blank.any():
        raise _cell_error(name, int(np.flatnonzero(blank)[0]) + 1, f"the {role} cell is blank")
    _first_bad(s, x < 0, name, f"is negative; {role} must be >= 0")
    if whole:
        _first_bad(s, x != np.round(x), name, f"is not a whole number of {role}")
    return x


def summarize_aggregates(table: Table, roles: Roles) -> Summary:
    """Read a row-per-variant table (aggregates) into sufficient statistics per variant.

    Uses ``roles.variant`` and ``roles.users`` with ``roles.conversions`` (a conversion
    metric) or ``roles.mean`` and ``roles.sd`` (a continuous metric). Raises
    :class:`CSVError` naming the row and column for a blank, non-numeric or negative cell,
    a fractional count, conversions above users, an sd without a mean, or a repeated or blank
    variant name; and naming the role when its column is not mapped.
    """
    for role in ("variant", "users"):
        if getattr(roles, role) is None:
            raise CSVError(f"{role}: no column is mapped to the {role} role", field=role)
    assert roles.variant is not None and roles.users is not None
    labels = variant_labels(_column(table, roles.variant, "variant"))
    if labels.isna().any():
        row = int(np.flatnonzero(labels.isna().to_numpy())[0]) + 1
        raise _cell_error(roles.variant, row, "the variant name is blank")
    dup = labels.duplicated().to_numpy()
    _first_bad(labels, dup, roles.variant, "appears on more than one row")
    factorize_labels(labels, roles.variant)  # two to MAX_VARIANTS variants
    names = list(labels)
    users = _aggregate_column(table, roles.users, "users", whole=True)
    stats: tuple[ProportionStats, ...] | tuple[MeanStats, ...]
    kind: Kind
    if roles.conversions is not None:
        metric, kind = roles.conversions, "binary"
        conv = _aggregate_column(table, metric, "conversions", whole=True)
        over = conv > users
        if over.any():
            pos = int(np.flatnonzero(over)[0])
            raise _cell_error(
                metric,
                pos + 1,
                f"{conv[pos]:g} conversions are more than the {users[pos]:g} users "
                f"(column {roles.users!r})",
            )
        stats = tuple(
            ProportionStats(nm, int(u), int(c)) for nm, u, c in zip(names, users, conv, strict=True)
        )
    elif roles.mean is not None:
        if roles.sd is None:
            raise CSVError(
                "sd: no column is mapped to the sd role (needed with a mean)", field="sd"
            )
        metric, kind = roles.mean, "continuous"
        mean = numeric_values(_column(table, metric, "mean"), metric)
        if np.isnan(mean).any():
            raise _cell_error(
                metric, int(np.flatnonzero(np.isnan(mean))[0]) + 1, "the mean cell is blank"
            )
        sd = _aggregate_column(table, roles.sd, "sd", whole=False)
        stats = tuple(
            MeanStats(nm, int(u), float(m), float(s))
            for nm, u, m, s in zip(names, users, mean, sd, strict=True)
        )
    else:
        raise CSVError(
            "conversions: no column is mapped to conversions or to mean and sd", field="conversions"
        )
    return Summary(metric=metric, kind=kind, variants=stats, n_rows=len(names))


def summarize_table(
    table: Table,
    roles: Roles | None = None,
    *,
    metric: str | None = None,
    kind: Kind | None = None,
) -> Summary:
    """Summarize with the given (or inferred) roles, dispatching on the layout.

    For a row-per-variant table, ``metric`` naming the ``mean`` column picks the mean/sd
    metric over conversions. For a row-per-user table the metric defaults to the first metric column of ``roles``
    and its kind to the detected one. Raises :class:`CSVError` with ``field`` set to the
    role (``variant``, ``metric``) when no column can be mapped to it.
    """
    roles = infer_roles(table) if roles is None else roles
    if roles.layout == "variants":
        if metric is not None and metric == roles.mean:
            roles = replace(roles, conversions=None)  # the mean/sd metric, not conversions
        return summarize_aggregates(table, roles)
    if roles.variant is None:
        raise CSVError(
            "variant: no column looks like the variant; name it variant, group or arm, "
            f"or choose one of {', '.join(table.columns)}",
            field="variant",
        )
    if metric is None:
        if not roles.metrics:
            raise CSVError(
                "metric: no column holds numbers or 0/1 values to analyse; the columns are "
                f"{', '.join(table.columns)}",
                field="metric",
            )
        metric = roles.metrics[0].name
    if kind is None:
        known = {m.name: m.kind for m in roles.metrics}
        detected = known.get(metric) or metric_kind(_column(table, metric, "metric"), metric)
        if detected is None:
            raise CSVError(
                f"metric column {metric!r} does not hold numbers or 0/1 values", field=metric
            )
        kind = detected
    return summarize(table, variant=roles.variant, metric=metric, kind=kind, user_id=roles.user_id)


def _arrow_codes_and_values(
    table: Table, variant: str, metric: str
) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """Variant codes, metric values and variant names of the rows with both, straight from
    Arrow (no pandas objects), when the variant is text and the metric's values are valid
    numbers; ``None`` otherwise (the pandas path then names the bad cell)."""
    x = _numbers_beside_text(table, variant, metric)
    if x is None:
        return None
    top = _largest_magnitude(x)
    if pc.any(pc.is_nan(x)).as_py() or (top is not None and not top <= MAX_ABS_VALUE):
        return None
    _, names, blank = _labels(table, variant)
    if not 2 <= len(names) <= MAX_VARIANTS:
        return None
    # Nulls as NaN; one chunk (a parsed CSV's numbers) without a copy, else one copy made by
    # numpy (not by Arrow's default pool, which would keep it).
    pieces = [c.to_numpy(zero_copy_only=False) for c in x.chunks] or [np.empty(0)]
    values = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
    values = values.astype(np.float64, copy=False)
    del x, pieces
    keep = ~blank & ~np.isnan(values)
    codes = _label_codes(table, variant)  # int8: <= MAX_VARIANTS names; -1 only where not kept
    if not keep.all():
        codes, values = codes[keep], values[keep]
    step = 1 << 18  # every variant has a row, counted a block at a time (no intp copy of codes)
    present = np.zeros(len(names), dtype=bool)
    for start in range(0, len(codes), step):
        present |= np.bincount(codes[start : start + step], minlength=len(names)) > 0
    if not present.all():
        return None
    return codes, values, names


def table_distribution(
    table: Table, *, variant: str, metric: str, bins: int = 30, upper_quantile: float = 0.995
) -> Distribution:
    """:func:`stats.distribution.binned_distribution` of a row-per-user table's ``metric``
    column by ``variant`` (rows with a blank variant or metric cell left out, as
    :func:`summarize` does; variants sorted by name, as there)."""
    codes, x, names = variant_values(table, variant=variant, metric=metric)
    return binned_distribution(
        x, codes, names, metric=metric, bins=bins, upper_quantile=upper_quantile
    )


def variant_values(
    table: Table, *, variant: str, metric: str
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Variant codes, ``metric`` values and variant names (sorted) of a row-per-user table's
    rows with both cells filled (straight from Arrow when it can, else through pandas, which
    names a bad cell)."""
    fast = _arrow_codes_and_values(table, variant, metric)
    if fast is not None:
        return fast
    labels = variant_labels(_column(table, variant, "variant"))
    x = numeric_values(_column(table, metric, "metric"), metric)
    keep = labels.notna().to_numpy() & ~np.isnan(x)
    codes, names = factorize_labels(labels[keep], variant)
    return codes, x[keep], names


def numeric_frame(table: Table, numeric: Sequence[str]) -> pd.DataFrame:
    """The upload's rows with the ``numeric`` columns read as numbers the way every page reads
    them (:func:`numeric_values`: a decimal comma accepted, blanks as NaN, a value that is not
    a finite number refused naming its row and column). Columns not in the table are left for
    the caller to name."""
    frame = table.frame
    wanted = [c for c in dict.fromkeys(numeric) if c in frame.columns]
    if not wanted:
        return frame
    return frame.assign(**{c: numeric_values(frame[c], c) for c in wanted})
