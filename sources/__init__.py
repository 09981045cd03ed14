"""Where data comes from, reduced to the per-variant sufficient statistics :mod:`stats` takes.

* :mod:`sources.reduce`: Ibis expressions, written once, that reduce any table (DuckDB,
  Spark, PostgreSQL, or any other Ibis backend) to per-variant (× segment) counts, sums,
  variances and covariances; :func:`sufficient_statistics` is the notebook entry point.
* :mod:`sources.config`: sources named in configuration (``SOURCES`` / ``ABACUS_SOURCES``);
  a request may name only a configured source, a listed table and a column of its schema.
* :mod:`sources.local`: rows already in memory (a parsed upload) as a DuckDB table via Arrow.
* :mod:`sources.events`: the event schema (``exposures``, ``metric_events``) reduced to
  per-unit metric values within an attribution window, and a pre-period covariate.

No Flask here. Heavy imports (Ibis) load when a name below is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sources.errors import SourceError

if TYPE_CHECKING:
    from sources.reduce import SufficientStatistics, sufficient_statistics

__all__ = ["SourceError", "SufficientStatistics", "sufficient_statistics"]


def __getattr__(name: str) -> Any:
    if name in ("SufficientStatistics", "sufficient_statistics"):
        from sources import reduce

        return getattr(reduce, name)
    raise AttributeError(f"module 'sources' has no attribute {name!r}")
