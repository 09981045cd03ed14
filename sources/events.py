"""The event schema: exposures and metric events reduced to per-variant statistics.

Two tables, as a warehouse keeps them (GrowthBook's assignment and metric sources,
growthbook/growthbook ``packages/back-end/src/integrations/SqlIntegration.ts``)::

    exposures(experiment, unit, variant, ts)     one row per exposure of a unit
    metric_events(unit, name, value, ts)          one row per metric event

A unit's first exposure to the experiment fixes its variant and its exposure time ``t0``.
Its metric value is the sum of its ``name`` events with ``t0 <= ts < t0 + window`` (0 when it
has none: an exposed unit with no event still counts); its pre-period covariate (for CUPED,
Deng et al. 2013) is the sum of the same events with ``t0 − pre_window <= ts < t0``. A unit
exposed to more than one variant is left out and counted in a warning, as GrowthBook does
("multiple exposures"). The per-unit table is then reduced by
:func:`sources.reduce.sufficient_statistics`, in the engine.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from sources.errors import SourceError
from sources.reduce import Kind, SufficientStatistics, sufficient_statistics

EXPOSURES = ("experiment", "unit", "variant", "ts")
METRIC_EVENTS = ("unit", "name", "value", "ts")
MAX_WINDOW_DAYS = 3650
"""Longest attribution or pre-period window, in days."""


def _check_schema(table: ir.Table, columns: tuple[str, ...], field: str) -> None:
    missing = [c for c in columns if c not in table.schema()]
    if missing:
        raise SourceError(
            f"{field} needs the columns {', '.join(columns)}; missing {', '.join(missing)}",
            field=field,
        )


def _days(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_WINDOW_DAYS:
        raise SourceError(
            f"{field} must be a whole number of days in [1, {MAX_WINDOW_DAYS}], got {value!r}",
            field=field,
        )
    return value


def first_exposures(exposures: ir.Table, experiment: str) -> ir.Table:
    """Per unit of ``experiment``: ``unit``, ``variant``, ``t0`` (first exposure) and
    ``variants`` (how many distinct variants it saw)."""
    _check_schema(exposures, EXPOSURES, "exposures")
    e = exposures.filter((exposures.experiment == experiment) & exposures.variant.notnull())
    return e.group_by("unit").aggregate(
        variant=e.variant.min(), t0=e.ts.min(), variants=e.variant.nunique()
    )


def unit_metric_values(
    exposures: ir.Table,
    metric_events: ir.Table,
    *,
    experiment: str,
    metrics: Mapping[str, str],
    window_days: int | None,
    pre_window_days: int | None = None,
) -> ir.Table:
    """Per exposed unit (one variant only): ``unit``, ``variant`` and, for each ``column:
    metric`` of ``metrics``, the metric's value in ``column`` and, with a pre-period window,
    its covariate in ``column + "_covariate"`` (see the module docstring for the windows), from
    one join of the first exposures with the metric events. ``window_days=None`` takes every
    event from the first exposure on, with no interval arithmetic: ``ts`` may then be any
    ordered type, such as the Experiments store's fixed-width UTC text."""
    _check_schema(metric_events, METRIC_EVENTS, "metric_events")
    first = first_exposures(exposures, experiment)
    first = first.filter(first.variants == 1)
    m = metric_events.filter(metric_events.name.isin(list(metrics.values())))
    m = m.select(m_unit=m.unit, m_name=m.name, m_ts=m.ts, m_value=m.value.cast("float64"))
    j = first.left_join(m, first.unit == m.m_unit)
    after = j.m_ts >= j.t0
    if window_days is not None:
        window = ibis.interval(days=_days(window_days, "window_days"))
        after &= j.m_ts < j.t0 + window
    aggs = {}
    for column, metric in metrics.items():
        aggs[column] = (after & (j.m_name == metric)).ifelse(j.m_value, 0.0).sum()
        if pre_window_days is not None:
            pre = ibis.interval(days=_days(pre_window_days, "pre_window_days"))
            before = (j.m_ts < j.t0) & (j.m_ts >= j.t0 - pre) & (j.m_name == metric)
            aggs[f"{column}_covariate"] = before.ifelse(j.m_value, 0.0).sum()
    return j.group_by(["unit", "variant"]).aggregate(**aggs)


def unit_values(
    exposures: ir.Table,
    metric_events: ir.Table,
    *,
    experiment: str,
    metric: str,
    window_days: int | None,
    pre_window_days: int | None = None,
) -> ir.Table:
    """Per exposed unit (one variant only): ``unit``, ``variant``, ``value`` and, with a
    pre-period window, ``covariate`` (:func:`unit_metric_values` of one metric)."""
    values = unit_metric_values(
        exposures,
        metric_events,
        experiment=experiment,
        metrics={"value": metric},
        window_days=window_days,
        pre_window_days=pre_window_days,
    )
    if pre_window_days is None:
        return values
    return values.rename(covariate="value_covariate")


def event_statistics(
    exposures: ir.Table,
    metric_events: ir.Table,
    *,
    experiment: str,
    metric: str,
    window_days: int,
    pre_window_days: int | None = None,
    kind: Kind | None = None,
) -> SufficientStatistics:
    """Per-variant statistics of ``metric`` for ``experiment`` from the event schema.

    With ``pre_window_days`` the result's ``covariates`` hold the CUPED moments of the
    pre-period covariate. ``kind`` as in :func:`sources.reduce.sufficient_statistics`.
    """
    units = unit_values(
        exposures,
        metric_events,
        experiment=experiment,
        metric=metric,
        window_days=window_days,
        pre_window_days=pre_window_days,
    )
    covariate = "covariate" if pre_window_days is not None else None
    result = sufficient_statistics(
        units, variant="variant", metric="value", covariate=covariate, kind=kind
    )
    first = first_exposures(exposures, experiment)
    multiple = int(first.filter(first.variants > 1).count().to_pyarrow().as_py())
    if not multiple:
        return result
    warning = f"{multiple:,} units exposed to more than one variant are left out."
    return dataclasses.replace(result, warnings=(*result.warnings, warning))
