"""``POST /api/abtest``'s contract: the request model and the answer's result type.

The request is validated here (types, choices, list lengths); the analysis
(:mod:`blueprints.abtest.analysis`) then reads the validated fields, and ``stats`` checks the
ranges and the numbers' consistency, naming the field (``variants[1].conversions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field
from typing_extensions import TypedDict  # pydantic reads TypedDicts from here on 3.11

from blueprints._contract import Body, Column, Whole
from blueprints._source import Events, EventsSummary, SourceFields, SourceSummary
from sources.reduce import MAX_SEGMENTS
from sources.tabular import MAX_VARIANTS
from stats.abtest import Analysis, EffectType
from stats.comparisons import Correction, Direction, PairMode
from stats.distribution import Distribution
from stats.quantiles import QuantileAnalysis, QuantileMethod
from stats.relative import RelativeInterval
from stats.sufficient import MeanStats, ProportionStats, RatioStats
from stats.vocabulary import Alternative

MAX_GUARDRAILS = 20
"""Most guardrail metrics in one request (each is a full comparison of every variant)."""


class Variant(Body):
    """{name, users, conversions} for a conversion metric, {name, users, mean, sd} for a
    mean, {name, users, numerator_mean, denominator_mean, numerator_sd, denominator_sd,
    covariance} for a ratio metric (per-user moments of numerator and denominator)."""

    name: str
    users: float
    conversions: float | None = None
    mean: float | None = None
    sd: float | None = None
    numerator_mean: float | None = Field(None, description="Ratio: mean numerator per user.")
    denominator_mean: float | None = Field(
        None, description="Ratio: mean denominator per user (orders, impressions), > 0."
    )
    numerator_sd: float | None = None
    denominator_sd: float | None = None
    covariance: float | None = Field(
        None, description="Ratio: sample covariance of numerator and denominator per user."
    )


Variants = Annotated[list[Variant], Field(max_length=MAX_VARIANTS)]


class Guardrail(Body):
    """A metric that must not get worse: typed ``variants``, or with a CSV or a source the
    column named by ``metric``."""

    metric: str
    variants: Variants | None = None
    kind: Literal["binary", "continuous"] | None = None
    direction: Direction = "higher"
    tolerance: float = Field(
        0.0,
        description="The worsening tolerated (absolute units, or a fraction of control's "
        "value), ≥ 0.",
    )
    tolerance_type: EffectType = "absolute"


class Segment(Body):
    """One segment's typed numbers, its variants as in ``variants``."""

    name: str
    variants: Variants


