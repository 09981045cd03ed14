"""Tests for stats.cuped: CUPED (Deng et al. 2013), Lin (2013) regression adjustment, planning.

References are independent of the code under test: statsmodels OLS fits built here from
formulas, scipy's Welch t test and one-way ANOVA, numpy per-arm least squares, statsmodels'
normal power solver, and seeded Monte Carlo with tolerances derived from its standard error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats as sps
from statsmodels.stats.power import NormalIndPower, TTestIndPower

from sources.cuped import covariate_stats_from_frame, cuped_from_frame, regression_adjustment
from stats.cuped import (
    BALANCE_ALPHA,
    MAX_ARMS,
    MAX_RHO_GRID,
    CovariateStats,
    covariate_variants,
    cuped,
    cuped_planning,
)
from stats.power import solve_power_means
from stats.warnings import Code


def make_frame(
    seed: int,
    sizes: dict[str, int],
    effects: dict[str, float],
    *,
    slope: float = 0.8,
    offset: float = 0.0,
) -> pd.DataFrame:
    """Users with covariate x ~ N(offset, 1) and y = effect + slope·x + noise (sd 1)."""
    rng = np.random.default_rng(seed)
    parts = []
    for name, n in sizes.items():
        x = offset + rng.normal(size=n)
        y = effects[name] + slope * (x - offset) + rng.normal(size=n) + 0.3 * x**2
        parts.append(pd.DataFrame({"arm": name, "y": y, "x": x}))
    return pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=seed)


def welch(a: np.ndarray, b: np.ndarray, alpha: float = 0.05):
    """scipy's Welch t test of mean(a) - mean(b) and its interval."""
    res = sps.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(1 - alpha)
    return res.statistic, res.pvalue, ci.low, ci.high


# --------------------------------------------------------------------------- estimates


@pytest.fixture(scope="module")
def two_arms() -> pd.DataFrame:
    return make_frame(1, {"A": 700, "B": 650}, {"A": 0.0, "B": 0.25})


def test_estimate_equals_ols_with_centred_covariate(two_arms: pd.DataFrame) -> None:
    # Deng 2013 / ANCOVA: the CUPED estimate is the treatment coefficient of y ~ T + (x - x̄).
    df = two_arms.assign(t=(two_arms.arm == "B").astype(float), xc=two_arms.x - two_arms.x.mean())
    ols = smf.ols("y ~ t + xc", df).fit()
    res = cuped_from_frame(df, variant="arm", outcome="y", covariate="x", control="A")
    (comp,) = res.comparisons
    assert comp.variant == "B"
    assert comp.estimate == pytest.approx(ols.params["t"], rel=1e-8)
    assert res.theta == pytest.approx(ols.params["xc"], rel=1e-8)
    # The adjusted control mean is the OLS intercept (prediction at the overall x̄).
    assert res.arms[0].adjusted_mean == pytest.approx(ols.params["Intercept"], rel=1e-8)
    assert res.n == len(df) and res.n_missing_covariate == 0 and res.warnings == ()


def test_estimate_equals_ancova_with_three_arms() -> None:
    df = make_frame(2, {"A": 300, "B": 280, "C": 320}, {"A": 0.0, "B": 0.1, "C": -0.2})
    ols = smf.ols("y ~ C(arm, Treatment('B')) + x", df).fit()
    res = cuped_from_frame(df, variant="arm", outcome="y", covariate="x", control="B")
    assert [c.variant for c in res.comparisons] == ["A", "C"]
    for comp in res.comparisons:
        coef = ols.params[f"C(arm, Treatment('B'))[T.{comp.variant}]"]
        assert comp.estimate == pytest.approx(coef, rel=1e-8)
    assert res.theta == pytest.approx(ols.params["x"], rel=1e-8)


