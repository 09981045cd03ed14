"""Order statistics of a metric per variant, computed where the data lives.

A quantile comparison (:func:`stats.quantiles.order_statistic_differences`) needs, per variant,
only its count of values and the values at a few ranks (an interval's two order statistics and
the two the estimate interpolates). One Ibis expression ranks each variant's values
(``row_number`` over a window per variant, ordered by the metric) and keeps those ranks, so the
same query runs on DuckDB, Spark and PostgreSQL and a few dozen numbers leave the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import ibis
import ibis.expr.types as ir

from sources.reduce import MAX_VARIANTS, column, fetch, label, numeric


def order_statistics_expr(
    table: ir.Table, *, variant: str, metric: str, ranks: Iterable[int]
) -> ir.Table:
    """``variant``, ``rank`` (1-based, ascending ``metric`` within the variant) and ``value`` of
    the rows at ``ranks``; rows with no variant or no value are left out, as
    :func:`sources.reduce.metrics_statistics` leaves them out of its counts."""
    t = table.select(
        variant=column(table, variant, "variant"), value=numeric(table, metric, "metric")
    )
    t = t.filter(t.variant.notnull() & t.value.notnull())
    window = ibis.window(group_by=t.variant, order_by=t.value)
    t = t.mutate(rank=ibis.row_number().over(window) + 1)
    return t.filter(t["rank"].isin(sorted(set(ranks)))).select("variant", "rank", "value")


def order_statistics(
    table: ir.Table, *, variant: str, metric: str, ranks: Mapping[str, Iterable[int]]
) -> dict[str, dict[int, float]]:
    """The ``metric`` values at each variant's ``ranks`` (keyed by variant name as
    :func:`sources.reduce.label` reads it), in one query."""
    wanted = {name: set(rs) for name, rs in ranks.items()}
    every = set().union(*wanted.values()) if wanted else set()
    expr = order_statistics_expr(table, variant=variant, metric=metric, ranks=every)
    rows = fetch(expr, MAX_VARIANTS * max(1, len(every)), "order statistics", "variant")
    out: dict[str, dict[int, float]] = {}
    for row in rows:
        name, rank = label(row["variant"]), int(row["rank"])
        if name is not None and rank in wanted.get(name, ()):
            out.setdefault(name, {})[rank] = float(row["value"])
    return out
