"""Bayesian A/B testing: conjugate posteriors, decision quantities, honest stopping.

- :mod:`stats.bayes.models`: one posterior per metric (Beta, Student-t, Gamma, hurdle
  log-normal revenue), built from the typed sufficient statistics of :mod:`stats.sufficient`.
- :mod:`stats.bayes.decision`: P(better), P(best), expected loss, CVaR, lift distributions.
- :mod:`stats.bayes.engine`: :func:`analyze_bayesian` (the orchestrator behind
  ``POST /api/bayesian``) and :func:`expected_loss_over_time`, on typed statistics;
  :func:`variant_stats`, :func:`period_stats` and :func:`guardrail_specs` parse JSON records.
- :mod:`stats.bayes.stopping`: the expected-loss stopping-rule simulation.
"""

from stats.bayes.engine import (
    BayesianAnalysis,
    GuardrailSpec,
    LossOverTime,
    PosteriorComparison,
    PosteriorGuardrail,
    analyze_bayesian,
    expected_loss_over_time,
    guardrail_specs,
    period_stats,
    variant_stats,
)

__all__ = [
    "BayesianAnalysis",
    "GuardrailSpec",
    "LossOverTime",
    "PosteriorComparison",
    "PosteriorGuardrail",
    "analyze_bayesian",
    "expected_loss_over_time",
    "guardrail_specs",
    "period_stats",
    "variant_stats",
]