def test_intervals_are_welch_on_adjusted_and_raw_outcomes(two_arms: pd.DataFrame) -> None:
    # With theta from OLS, the adjusted comparison is Welch's t on y - theta·x (scipy);
    # the unadjusted one is Welch's t on y.
    alpha = 0.1
    theta = smf.ols("y ~ C(arm) + x", two_arms).fit().params["x"]
    a, b = (two_arms[two_arms.arm == g] for g in ("A", "B"))
    adj = welch(b.y - theta * b.x, a.y - theta * a.x, alpha)
    raw = welch(b.y, a.y, alpha)
    res = cuped_from_frame(
        two_arms, variant="arm", outcome="y", covariate="x", control="A", alpha=alpha
    )
    (c,) = res.comparisons
    got_adj = (c.statistic, c.pvalue, c.ci_low, c.ci_high)
    got_raw = (
        c.unadjusted_statistic,
        c.unadjusted_pvalue,
        c.unadjusted_ci_low,
        c.unadjusted_ci_high,
    )
    np.testing.assert_allclose(got_adj, adj, rtol=1e-8)
    np.testing.assert_allclose(got_raw, raw, rtol=1e-8)
    assert c.unadjusted_estimate == pytest.approx(b.y.mean() - a.y.mean(), rel=1e-12)
    assert c.ci_high - c.ci_low < c.unadjusted_ci_high - c.unadjusted_ci_low


def test_rho_is_pooled_within_arm_correlation(two_arms: pd.DataFrame) -> None:
    centred = two_arms.groupby("arm")[["x", "y"]].transform(lambda s: s - s.mean())
    rho = np.corrcoef(centred.x, centred.y)[0, 1]
    res = cuped_from_frame(two_arms, variant="arm", outcome="y", covariate="x", control="A")
    assert res.rho == pytest.approx(rho, rel=1e-9)
    assert res.variance_reduction == pytest.approx(1 - rho**2, rel=1e-9)
    assert res.effective_multiplier == pytest.approx(1 / (1 - rho**2), rel=1e-9)


def test_balance_is_one_way_anova() -> None:
    df = make_frame(3, {"A": 200, "B": 150, "C": 250}, {"A": 0, "B": 0, "C": 0})
    res = cuped_from_frame(df, variant="arm", outcome="y", covariate="x", control="A")
    ref = sps.f_oneway(*(df.x[df.arm == g] for g in "ABC"))
    assert res.balance.statistic == pytest.approx(ref.statistic, rel=1e-9)
    assert res.balance.pvalue == pytest.approx(ref.pvalue, rel=1e-9)
    assert not res.balance.flagged
    # Two arms: F is the square of the pooled two-sample t.
    two = df[df.arm != "C"]
    t = sps.ttest_ind(two.x[two.arm == "A"], two.x[two.arm == "B"]).statistic
    res2 = cuped_from_frame(two, variant="arm", outcome="y", covariate="x", control="A")
    assert res2.balance.statistic == pytest.approx(t**2, rel=1e-9)


def test_imbalanced_covariate_is_flagged() -> None:
    df = make_frame(4, {"A": 500, "B": 500}, {"A": 0, "B": 0})
    df.loc[df.arm == "B", "x"] += 0.5  # a pre-period difference: an assignment bug
    res = cuped_from_frame(df, variant="arm", outcome="y", covariate="x", control="A")
    assert res.balance.pvalue < BALANCE_ALPHA and res.balance.flagged
    assert any(
        w.code == Code.COVARIATE_IMBALANCE and "assignment bug" in w.message for w in res.warnings
    )


def test_sufficient_statistics_match_pandas_even_with_a_large_offset() -> None:
    # Reference: pandas' own per-group mean/var/cov (two-pass). The offset of 1e9 would ruin
    # the naive sum-of-squares formula; the shifted sums must keep ~9 significant digits.
    df = make_frame(5, {"A": 400, "B": 300}, {"A": 0, "B": 1}, offset=1e9)
    df["y"] += 1e9
    arms = covariate_stats_from_frame(df, variant="arm", outcome="y", covariate="x")
    for arm in arms:
        g = df[df.arm == arm.name]
        assert arm.n == len(g)
        np.testing.assert_allclose([arm.mean_y, arm.mean_x], [g.y.mean(), g.x.mean()], rtol=1e-14)
        np.testing.assert_allclose(
            [arm.var_y, arm.var_x, arm.cov_xy], [g.y.var(), g.x.var(), g.x.cov(g.y)], rtol=1e-7
        )
    # The summaries path and the row path agree.
    a = cuped(arms, control="A")
    b = cuped_from_frame(df, variant="arm", outcome="y", covariate="x", control="A")
    assert a.comparisons[0].estimate == pytest.approx(b.comparisons[0].estimate, rel=1e-12)
    assert a.theta == pytest.approx(b.theta, rel=1e-12)


