"""Two-factor factorial experiments: two-way ANOVA with the A × B interaction.

One function, :func:`two_way_anova_codes`, takes one observation per position of three
arrays (integer level codes of factor A and of factor B, with the level names they index,
and the response), fits the cell-means model with statsmodels (``ols`` + ``anova_lm``) and
returns an :class:`AnovaResult` holding the ANOVA table, cell means and marginal means with
intervals, fitted values and residuals for the residual plot, and the facts a
plain-language readout needs. Reading long-format data (JSON rows, data frames, uploads)
into those arrays is :mod:`sources.doe`'s job.

Factor names are user text ("price", "page layout", "discount (%)"): they never enter a
formula. The codes are handed to the formula as internal columns ``a``, ``b``, ``y`` and
the names are mapped back onto the table rows, the interaction row being ``"<A>:<B>"``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import patsy
import statsmodels.api as sm
from numpy.typing import ArrayLike, NDArray
from scipy import stats as sps
from statsmodels.stats.anova import anova_lm

from stats import _validate
from stats.errors import InvalidInput
from stats.warnings import Code, ResultWarning, warning

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

MAX_LEVELS = 5
"""Most levels a factor may have (the issue's 2-to-5 grid)."""

MAX_ROWS = 100_000
"""Most observations one call analyses (fitted values and residuals are returned per row)."""

ANOVA_TYPES = (2, 3)

MAX_ABS_RESPONSE = 1e100
"""Largest |response|: the sums of squares of MAX_ROWS such values stay finite in float64."""


@dataclass(frozen=True, slots=True)
class AnovaRow:
    """One line of the ANOVA table.

    ``term`` is a stable key (``"a"``, ``"b"``, ``"a:b"``, ``"residual"``) and ``source`` the
    display name (``"price"``, ``"layout"``, ``"price:layout"``, ``"Residual"``). For the
    Residual row ``f``, ``pvalue``, ``partial_eta_sq`` and ``significant`` are None; they are
    also None when the residual mean square is zero (see the result's ``warnings``).
    """

    term: str
    source: str
    sum_sq: float
    df: int
    mean_sq: float
    f: float | None
    pvalue: float | None
    partial_eta_sq: float | None
    significant: bool | None


@dataclass(frozen=True, slots=True)
class CellMean:
    """Observed mean of one cell (level ``a`` of A, level ``b`` of B).

    ``sd`` is the cell's own sample sd (None with one observation). The interval is the
    pooled-variance t interval ``mean ± t(1 − alpha/2, df_resid) · sqrt(MS_E / n)``; it is
    None when the additive model was fitted (single replicate), because the residual mean
    square then contains the cell's own observation and the t interval is not valid.
    """

    a: str
    b: str
    n: int
    mean: float
    sd: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True, slots=True)
class MarginalMean:
    """Marginal mean of one level of a factor, for the main-effects plot.

    ``estimate`` is the unweighted average of that level's cell means over the levels of the
    other factor (the least-squares or "estimated marginal" mean), which for a balanced
    design equals the raw level mean; ``n`` counts the level's observations.
    """

    level: str
    n: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True, slots=True)
class AnovaResult:
    """Two-way ANOVA of a two-factor factorial experiment.

    ``anova`` lists A, B, A × B (only when ``interaction_tested``) and Residual. Cell means
    are ordered A-major (all B levels of the first A level first). ``fitted`` and
    ``residuals`` follow the input row order. ``ci_method`` states how every interval here
    was computed. ``significant`` flags in ``anova`` compare p-values with ``alpha``.
    """

    factor_a: str
    factor_b: str
    response: str
    anova_type: int
    alpha: float
    n: int
    levels_a: tuple[str, ...]
    levels_b: tuple[str, ...]
    interaction_tested: bool
    balanced: bool
    df_resid: int
    ms_resid: float
    anova: tuple[AnovaRow, ...]
    cell_means: tuple[CellMean, ...]
    marginal_means_a: tuple[MarginalMean, ...]
    marginal_means_b: tuple[MarginalMean, ...]
    fitted: tuple[float, ...]
    residuals: tuple[float, ...]
    ci_method: str
    warnings: tuple[ResultWarning, ...] = ()


def _factor_name(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name} must be a non-empty name, got {value!r}", field=name)
    return value.strip()


def check_settings(
    factor_a: str, factor_b: str, response: str, anova_type: int, alpha: float
) -> tuple[str, str, str, int, float]:
    """The display names (stripped, A and B different), ``anova_type`` (2 or 3) and ``alpha``
    checked, in the order :func:`two_way_anova_codes` checks them."""
    factor_a = _factor_name("factor_a", factor_a)
    factor_b = _factor_name("factor_b", factor_b)
    response = _factor_name("response", response)
    if factor_b == factor_a:
        raise InvalidInput(
            f"factor_b must differ from factor_a, got {factor_b!r} for both", field="factor_b"
        )
    if isinstance(anova_type, bool) or anova_type not in ANOVA_TYPES:
        raise InvalidInput(f"anova_type must be 2 or 3, got {anova_type!r}", field="anova_type")
    return factor_a, factor_b, response, int(anova_type), _validate.alpha(alpha)


