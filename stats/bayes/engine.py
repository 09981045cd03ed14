"""Bayesian A/B analysis: parse variants, build posteriors, summarise, decide.

:func:`analyze_bayesian` is the orchestrator behind ``POST /api/bayesian``;
:func:`expected_loss_over_time` feeds the loss-over-time chart when the data has dates.
Models live in :mod:`stats.bayes.models`, decision quantities in :mod:`stats.bayes.decision`.

Pairwise quantities (P(better), lift, HDI, ROPE, guardrail risk) are computed by numerical
convolution of closed-form posteriors; joint quantities (P(best), expected loss, CVaR) come
from Miller's and Stucchio's closed forms for two Beta arms, by quadrature for two other
closed-form arms, and from joint draws otherwise (three or more arms, revenue). Revenue uses
draws throughout. Joint probabilities across metrics (P(win and every guardrail holds), the
composite score) are read from joint draws (:mod:`stats.bayes.joint`): independent metrics
unless a ``correlation`` of the metrics over the same users is given (a Gaussian copula).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from stats import _validate
from stats.bayes.decision import (
    GridDistribution,
    JointSummary,
    best_by_quadrature,
    decide,
    expected_loss_beta,
    joint_summary,
    lift_distribution,
    pair_summary,
    prob_beta_greater,
)
from stats.bayes.joint import (
    EffectPrior,
    JointComparison,
    PriorInfluence,
    apply_effect_prior,
    check_correlation,
    check_effect_prior,
    check_weights,
    joint_comparisons,
    metric_draws,
)
from stats.bayes.models import (
    BetaPosterior,
    ClosedFormPosterior,
    FloatArray,
    Posterior,
    beta_binomial_posterior,
    gamma_poisson_posterior,
    normal_mean_posterior,
    normal_ratio_posterior,
    revenue_posterior,
)
from stats.errors import InvalidInput
from stats.sufficient import (
    CountStats,
    MeanStats,
    ProportionStats,
    RatioStats,
    RevenueStats,
    mean_variants,
    named_records,
    proportion_variants,
    ratio_variants,
    stats_records,
)
from stats.vocabulary import BAYES_METRICS
from stats.warnings import Code, ResultWarning, warning

PRIORS: dict[str, dict[str, float]] = {
    "proportion": {"alpha": 1.0, "beta": 1.0},
    "mean": {},
    "count": {"shape": 0.5, "rate": 0.0},
    "revenue": {"alpha": 1.0, "beta": 1.0},
    "ratio": {},
}
MAX_DRAWS = 1_000_000
"""Most posterior draws per variant."""
MAX_TOTAL_DRAWS = 10_000_000
"""Most draws in one request: draws × variants × metrics (or × periods)."""
MAX_PERIODS = 1_000
MIN_BUYERS = 30
MAX_OVERFLOW = 1e-9
"""Largest accepted chance that a revenue draw overflows (see RevenuePosterior)."""
DENSITY_POINTS = 101
HISTOGRAM_BINS = 60


@dataclass(frozen=True, slots=True)
class VariantPosterior:
    """Posterior summary of one variant; loss and CVaR are of choosing this variant."""

    name: str
    mean: float
    ci_low: float
    ci_high: float
    prob_best: float
    expected_loss: float
    cvar: float


@dataclass(frozen=True, slots=True)
class PosteriorComparison:
    """One non-control variant against control; lifts are variant − control (absolute) and
    variant / control − 1 (relative, None when control's posterior is not positive).
    ``prob_better_and_safe`` is P(primary improves and no guardrail degrades).

    Not :class:`stats.comparisons.Comparison`: that one is a frequentist difference (estimate,
    test statistic, p-value, confidence interval); this one carries posterior quantities
    (P(better), highest-density interval, ROPE masses) that have no frequentist reading, so
    the two stay separate types with separate names."""

    variant: str
    prob_better: float
    lift_mean: float
    relative_lift_mean: float | None
    hdi_low: float
    hdi_high: float
    relative_hdi_low: float | None
    relative_hdi_high: float | None
    prob_rope_below: float
    prob_rope_inside: float
    prob_rope_above: float
    prob_better_and_safe: float


@dataclass(frozen=True, slots=True)
class PosteriorGuardrail:
    """P(guardrail metric of ``variant`` degrades beyond ``tolerance`` versus control);
    ``fails`` when that probability exceeds the guardrail's ``max_risk``.

    Not :class:`stats.abtest.GuardrailResult`, which is a non-inferiority test (pass, fail or
    inconclusive at level α): this is a posterior risk against a risk cap, a different
    decision rule with different fields."""

    guardrail: str
    variant: str
    prob_degrade: float
    fails: bool


@dataclass(frozen=True, slots=True)
class Density:
    """Posterior density of one variant's metric on a grid (empty when a point mass)."""

    name: str
    x: tuple[float, ...]
    pdf: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class LiftHistogram:
    """Density of the absolute lift of ``variant`` over control on bins ``edges``."""

    variant: str
    edges: tuple[float, ...]
    density: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class BayesianAnalysis:
    """Everything ``POST /api/bayesian`` answers. ``method`` says how the joint quantities
    were computed: "closed-form" (two arms, no draws) or "draws"."""

    metric: str
    control: str
    threshold: float
    rope: tuple[float, float]
    variants: tuple[VariantPosterior, ...]
    comparisons: tuple[PosteriorComparison, ...]
    decision: str
    best: str
    reasons: tuple[str, ...]
    guardrails: tuple[PosteriorGuardrail, ...]
    conflicts: tuple[str, ...]
    densities: tuple[Density, ...]
    lift_histograms: tuple[LiftHistogram, ...]
    method: str
    draws: int
    warnings: tuple[ResultWarning, ...] = ()
    higher_is_better: bool = True
    joint: tuple[JointComparison, ...] = ()
    dependence: str = "independent"
    weights: tuple[float, ...] | None = None
    effect_prior: EffectPrior | None = None
    prior_influence: tuple[PriorInfluence, ...] = ()


@dataclass(frozen=True, slots=True)
class LossOverTime:
    """Expected loss of choosing each variant after each period (``expected_loss[i]`` is
    the series of ``names[i]``)."""

    periods: tuple[str, ...]
    names: tuple[str, ...]
    expected_loss: tuple[tuple[float, ...], ...]


def _prior(metric: str, prior: Mapping[str, float] | None) -> dict[str, float]:
    """The metric's default prior updated with ``prior``, validated."""
    values = dict(PRIORS[metric])
    for key, value in (prior or {}).items():
        if key not in values:
            allowed = ", ".join(values) or "none"
            raise InvalidInput(
                f"prior.{key} is not a prior parameter of metric {metric!r} (allowed: {allowed})",
                field=f"prior.{key}",
            )
        check = _validate.non_negative if key == "rate" else _validate.positive
        values[key] = check(f"prior.{key}", value)
        if values[key] > _validate.MAX_COUNT:  # pseudo-counts beyond any data overflow Beta/Gamma
            raise InvalidInput(
                f"prior.{key} must be at most {_validate.MAX_COUNT:.0e}, got {value!r}",
                field=f"prior.{key}",
            )
    return values


VariantStats = ProportionStats | MeanStats | CountStats | RevenueStats | RatioStats
"""Per-variant sufficient statistics of one metric: ``proportion``, ``mean``, ``count``,
``revenue`` and ``ratio`` in turn."""
STATS_TYPES: dict[str, type[VariantStats]] = {
    "proportion": ProportionStats,
    "mean": MeanStats,
    "count": CountStats,
    "revenue": RevenueStats,
    "ratio": RatioStats,
}


def variant_stats(
    metric: str, records: Sequence[Mapping[str, Any]], field: str = "variants"
) -> tuple[VariantStats, ...]:
    """Parse JSON variant records of ``metric`` into typed statistics.

    ``proportion``: {name, users, conversions} → :class:`ProportionStats`; ``mean``: {name,
    users, mean, sd} → :class:`MeanStats`; ``count``: {name, users, total} →
    :class:`CountStats`; ``revenue``: {name, amounts} (per-user amounts with zeros) →
    :class:`RevenueStats`; ``ratio``: {name, users, numerator_mean, denominator_mean,
    numerator_sd, denominator_sd, covariance} → :class:`RatioStats`. Errors name
    ``field[i].key`` (``metric`` for an unknown metric).
    """
    metric = _validate.choice("metric", metric, BAYES_METRICS)
    if metric == "proportion":
        return proportion_variants(records, field)
    if metric == "mean":
        return mean_variants(records, field)
    if metric == "count":
        keys = {"name": "name", "users": "users", "total": "total"}
        return stats_records(records, CountStats, keys, field)
    if metric == "ratio":
        return ratio_variants(records, field)
    out: list[VariantStats] = []
    for where, rec in named_records(records, field, ("name", "amounts")):
        try:
            out.append(RevenueStats.from_amounts(rec["name"], rec["amounts"]))
        except InvalidInput as exc:
            raise exc.within(f"{where}.") from None
    return tuple(out)


def _posterior(s: VariantStats, prior: dict[str, float]) -> Posterior:
    """The posterior of one variant's statistics (errors name the statistic's field)."""
    if isinstance(s, ProportionStats):
        return beta_binomial_posterior(s.users, s.conversions, prior["alpha"], prior["beta"])
    if isinstance(s, MeanStats):
        if s.n < 2:
            raise InvalidInput(f"users must be a whole number >= 2, got {s.n}", field="users")
        return normal_mean_posterior(s.n, s.mean, s.sd)
    if isinstance(s, CountStats):
        return gamma_poisson_posterior(s.users, s.total, prior["shape"], prior["rate"])
    if isinstance(s, RatioStats):
        return normal_ratio_posterior(s)
    post = revenue_posterior(s, prior["alpha"], prior["beta"])
    if post.overflow_probability() > MAX_OVERFLOW:
        raise InvalidInput(
            f"amounts must have more buyers: with {post.buyers} positive "
            "amounts the log-normal tail of mean revenue is unbounded",
            field="amounts",
        )
    return post


def _data_warning(s: VariantStats) -> ResultWarning | None:
    if isinstance(s, ProportionStats) and s.conversions == 0:
        return warning(
            Code.PRIOR_ONLY, f"{s.name} has no conversions: its posterior rests on the prior."
        )
    if isinstance(s, MeanStats) and s.sd == 0.0:
        return warning(
            Code.ZERO_VARIANCE, f"{s.name} has zero standard deviation: its posterior is a point."
        )
    if isinstance(s, CountStats) and s.total == 0:
        return warning(
            Code.PRIOR_ONLY, f"{s.name} has no events: its posterior rests on the prior."
        )
    if isinstance(s, RevenueStats) and s.buyers < MIN_BUYERS:
        return warning(
            Code.FEW_BUYERS,
            f"{s.name} has only {s.buyers} buyers: the log-normal tail makes "
            "its revenue posterior unstable.",
        )
    return None


def _posteriors(
    metric: str,
    stats: Sequence[VariantStats],
    prior: dict[str, float],
    field: str,
) -> tuple[tuple[str, ...], tuple[Posterior, ...], list[ResultWarning]]:
    """Names, posteriors and data warnings of ``stats`` for ``metric``."""
    if isinstance(stats, str | bytes) or not isinstance(stats, Sequence):
        raise InvalidInput(f"{field} must be a list of statistics, got {stats!r}", field=field)
    posts: list[Posterior] = []
    names: list[str] = []
    warns: list[ResultWarning] = []
    kind = STATS_TYPES[metric]
    for i, s in enumerate(stats):
        where = f"{field}[{i}]"
        if not isinstance(s, kind):
            raise InvalidInput(
                f"{where} must be {kind.__name__} for metric {metric!r}, got {s!r}", field=where
            )
        if s.name in names:
            raise InvalidInput(
                f"{where}.name must be unique, got {s.name!r} twice", field=f"{where}.name"
            )
        try:
            posts.append(_posterior(s, prior))
        except InvalidInput as exc:
            raise exc.within(f"{where}.") from None
        names.append(s.name)
        note = _data_warning(s)
        if note is not None:
            warns.append(note)
    if len(posts) < 2:
        raise InvalidInput(f"{field} must have at least 2 entries, got {len(posts)}", field=field)
    return tuple(names), tuple(posts), warns


def _draw_matrix(posts: Sequence[Posterior], rng: np.random.Generator, draws: int) -> FloatArray:
    return np.vstack([p.draws(rng, draws) for p in posts])


class _Pairs:
    """Lift distributions of each variant against control, each computed once: by
    convolution when both posteriors are closed-form (and the grid fits), else from draws
    (rows of the joint ``samples`` when given, or fresh draws of the pair)."""

    def __init__(
        self,
        posts: Sequence[Posterior],
        control: int,
        rng: np.random.Generator,
        draws: int,
        samples: FloatArray | None,
    ) -> None:
        self.posts, self.control, self.rng, self.draws = posts, control, rng, draws
        self.samples = samples
        self.drew = samples is not None
        self._lifts: dict[tuple[int, bool], GridDistribution | None] = {}
        self._pairs: dict[int, FloatArray] = {}

    def _pair(self, i: int) -> FloatArray:
        if self.samples is not None:
            return self.samples[[self.control, i]]
        if i not in self._pairs:
            pair = [self.posts[self.control], self.posts[i]]
            self._pairs[i] = _draw_matrix(pair, self.rng, self.draws)
            self.drew = True
        return self._pairs[i]

    def lift(self, i: int) -> GridDistribution:
        """Distribution of θ_i − θ_control."""
        grid = self._lift(i, relative=False)
        assert grid is not None
        return grid

    def relative_lift(self, i: int) -> GridDistribution | None:
        """Distribution of θ_i / θ_control − 1; None unless both posteriors are positive
        (closed-form: beyond their extreme quantiles; draws: every control draw)."""
        return self._lift(i, relative=True)

    def _lift(self, i: int, relative: bool) -> GridDistribution | None:
        key = (i, relative)
        if key not in self._lifts:
            self._lifts[key] = self._compute(i, relative)
        return self._lifts[key]

    def _compute(self, i: int, relative: bool) -> GridDistribution | None:
        c, v = self.posts[self.control], self.posts[i]
        if isinstance(c, ClosedFormPosterior) and isinstance(v, ClosedFormPosterior):
            grid = lift_distribution(c, v, relative=relative)
            if grid is not None or relative:
                return grid
        cs, vs = self._pair(i)
        if relative:
            return GridDistribution.from_samples(vs / cs - 1.0) if np.all(cs > 0.0) else None
        return GridDistribution.from_samples(vs - cs)


def _summaries(
    posts: Sequence[Posterior],
    control: int,
    rng: np.random.Generator,
    draws: int,
    higher_is_better: bool = True,
) -> tuple[JointSummary, _Pairs]:
    """P(best), expected loss and CVaR: exact or by quadrature for two closed-form arms;
    for more, P(best) and expected loss by quadrature when every posterior is closed-form
    (:func:`~stats.bayes.decision.best_by_quadrature`) and CVaR from joint draws, else all
    three from joint draws; with the pairwise lifts against control.

    Lower is better: for two arms the loss of choosing one is the other's loss when higher
    is better (E[max(θ_v − θ_c, 0)] for v), so the two arms' entries swap; for more, all three
    come from the negated joint draws."""
    if len(posts) == 2 and all(isinstance(p, ClosedFormPosterior) for p in posts):
        pairs = _Pairs(posts, control, rng, draws, None)
        other = 1 - control
        c, v = posts[control], posts[other]
        assert isinstance(c, ClosedFormPosterior) and isinstance(v, ClosedFormPosterior)
        s = pair_summary(pairs.lift(other), c, v)
        order = (0, 1) if (control == 0) == higher_is_better else (1, 0)
        summary = JointSummary(
            tuple(s.prob_best[j] for j in order),
            tuple(s.expected_loss[j] for j in order),
            tuple(s.cvar[j] for j in order),
        )
        return summary, pairs
    samples = _draw_matrix(posts, rng, draws)
    summary = joint_summary(samples if higher_is_better else -samples)
    if higher_is_better and all(isinstance(p, ClosedFormPosterior) for p in posts):
        # P(best) and expected loss exactly, by quadrature (the draws keep CVaR)
        exact = best_by_quadrature([p for p in posts if isinstance(p, ClosedFormPosterior)])
        if exact is not None:
            summary = JointSummary(exact[0], exact[1], summary.cvar)
    return summary, _Pairs(posts, control, rng, draws, samples)


def _parse_common(
    metric: str,
    variants: Sequence[VariantStats],
    control: str,
    prior: Any,
    field: str = "variants",
) -> tuple[tuple[str, ...], tuple[Posterior, ...], list[ResultWarning]]:
    """Validate metric, prior, the variant statistics (errors name ``field``) and control."""
    metric = _validate.choice("metric", metric, BAYES_METRICS)
    if prior is not None and not isinstance(prior, Mapping):
        raise InvalidInput(f"prior must be an object, got {prior!r}", field="prior")
    names, posts, warns = _posteriors(metric, variants, _prior(metric, prior), field)
    _validate.choice("control", control, names)
    return names, posts, warns


def _draws(draws: int, units: int) -> int:
    n = _validate.count("draws", draws, minimum=1_000)
    if n > MAX_DRAWS:
        raise InvalidInput(f"draws must be <= {MAX_DRAWS:,}, got {draws!r}", field="draws")
    if n * units > MAX_TOTAL_DRAWS:
        raise InvalidInput(
            f"draws × variants × metrics must be <= {MAX_TOTAL_DRAWS:,}, got {n * units:,}",
            field="draws",
        )
    return n


def _seed(seed: int | None) -> np.random.Generator:
    return np.random.default_rng(None if seed is None else _validate.count("seed", seed))


@dataclass(frozen=True, slots=True)
class GuardrailSpec:
    """A guardrail metric of a Bayesian analysis: per-variant statistics of ``metric``, the
    absolute worsening it tolerates, the better direction, the largest acceptable
    probability of degrading beyond ``tolerance`` and the metric's prior (its default when
    None). :func:`analyze_bayesian` validates it (errors name ``guardrails[k].field``)."""

    name: str
    metric: str
    variants: tuple[VariantStats, ...]
    tolerance: float
    higher_is_better: bool = True
    max_risk: float = 0.1
    prior: Mapping[str, float] | None = None


def guardrail_specs(records: Sequence[Mapping[str, Any]]) -> tuple[GuardrailSpec, ...]:
    """Parse JSON guardrails {name, metric, variants, tolerance, higher_is_better = true,
    max_risk = 0.1, prior} into :class:`GuardrailSpec` (``variants`` by
    :func:`variant_stats`); errors name ``guardrails[k].key``."""
    out: list[GuardrailSpec] = []
    keys = ("name", "metric", "variants", "tolerance")
    for where, spec in named_records(records, "guardrails", keys):
        metric = _validate.choice(f"{where}.metric", spec["metric"], BAYES_METRICS)
        prior = spec.get("prior")
        if prior is not None and not isinstance(prior, Mapping):
            raise InvalidInput(
                f"{where}.prior must be an object, got {prior!r}", field=f"{where}.prior"
            )
        try:
            _prior(metric, prior)  # checked before the variants, as the engine does
        except InvalidInput as exc:
            raise exc.within(f"{where}.") from None
        variants = variant_stats(metric, spec["variants"], f"{where}.variants")
        out.append(
            GuardrailSpec(
                spec["name"],
                metric,
                variants,
                spec["tolerance"],
                spec.get("higher_is_better", True),
                spec.get("max_risk", 0.1),
                prior,
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class _Guardrail:
    name: str
    tolerance: float
    higher_is_better: bool
    max_risk: float
    posts: tuple[Posterior, ...]


def _guardrails(
    specs: Sequence[GuardrailSpec], names: tuple[str, ...]
) -> tuple[list[_Guardrail], list[ResultWarning]]:
    out: list[_Guardrail] = []
    warns: list[ResultWarning] = []
    for k, spec in enumerate(specs):
        where = f"guardrails[{k}]"
        if not isinstance(spec, GuardrailSpec):
            raise InvalidInput(f"{where} must be a GuardrailSpec, got {spec!r}", field=where)
        metric = _validate.choice(f"{where}.metric", spec.metric, BAYES_METRICS)
        prior = spec.prior
        if prior is not None and not isinstance(prior, Mapping):
            raise InvalidInput(
                f"{where}.prior must be an object, got {prior!r}", field=f"{where}.prior"
            )
        try:
            values = _prior(metric, prior)
        except InvalidInput as exc:
            raise exc.within(f"{where}.") from None
        g_names, posts, g_warns = _posteriors(metric, spec.variants, values, f"{where}.variants")
        if set(g_names) != set(names):
            raise InvalidInput(
                f"{where}.variants must name the same variants as variants "
                f"({', '.join(names)}), got ({', '.join(g_names)})",
                field=f"{where}.variants",
            )
        higher = spec.higher_is_better
        if not isinstance(higher, bool):
            raise InvalidInput(
                f"{where}.higher_is_better must be true or false, got {higher!r}",
                field=f"{where}.higher_is_better",
            )
        out.append(
            _Guardrail(
                spec.name,
                _validate.non_negative(f"{where}.tolerance", spec.tolerance),
                higher,
                _validate.in_open_unit(f"{where}.max_risk", spec.max_risk),
                tuple(posts[g_names.index(n)] for n in names),
            )
        )
        warns += [warning(w.code, f"Guardrail {spec.name}: {w.message}") for w in g_warns]
    return out, warns


def _guardrail_risks(
    g: _Guardrail, control: int, rng: np.random.Generator, draws: int
) -> list[float]:
    """P(variant degrades beyond tolerance) for each variant (0 for control)."""
    samples = None
    if not all(isinstance(p, ClosedFormPosterior) for p in g.posts):
        samples = _draw_matrix(g.posts, rng, draws)
    pairs = _Pairs(g.posts, control, rng, draws, samples)
    risks = []
    for i in range(len(g.posts)):
        if i == control:
            risks.append(0.0)
        elif g.higher_is_better:
            risks.append(float(pairs.lift(i).cdf(-g.tolerance)))
        else:
            risks.append(float(1.0 - pairs.lift(i).cdf(g.tolerance)))
    return risks


def _density(name: str, post: Posterior, samples: FloatArray | None) -> Density:
    if isinstance(post, ClosedFormPosterior):
        lo, hi = post.ppf(np.array([0.0005, 0.9995]))
        if not hi > lo:
            return Density(name, (), ())
        x = np.linspace(lo, hi, DENSITY_POINTS)
        return Density(name, tuple(x.tolist()), tuple(post.pdf(x).tolist()))
    assert samples is not None
    lo, hi = np.quantile(samples, [0.0005, 0.9995])
    pdf, edges = np.histogram(samples, bins=HISTOGRAM_BINS, range=(lo, hi))
    pdf = pdf / (samples.size * np.diff(edges))
    return Density(name, tuple(((edges[:-1] + edges[1:]) / 2).tolist()), tuple(pdf.tolist()))


def _histogram(
    variant: str, lift: GridDistribution, hdi: tuple[float, float], rope: tuple[float, float]
) -> LiftHistogram:
    lo, hi = min(hdi[0], rope[0]), max(hdi[1], rope[1])
    pad = 0.25 * (hdi[1] - hdi[0]) or 1e-9
    edges = np.linspace(lo - pad, hi + pad, HISTOGRAM_BINS + 1)
    return LiftHistogram(variant, tuple(edges.tolist()), tuple(lift.density(edges).tolist()))


def analyze_bayesian(
    metric: str,
    variants: Sequence[VariantStats],
    *,
    control: str,
    threshold: float,
    prior: Mapping[str, float] | None = None,
    rope: Sequence[float] = (0.0, 0.0),
    draws: int = 100_000,
    seed: int | None = None,
    guardrails: Sequence[GuardrailSpec] = (),
    higher_is_better: bool = True,
    effect_prior: EffectPrior | None = None,
    correlation: Sequence[Sequence[float]] | None = None,
    weights: Sequence[float] | None = None,
) -> BayesianAnalysis:
    """Bayesian analysis of an A/B/n test on one primary metric, with optional guardrails.

    ``metric`` is "proportion" (variants :class:`ProportionStats`; prior {alpha, beta},
    default Beta(1, 1)), "mean" (:class:`MeanStats`, at least 2 users each; reference prior,
    no parameters), "count" (:class:`CountStats`, at least 1 user each; prior {shape, rate},
    default Jeffreys Gamma(1/2, 0)), "revenue" (:class:`RevenueStats`, at least 2 buyers
    each; prior {alpha, beta} on the share of buyers) or "ratio" (:class:`RatioStats`, a
    ratio of means such as revenue per order; the normal approximation of
    :func:`stats.bayes.models.normal_ratio_posterior`, no prior parameters); :func:`variant_stats` parses JSON
    records. Higher is better for the primary metric. ``threshold`` is the threshold of
    caring for expected loss, in metric units; ``rope`` = (low, high) bounds a negligible
    absolute lift. A :class:`GuardrailSpec` (:func:`guardrail_specs` parses JSON) degrades
    when the variant is worse than control by more than its ``tolerance`` (absolute), and
    fails when that has probability above its ``max_risk``.

    ``higher_is_better=False`` makes a lower primary metric better (P(better), P(best),
    expected loss and the decision follow). Across metrics (:mod:`stats.bayes.joint`):
    ``prob_better_and_safe`` and ``joint`` come from joint draws, independent unless
    ``correlation`` (primary then guardrails, the per-user correlation of metrics measured on
    the same users) is given; ``weights`` (one per metric) add a composite score;
    ``effect_prior`` puts a normal prior on each variant's absolute lift (the comparisons,
    P(best), expected loss and decision then use the lift's conjugate posterior).
    """
    names, posts, warns = _parse_common(metric, variants, control, prior)
    if not isinstance(higher_is_better, bool):
        raise InvalidInput(
            f"higher_is_better must be true or false, got {higher_is_better!r}",
            field="higher_is_better",
        )
    effect_prior = check_effect_prior(effect_prior)
    c = names.index(control)
    threshold = _validate.non_negative("threshold", threshold)
    if isinstance(rope, str | bytes) or not isinstance(rope, Sequence) or len(rope) != 2:
        raise InvalidInput(f"rope must be a pair [low, high], got {rope!r}", field="rope")
    band = (_validate.finite("rope[0]", rope[0]), _validate.finite("rope[1]", rope[1]))
    if band[0] > band[1]:
        raise InvalidInput(
            f"rope must have low <= high, got [{rope[0]!r}, {rope[1]!r}]", field="rope"
        )
    if isinstance(guardrails, str | bytes) or not isinstance(guardrails, Sequence):
        raise InvalidInput(
            f"guardrails must be a list of objects, got {guardrails!r}", field="guardrails"
        )
    rails, g_warns = _guardrails(guardrails, names)
    corr = check_correlation(correlation, 1 + len(rails))
    weights = check_weights(weights, 1 + len(rails))
    n_draws = _draws(draws, len(names) * (1 + len(rails)))
    rng = _seed(seed)

    summary, pairs = _summaries(posts, c, rng, n_draws, higher_is_better)
    samples = pairs.samples
    risks = [_guardrail_risks(g, c, rng, n_draws) for g in rails]
    joint: tuple[JointComparison, ...] = ()
    influence: tuple[PriorInfluence, ...] = ()
    lifts: dict[int, GridDistribution] = {}
    rels: dict[int, GridDistribution | None] = {}
    if rails or effect_prior is not None or weights is not None:
        metric_posts = [posts, *(g.posts for g in rails)]
        together = metric_draws(metric_posts, corr, rng, n_draws)
        if effect_prior is not None:
            together[0], influence = apply_effect_prior(together[0], names, c, effect_prior)
            sign = 1.0 if higher_is_better else -1.0
            summary = joint_summary(sign * together[0])
            base = together[0, c]
            for i in range(len(names)):
                if i != c:
                    lifts[i] = GridDistribution.from_samples(together[0, i] - base)
                    if np.all(base > 0):
                        rels[i] = GridDistribution.from_samples(together[0, i] / base - 1.0)
        directions = [higher_is_better, *(g.higher_is_better for g in rails)]
        tolerances = [0.0, *(g.tolerance for g in rails)]
        joint = joint_comparisons(names, c, together, directions, tolerances, weights)
    variant_rows = []
    for i, (name, post) in enumerate(zip(names, posts, strict=True)):
        if isinstance(post, ClosedFormPosterior):
            mean, (lo, hi) = post.mean, post.interval()
        else:
            assert samples is not None
            mean = float(samples[i].mean())
            lo, hi = (float(q) for q in np.quantile(samples[i], [0.025, 0.975]))
        variant_rows.append(
            VariantPosterior(
                name, mean, lo, hi, summary.prob_best[i], summary.expected_loss[i], summary.cvar[i]
            )
        )

    comparisons, histograms = [], []
    for i, (name, post) in enumerate(zip(names, posts, strict=True)):
        if i == c:
            continue
        lift = lifts.get(i) or pairs.lift(i)
        rel = rels.get(i) if lifts else pairs.relative_lift(i)
        if rel is None:
            warns.append(
                warning(
                    Code.LIFT_UNDEFINED,
                    f"Relative lift of {name} is not reported: the posteriors of {name} and "
                    f"{names[c]} are not both clearly positive.",
                )
            )
        c_post, v_post = posts[c], post
        exact = isinstance(c_post, BetaPosterior) and isinstance(v_post, BetaPosterior)
        if exact and not lifts:
            assert isinstance(c_post, BetaPosterior) and isinstance(v_post, BetaPosterior)
            p_better = prob_beta_greater(v_post.alpha, v_post.beta, c_post.alpha, c_post.beta)
        else:
            p_better = float(1.0 - lift.cdf(0.0))
        if not higher_is_better:
            p_better = 1.0 - p_better
        hdi = lift.hdi()
        rel_hdi = rel.hdi() if rel is not None else (None, None)
        below, at_or_below_high = (float(p) for p in lift.cdf(np.array(band)))
        together_p = next((j.prob_win_and_safe for j in joint if j.variant == name), None)
        comparisons.append(
            PosteriorComparison(
                name,
                p_better,
                lift.mean if lifts else variant_rows[i].mean - variant_rows[c].mean,
                rel.mean if rel is not None else None,
                hdi[0],
                hdi[1],
                rel_hdi[0],
                rel_hdi[1],
                below,
                at_or_below_high - below,
                1.0 - at_or_below_high,
                p_better if together_p is None or not rails else together_p,
            )
        )
        histograms.append(_histogram(name, lift, hdi, band))

    decision = decide(names, summary, control, threshold, points=metric == "proportion")
    guard_rows, conflicts = [], []
    for g, r in zip(rails, risks, strict=True):
        for i, name in enumerate(names):
            if i == c:
                continue
            fails = r[i] > g.max_risk
            guard_rows.append(PosteriorGuardrail(g.name, name, r[i], fails))
            if fails and decision.decision == "ship" and name == decision.best:
                conflicts.append(
                    f"{name} wins on the primary metric but guardrail {g.name} degrades beyond "
                    f"its tolerance ({g.tolerance:g}) with probability {r[i]:.0%}."
                )
    reasons = decision.reasons + tuple(
        f"Conflict: {text} Review before shipping." for text in conflicts
    )
    densities = tuple(
        _density(n, p, None if samples is None else samples[i])
        for i, (n, p) in enumerate(zip(names, posts, strict=True))
    )
    warns += g_warns
    return BayesianAnalysis(
        metric=metric,
        control=control,
        threshold=threshold,
        rope=band,
        variants=tuple(variant_rows),
        comparisons=tuple(comparisons),
        decision=decision.decision,
        best=decision.best,
        reasons=reasons,
        guardrails=tuple(guard_rows),
        conflicts=tuple(conflicts),
        densities=densities,
        lift_histograms=tuple(histograms),
        method="draws" if pairs.drew or joint else "closed-form",
        draws=n_draws if pairs.drew or joint else 0,
        warnings=tuple(dict.fromkeys(warns)),
        higher_is_better=higher_is_better,
        joint=joint,
        dependence="independent" if corr is None else "correlated",
        weights=weights,
        effect_prior=effect_prior,
        prior_influence=influence,
    )


def period_stats(
    metric: str, records_by_period: Sequence[Sequence[Mapping[str, Any]]]
) -> tuple[tuple[VariantStats, ...], ...]:
    """:func:`variant_stats` of each period's JSON records; errors name
    ``variants_by_period[t]…`` and carry ``row = t + 1``."""
    if isinstance(records_by_period, str | bytes) or not isinstance(records_by_period, Sequence):
        raise InvalidInput(
            f"variants_by_period must be a list of lists, got {records_by_period!r}",
            field="variants_by_period",
        )
    out = []
    for t, records in enumerate(records_by_period):
        field = f"variants_by_period[{t}]"
        try:
            out.append(variant_stats(metric, records, field))
        except InvalidInput as exc:
            if not (exc.field or "").startswith(field):
                raise
            raise InvalidInput(exc.message, field=exc.field, row=t + 1) from None
    return tuple(out)


def expected_loss_over_time(
    metric: str,
    periods: Sequence[str],
    variants_by_period: Sequence[Sequence[VariantStats]],
    *,
    control: str,
    prior: Mapping[str, float] | None = None,
    draws: int = 20_000,
    seed: int | None = None,
    higher_is_better: bool = True,
) -> LossOverTime:
    """Expected loss of choosing each variant, recomputed on the cumulative data of each period.

    ``variants_by_period[t]`` holds the cumulative variant statistics up to ``periods[t]``, as
    :func:`analyze_bayesian` takes them (:func:`period_stats` parses JSON). Two Beta arms use Stucchio's closed form
    (:func:`stats.bayes.decision.expected_loss_beta`); other cases as in
    :func:`analyze_bayesian` (quadrature for two closed-form arms, else ``draws`` joint draws
    per period). ``higher_is_better=False``: a lower metric is better, as in
    :func:`analyze_bayesian`.
    """
    if isinstance(periods, str | bytes) or not isinstance(periods, Sequence):
        raise InvalidInput(f"periods must be a list of labels, got {periods!r}", field="periods")
    if len(periods) != len(variants_by_period) or not 1 <= len(periods) <= MAX_PERIODS:
        raise InvalidInput(
            f"periods must have between 1 and {MAX_PERIODS} entries, one per entry of "
            f"variants_by_period ({len(variants_by_period)}), got {len(periods)}",
            field="periods",
        )
    rng = _seed(seed)
    series: list[tuple[float, ...]] = []
    names: tuple[str, ...] = ()
    n_draws = 0
    for t, records in enumerate(variants_by_period):
        field = f"variants_by_period[{t}]"
        try:
            p_names, posts, _ = _parse_common(metric, records, control, prior, field)
        except InvalidInput as exc:  # a period's data: ``row`` says which (1-based)
            if not (exc.field or "").startswith(field):
                raise
            raise InvalidInput(exc.message, field=exc.field, row=t + 1) from None
        if t == 0:
            names = p_names
            n_draws = _draws(draws, len(names) * len(periods))
        elif set(p_names) != set(names):
            raise InvalidInput(
                f"{field} must name the same variants as variants_by_period[0] "
                f"({', '.join(names)}), got ({', '.join(p_names)})",
                field=field,
                row=t + 1,
            )
        posts = tuple(posts[p_names.index(n)] for n in names)
        c = names.index(control)
        if len(posts) == 2 and all(isinstance(p, BetaPosterior) for p in posts):
            a, b = posts
            assert isinstance(a, BetaPosterior) and isinstance(b, BetaPosterior)
            pair = (
                expected_loss_beta(b.alpha, b.beta, a.alpha, a.beta),
                expected_loss_beta(a.alpha, a.beta, b.alpha, b.beta),
            )
            series.append(pair if higher_is_better else pair[::-1])
        else:
            summary, _ = _summaries(posts, c, rng, n_draws, higher_is_better)
            series.append(summary.expected_loss)
    return LossOverTime(
        tuple(str(p) for p in periods),
        names,
        tuple(tuple(s[i] for s in series) for i in range(len(names))),
    )


LOSS_DRAWS = 10_000
"""Most joint draws per period for :func:`loss_over_time` (a chart, not a decision)."""


def loss_over_time(
    metric: str,
    periods: Sequence[str],
    variants_by_period: Sequence[Sequence[VariantStats]],
    *,
    control: str,
    prior: Mapping[str, float] | None = None,
    draws: int = LOSS_DRAWS,
    seed: int | None = None,
    higher_is_better: bool = True,
) -> LossOverTime | None:
    """:func:`expected_loss_over_time` within the work cap, from the first period the model
    can take.

    The draws per period are ``draws`` capped at :data:`LOSS_DRAWS` and at what
    :data:`MAX_TOTAL_DRAWS` allows over every variant and period (never fewer than 1,000).
    Early periods whose data the model refuses (a variant with too few users or buyers so
    far) are left out: the series starts after the last such period, and is None when every
    period is too early. Other invalid input raises :class:`~stats.errors.InvalidInput`.
    """
    periods, by_period = list(periods), list(variants_by_period)
    variants = max((len(records) for records in by_period), default=0)
    units = max(1, variants * len(periods))
    n_draws = min(draws, LOSS_DRAWS, max(1_000, MAX_TOTAL_DRAWS // units))
    while periods:
        try:
            return expected_loss_over_time(
                metric,
                periods,
                by_period,
                control=control,
                prior=prior,
                draws=n_draws,
                seed=seed,
                higher_is_better=higher_is_better,
            )
        except InvalidInput as exc:  # a period too early for the model: start after it
            if exc.row is None or not (exc.field or "").startswith("variants_by_period["):
                raise
            periods, by_period = periods[exc.row :], by_period[exc.row :]
    return None