def test_integer_labels_and_numeric_text_columns() -> None:
    df = pd.DataFrame(
        {"g": [0, 0, 0, 1, 1, 1], "y": ["1.5", "2", "3", "4", "4.5", "7"], "x": [1, 2, 2, 3, 5, 6]}
    )
    res = cuped_from_frame(df, variant="g", outcome="y", covariate="x", control="0")
    ols = smf.ols("y ~ C(g) + x", df.astype({"y": float})).fit()
    assert res.comparisons[0].variant == "1"
    assert res.comparisons[0].estimate == pytest.approx(ols.params["C(g)[T.1]"], rel=1e-8)


# --------------------------------------------------------------------------- missing covariate


def test_missing_covariate_is_ols_on_filled_value_and_indicator() -> None:
    df = make_frame(6, {"A": 400, "B": 400, "C": 300}, {"A": 0, "B": 0.2, "C": 0.1})
    rng = np.random.default_rng(60)
    missing = rng.random(len(df)) < 0.2
    df.loc[missing, "x"] = np.nan
    # Reference: OLS on the covariate filled with 0 (a different fill than the code's mean:
    # with the indicator the estimate must not depend on the fill) plus the indicator.
    ref_df = df.assign(xf=df.x.fillna(0.0), m=df.x.isna().astype(float))
    ols = smf.ols("y ~ C(arm) + xf + m", ref_df).fit()
    res = cuped_from_frame(df, variant="arm", outcome="y", covariate="x", control="A")
    assert res.n_missing_covariate == int(missing.sum()) and res.n == len(df)
    for comp in res.comparisons:
        assert comp.estimate == pytest.approx(ols.params[f"C(arm)[T.{comp.variant}]"], rel=1e-8)
    assert res.theta == pytest.approx(ols.params["xf"], rel=1e-8)
    assert any(
        w.code == Code.MISSING_COVARIATE and f"{int(missing.sum())} of {len(df)} users" in w.message
        for w in res.warnings
    )
    # Balance and arm means use the users who have a pre-period value.
    have = df.dropna()
    ref = sps.f_oneway(*(have.x[have.arm == g] for g in "ABC"))
    assert res.balance.pvalue == pytest.approx(ref.pvalue, rel=1e-9)
    assert [a.mean_x for a in res.arms] == pytest.approx(
        [have.x[have.arm == g].mean() for g in "ABC"], rel=1e-12
    )
    with pytest.raises(ValueError, match=r"^covariate has \d+ missing values"):
        covariate_stats_from_frame(df, variant="arm", outcome="y", covariate="x")


def test_no_pre_period_value_at_all_means_no_adjustment() -> None:
    df = make_frame(7, {"A": 50, "B": 50}, {"A": 0, "B": 0}).assign(x=np.nan)
    res = cuped_from_frame(df, variant="arm", outcome="y", covariate="x", control="A")
    (c,) = res.comparisons
    assert res.theta == 0.0 and res.n_missing_covariate == 100
    assert (c.estimate, c.ci_low, c.ci_high) == (
        c.unadjusted_estimate,
        c.unadjusted_ci_low,
        c.unadjusted_ci_high,
    )
    assert math.isnan(res.balance.pvalue) and not res.balance.flagged


# --------------------------------------------------------------------------- degenerate data


def test_zero_variance_covariate_warns_and_leaves_estimate_unadjusted() -> None:
    df = make_frame(8, {"A": 100, "B": 100}, {"A": 0, "B": 0.5}).assign(x=3.7)
    res = cuped_from_frame(df, variant="arm", outcome="y", covariate="x", control="A")
    (c,) = res.comparisons
    assert res.theta == 0.0 and res.rho == 0.0 and res.variance_reduction == 1.0
    assert (c.estimate, c.pvalue, c.ci_low, c.ci_high) == (
        c.unadjusted_estimate,
        c.unadjusted_pvalue,
        c.unadjusted_ci_low,
        c.unadjusted_ci_high,
    )
    assert any(
        w.code == Code.NO_ADJUSTMENT and "no adjustment is possible" in w.message
        for w in res.warnings
    )


def test_constant_outcome_gives_degenerate_but_finite_result() -> None:
    arms = [
        CovariateStats("A", 10, 1.0, 0.0, 0.0, 1.0, 0.0),
        CovariateStats("B", 10, 1.0, 0.1, 0.0, 1.0, 0.0),
    ]
    res = cuped(arms, control="A")
    (c,) = res.comparisons
    assert (c.estimate, c.pvalue, c.ci_low, c.ci_high) == (0.0, 1.0, 0.0, 0.0)
    assert any(
        w.code == Code.ZERO_VARIANCE and "outcome does not vary" in w.message for w in res.warnings
    )