def check_levels(levels: Sequence[str], param: str, name: str) -> tuple[str, ...]:
    """A factor's level names: 2 to :data:`MAX_LEVELS` distinct non-empty texts."""
    levels = list(levels) if isinstance(levels, Sequence) and not isinstance(levels, str) else []
    if len(levels) < 2:
        raise InvalidInput(
            f"{param} ({name}) must have at least 2 levels, got {len(levels)}: {levels!r}",
            field=param,
        )
    if len(levels) > MAX_LEVELS:
        raise InvalidInput(
            f"{param} ({name}) must have at most {MAX_LEVELS} levels, got {len(levels)}: {levels!r}",
            field=param,
        )
    if any(not isinstance(v, str) or not v for v in levels) or len(set(levels)) < len(levels):
        raise InvalidInput(
            f"{param} ({name}) levels must be distinct non-empty names, got {levels!r}",
            field=param,
        )
    return tuple(levels)


def _check_codes(codes: ArrayLike, n: int, levels: Sequence[str], param: str) -> IntArray:
    """One factor's level codes: ``n`` integers indexing ``levels``."""
    c = np.asarray(codes)
    if c.shape != (n,) or not np.issubdtype(c.dtype, np.integer):
        raise InvalidInput(
            f"{param} codes must be {n} integers (one per observation), got shape {c.shape} "
            f"of {c.dtype}",
            field=param,
        )
    if n and (int(c.min()) < 0 or int(c.max()) >= len(levels)):
        raise InvalidInput(
            f"{param} codes must index its {len(levels)} levels (0 to {len(levels) - 1})",
            field=param,
        )
    return c.astype(np.intp, copy=False)


def _check_response(y: ArrayLike) -> FloatArray:
    """Responses as float64: finite and at most :data:`MAX_ABS_RESPONSE` in magnitude."""
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim != 1:
        raise InvalidInput(
            f"y must be one response per observation, got shape {arr.shape}", field="y"
        )
    bad = np.flatnonzero(~np.isfinite(arr) | (np.abs(arr) > MAX_ABS_RESPONSE))
    if bad.size:
        i = int(bad[0])
        raise InvalidInput(
            f"y[{i}] must be a finite number at most {MAX_ABS_RESPONSE:g} in absolute value, "
            f"got {arr[i]!r}",
            field="y",
            row=i + 1,
        )
    return arr


def _partial_eta_sq(ss_effect: float, ss_resid: float) -> float | None:
    """Partial eta squared ``SS_effect / (SS_effect + SS_error)``.

    Cohen (1973), "Eta-squared and partial eta-squared in fixed factor ANOVA designs",
    Educational and Psychological Measurement 33, 107-112.
    """
    denom = ss_effect + ss_resid
    return ss_effect / denom if denom > 0 else None


def _marginal_means(
    levels: list[str], means: np.ndarray, counts: np.ndarray, ms_resid: float, t_crit: float
) -> tuple[MarginalMean, ...]:
    """Unweighted marginal means over axis 1 of the ``levels × other`` cell-mean grid.

    Population marginal means of Searle, Speed & Milliken (1980), "Population marginal means
    in the linear model: an alternative to least squares means", The American Statistician
    34(4), 216-221: the average of the ``k`` cell means of a level, with variance
    ``MS_E / k² · Σ_j 1/n_j`` under the pooled-variance model. Under the additive model
    (single replicate, hence balanced) the average of the cells is the raw level mean, which
    is the additive fit's estimate too, and is independent of the residuals.
    """
    k = means.shape[1]
    est = means.mean(axis=1)
    se = np.sqrt(ms_resid * (1.0 / counts).sum(axis=1)) / k
    return tuple(
        MarginalMean(
            level=level,
            n=int(counts[i].sum()),
            estimate=float(est[i]),
            se=float(se[i]),
            ci_low=float(est[i] - t_crit * se[i]),
            ci_high=float(est[i] + t_crit * se[i]),
        )
        for i, level in enumerate(levels)
    )


