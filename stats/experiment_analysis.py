"""Live analysis of a running experiment from its counts (the Experiments module, issue 8).

One call turns per-variant exposures and conversions, and the traffic weights that were in
force, into: rates with Wilson intervals; a sample-ratio-mismatch check against those
weights; each treatment against the control with the fixed-horizon two-proportion test
(:func:`stats.comparisons.compare_proportions`) and the always-valid mixture SPRT
(:func:`stats.msprt.msprt`); the best treatment's relative lift; a winner only when the
always-valid test rejects; and a plain-English recommendation. With several treatments every
test is Bonferroni-adjusted (statsmodels ``multipletests``), so "the best of k − 1" is not
a free pick.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike
from statsmodels.stats.multitest import multipletests

from stats import _validate
from stats.abtest import Guardrail, GuardrailResult
from stats.abtest import _guardrail_results as guardrail_results
from stats.comparisons import (
    Comparison,
    SampleRatioMismatch,
    compare_proportions,
    sample_ratio_mismatch,
    variant_estimate,
)
from stats.cuped import AdjustedComparison, CupedResult, cuped_rows
from stats.errors import InvalidInput
from stats.msprt import MSPRTResult, msprt
from stats.srm import SequentialSRM, sequential_srm
from stats.sufficient import MeanStats, ProportionStats
from stats.warnings import Code, ResultWarning, warning

from ._text import p_is

DEFAULT_PLANNED_N = 10_000
"""Total users the always-valid test is tuned for when none is given (see ``planned_n``)."""


@dataclass(frozen=True, slots=True)
class VariantSummary:
    """One variant: distinct exposed units, converting units, the rate and its Wilson
    interval (level 1 − alpha), the current traffic weight and the SRM-expected exposures."""

    name: str
    exposures: int
    conversions: int
    rate: float
    ci_low: float
    ci_high: float
    weight: float
    expected_exposures: float


@dataclass(frozen=True, slots=True)
class AlwaysValid:
    """A treatment's always-valid test against the control: ``test``, the mixture SPRT at
    this look (:func:`stats.msprt.msprt`; Johari, Pekelis & Walsh 2022, section 4: ``pvalue``
    = 1/Lambda, ``ci_*`` the confidence sequence for the difference, at level
    1 − alpha/(k − 1)), and ``pvalue_adjusted``, its p-value Bonferroni-adjusted over the
    k − 1 treatments; both may be watched continuously. ``rejects`` once the look rejects.
    """

    test: MSPRTResult
    pvalue_adjusted: float

    @property
    def rejects(self) -> bool:
        return self.test.decision == "reject"

    def as_dict(self, *, tau: bool = True) -> dict[str, object]:
        """The API rows' ``msprt_*`` keys and ``rejects`` (``msprt_tau`` only if ``tau``:
        the CUPED rows leave it out)."""
        s = self.test
        row: dict[str, object] = {
            "msprt_log_lr": s.log_lr,
            "msprt_pvalue": s.pvalue,
            "msprt_pvalue_adjusted": self.pvalue_adjusted,
            "msprt_ci_low": s.ci_low,
            "msprt_ci_high": s.ci_high,
        }
        if tau:
            row["msprt_tau"] = s.tau
        return {**row, "rejects": self.rejects}


class _HoldsAlwaysValid:
    """A comparison's :class:`AlwaysValid` read through under the API rows' names."""

    __slots__ = ()
    always_valid: AlwaysValid

    @property
    def msprt_log_lr(self) -> float:
        return self.always_valid.test.log_lr

    @property
    def msprt_pvalue(self) -> float:
        return self.always_valid.test.pvalue

    @property
    def msprt_ci_low(self) -> float:
        return self.always_valid.test.ci_low

    @property
    def msprt_ci_high(self) -> float:
        return self.always_valid.test.ci_high

    @property
    def msprt_tau(self) -> float:
        return self.always_valid.test.tau

    @property
    def msprt_pvalue_adjusted(self) -> float:
        return self.always_valid.pvalue_adjusted

    @property
    def rejects(self) -> bool:
        return self.always_valid.rejects


@dataclass(frozen=True, slots=True)
class VariantComparison(_HoldsAlwaysValid):
    """A treatment against the control: the fixed-horizon :class:`Comparison` beside the
    always-valid test.

    ``fixed`` is :func:`stats.comparisons.compare_proportions` (``estimate`` = rate
    difference, treatment − control; pooled z, or Fisher when a cell is small), valid only
    at a sample size fixed in advance; its score intervals (difference, risk ratio) are at level
    1 − alpha/(k − 1), its ``pvalue_adjusted`` Bonferroni-adjusted over the k − 1
    treatments. ``always_valid`` is the mSPRT of the same difference (:class:`AlwaysValid`,
    read through as ``msprt_*`` and ``rejects``). The fixed test's fields read through
    (``name``, ``estimate``, ``pvalue`` …); :meth:`as_dict` is the API's flat row.
    """

    fixed: Comparison
    always_valid: AlwaysValid

    @property
    def name(self) -> str:
        return self.fixed.variant

    @property
    def estimate(self) -> float:
        return self.fixed.estimate

    @property
    def ci_low(self) -> float:
        return self.fixed.ci_low

    @property
    def ci_high(self) -> float:
        return self.fixed.ci_high

    @property
    def relative_lift(self) -> float:
        return self.fixed.relative_lift

    @property
    def relative_ci_low(self) -> float:
        return self.fixed.relative_ci_low

    @property
    def relative_ci_high(self) -> float:
        return self.fixed.relative_ci_high

    @property
    def test(self) -> str:
        return self.fixed.test

    @property
    def pvalue(self) -> float:
        return self.fixed.pvalue

    @property
    def pvalue_adjusted(self) -> float:
        return self.fixed.pvalue_adjusted

    def as_dict(self) -> dict[str, object]:
        """One flat row, as the Experiments API answers it."""
        return {
            "name": self.name,
            "estimate": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "relative_lift": self.relative_lift,
            "relative_ci_low": self.relative_ci_low,
            "relative_ci_high": self.relative_ci_high,
            "test": self.test,
            "pvalue": self.pvalue,
            "pvalue_adjusted": self.pvalue_adjusted,
            **self.always_valid.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class MSPRTSummary:
    """The always-valid test of the best treatment: ``log_lr`` = log Lambda, rejected once
    it reaches ``threshold`` = log((k − 1)/alpha); ``pvalue`` is Bonferroni-adjusted,
    ``pvalue_raw`` is 1/Lambda; ``ci_*`` the confidence sequence of the difference."""

    variant: str
    log_lr: float
    threshold: float
    pvalue: float
    pvalue_raw: float
    tau: float
    ci_low: float
    ci_high: float
    decision: str


@dataclass(frozen=True, slots=True)
class RelativeLift:
    """The best treatment's lift over the control, ``rate_t / rate_c − 1``, with its
    fixed-horizon score interval for the risk ratio at ``ci_level`` (dual to the z-test)."""

    variant: str
    estimate: float
    ci_low: float
    ci_high: float
    ci_level: float


@dataclass(frozen=True, slots=True)
class CupedComparison(_HoldsAlwaysValid):
    """A treatment against the control on the CUPED-adjusted conversion: ``adjusted``, the
    adjusted difference with its Welch interval and p-value (fixed-horizon, level
    1 − alpha/(k − 1)) beside the unadjusted one (:class:`stats.cuped.AdjustedComparison`),
    and ``always_valid``, the mSPRT on the adjusted difference (:class:`AlwaysValid`, read
    through as ``msprt_*`` and ``rejects``). :meth:`as_dict` is the API's flat row."""

    adjusted: AdjustedComparison
    always_valid: AlwaysValid

    def as_dict(self) -> dict[str, object]:
        """One flat row, as the Experiments API answers it (without ``msprt_tau``)."""
        a = self.adjusted
        return {
            "name": a.variant,
            "estimate": a.estimate,
            "ci_low": a.ci_low,
            "ci_high": a.ci_high,
            "pvalue": a.pvalue,
            "unadjusted_estimate": a.unadjusted_estimate,
            **self.always_valid.as_dict(tau=False),
        }


