"""The words every ``stats`` module, blueprint and API document shares, defined once.

``ALTERNATIVES`` are statsmodels' names for the alternative hypothesis; ``METRICS`` the kinds
of metric a frequentist module analyses (a conversion rate or a mean), ``SUMMARY_METRICS`` those
with ratio metrics (the A/B analyzer, the power calculator), ``BAYES_METRICS`` those
the Bayesian engine models (adding Poisson counts and revenue per user). Group-sequential
designs name their boundary family from ``BOUNDARY_SPENDINGS``; the peeking simulation names
how it builds the same bounds from ``PEEKING_SPENDINGS`` (re-spending by Lan–DeMets at the
observed information, or the classical fixed bounds).
"""

from __future__ import annotations

from typing import Literal, get_args

Alternative = Literal["two-sided", "larger", "smaller"]
ALTERNATIVES: tuple[Alternative, ...] = ("two-sided", "larger", "smaller")
"""The alternative hypothesis, as statsmodels names it (``larger``: treatment > control)."""

Metric = Literal["proportion", "mean"]
METRICS: tuple[Metric, ...] = ("proportion", "mean")
"""Metric kinds of the frequentist modules: a conversion rate or a mean."""

SummaryMetric = Literal[Metric, "ratio"]
SUMMARY_METRICS: tuple[SummaryMetric, ...] = (*METRICS, "ratio")
"""Metric kinds of the A/B analyzer and the power calculator: :data:`METRICS` and ratio
metrics (revenue per order: the delta method)."""

BayesMetric = Literal[Metric, "count", "revenue", "ratio"]
BAYES_METRICS: tuple[BayesMetric, ...] = (*METRICS, "count", "revenue", "ratio")
"""Metric kinds of the Bayesian engine: :data:`METRICS`, Poisson counts, revenue and ratio
metrics (revenue per order: the normal approximation)."""

SpendingFunction = Literal["obrien-fleming", "pocock", "hsd"]
SPENDING_FUNCTIONS: tuple[SpendingFunction, ...] = get_args(SpendingFunction)
"""Lan–DeMets spending functions (O'Brien–Fleming-like, Pocock-like) and Hwang–Shih–DeCani."""

BoundarySpending = Literal[SpendingFunction, "classical-obrien-fleming", "classical-pocock"]
BOUNDARY_SPENDINGS: tuple[BoundarySpending, ...] = (
    *SPENDING_FUNCTIONS,
    "classical-obrien-fleming",
    "classical-pocock",
)
"""Boundary families of a group-sequential design (:func:`stats.group_sequential.group_sequential_bounds`):
Lan–DeMets spending functions, Hwang–Shih–DeCani, or Pocock's and O'Brien–Fleming's
classical constant-shape bounds."""

PeekingSpending = Literal["lan-demets", "classical"]
PEEKING_SPENDINGS: tuple[PeekingSpending, ...] = get_args(PeekingSpending)
"""How :func:`stats.peeking.simulate_peeking` builds its group-sequential bounds."""