def test_near_perfect_covariate_warns() -> None:
    df = make_frame(9, {"A": 100, "B": 100}, {"A": 0, "B": 0.5})
    df["x2"] = 2 * df.y + 1  # not the outcome itself, but a linear copy of it
    res = cuped_from_frame(df, variant="arm", outcome="y", covariate="x2", control="A")
    assert any(
        w.code == Code.COVARIATE_NEAR_PERFECT and "almost perfectly" in w.message
        for w in res.warnings
    )


# --------------------------------------------------------------------------- simulation

SIMS = 6000
N_ARM = 200
RHO = 0.8
POWER = 0.8


@pytest.fixture(scope="module")
def simulated() -> dict[str, np.ndarray]:
    """SIMS seeded experiments of two arms with N_ARM users, within-arm corr(Y, X) = RHO.

    Y = delta·T + RHO·X + sqrt(1 - RHO²)·E with X, E ~ N(0, 1): sd(Y) = 1 in each arm. delta
    is the MDE that cuped_planning gives for N_ARM users, sd 1, RHO and 80% power, so the
    rejection rate also checks the planner. Per-arm moments are computed here with numpy.
    """
    delta = cuped_planning([RHO], n_per_group=N_ARM, sd=1.0, alpha=0.05, power=POWER).mde[0]
    rng = np.random.default_rng(20130206)
    x = rng.normal(size=(2, SIMS, N_ARM))
    y = RHO * x + math.sqrt(1 - RHO**2) * rng.normal(size=(2, SIMS, N_ARM))
    y[1] += delta
    mx, my = x.mean(axis=2), y.mean(axis=2)
    vx, vy = x.var(axis=2, ddof=1), y.var(axis=2, ddof=1)
    cxy = ((x - mx[..., None]) * (y - my[..., None])).sum(axis=2) / (N_ARM - 1)
    cols = ["estimate", "ci_low", "ci_high", "pvalue", "unadjusted_estimate", "null_pvalue"]
    out = {k: np.empty(SIMS) for k in cols}
    for s in range(SIMS):
        arms = [
            CovariateStats(g, N_ARM, my[i, s], mx[i, s], vy[i, s], vx[i, s], cxy[i, s])
            for i, g in enumerate("AB")
        ]
        (c,) = cuped(arms, control="A").comparisons
        # Same data with the effect removed from B: the null hypothesis is true.
        null = [arms[0], replace(arms[1], mean_y=my[1, s] - delta)]
        out["null_pvalue"][s] = cuped(null, control="A").comparisons[0].pvalue
        for k in cols[:-1]:
            out[k][s] = getattr(c, k)
    out["delta"] = np.array(delta)
    return out


@pytest.mark.slow
def test_adjusted_estimator_is_unbiased(simulated: dict[str, np.ndarray]) -> None:
    est, delta = simulated["estimate"], float(simulated["delta"])
    mc_se = est.std(ddof=1) / math.sqrt(SIMS)  # standard error of the simulated mean
    assert abs(est.mean() - delta) < 3 * mc_se


@pytest.mark.slow
def test_adjusted_interval_covers_95_percent(simulated: dict[str, np.ndarray]) -> None:
    # SE of a coverage proportion near 0.95 over 6000 runs: sqrt(.95·.05/6000) = 0.0028, so
    # the required ±1% band is wider than 3 SE (0.0084).
    delta = float(simulated["delta"])
    covered = (simulated["ci_low"] <= delta) & (delta <= simulated["ci_high"])
    assert abs(covered.mean() - 0.95) < 0.01


@pytest.mark.slow
def test_variance_ratio_matches_one_minus_rho_squared(simulated: dict[str, np.ndarray]) -> None:
    # R = Var(adjusted)/Var(unadjusted) over the runs. The two estimators are jointly normal
    # with correlation r, r² = 1 - RHO² (the adjusted one is the unadjusted one minus the
    # part explained by X̄ differences). Delta method for log R with variances from N runs:
    # Var(log R) ≈ (2/N)(1 + 1 - 2r²) = 4·RHO²/N, i.e. sd = sqrt(4·0.64/6000) = 0.021.
    ratio = simulated["estimate"].var(ddof=1) / simulated["unadjusted_estimate"].var(ddof=1)
    sd_log = math.sqrt(4 * RHO**2 / SIMS)
    assert abs(math.log(ratio / (1 - RHO**2))) < 3 * sd_log


