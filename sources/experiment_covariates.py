"""The Experiments store's units with their pre-period covariates, for CUPED (issue 15).

Per exposed unit (one variant only, as the counts take them): its variant position, the
outcome ``y`` = 1 when it has the primary event at or after its first exposure, and its
covariate ``x`` = the mean of the ``value`` its events carry (an exposure's ``covariate`` or
a ``covariate`` event; NaN when it sent none). The rows go to :func:`stats.cuped.cuped_rows`,
which keeps units without a covariate through a missing-value indicator (Deng et al. 2013,
section 4.2). Row-level, not reduced in the engine as :func:`sources.reduce.cuped_moments`
does for the CUPED page: the store's SQLite has no covariance aggregate in Ibis. At most
``MAX_UNITS`` units are read.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis.expr.types as ir
import numpy as np
from ibis.backends import BaseBackend
from numpy.typing import NDArray

from sources.events import unit_metric_values

MAX_UNITS = 2_000_000
"""Most exposed units read for CUPED (three numbers each: ~50 MB at the cap)."""


@dataclass(frozen=True, slots=True)
class CovariateRows:
    """One entry per exposed unit: variant position, converted (0/1), covariate (NaN if
    none); ``n_units`` exposed units. ``truncated`` when they are more than ``MAX_UNITS``
    (then no row is read)."""

    codes: NDArray[np.int64]
    y: NDArray[np.float64]
    x: NDArray[np.float64]
    n_units: int
    truncated: bool = False


def covariate_rows(
    con: BaseBackend,
    exposures: ir.Table,
    metric_events: ir.Table,
    *,
    experiment_id: int,
    primary_event: str,
) -> CovariateRows | None:
    """The units' rows, or ``None`` while no unit has a covariate."""
    events = con.table("events")
    valued = events.filter((events.experiment_id == experiment_id) & events.value.notnull())
    if int(valued.count().execute()) == 0:
        return None
    covariates = valued.group_by(c_unit=valued.unit).aggregate(x=valued.value.mean())
    units = unit_metric_values(
        exposures,
        metric_events,
        experiment=str(experiment_id),
        metrics={"y": primary_event},
        window_days=None,
    )
    n_units = int(units.count().execute())
    if n_units > MAX_UNITS:
        empty = np.zeros(0)
        return CovariateRows(empty.astype(np.int64), empty, empty, n_units, truncated=True)
    joined = units.left_join(covariates, units.unit == covariates.c_unit)
    table = joined.select(
        variant=joined.variant.cast("int64"),
        y=(joined.y > 0).ifelse(1, 0).cast("float64"),
        x=joined.x,
    ).to_pyarrow()
    return CovariateRows(
        codes=table["variant"].to_numpy(),
        y=table["y"].to_numpy(),
        x=table["x"].to_numpy(zero_copy_only=False).astype(np.float64),
        n_units=n_units,
    )