@dataclass(frozen=True, slots=True)
class ExperimentCuped:
    """CUPED on the units' pre-period covariates (:func:`stats.cuped.cuped_from_moments`):
    ``theta`` the pooled within-arm slope, ``rho`` the correlation, ``variance_reduction``
    = 1 − ρ² (the adjusted variance as a share of the unadjusted), ``n_missing_covariate``
    units without a covariate (kept through a missing-value indicator), ``balance_pvalue``
    the covariate-balance F test across arms."""

    theta: float
    rho: float
    variance_reduction: float
    n_missing_covariate: int
    balance_pvalue: float
    comparisons: tuple[CupedComparison, ...]
    warnings: tuple[ResultWarning, ...] = ()


@dataclass(frozen=True, slots=True)
class ExperimentAnalysis:
    """The whole analysis. ``decision`` is a code (``collecting``, ``srm``, ``winner``,
    ``worse``, ``continue``); ``recommendation`` says it in plain words; ``winner`` names a
    treatment only when the always-valid test rejects with a positive lift and no SRM.
    ``srm`` is the fixed-horizon chi-square, ``srm_sequential`` the anytime-valid e-process
    (:func:`stats.srm.sequential_srm`) that the SRM alarm uses, since it runs at every look.
    ``guardrail_tests`` holds each guardrail event's non-inferiority test per treatment (the A/B
    analyzer's); a winner that fails one is held back (decision ``guardrail``)."""

    variants: tuple[VariantSummary, ...]
    comparisons: tuple[VariantComparison, ...]
    srm: SampleRatioMismatch
    srm_sequential: SequentialSRM
    guardrail_tests: tuple[GuardrailResult, ...]
    cuped: ExperimentCuped | None
    best: str | None
    pvalue: float
    msprt: MSPRTSummary | None
    relative_lift: RelativeLift | None
    decision: str
    recommendation: str
    winner: str | None
    alpha: float
    planned_n: int
    n: int
    warnings: tuple[ResultWarning, ...] = ()