@pytest.mark.slow
def test_type_one_error_and_power(simulated: dict[str, np.ndarray]) -> None:
    # Null: rejection rate 5% ± 3·sqrt(.05·.95/6000) = ±0.84%.
    # Alternative at the planner's MDE: 80% ± 3·sqrt(.8·.2/6000) = ±1.55%.
    size = (simulated["null_pvalue"] < 0.05).mean()
    power = (simulated["pvalue"] < 0.05).mean()
    assert abs(size - 0.05) < 3 * math.sqrt(0.05 * 0.95 / SIMS)
    assert abs(power - POWER) < 3 * math.sqrt(POWER * (1 - POWER) / SIMS)


# --------------------------------------------------------------------------- Lin (2013)


@pytest.fixture(scope="module")
def lin_frame() -> pd.DataFrame:
    df = make_frame(10, {"A": 300, "B": 250, "C": 280}, {"A": 0, "B": 0.3, "C": -0.1})
    rng = np.random.default_rng(11)
    df["z"] = rng.exponential(size=len(df)) + 0.5 * (df.arm == "C") * df.x
    df["y"] += 0.4 * df.z * (1 + (df.arm == "B"))  # treatment-by-covariate interaction
    return df


def per_arm_prediction(df: pd.DataFrame, arm: str, cols: list[str]) -> float:
    """Lin's estimand by hand: OLS within one arm (numpy), predicted at the overall means."""
    g = df[df.arm == arm]
    design = np.column_stack([np.ones(len(g)), g[cols].to_numpy()])
    coef = np.linalg.lstsq(design, g.y.to_numpy(), rcond=None)[0]
    return float(coef[0] + df[cols].mean().to_numpy() @ coef[1:])


def test_lin_estimate_is_difference_of_per_arm_predictions(lin_frame: pd.DataFrame) -> None:
    res = regression_adjustment(
        lin_frame, variant="arm", outcome="y", covariates=["x", "z"], control="A"
    )
    base = per_arm_prediction(lin_frame, "A", ["x", "z"])
    for comp in res.comparisons:
        expected = per_arm_prediction(lin_frame, comp.variant, ["x", "z"]) - base
        assert comp.estimate == pytest.approx(expected, rel=1e-8)


def test_lin_matches_statsmodels_formula_with_interactions(lin_frame: pd.DataFrame) -> None:
    df = lin_frame.assign(xc=lin_frame.x - lin_frame.x.mean(), zc=lin_frame.z - lin_frame.z.mean())
    fit = smf.ols("y ~ C(arm) * (xc + zc)", df).fit(cov_type="HC2")
    res = regression_adjustment(
        lin_frame, variant="arm", outcome="y", covariates=["x", "z"], control="A", alpha=0.1
    )
    ci = fit.conf_int(0.1)
    for comp in res.comparisons:
        term = f"C(arm)[T.{comp.variant}]"
        np.testing.assert_allclose(
            [comp.estimate, comp.statistic, comp.pvalue, comp.ci_low, comp.ci_high],
            [fit.params[term], fit.tvalues[term], fit.pvalues[term], *ci.loc[term]],
            rtol=1e-7,
        )
    assert res.r_squared == pytest.approx(fit.rsquared, rel=1e-9)
    # Unadjusted with HC2 = difference in means with Welch's (Neyman's) standard error.
    a, c = lin_frame.y[lin_frame.arm == "A"], lin_frame.y[lin_frame.arm == "C"]
    se = math.sqrt(a.var() / len(a) + c.var() / len(c))
    comp = res.comparisons[1]
    assert comp.unadjusted_estimate == pytest.approx(c.mean() - a.mean(), rel=1e-9)
    assert comp.unadjusted_statistic == pytest.approx((c.mean() - a.mean()) / se, rel=1e-8)


def test_lin_keeps_users_with_missing_covariates(lin_frame: pd.DataFrame) -> None:
    df = lin_frame.copy()
    rng = np.random.default_rng(12)
    df.loc[rng.random(len(df)) < 0.15, "z"] = np.nan
    res = regression_adjustment(df, variant="arm", outcome="y", covariates=["x", "z"], control="A")
    ref = df.assign(zf=df.z.fillna(-5.0), zm=df.z.isna().astype(float))
    cols = ["x", "zf", "zm"]
    base = per_arm_prediction(ref, "A", cols)
    assert res.n_missing_covariate == int(df.z.isna().sum())
    for comp in res.comparisons:
        expected = per_arm_prediction(ref, comp.variant, cols) - base
        assert comp.estimate == pytest.approx(expected, rel=1e-8)
    assert len(res.balance) == 2


