"""Every warning ``stats`` (and the web layer) can attach to a result, listed once.

Valid but degenerate data (zero variance, zero conversions, a blank cell) returns a result with
warnings instead of NaN soup. A warning is a :class:`ResultWarning`: a stable ``code`` a client
can key on, from :class:`Code`, and a ``message`` in plain words whose wording may change. The
JSON API sends each as ``{"code": ..., "message": ...}`` in the response's ``warnings`` list.
Modelled on gbstats' ``messages.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Code(StrEnum):
    """The warning codes, one per kind of warning. Values are the codes in the JSON."""

    # Comparisons and tests
    FISHER_EXACT = "fisher_exact"
    """An expected cell count is small, so Fisher's exact test replaced the z test."""
    EXACT_TEST_DISAGREES = "exact_test_disagrees"
    """The score interval excludes 0 but Fisher's exact test is not significant."""
    LIFT_UNDEFINED = "lift_undefined"
    """The relative lift is undefined or not reported (a control of 0, or not clearly > 0)."""
    RELATIVE_UNBOUNDED = "relative_unbounded"
    """The control mean is not significantly different from 0: the relative interval is unbounded."""
    ZERO_VARIANCE = "zero_variance"
    """Some data do not vary, so a statistic is undefined or an interval has zero width."""
    SMALL_COUNTS = "small_counts"
    """Expected counts are small: the normal approximation is rough."""
    SAMPLE_RATIO_MISMATCH = "sample_ratio_mismatch"
    """Exposures do not match the traffic weights: assignment or logging is likely broken."""
    NO_EXPOSURES = "no_exposures"
    """Some variants have no exposures yet."""
    # Sequential designs
    NEVER_STOPS = "never_stops"
    """Some looks (or the whole rule) can never stop the test."""
    STOPPED_EARLY = "stopped_early"
    """The test stopped at an earlier look; later looks are ignored."""
    EMPTY_CONFIDENCE_SEQUENCE = "empty_confidence_sequence"
    """The running intersection of the confidence sequence is empty."""
    # Bayesian
    PRIOR_ONLY = "prior_only"
    """A variant has no conversions or events: its posterior rests on the prior."""
    FEW_BUYERS = "few_buyers"
    """Too few buyers for a stable revenue posterior."""
    STARVED_VARIANTS = "starved_variants"
    """Some variants won no posterior draws and get no traffic."""
    DAYS_SAMPLED = "days_sampled"
    """The loss over time is shown for a sample of the days."""
    # Power
    MINIMUM_SIZE = "minimum_size"
    """The minimum of 2 users per group already reaches the target power."""
    LARGE_SAMPLE = "large_sample"
    """The design needs a very long run or very many users."""
    # CUPED
    NO_ADJUSTMENT = "no_adjustment"
    """The covariate does not vary within arms: nothing is adjusted."""
    CONSTANT_COVARIATE = "constant_covariate"
    """A covariate does not vary, so it is left out."""
    COVARIATE_NEAR_PERFECT = "covariate_near_perfect"
    """The covariate predicts the outcome almost perfectly: was it measured before assignment?"""
    COVARIATE_IMBALANCE = "covariate_imbalance"
    """A pre-period covariate differs between arms: an assignment bug is likely."""
    MISSING_COVARIATE = "missing_covariate"
    """Some users lack a covariate value; they are kept with a missing-value indicator."""
    # DoE
    INTERACTION_UNTESTABLE = "interaction_untestable"
    """One observation per cell: the interaction cannot be tested."""
    PERFECT_FIT = "perfect_fit"
    """The model fits exactly: there is no error variance to test against."""
    TYPE_II_INTERACTION = "type_ii_interaction"
    """Unbalanced design with a significant interaction: Type II main effects are suspect."""
    # Segments
    SIMPSONS_PARADOX = "simpsons_paradox"
    """The pooled effect points the other way from every segment's, or from the stratified one."""
    FEW_SEGMENTS = "few_segments"
    """Too few segments for (part of) partial pooling: 2 give no τ, 3 no posterior mean of τ."""
    # Data
    ROWS_LEFT_OUT = "rows_left_out"
    """Rows or cells were left out (blank cells, no date, no value)."""
    DUPLICATE_IDS = "duplicate_ids"
    """A user id repeats on several rows."""
    IDS_IN_SEVERAL_VARIANTS = "ids_in_several_variants"
    """A user id appears in more than one variant: assignment is likely broken."""
    VALUES_CLIPPED = "values_clipped"
    """Values beyond the chart's range are counted in its last bar."""
    QUANTILE_UNBOUNDED = "quantile_unbounded"
    """Too few values for a distribution-free interval of an extreme quantile: it is unbounded."""


@dataclass(frozen=True, slots=True)
class ResultWarning:
    """One warning: a ``code`` from :class:`Code` and a plain-language ``message``."""

    code: Code
    message: str

    def __str__(self) -> str:
        return self.message


def warning(code: Code, message: str) -> ResultWarning:
    """The one constructor of a warning (``code`` must be listed in :class:`Code`)."""
    return ResultWarning(Code(code), message)