def expected_exposures(
    period_weights: Sequence[Sequence[float]], period_exposures: Sequence[Sequence[int]]
) -> tuple[float, ...]:
    """Expected exposures per variant under the weights in force: ``E_i = sum_p N_p w_{p,i}``.

    A unit assigned in period ``p`` lands in variant ``i`` with probability ``w_{p,i}`` (the
    period's normalised weights), so given ``N_p`` units in the period its expected count in
    ``i`` is ``N_p w_{p,i}``. Comparing the pooled totals with these by Pearson's chi-square
    is conservative when the weights moved: the totals are sums of independent multinomials,
    whose covariance ``sum_p N_p (diag w_p − w_p w_p')`` is below the multinomial one at the
    pooled weights, so bandit reweighting cannot raise a false alarm (Fabijan et al. 2019,
    "Diagnosing Sample Ratio Mismatch in Online Controlled Experiments", KDD, on comparing
    against the split actually configured).
    """
    if len(period_weights) != len(period_exposures):
        raise InvalidInput(
            f"period_exposures must have one row per period ({len(period_weights)}), "
            f"got {len(period_exposures)}",
            field="period_exposures",
        )
    if not period_weights:
        return ()
    w = np.asarray(period_weights, dtype=float)
    n = np.asarray(period_exposures, dtype=float)
    if w.ndim != 2 or w.shape != n.shape:
        raise InvalidInput(
            f"period_weights must be a periods x variants table shaped like period_exposures "
            f"{n.shape}, got {w.shape}",
            field="period_weights",
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0) or np.any(w.sum(axis=1) <= 0):
        raise InvalidInput(
            "period_weights must be finite, >= 0, with a positive sum per period",
            field="period_weights",
        )
    if np.any(n < 0):
        raise InvalidInput("period_exposures must be counts >= 0", field="period_exposures")
    shares = w / w.sum(axis=1, keepdims=True)
    return tuple(float(x) for x in (n.sum(axis=1, keepdims=True) * shares).sum(axis=0))