def test_lin_with_a_leverage_one_user_stays_finite(lin_frame: pd.DataFrame) -> None:
    df = lin_frame.copy()
    only = df.index[df.arm == "B"][0]
    df.loc[only, "z"] = np.nan  # the only user of B without z: leverage 1 in B's fit
    res = regression_adjustment(df, variant="arm", outcome="y", covariates=["x", "z"], control="A")
    # The indicator is constant in A and C, so only B gets a slope on it (per-arm lstsq on
    # an all-zero column gives it coefficient 0, the same thing). HC2 divides that user's
    # zero residual by 1 - h ≈ 0; the sandwich must stay finite.
    ref = df.assign(zf=df.z.fillna(df.z.mean()), zm=df.z.isna().astype(float))
    base = per_arm_prediction(ref, "A", ["x", "zf", "zm"])
    for c in res.comparisons:
        expected = per_arm_prediction(ref, c.variant, ["x", "zf", "zm"]) - base
        assert c.estimate == pytest.approx(expected, rel=1e-8)
        assert np.isfinite([c.statistic, c.pvalue, c.ci_low, c.ci_high]).all()
        assert c.ci_low < c.estimate < c.ci_high


def test_lin_drops_a_constant_covariate(lin_frame: pd.DataFrame) -> None:
    df = lin_frame.assign(k=1.0)
    res = regression_adjustment(df, variant="arm", outcome="y", covariates=["x", "k"], control="A")
    one = regression_adjustment(df, variant="arm", outcome="y", covariates=["x"], control="A")
    assert any(
        w.code == Code.CONSTANT_COVARIATE and "'k' does not vary" in w.message for w in res.warnings
    )
    assert res.comparisons[0].estimate == pytest.approx(one.comparisons[0].estimate, rel=1e-10)


# --------------------------------------------------------------------------- planning


def test_planning_against_statsmodels_power() -> None:
    rho = [0.0, 0.3, 0.7, 0.95]
    n, sd, alpha, power = 1000, 2.0, 0.05, 0.9
    plan = cuped_planning(rho, n_per_group=n, sd=sd, alpha=alpha, power=power)
    solver = NormalIndPower()
    z = sps.norm.ppf(1 - alpha / 2)
    for i, r in enumerate(rho):
        sd_adj = sd * math.sqrt(1 - r**2)
        assert plan.half_width[i] == pytest.approx(z * sd_adj * math.sqrt(2 / n), rel=1e-12)
        # At the MDE, statsmodels' two-sided t-test power (which also counts the far tail,
        # ~1e-8 here) equals the requested power: the power page's solver (issue 13).
        got = TTestIndPower().power(effect_size=plan.mde[i] / sd_adj, nobs1=n, alpha=alpha)
        assert got == pytest.approx(power, abs=1e-6)
        # Users CUPED needs for the plain analysis's precision (normal approximation).
        need = solver.solve_power(effect_size=plan.mde[0] / sd_adj, alpha=alpha, power=power)
        assert plan.n_per_group_required[i] == math.ceil(need - 1e-6)
        assert plan.effective_multiplier[i] == pytest.approx(1 / (1 - r**2))
    assert plan.n_per_group_required[0] == n


@pytest.mark.parametrize("sd", [1.0, 3.5])
def test_planning_agrees_with_the_power_page(sd: float) -> None:
    """One power solver (issue 13): for n = 20 per group and ρ = 0.7 the CUPED planner gave
    0.6327 sd (normal approximation) where the power page gives 0.6493 sd (noncentral t).
    Both now give the power page's MDE, which is statsmodels' TTestIndPower MDE on the
    CUPED-reduced standard deviation sd·sqrt(1 − ρ²)."""
    n, rho, alpha, power = 20, 0.7, 0.05, 0.8
    plan = cuped_planning([rho, -rho], n_per_group=n, sd=sd, alpha=alpha, power=power)
    page = solve_power_means(sd, n_per_group=n, power=power, alpha=alpha, rho=rho)
    sd_adj = sd * math.sqrt(1 - rho**2)
    reference = sd_adj * TTestIndPower().solve_power(nobs1=n, alpha=alpha, power=power)
    assert plan.mde[0] == pytest.approx(page.mde, rel=1e-9)
    assert plan.mde[1] == plan.mde[0]
    assert page.mde == pytest.approx(reference, rel=1e-6)
    assert plan.mde[0] / sd == pytest.approx(0.6493, abs=1e-4)