def two_way_anova_codes(
    codes_a: ArrayLike,
    codes_b: ArrayLike,
    y: ArrayLike,
    *,
    levels_a: Sequence[str],
    levels_b: Sequence[str],
    factor_a: str = "a",
    factor_b: str = "b",
    response: str = "y",
    anova_type: int = 2,
    alpha: float = 0.05,
) -> AnovaResult:
    """Two-way ANOVA with the A × B interaction for a two-factor factorial experiment.

    One observation per position: ``codes_a[i]`` indexes ``levels_a`` (the level of factor
    A), ``codes_b[i]`` indexes ``levels_b`` and ``y[i]`` is the response.
    ``factor_a``, ``factor_b`` and ``response`` are display names only. Each factor needs 2
    to 5 levels and every combination of levels at least one observation. Reading long-format
    data (JSON rows, a data frame, an upload) into these arrays is
    :func:`sources.doe.two_way_anova`'s job.

    The model is the fixed-effects two-factor model ``y = μ + τ_i + β_j + (τβ)_ij + ε``
    (Montgomery, *Design and Analysis of Experiments*, 8th ed., 2013, §5.3.2, eq. 5.1),
    fitted by statsmodels ``ols`` with sum-to-zero contrasts, and tested with ``anova_lm``:

    * ``anova_type=2`` (default): Type II sums of squares, each main effect adjusted for the
      other main effect but not for the interaction (Langsrud 2003, "ANOVA for unbalanced
      data: use Type II instead of Type III sums of squares", Statistics and Computing 13,
      163-167). Type II does not depend on the contrasts.
    * ``anova_type=3``: Type III sums of squares, each term adjusted for all others. These
      test equal *unweighted* marginal means only with contrasts that sum to zero
      (``C(a, Sum)``); with statsmodels' default treatment (dummy) contrasts a Type III
      "main effect" tests the effect of A at the reference level of B, which is not a main
      effect at all (car::Anova documentation, Fox & Weisberg, *An R Companion to Applied
      Regression*, 3rd ed., 2019, ch. 5). Hence sum contrasts throughout.

    For a balanced design both types equal the classical (Type I) table.

    With one observation per cell the interaction would use every remaining degree of
    freedom, leaving none to estimate the error (Montgomery §5.3.7); the additive model
    ``y = μ + τ_i + β_j + ε`` is fitted instead, the interaction is not tested and a
    warning says why.

    Intervals use the pooled residual mean square ``MS_E`` with ``df_resid`` degrees of
    freedom at level ``1 − alpha`` (Montgomery §3.3, the t interval on a treatment mean,
    applied to the a·b cells); see :class:`CellMean` and :class:`MarginalMean`.
    """
    factor_a, factor_b, response, anova_type, alpha = check_settings(
        factor_a, factor_b, response, anova_type, alpha
    )
    y = _check_response(y)
    n = y.size
    if n == 0:
        raise InvalidInput("rows must hold at least one observation, got none", field="rows")
    if n > MAX_ROWS:
        raise InvalidInput(f"rows must hold at most {MAX_ROWS} observations, got {n}", field="rows")
    levels_a = list(check_levels(levels_a, "factor_a", factor_a))
    levels_b = list(check_levels(levels_b, "factor_b", factor_b))
    codes_a = _check_codes(codes_a, n, levels_a, "factor_a")
    codes_b = _check_codes(codes_b, n, levels_b, "factor_b")

    na, nb = len(levels_a), len(levels_b)
    cell = codes_a * nb + codes_b
    counts = np.bincount(cell, minlength=na * nb)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        i, j = divmod(int(empty[0]), nb)
        more = f" ({empty.size} empty cells in all)" if empty.size > 1 else ""
        raise InvalidInput(
            f"cell {factor_a}={levels_a[i]}, {factor_b}={levels_b[j]} has no observations"
            f"{more}; every combination of levels needs at least one",
            field="rows",
        )

    interaction_tested = bool(counts.max() > 1)
    balanced = bool(counts.min() == counts.max())
    # The design sees the integer codes: C() orders the levels 0, 1, ... (every one occurs,
    # since no cell is empty), the order of ``levels_a``/``levels_b``, so the sum-coded design
    # matrix is the one of the named levels. patsy (statsmodels' formula engine) builds it from
    # arrays; statsmodels keeps its terms (``model_spec``) for ``anova_lm``. Column-major, as
    # ``smf.ols`` on a data frame lays it out, so the least-squares solution is that one's.
    model = "C(a, Sum) * C(b, Sum)" if interaction_tested else "C(a, Sum) + C(b, Sum)"
    design = patsy.dmatrix(model, {"a": codes_a, "b": codes_b}, return_type="matrix")
    fit = sm.OLS(y, np.asfortranarray(design), model_spec=design.design_info).fit()
    table = anova_lm(fit, typ=anova_type)

    # Sums of squares below rounding noise (an RMS under 1e-10 of the largest |y|) are
    # exact zeros: an exact fit then reads as SS_E = 0, not as F = 1e28.
    noise = n * (1e-10 * float(np.abs(y).max())) ** 2

    def sum_sq(label: str) -> float:
        ss = float(table.loc[label, "sum_sq"])
        return ss if ss > noise else 0.0

    ss_resid = sum_sq("Residual")
    df_resid = round(float(fit.df_resid))
    ms_resid = ss_resid / df_resid
    degenerate = ss_resid == 0.0
    fitted = np.asarray(fit.fittedvalues, dtype=np.float64)
    residuals = y - fitted

    terms = [("a", "C(a, Sum)", factor_a), ("b", "C(b, Sum)", factor_b)]
    if interaction_tested:
        terms.append(("a:b", "C(a, Sum):C(b, Sum)", f"{factor_a}:{factor_b}"))
    rows: list[AnovaRow] = []
    for term, label, source in terms:
        ss = sum_sq(label)
        df = round(float(table.loc[label, "df"]))
        f = None if degenerate else float(table.loc[label, "F"])
        p = None if degenerate else float(table.loc[label, "PR(>F)"])
        rows.append(
            AnovaRow(
                term=term,
                source=source,
                sum_sq=ss,
                df=df,
                mean_sq=ss / df,
                f=f,
                pvalue=p,
                partial_eta_sq=_partial_eta_sq(ss, ss_resid),
                significant=None if p is None else p < alpha,
            )
        )
    rows.append(
        AnovaRow("residual", "Residual", ss_resid, df_resid, ms_resid, None, None, None, None)
    )

    sums = np.bincount(cell, weights=y, minlength=na * nb)
    means = sums / counts
    dev2 = np.bincount(cell, weights=(y - means[cell]) ** 2, minlength=na * nb)
    t_crit = float(sps.t.ppf(1.0 - alpha / 2.0, df_resid))
    half = t_crit * np.sqrt(ms_resid / counts)
    cells = tuple(
        CellMean(
            a=levels_a[k // nb],
            b=levels_b[k % nb],
            n=int(counts[k]),
            mean=float(means[k]),
            sd=float(math.sqrt(dev2[k] / (counts[k] - 1))) if counts[k] > 1 else None,
            ci_low=float(means[k] - half[k]) if interaction_tested else None,
            ci_high=float(means[k] + half[k]) if interaction_tested else None,
        )
        for k in range(na * nb)
    )
    grid, grid_n = means.reshape(na, nb), counts.reshape(na, nb)
    marg_a = _marginal_means(levels_a, grid, grid_n, ms_resid, t_crit)
    marg_b = _marginal_means(levels_b, grid.T, grid_n.T, ms_resid, t_crit)

    level = f"{100 * (1 - alpha):g}%"
    ci_method = (
        f"{level} t intervals from the pooled residual mean square "
        f"(MS_E = {ms_resid:.6g}, {df_resid} df); marginal means are unweighted averages "
        "of the cell means"
        + ("" if interaction_tested else "; no cell intervals under the additive model")
    )

    warnings: list[ResultWarning] = []
    if not interaction_tested:
        warnings.append(
            warning(
                Code.INTERACTION_UNTESTABLE,
                f"Each cell has a single observation, so the {factor_a} × {factor_b} interaction "
                "cannot be tested: it would use all the remaining degrees of freedom and leave "
                f"none to estimate the error. The additive model ({factor_a} + {factor_b}) was "
                "fitted; its residual contains any interaction, so the main-effect tests assume "
                "there is none (and are conservative if there is). Replicate the cells to test "
                "the interaction.",
            )
        )
    if degenerate:
        warnings.append(
            warning(
                Code.PERFECT_FIT,
                "The model fits the data exactly (the residuals are all zero), so there is no "
                "error variance to test against: F and p-values are not computed.",
            )
        )
    interaction = rows[2] if interaction_tested else None
    if not balanced and anova_type == 2 and interaction is not None and interaction.significant:
        warnings.append(
            warning(
                Code.TYPE_II_INTERACTION,
                f"The design is unbalanced and the {factor_a} × {factor_b} interaction is "
                "significant: Type II main effects assume no interaction. Interpret the cell "
                "means, or use Type III (anova_type 3) to test main effects averaged over the "
                "levels of the other factor.",
            )
        )

    return AnovaResult(
        factor_a=factor_a,
        factor_b=factor_b,
        response=response,
        anova_type=anova_type,
        alpha=alpha,
        n=n,
        levels_a=tuple(levels_a),
        levels_b=tuple(levels_b),
        interaction_tested=interaction_tested,
        balanced=balanced,
        df_resid=df_resid,
        ms_resid=ms_resid,
        anova=tuple(rows),
        cell_means=cells,
        marginal_means_a=marg_a,
        marginal_means_b=marg_b,
        fitted=tuple(fitted.tolist()),
        residuals=tuple(residuals.tolist()),
        ci_method=ci_method,
        warnings=tuple(warnings),
    )