def _bonferroni(pvalues: Sequence[float], m: int) -> list[float]:
    """The p-values Bonferroni-adjusted over ``m`` tests (statsmodels ``multipletests``):
    a treatment without exposures counts as a test with p = 1, so m stays k − 1."""
    padded = [*pvalues, *[1.0] * (m - len(pvalues))]
    return [float(p) for p in multipletests(padded, method="bonferroni")[1][: len(pvalues)]]


def _always_valid(looks: Sequence[MSPRTResult], m: int) -> list[AlwaysValid]:
    """Each treatment's mSPRT look with its p-value Bonferroni-adjusted over ``m`` = k − 1."""
    adjusted = _bonferroni([s.pvalue for s in looks], m)
    return [AlwaysValid(s, q) for s, q in zip(looks, adjusted, strict=True)]


def analyze_experiment(
    variants: Sequence[ProportionStats],
    weights: Sequence[float],
    expected: Sequence[float] | None = None,
    *,
    alpha: float = 0.05,
    planned_n: int = DEFAULT_PLANNED_N,
    period_weights: Sequence[Sequence[float]] | None = None,
    period_exposures: Sequence[Sequence[int]] | None = None,
    guardrails: Sequence[Guardrail] = (),
    unit_covariates: tuple[ArrayLike, ArrayLike, ArrayLike] | None = None,
) -> ExperimentAnalysis:
    """Analyse an experiment whose first variant is the control.

    ``variants``: exposed units (``users``) and converting units per variant; ``weights``:
    the current traffic weights (reported); ``expected``: SRM-expected exposures from the
    weights in force (:func:`expected_exposures`), default ``total x weights``. ``alpha``:
    the family-wise level over the k − 1 treatments (Bonferroni). ``planned_n``: total users
    the mSPRT mixture is tuned for (:func:`stats.msprt.tau_for_planned_n`: the test is most
    sensitive around that sample size, and stays valid at any other). ``period_weights``
    and ``period_exposures`` (as :func:`expected_exposures` takes them; default: one period
    at ``weights``) feed the anytime-valid SRM e-process, which raises the SRM alarm: the
    chi-square (``srm``) is reported beside it but is valid only at one look fixed in advance.
    ``guardrails``: one :class:`stats.abtest.Guardrail` per guardrail event (conversions =
    units with the event), each tested for non-inferiority at its tolerance at level
    ``alpha`` once every variant has exposures (Farrington–Manning score test, as the A/B
    analyzer does; a fixed-horizon test, read as a running check). ``unit_covariates``:
    per exposed unit its variant (an index into ``variants``), conversion (0/1) and
    pre-period covariate (NaN where missing), for the CUPED-adjusted differences
    (:func:`stats.cuped.cuped_rows`) and their always-valid test (:func:`cuped_comparisons`),
    once every variant has at least 2 exposures.

    The mSPRT p-value is the snapshot 1/Lambda at this look. Its running minimum over looks
    (Johari, Pekelis & Walsh 2022, section 4) can only be smaller, so acting on the snapshot
    is conservative and still valid whenever one looks: P(1/Lambda_t <= alpha for some t)
    <= alpha by Ville's inequality.
    """
    k = len(variants)
    if k < 2:
        raise InvalidInput(f"variants must hold at least 2 variants, got {k}", field="variants")
    if len(weights) != k:
        raise InvalidInput(
            f"weights must hold one weight per variant ({k}), got {len(weights)}", field="weights"
        )
    alpha = _validate.alpha(alpha)
    planned_n = _validate.count("planned_n", planned_n, minimum=2)
    observed = [v.users for v in variants]
    total = sum(observed)
    if expected is None:
        weight_sum = math.fsum(weights)
        expected = [total * w / weight_sum for w in weights]
    if len(expected) != k:
        raise InvalidInput(
            f"expected must hold one count per variant ({k}), got {len(expected)}", field="expected"
        )
    srm = sample_ratio_mismatch(variants, expected=expected)
    if period_weights is None or period_exposures is None:
        period_weights, period_exposures = [weights], [observed]
    srm_seq = sequential_srm(period_exposures, period_weights, threshold=srm.threshold)
    alpha_each = alpha / (k - 1)
    summaries = []
    for v, w, e in zip(variants, weights, expected, strict=True):
        est = variant_estimate(v, alpha) if v.users else None
        summaries.append(
            VariantSummary(
                name=v.name,
                exposures=v.users,
                conversions=v.conversions,
                rate=v.rate,
                ci_low=est.ci_low if est else math.nan,
                ci_high=est.ci_high if est else math.nan,
                weight=float(w),
                expected_exposures=float(e),
            )
        )

    warnings: list[ResultWarning] = []
    control = variants[0]
    compared = [t for t in variants[1:] if control.users and t.users]
    if len(compared) < k - 1:
        warnings.append(
            warning(
                Code.NO_EXPOSURES,
                "Some variants have no exposures yet, so they cannot be compared with the control.",
            )
        )
    fixed = [compare_proportions(control, t, alpha=alpha_each) for t in compared]
    looks = [msprt(control, t, alpha=alpha_each, planned_n=planned_n) for t in compared]
    for f, s in zip(fixed, looks, strict=True):
        warnings.extend(n for n in f.warnings + s.warnings if n not in warnings)
    fixed_adj = _bonferroni([f.pvalue for f in fixed], k - 1)
    comparisons = [
        VariantComparison(replace(f, pvalue_adjusted=p, significant=p < alpha), v)
        for f, p, v in zip(fixed, fixed_adj, _always_valid(looks, k - 1), strict=True)
    ]
    if srm_seq.flagged:
        warnings.append(
            warning(
                Code.SAMPLE_RATIO_MISMATCH,
                f"Sample ratio mismatch ({p_is(srm_seq.pvalue, 'always-valid p', 2)}, below "
                f"{srm_seq.threshold:g}): the exposures do not match the traffic weights, so "
                "assignment or logging is likely broken.",
            )
        )

    names = [v.name for v in variants]
    adjusted = None
    if unit_covariates is not None and all(v.users >= 2 for v in variants):
        codes, y, x = unit_covariates
        cuped = cuped_rows(codes, names, y, x, control=control.name, alpha=alpha_each)
        adjusted = cuped_comparisons(cuped, alpha_each, planned_n, k - 1)
    if adjusted is not None:
        warnings.extend(w for w in adjusted.warnings if w not in warnings)
    checked = (
        guardrail_results(guardrails, names, control.name, alpha) if len(compared) == k - 1 else ()
    )
    best = max(comparisons, key=lambda c: c.estimate, default=None)
    mismatch = srm_seq.flagged
    winner = best.name if best and best.rejects and best.estimate > 0 and not mismatch else None
    failed = [g.metric for g in checked if winner and g.variant == winner and g.status == "fail"]
    if failed:
        winner = None
    worse = [c.name for c in comparisons if c.rejects and c.estimate < 0]
    if not comparisons:
        decision = "collecting"
    elif mismatch:
        decision = "srm"
    elif failed:
        decision = "guardrail"
    elif winner:
        decision = "winner"
    elif worse:
        decision = "worse"
    else:
        decision = "continue"
    return ExperimentAnalysis(
        variants=tuple(summaries),
        comparisons=tuple(comparisons),
        srm=srm,
        srm_sequential=srm_seq,
        guardrail_tests=checked,
        cuped=adjusted,
        best=best.name if best else None,
        pvalue=best.pvalue_adjusted if best else math.nan,
        msprt=_msprt_summary(best, alpha, k) if best else None,
        relative_lift=(
            RelativeLift(
                best.name,
                best.relative_lift,
                best.relative_ci_low,
                best.relative_ci_high,
                1 - alpha_each,
            )
            if best
            else None
        ),
        decision=decision,
        recommendation=_recommendation(
            decision, control.name, best, winner, worse, srm_seq, alpha, failed
        ),
        winner=winner,
        alpha=alpha,
        planned_n=planned_n,
        n=total,
        warnings=tuple(warnings),
    )