class AbtestRequest(SourceFields):
    """Typed numbers in variants, or a csv string with an optional column mapping (columns
    left out are detected), or a configured source and table with variant and metric (and
    guardrails) naming columns, or a source with events (the event schema)."""

    metric: str | None = Field(
        None,
        description="Typed numbers: proportion, mean or ratio. With a CSV or a source: the "
        "metric column (with numerator and denominator columns instead, a ratio metric).",
    )
    variants: Variants | None = None
    guardrails: Annotated[list[Guardrail], Field(max_length=MAX_GUARDRAILS)] | None = None
    segments: Annotated[list[Segment], Field(max_length=MAX_SEGMENTS)] | None = Field(
        None,
        description="Typed numbers by segment: each segment's variants as in variants (which "
        "stay the totals); answered as with a segment column.",
    )
    csv: str | None = Field(None, description="CSV text (instead of variants).")
    events: Events | None = None
    control: str | None = Field(None, description="The control variant; guessed when left out.")
    alpha: float = Field(0.05, description="Significance level, in (0, 0.5].")
    alternative: Alternative = "two-sided"
    direction: Direction = Field(
        "higher", description="Whether a higher or a lower primary metric is better."
    )
    min_effect: float = Field(
        0.0, description="The minimum worthwhile effect (the practical-significance gate), ≥ 0."
    )
    min_effect_type: EffectType = "absolute"
    planned_split: list[float] | None = Field(
        None, description="Planned traffic weights per variant (default equal), for the SRM check."
    )
    noninferiority_margin: float | None = Field(
        None,
        description="Test the primary metric for non-inferiority at this margin (absolute units).",
    )
    correction: Correction = Field(
        "holm",
        description="Multiplicity correction across comparisons: Holm or Bonferroni "
        "(family-wise, Bonferroni intervals) or Benjamini–Hochberg (false discovery rate, with "
        "Benjamini–Yekutieli FCR-adjusted intervals at level 1 − R·α/m).",
    )
    relative_interval: RelativeInterval = Field(
        "dual",
        description="The relative lift's interval: dual to the test (the score interval for "
        "the risk ratio for conversions, Fieller's for means; excludes 0 exactly when the test "
        "rejects) or the delta method.",
    )
    comparisons: PairMode = Field(
        "control", description="Each variant against control, or every pair of variants (all)."
    )
    quantiles: list[float] = Field(
        [0.5, 0.9],
        description="One row per user with a continuous metric: the quantile levels (at most "
        "5, each in (0, 1)) whose difference between each variant and control is estimated "
        "([] for none).",
    )
    quantile_method: QuantileMethod = Field(
        "order-statistic",
        description="order-statistic: each arm's distribution-free binomial-rank interval "
        "gives its standard error, combined for independent users (as gbstats' "
        "QuantileStatistic); bootstrap: a seeded percentile bootstrap (no p-value; uploads "
        "only).",
    )
    bootstrap_resamples: Whole = Field(
        2000,
        description="Resamples of the bootstrap (1,000 to 20,000); values × quantiles × "
        "resamples is capped at 25 million.",
    )
    seed: Whole | None = Field(None, description="Seed of the bootstrap.")
    variant: Column | None = Field(None, description="Column holding the variant.")
    kind: Literal["binary", "continuous"] | None = None
    numerator: Column | None = Field(
        None,
        description="Row per user: the numerator column of a ratio metric (revenue of revenue "
        "per order); with denominator.",
    )
    denominator: Column | None = Field(
        None,
        description="Row per user: the denominator column of a ratio metric (orders, impressions).",
    )
    user_id: Column | None = Field(None, description="Column of user ids (duplicates are warned).")
    users: Column | None = Field(None, description="Row per variant: the column of users.")
    sd: Column | None = Field(None, description="Row per variant: the standard-deviation column.")
    segment: Column | None = Field(
        None,
        description="Row per user (CSV or source): the column of segments (device, country …); "
        "each treatment is then compared with control within each segment (a ratio metric by "
        "the delta method), as /api/segments does: result.segments, result.heterogeneity and "
        "result.segment_analyses.",
    )


Stats = tuple[ProportionStats, ...] | tuple[MeanStats, ...] | tuple[RatioStats, ...]


class Inputs(TypedDict):
    """The sufficient statistics analysed: the primary metric's, and each guardrail's."""

    primary: Stats
    guardrails: dict[str, Stats]


@dataclass(frozen=True, slots=True, kw_only=True)
class AbtestAnswer(Analysis):
    """The analysis with its inputs, and what the data mode adds: ``mapping`` (a CSV's
    layout, column per role, candidates and variants), ``csv`` (rows read, blank cells per
    column, delimiter, BOM, header), ``distribution`` (row-level continuous data: binned
    shares and quantiles per variant), ``source`` (the source and table or events, rows read,
    used and left out), ``quantiles`` (row-level continuous data: each quantile difference);
    with a segment column or typed segments, ``segments`` (one row per treatment and segment:
    variant, control, name, estimate, se, ci_low, ci_high, pvalue, pvalue_adjusted,
    shrunk_estimate, shrunk_sd, shrunk_ci_low, shrunk_ci_high, prob_positive, verdict),
    ``heterogeneity`` (per treatment: variant, control, Cochran's q, df, pvalue, i2, tau2)
    and ``segment_analyses`` (per treatment: the stratified, pooled and hierarchical overall
    effects, τ and the segments left out)."""

    inputs: Inputs
    mapping: dict[str, Any] | None
    csv: dict[str, Any] | None
    distribution: Distribution | None
    source: SourceSummary | EventsSummary | None
    quantiles: QuantileAnalysis | None
    segments: list[dict[str, Any]] | None
    heterogeneity: list[dict[str, Any]] | None
    segment_analyses: list[dict[str, Any]] | None