def test_planning_is_vectorised_and_symmetric_in_rho() -> None:
    grid = np.linspace(-0.99, 0.99, 199)
    plan = cuped_planning(grid, n_per_group=500, sd=1.0)
    assert len(plan.mde) == 199
    np.testing.assert_allclose(plan.mde, plan.mde[::-1], rtol=1e-12)


# --------------------------------------------------------------------------- bad input


def arm(name: str = "A", **kw: float) -> dict[str, object]:
    base: dict[str, object] = dict(
        name=name, n=100, mean_y=1.0, mean_x=0.5, var_y=2.0, var_x=1.0, cov_xy=0.5
    )
    return base | kw


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"name": ""}, "name must be a non-empty string"),
        ({"n": 1}, "n must be a whole number >= 2, got 1"),
        ({"n": 10.5}, "n must be a whole number >= 2"),
        ({"mean_y": math.nan}, "mean_y must be a finite number"),
        ({"mean_x": "abc"}, "mean_x must be a number"),
        ({"var_y": -1.0}, "var_y must be >= 0, got -1.0"),
        ({"var_x": -0.1}, "var_x must be >= 0"),
        ({"cov_xy": 1.5}, r"cov_xy must satisfy \|cov_xy\| <= sqrt\(var_x \* var_y\)"),
    ],
)
def test_covariate_stats_rejects(kw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match="^" + message):
        CovariateStats(**arm(**kw))  # type: ignore[arg-type]


def test_covariate_variants_prefixes_the_field() -> None:
    rec = {"name": "A", "users": 10, "mean_y": 1, "mean_x": 1, "var_y": 1, "var_x": 1}
    good = [rec | {"cov_xy": 0.2}, rec | {"name": "B", "cov_xy": 0.1}]
    assert [a.n for a in covariate_variants(good)] == [10, 10]
    with pytest.raises(ValueError, match=r"^variants\[1\]\.var_x must be >= 0"):
        covariate_variants([good[0], good[1] | {"var_x": -1}])
    with pytest.raises(ValueError, match=r"^variants\[1\]\.users must be a whole number >= 2"):
        covariate_variants([good[0], good[1] | {"users": 1}])
    with pytest.raises(ValueError, match=r"^variants\[0\]\.cov_xy is required"):
        covariate_variants([rec])


STATS_A = CovariateStats(**arm("A"))  # type: ignore[arg-type]
STATS_B = CovariateStats(**arm("B", mean_y=1.2))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("arms", "kw", "message"),
    [
        ([STATS_A], {}, "variants must hold at least 2 arms, got 1"),
        ([STATS_A, STATS_A], {}, r"variants\[1\]\.name must be unique"),
        ([STATS_A, "B"], {}, r"variants\[1\] must be CovariateStats"),
        ("AB", {}, "variants must be a list"),
        ([STATS_A, STATS_B], {"control": "Z"}, "control must be one of A, B, got 'Z'"),
        ([STATS_A, STATS_B], {"alpha": 0.7}, r"alpha must be in \(0, 0.5\], got 0.7"),
        (
            [CovariateStats(**arm(g, mean_x=1.0, var_x=2.0, cov_xy=2.0)) for g in "AB"],  # type: ignore[arg-type]
            {},
            "covariate must be a pre-experiment measurement, not the outcome itself",
        ),
    ],
)
def test_cuped_rejects(arms: object, kw: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"control": "A"} | kw
    with pytest.raises(ValueError, match="^" + message):
        cuped(arms, **args)  # type: ignore[arg-type]


def small_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "arm": ["A", "A", "A", "B", "B", "B"],
            "y": [1.0, 2.0, 3.0, 2.0, 3.0, 5.0],
            "x": [1.0, 1.5, 3.5, 2.0, 2.5, 4.0],
            "text": ["1", "2", "abc", "4", "5", "6"],
        }
    )