def cuped_comparisons(
    result: CupedResult, alpha_each: float, planned_n: int, m: int
) -> ExperimentCuped:
    """Each treatment's CUPED-adjusted difference (Deng et al. 2013; ``result`` at level
    1 − ``alpha_each``) and the mSPRT (:func:`stats.msprt.msprt`, tuned to
    ``planned_n``) on the adjusted outcome ``Y − θ·(Z − Z̄)``: each arm as its ``n``, adjusted
    mean and residual standard deviation. θ is estimated from the data and then treated as
    known, as the fixed-horizon CUPED test does; the error this adds is O(1/n), and Lindon,
    Ham, Tingley & Bojinov (2024, "Anytime-valid linear models and regression adjusted
    causal inference in randomized experiments") show the regression-adjusted mixture test
    is asymptotically anytime-valid. The m = k − 1 always-valid p-values are
    Bonferroni-adjusted."""
    control = result.control
    arms = {a.name: a for a in result.arms}

    def stats(name: str) -> MeanStats:
        arm = arms[name]
        return MeanStats(name, arm.n, arm.adjusted_mean, arm.adjusted_sd)

    looks = [
        msprt(stats(control), stats(c.variant), alpha=alpha_each, planned_n=planned_n)
        for c in result.comparisons
    ]
    comparisons = tuple(
        CupedComparison(c, v)
        for c, v in zip(result.comparisons, _always_valid(looks, m), strict=True)
    )
    notes = result.warnings + tuple(w for s in looks for w in s.warnings)
    return ExperimentCuped(
        theta=result.theta,
        rho=result.rho,
        variance_reduction=result.variance_reduction,
        n_missing_covariate=result.n_missing_covariate,
        balance_pvalue=result.balance.pvalue,
        comparisons=comparisons,
        warnings=tuple(dict.fromkeys(notes)),
    )