@pytest.mark.parametrize(
    ("change", "kw", "message"),
    [
        (None, {"variant": "grp"}, "variant must name a column of the data"),
        (None, {"outcome": "nope"}, "outcome must name a column of the data"),
        (None, {"covariate": "nope"}, "covariate must name a column of the data"),
        (None, {"covariate": "text"}, "covariate must be a numeric column, got 'abc' in row 3"),
        (None, {"outcome": "text"}, "outcome must be a numeric column"),
        (None, {"covariate": "y"}, "covariate must be a pre-experiment measurement, not the"),
        (
            lambda d: d.assign(copy=d.y),
            {"covariate": "copy"},
            "covariate must be a pre-experiment measurement, not the outcome itself",
        ),
        (lambda d: d.assign(arm="A"), {}, "variant must hold at least 2 distinct arms"),
        (
            lambda d: pd.concat([d] * 20, ignore_index=True).assign(arm=lambda e: e.index // 2),
            {"control": "0"},
            f"variant must hold at most {MAX_ARMS} arms, got 60 distinct values",
        ),
        (lambda d: d.assign(arm=[1, "1", *d.arm[2:]]), {}, "variant labels must be distinct"),
        (lambda d: d.iloc[:4], {}, "variant 'B' has 1 row; every arm needs at least 2"),
        (lambda d: d.assign(arm=[None, *d.arm[1:]]), {}, "variant has 1 rows with no value"),
        (lambda d: d.assign(y=[np.nan, *d.y[1:]]), {}, "outcome has 1 missing values"),
        (lambda d: d.assign(x=[np.inf, *d.x[1:]]), {}, "covariate must hold finite numbers"),
        (None, {"control": "C"}, "control must be one of A, B, got 'C'"),
        (None, {"alpha": 0}, r"alpha must be in \(0, 0.5\]"),
    ],
)
def test_cuped_from_frame_rejects(
    change: Callable[[pd.DataFrame], pd.DataFrame] | None, kw: dict[str, object], message: str
) -> None:
    df = small_frame() if change is None else change(small_frame())
    args: dict[str, object] = {
        "variant": "arm",
        "outcome": "y",
        "covariate": "x",
        "control": "A",
    } | kw
    with pytest.raises(ValueError, match="^" + message):
        cuped_from_frame(df, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("covariates", "message"),
    [
        ([], r"covariates must name at least one column, got \[\]"),
        ("x", "covariates must be a list of column names"),
        (["x", "x"], r"covariates\[1\] must be unique, got 'x' twice"),
        (["x", "y"], r"covariates\[1\] must be a pre-experiment measurement"),
        (["text"], r"covariates\[0\] must be a numeric column"),
        (["x", "nope"], r"covariates\[1\] must name a column"),
        (["x", "x2"], "covariates give 2 adjustment columns, which need at least 4 users"),
    ],
)
def test_regression_adjustment_rejects(covariates: object, message: str) -> None:
    df = small_frame().assign(x2=[0.0, 1.0, 0.0, 2.0, 1.0, 3.0])
    with pytest.raises(ValueError, match="^" + message):
        regression_adjustment(
            df,
            variant="arm",
            outcome="y",
            covariates=covariates,  # type: ignore[arg-type]
            control="A",
        )


@pytest.mark.parametrize(
    ("rho", "kw", "message"),
    [
        ([], {}, "rho_grid must be a non-empty list of numbers"),
        (["a"], {}, "rho_grid must be a list of numbers"),
        ([0.5, 1.0], {}, r"rho_grid values must be in \(-1, 1\), got 1.0"),
        ([math.nan], {}, r"rho_grid values must be in \(-1, 1\)"),
        ([0.1] * (MAX_RHO_GRID + 1), {}, f"rho_grid must hold at most {MAX_RHO_GRID} values"),
        ([0.5], {"n_per_group": 1}, "n_per_group must be a whole number >= 2, got 1"),
        ([0.5], {"n_per_group": 10**13}, "n_per_group must be <= 1e\\+12, got 10000000000000"),
        ([0.5], {"sd": 0}, "sd must be > 0, got 0"),
        ([0.5], {"alpha": 1.0}, r"alpha must be in \(0, 0.5\]"),
        ([0.5], {"power": 1.0}, r"power must be in \(0, 1\), got 1.0"),
    ],
)
def test_cuped_planning_rejects(rho: list[float], kw: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"n_per_group": 100, "sd": 1.0} | kw
    with pytest.raises(ValueError, match="^" + message):
        cuped_planning(rho, **args)  # type: ignore[arg-type]


def test_row_functions_need_a_data_frame() -> None:
    with pytest.raises(ValueError, match=r"^data must be a table of rows, got list"):
        cuped_from_frame([1, 2], variant="a", outcome="y", covariate="x", control="A")
    with pytest.raises(ValueError, match=r"^data must be a table of rows"):
        regression_adjustment({}, variant="a", outcome="y", covariates=["x"], control="A")