def _msprt_summary(best: VariantComparison, alpha: float, k: int) -> MSPRTSummary:
    return MSPRTSummary(
        variant=best.name,
        log_lr=best.msprt_log_lr,
        threshold=math.log((k - 1) / alpha),
        pvalue=best.msprt_pvalue_adjusted,
        pvalue_raw=best.msprt_pvalue,
        tau=best.msprt_tau,
        ci_low=best.msprt_ci_low,
        ci_high=best.msprt_ci_high,
        decision="reject" if best.rejects else "continue",
    )


def _recommendation(
    decision: str,
    control: str,
    best: VariantComparison | None,
    winner: str | None,
    worse: Sequence[str],
    srm: SequentialSRM,
    alpha: float,
    failed: Sequence[str] = (),
) -> str:
    if decision == "collecting" or best is None:
        return (
            "Collecting data: every variant needs exposures before it can be compared with "
            f"{control}."
        )
    if decision == "srm":
        return (
            "Do not trust these results yet: the traffic split does not match the weights "
            f"({p_is(srm.pvalue, 'always-valid SRM p', 2)}). Find the cause (redirects, bots, logging) before "
            "deciding."
        )
    if decision == "guardrail":
        return (
            f"Do not ship {best.name} yet: it beats {control} on the primary metric, but the "
            f"guardrail {', '.join(failed)} is significantly worse beyond its tolerance."
        )
    lift = (
        f"{best.relative_lift:+.1%} relative"
        if math.isfinite(best.relative_lift)
        else "relative lift undefined"
    )
    if decision == "winner":
        return (
            f"Ship {winner}: it converts better than {control} ({lift}) and the "
            f"always-valid test rejects no difference at alpha {alpha:g} "
            f"({p_is(best.msprt_pvalue_adjusted, digits=2)}), so this holds however often you looked."
        )
    if decision == "worse":
        return (
            f"Stop {', '.join(worse)}: it converts worse than {control} and the always-valid test "
            f"is sure of it at alpha {alpha:g}. No variant beats {control} so far."
        )
    return (
        f"Keep running: the best variant, {best.name}, is at {lift} against {control}, but the "
        f"always-valid test is not yet convinced ({p_is(best.msprt_pvalue_adjusted, digits=2)}, needs "
        f"<= {alpha:g}). Peeking is fine: this p-value stays valid at every look."
    )
