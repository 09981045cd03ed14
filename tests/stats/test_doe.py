"""Tests for stats.doe: two-way ANOVA of a two-factor factorial experiment."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats as sps
from statsmodels.stats.anova import anova_lm

from sources.doe import MAX_ROWS, AnovaResult, two_way_anova
from stats.warnings import Code

# Montgomery, Design and Analysis of Experiments (8th ed., 2013), Example 5.1, Table 5.1:
# battery life (hours) by plate material (1-3) and temperature (15, 70, 125 °F), 4 replicates.
# The same data ship as `battery` in the R package ACSWR (source: Montgomery).
BATTERY = {
    1: {15: [130, 155, 74, 180], 70: [34, 40, 80, 75], 125: [20, 70, 82, 58]},
    2: {15: [150, 188, 159, 126], 70: [136, 122, 106, 115], 125: [25, 70, 58, 45]},
    3: {15: [138, 110, 168, 160], 70: [174, 120, 150, 139], 125: [96, 104, 82, 60]},
}
# Montgomery Table 5.5 (ANOVA for the battery life data), as printed.
PUBLISHED = {  # source: (SS, df, MS, F, P-value)
    "material": (10683.72, 2, 5341.86, 7.91, 0.0020),
    "temperature": (39118.72, 2, 19559.36, 28.97, None),  # printed as "< 0.0001"
    "material:temperature": (9613.78, 4, 2403.44, 3.56, 0.0186),
    "Residual": (18230.75, 27, 675.21, None, None),
}
PUBLISHED_TOTAL_SS = 77646.97  # df 35

# Montgomery (8th ed.) Example 5.2, Table 5.10: impurity by temperature (°F) and pressure
# (psig), one observation per cell. Its ANOVA (Table 5.11) gives SS temperature 23.33 (df 2),
# pressure 11.60 (df 4), residual 2.00 (df 8), total 36.93 (df 14); these table values are
# transcribed from the book from memory and could not be re-checked online, so the test
# also checks them against nested least-squares fits below.
IMPURITY_TEMPS = (100, 125, 150)
IMPURITY_PRESSURES = (25, 30, 35, 40, 45)
IMPURITY = ((5, 4, 6, 3, 5), (3, 1, 4, 2, 3), (1, 1, 3, 1, 2))


def battery_rows() -> list[dict[str, object]]:
    return [
        {"a": m, "b": t, "y": y}
        for m, by_t in BATTERY.items()
        for t, ys in by_t.items()
        for y in ys
    ]


def impurity_rows() -> list[dict[str, object]]:
    return [
        {"a": t, "b": p, "y": IMPURITY[i][j]}
        for i, t in enumerate(IMPURITY_TEMPS)
        for j, p in enumerate(IMPURITY_PRESSURES)
    ]


def unbalanced_rows() -> list[dict[str, object]]:
    """The battery data with six observations removed (cell sizes 2, 3 and 4)."""
    drop = {(1, 15, 0), (1, 125, 1), (1, 125, 2), (2, 70, 3), (3, 125, 0), (3, 15, 2)}
    return [
        {"a": m, "b": t, "y": y}
        for m, by_t in BATTERY.items()
        for t, ys in by_t.items()
        for k, y in enumerate(ys)
        if (m, t, k) not in drop
    ]


def row(result: AnovaResult, term: str):
    return next(r for r in result.anova if r.term == term)


# ---------------------------------------------------------------- published table (balanced)


@pytest.mark.parametrize("anova_type", [2, 3])
def test_reproduces_montgomery_table_5_5(anova_type: int) -> None:
    # Balanced design: Type II and Type III both equal the classical table.
    res = two_way_anova(
        battery_rows(), factor_a="material", factor_b="temperature", anova_type=anova_type
    )
    assert [r.source for r in res.anova] == list(PUBLISHED)
    assert [r.term for r in res.anova] == ["a", "b", "a:b", "residual"]
    for r in res.anova:
        ss, df, ms, f, p = PUBLISHED[r.source]
        # The book prints 2 decimals: agreement to half a unit in the last printed digit.
        assert r.sum_sq == pytest.approx(ss, abs=0.005)
        assert r.df == df
        assert r.mean_sq == pytest.approx(ms, abs=0.005)
        if f is not None:
            assert r.f == pytest.approx(f, abs=0.005)
        if p is not None:
            assert r.pvalue == pytest.approx(p, abs=0.00005)
    assert row(res, "b").pvalue < 0.0001
    assert sum(r.sum_sq for r in res.anova) == pytest.approx(PUBLISHED_TOTAL_SS, abs=0.01)
    assert res.df_resid == 27
    assert res.ms_resid == pytest.approx(675.21, abs=0.005)
    assert res.interaction_tested and res.balanced and res.n == 36
    assert res.warnings == ()


def test_partial_eta_squared_from_published_sums_of_squares() -> None:
    # partial eta² = SS_effect / (SS_effect + SS_error) (Cohen 1973), from the printed SS.
    res = two_way_anova(battery_rows(), factor_a="material", factor_b="temperature")
    sse = PUBLISHED["Residual"][0]
    for r in res.anova[:3]:
        ss = PUBLISHED[r.source][0]
        assert r.partial_eta_sq == pytest.approx(ss / (ss + sse), abs=1e-6)
    assert res.anova[3].partial_eta_sq is None
    assert res.anova[3].f is None and res.anova[3].pvalue is None


def test_agrees_with_statsmodels_treatment_coded_fit_pvalues() -> None:
    # A separate statsmodels fit with default (treatment) contrasts: Type II does not
    # depend on the coding, so every F and p must agree to rounding.
    df = pd.DataFrame(battery_rows()).astype({"a": str, "b": str})
    ref = anova_lm(smf.ols("y ~ C(a) * C(b)", df).fit(), typ=2)
    res = two_way_anova(battery_rows())
    for r, label in zip(res.anova[:3], ["C(a)", "C(b)", "C(a):C(b)"], strict=True):
        assert r.f == pytest.approx(ref.loc[label, "F"], rel=1e-10)
        assert r.pvalue == pytest.approx(ref.loc[label, "PR(>F)"], rel=1e-8)


@pytest.mark.parametrize(
    ("alpha", "flags"), [(0.05, [True, True, True]), (0.01, [True, True, False])]
)
def test_significance_flags_follow_alpha(alpha: float, flags: list[bool]) -> None:
    # Table 5.5 P-values: material 0.0020, temperature < 0.0001, interaction 0.0186.
    res = two_way_anova(battery_rows(), alpha=alpha)
    assert [r.significant for r in res.anova] == [*flags, None]


def test_cell_means_and_pooled_intervals() -> None:
    res = two_way_anova(battery_rows(), factor_a="material", factor_b="temperature")
    t = sps.t.ppf(0.975, 27)
    half = t * np.sqrt(675.2129629629 / 4)  # MS_E = 18230.75 / 27 from Table 5.5
    assert [(c.a, c.b) for c in res.cell_means] == [
        (str(m), str(tp)) for m in (1, 2, 3) for tp in (15, 70, 125)
    ]
    for c in res.cell_means:
        ys = BATTERY[int(c.a)][int(c.b)]
        assert c.n == 4
        assert c.mean == pytest.approx(np.mean(ys), rel=1e-12)
        assert c.sd == pytest.approx(np.std(ys, ddof=1), rel=1e-12)
        assert c.ci_low == pytest.approx(np.mean(ys) - half, rel=1e-9)
        assert c.ci_high == pytest.approx(np.mean(ys) + half, rel=1e-9)
    # Montgomery's cell totals (Table 5.4): material 1 at 15 °F totals 539, material 3 at
    # 125 °F totals 342.
    assert res.cell_means[0].mean * 4 == pytest.approx(539)
    assert res.cell_means[8].mean * 4 == pytest.approx(342)


def test_marginal_means_and_intervals_balanced() -> None:
    res = two_way_anova(battery_rows(), factor_a="material", factor_b="temperature")
    t = sps.t.ppf(0.975, 27)
    half = t * np.sqrt(675.2129629629 / 12)
    y_a = {m: np.mean([y for ys in by_t.values() for y in ys]) for m, by_t in BATTERY.items()}
    y_b = {tp: np.mean([y for m in BATTERY for y in BATTERY[m][tp]]) for tp in (15, 70, 125)}
    assert [m.level for m in res.marginal_means_a] == ["1", "2", "3"]
    assert [m.level for m in res.marginal_means_b] == ["15", "70", "125"]
    for mm, ref in [
        *zip(res.marginal_means_a, y_a.values(), strict=True),
        *zip(res.marginal_means_b, y_b.values(), strict=True),
    ]:
        assert mm.n == 12
        assert mm.estimate == pytest.approx(ref, rel=1e-12)
        assert mm.ci_low == pytest.approx(ref - half, rel=1e-9)
        assert mm.ci_high == pytest.approx(ref + half, rel=1e-9)


def test_fitted_and_residuals_follow_input_order() -> None:
    rows = battery_rows()
    res = two_way_anova(rows)
    fitted = [np.mean(BATTERY[r["a"]][r["b"]]) for r in rows]  # type: ignore[index]
    np.testing.assert_allclose(res.fitted, fitted, rtol=1e-12)
    np.testing.assert_allclose(
        np.add(res.fitted, res.residuals), [r["y"] for r in rows], rtol=1e-12
    )
    assert sum(e * e for e in res.residuals) == pytest.approx(18230.75, abs=0.005)


def test_result_is_json_serialisable() -> None:
    payload = json.dumps(dataclasses.asdict(two_way_anova(battery_rows())), allow_nan=False)
    assert '"source": "a:b"' in payload


# ----------------------------------------------------------- user-text names, input forms


def test_factor_names_with_formula_syntax_are_safe() -> None:
    a, b = "price (€) ~ v2", "page layout: A/B * C"
    res = two_way_anova(battery_rows(), factor_a=a, factor_b=b, response="hours + 1")
    assert [r.source for r in res.anova] == [a, b, f"{a}:{b}", "Residual"]
    assert row(res, "a:b").sum_sq == pytest.approx(9613.78, abs=0.005)


def test_dataframe_with_named_columns_matches_rows() -> None:
    rows = battery_rows()
    df = pd.DataFrame(
        {
            "page layout": [r["a"] for r in rows],
            "price ($)": [float(r["b"]) for r in rows],  # type: ignore[arg-type]
            "revenue": [r["y"] for r in rows],
        }
    )
    res = two_way_anova(df, factor_a="page layout", factor_b="price ($)", response="revenue")
    ref = two_way_anova(rows)
    assert res.levels_b == ("15", "70", "125")  # whole floats read as integers
    assert [r.sum_sq for r in res.anova] == pytest.approx([r.sum_sq for r in ref.anova])
    assert res.anova[2].source == "page layout:price ($)"


def test_levels_keep_order_of_first_appearance() -> None:
    rows = [
        {"a": a, "b": b, "y": float(i)}
        for i, (a, b) in enumerate(
            [
                ("high", "list"),
                ("low", "grid"),
                ("high", "grid"),
                ("low", "list"),
                ("mid", "grid"),
                ("mid", "list"),
            ]
            * 2
        )
    ]
    res = two_way_anova(rows)
    assert res.levels_a == ("high", "low", "mid")
    assert res.levels_b == ("list", "grid")


# ------------------------------------------------------------------------- unbalanced


def _sum_coding(codes: np.ndarray, k: int) -> np.ndarray:
    """Sum-to-zero (deviation) coding: level j<k-1 -> e_j, last level -> -1 everywhere."""
    out = np.zeros((codes.size, k - 1))
    for j in range(k - 1):
        out[codes == j, j] = 1.0
    out[codes == k - 1, :] = -1.0
    return out


def _rss(x: np.ndarray, y: np.ndarray) -> float:
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    e = y - x @ beta
    return float(e @ e)


def _independent_tables(rows: list[dict[str, object]]) -> dict[int, dict[str, float]]:
    """Type II and III sums of squares by nested least-squares fits (numpy only).

    Type II (Langsrud 2003): SS(A | B), SS(B | A), SS(AB | A, B). Type III: drop each
    block of sum-coded columns from the full model (Searle 1987, Linear Models for
    Unbalanced Data, §4.8 "R(α | μ, β, γ)" with Σ-restricted parameters).
    """
    a = pd.factorize(pd.Series([str(r["a"]) for r in rows]))[0]
    b = pd.factorize(pd.Series([str(r["b"]) for r in rows]))[0]
    y = np.array([float(r["y"]) for r in rows])  # type: ignore[arg-type]
    one = np.ones((y.size, 1))
    sa, sb = _sum_coding(a, a.max() + 1), _sum_coding(b, b.max() + 1)
    sab = np.einsum("ni,nj->nij", sa, sb).reshape(y.size, -1)
    rss_full = _rss(np.hstack([one, sa, sb, sab]), y)
    rss_add = _rss(np.hstack([one, sa, sb]), y)
    type2 = {
        "a": _rss(np.hstack([one, sb]), y) - rss_add,
        "b": _rss(np.hstack([one, sa]), y) - rss_add,
        "a:b": rss_add - rss_full,
    }
    type3 = {
        "a": _rss(np.hstack([one, sb, sab]), y) - rss_full,
        "b": _rss(np.hstack([one, sa, sab]), y) - rss_full,
        "a:b": rss_add - rss_full,
    }
    return {2: type2, 3: type3, 0: {"residual": rss_full}}


@pytest.mark.parametrize("anova_type", [2, 3])
def test_unbalanced_matches_nested_least_squares(anova_type: int) -> None:
    rows = unbalanced_rows()
    ref = _independent_tables(rows)
    res = two_way_anova(rows, anova_type=anova_type)
    assert not res.balanced and res.n == 30 and res.df_resid == 21
    sse = ref[0]["residual"]
    assert row(res, "residual").sum_sq == pytest.approx(sse, rel=1e-10)
    for term, df in [("a", 2), ("b", 2), ("a:b", 4)]:
        r = row(res, term)
        ss = ref[anova_type][term]
        f = (ss / df) / (sse / 21)
        assert r.sum_sq == pytest.approx(ss, rel=1e-9)
        assert r.df == df
        assert r.f == pytest.approx(f, rel=1e-9)
        assert r.pvalue == pytest.approx(sps.f.sf(f, df, 21), rel=1e-7)


def test_type3_is_not_the_treatment_coded_type3() -> None:
    # The reason for C(a, Sum): with dummy coding a Type III "main effect" is a simple
    # effect at the reference level and its SS differs on unbalanced data.
    rows = unbalanced_rows()
    df = pd.DataFrame(rows).astype({"a": str, "b": str})
    wrong = anova_lm(smf.ols("y ~ C(a) * C(b)", df).fit(), typ=3)
    res = two_way_anova(rows, anova_type=3)
    assert abs(row(res, "a").sum_sq / wrong.loc["C(a)", "sum_sq"] - 1) > 0.05


def test_unbalanced_marginal_means_match_statsmodels_contrast() -> None:
    # Estimated marginal mean of a level = average of its cell means: a linear contrast of
    # the cell-means regression, evaluated with statsmodels' OLS t_test.
    rows = unbalanced_rows()
    res = two_way_anova(rows, alpha=0.1)
    cell = pd.Categorical([f"{r['a']}|{r['b']}" for r in rows])
    x = pd.get_dummies(cell).to_numpy(dtype=float)
    fit = sm.OLS(np.array([r["y"] for r in rows], dtype=float), x).fit()
    names = list(cell.categories)
    for factor, margins in [(0, res.marginal_means_a), (1, res.marginal_means_b)]:
        for mm in margins:
            w = np.array([1.0 if n.split("|")[factor] == mm.level else 0.0 for n in names])
            tt = fit.t_test(w / w.sum())
            low, high = tt.conf_int(alpha=0.1)[0]
            assert mm.estimate == pytest.approx(float(tt.effect[0]), rel=1e-10)
            assert mm.se == pytest.approx(float(tt.sd[0, 0]), rel=1e-10)
            assert (mm.ci_low, mm.ci_high) == pytest.approx((low, high), rel=1e-10)


def test_unbalanced_type2_with_interaction_warns() -> None:
    rows = unbalanced_rows()
    # Interaction p = 0.058 on this subset (Type II = Type III for the highest-order term).
    res2 = two_way_anova(rows, factor_a="material", factor_b="temperature", alpha=0.1)
    assert row(res2, "a:b").significant
    assert any(
        w.code == Code.TYPE_II_INTERACTION and "Type III" in w.message for w in res2.warnings
    )
    assert two_way_anova(rows, anova_type=3, alpha=0.1).warnings == ()
    assert two_way_anova(rows, alpha=0.05).warnings == ()


# ------------------------------------------------------------------ single replicate


def test_single_replicate_fits_additive_model() -> None:
    res = two_way_anova(impurity_rows(), factor_a="temperature", factor_b="pressure")
    assert not res.interaction_tested and res.balanced
    assert [r.source for r in res.anova] == ["temperature", "pressure", "Residual"]
    published = [(23.33, 2), (11.60, 4), (2.00, 8)]
    for r, (ss, df) in zip(res.anova, published, strict=True):
        assert r.sum_sq == pytest.approx(ss, abs=0.005)
        assert r.df == df
    assert sum(r.sum_sq for r in res.anova) == pytest.approx(36.93, abs=0.005)
    # Independent check: nested least-squares fits of the additive model.
    ref = _independent_tables(impurity_rows())[2]
    sse = 2.0  # residual SS of the additive model, Table 5.11
    for term, df in [("a", 2), ("b", 4)]:
        f = (ref[term] / df) / (sse / 8)
        assert row(res, term).f == pytest.approx(f, rel=1e-9)
        assert row(res, term).pvalue == pytest.approx(sps.f.sf(f, df, 8), rel=1e-7)
    assert len(res.warnings) == 1
    assert res.warnings[0].code == Code.INTERACTION_UNTESTABLE
    assert "interaction cannot be tested" in res.warnings[0].message
    assert "temperature × pressure" in res.warnings[0].message


def test_single_replicate_intervals() -> None:
    res = two_way_anova(impurity_rows())
    assert all(c.ci_low is None and c.ci_high is None and c.sd is None for c in res.cell_means)
    assert "additive" in res.ci_method
    half = sps.t.ppf(0.975, 8) * np.sqrt(0.25 / 5)  # MS_E = 2.00 / 8, 5 pressures per temp
    for mm, ys in zip(res.marginal_means_a, IMPURITY, strict=True):
        assert mm.estimate == pytest.approx(np.mean(ys))
        assert (mm.ci_low, mm.ci_high) == pytest.approx((np.mean(ys) - half, np.mean(ys) + half))


def test_two_by_two_single_replicate_has_one_residual_df() -> None:
    rows = [
        {"a": a, "b": b, "y": y}
        for (a, b), y in zip(
            [("x", "u"), ("x", "v"), ("z", "u"), ("z", "v")], [1.0, 2.0, 3.5, 4.0], strict=True
        )
    ]
    res = two_way_anova(rows)
    # By hand: y = 1, 2, 3.5, 4. The additive fit leaves ± (1 - 2 - 3.5 + 4) / 4 = ∓0.125 in
    # each cell, so SS_E = 4 * 0.125² = 0.0625 with 1 df. Row means 1.5 and 3.75 around the
    # grand mean 2.625: SS_A = 4 * 1.125² = 5.0625.
    assert res.df_resid == 1
    assert row(res, "residual").sum_sq == pytest.approx(0.0625)
    assert row(res, "a").sum_sq == pytest.approx(5.0625)


# ------------------------------------------------------------------------ degenerate


def test_exact_fit_warns_instead_of_infinite_f() -> None:
    rows = [
        {"a": a, "b": b, "y": 10.0 * i + j}
        for i, a in enumerate("xy")
        for j, b in enumerate("uv")
        for _ in range(3)
    ]
    res = two_way_anova(rows)
    assert row(res, "residual").sum_sq == 0.0
    assert all(r.f is None and r.pvalue is None and r.significant is None for r in res.anova)
    assert row(res, "a").partial_eta_sq == pytest.approx(1.0)
    assert any(
        w.code == Code.PERFECT_FIT and "fits the data exactly" in w.message for w in res.warnings
    )
    json.dumps(dataclasses.asdict(res), allow_nan=False)


def test_constant_response() -> None:
    rows = [{"a": a, "b": b, "y": 0.1} for a in "xy" for b in "uvw" for _ in range(2)]
    res = two_way_anova(rows)
    assert all(r.sum_sq == 0.0 and r.partial_eta_sq is None for r in res.anova)
    assert any(
        w.code == Code.PERFECT_FIT and "fits the data exactly" in w.message for w in res.warnings
    )


# ------------------------------------------------------------------------ bad input


def _grid(
    levels_a: Sequence[str] = "xy", levels_b: Sequence[str] = "uv", reps: int = 2
) -> list[dict[str, object]]:
    return [
        {"a": a, "b": b, "y": float(k)} for a in levels_a for b in levels_b for k in range(reps)
    ]


def _with(rows: list[dict[str, object]], i: int, **change: object) -> list[dict[str, object]]:
    out = [dict(r) for r in rows]
    out[i].update(change)
    return out


@pytest.mark.parametrize(
    ("data", "kwargs", "message"),
    [
        (_grid("x"), {}, "factor_a (a) must have at least 2 levels, got 1"),
        (
            _grid(levels_b="u"),
            {"factor_b": "layout"},
            "factor_b (layout) must have at least 2 levels",
        ),
        (
            _grid("abcdef"),
            {"factor_a": "price"},
            "factor_a (price) must have at most 5 levels, got 6",
        ),
        (_grid(levels_b="abcdef"), {}, "factor_b (b) must have at most 5 levels"),
        (
            [
                r
                for r in _grid(["low", "high"], ["list", "grid"])
                if (r["a"], r["b"]) != ("high", "grid")
            ],
            {"factor_a": "price", "factor_b": "layout"},
            "cell price=high, layout=grid has no observations",
        ),
        (_with(_grid(), 5, y="abc"), {}, "rows[5].y must be a number, got 'abc'"),
        (_with(_grid(), 3, y=None), {}, "rows[3].y must be a number, got None"),
        (_with(_grid(), 2, y=True), {}, "rows[2].y must be a number, got True"),
        (_with(_grid(), 7, y=float("nan")), {}, "rows[7].y must be a finite number"),
        (_with(_grid(), 1, y="inf"), {}, "rows[1].y must be a finite number"),
        (_with(_grid(), 6, y=-1e101), {}, "rows[6].y must be at most 1e+100 in absolute value"),
        (_with(_grid(), 4, a=None), {}, "rows[4].a must be a level name"),
        (_with(_grid(), 4, b=""), {}, "rows[4].b must be a level name"),
        (_with(_grid(), 0, a=[1]), {}, "rows[0].a must be a level name"),
        ([*_grid(), {"a": "x", "y": 1.0}], {}, "rows[8].b is required"),
        ([*_grid(), 3.0], {}, "rows[8] must be an object with keys a, b, y"),
        ([], {}, "rows must hold at least one observation"),
        ("a,b,y", {}, "rows must be a list of objects"),
        (_grid(), {"anova_type": 1}, "anova_type must be 2 or 3, got 1"),
        (_grid(), {"anova_type": "3"}, "anova_type must be 2 or 3, got '3'"),
        (_grid(), {"anova_type": True}, "anova_type must be 2 or 3, got True"),
        (_grid(), {"alpha": 0.7}, "alpha must be in (0, 0.5], got 0.7"),
        (_grid(), {"alpha": 0}, "alpha must be in (0, 0.5], got 0"),
        (_grid(), {"factor_a": "  "}, "factor_a must be a non-empty name"),
        (_grid(), {"factor_b": 3}, "factor_b must be a non-empty name, got 3"),
        (_grid(), {"response": ""}, "response must be a non-empty name"),
        (_grid(), {"factor_a": "price", "factor_b": "price"}, "factor_b must differ from factor_a"),
        (
            pd.DataFrame(_grid()),
            {"factor_a": "a", "factor_b": "b", "response": "revenue"},
            "response column 'revenue' is not in the data",
        ),
        (
            pd.DataFrame(_grid()),
            {"factor_a": "price"},
            "factor_a column 'price' is not in the data",
        ),
        (
            pd.DataFrame(_grid()).assign(y=lambda d: d["y"].where(d.index != 6)),
            {},
            "rows[6].y must be a finite number, got nan",
        ),
        (
            pd.DataFrame(_grid()).assign(
                rev=lambda d: d["y"].astype(object).where(d.index != 2, "n/a")
            ),
            {"response": "rev"},
            "rows[2].rev must be a number, got 'n/a'",
        ),
    ],
)
def test_invalid_input_names_the_field(
    data: object, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError) as err:
        two_way_anova(data, **kwargs)  # type: ignore[arg-type]
    assert str(err.value).startswith(message)


def test_row_cap() -> None:
    df = pd.DataFrame(
        {"a": np.arange(MAX_ROWS + 1) % 2, "b": np.arange(MAX_ROWS + 1) // 2 % 2, "y": 1.0}
    )
    with pytest.raises(ValueError, match=rf"^rows must hold at most {MAX_ROWS} observations"):
        two_way_anova(df)


# ------------------------------------------------------------------ Monte Carlo properties


@pytest.mark.slow
def test_type_i_error_and_coverage_unbalanced_type3() -> None:
    # Null: all 9 cell means equal 10, sd 2, cell sizes 2..5 (unbalanced), Type III.
    # R = 250 replicates. For a rejection (or coverage) indicator with probability p the MC
    # standard error is sqrt(p(1-p)/R): 0.0138 at p = 0.05 and also at p = 0.95. Rates that
    # average several correlated indicators per replicate have SE no larger than that, so
    # 4 SE = 0.055 bounds every check (false failure rate < 1e-4 per check).
    rng = np.random.default_rng(20240607)
    sizes = np.array([2, 3, 4, 5, 2, 3, 4, 5, 3])
    cells = np.repeat(np.arange(9), sizes)
    a, b = [f"a{c // 3}" for c in cells], [f"b{c % 3}" for c in cells]
    reps = 250
    pvals = np.empty((reps, 3))
    cell_cover = np.empty(reps)
    marg_cover = np.empty(reps)
    for r in range(reps):
        y = rng.normal(10.0, 2.0, cells.size)
        res = two_way_anova(pd.DataFrame({"a": a, "b": b, "y": y}), anova_type=3)
        pvals[r] = [x.pvalue for x in res.anova[:3]]
        cell_cover[r] = np.mean([c.ci_low <= 10.0 <= c.ci_high for c in res.cell_means])
        margins = res.marginal_means_a + res.marginal_means_b
        marg_cover[r] = np.mean([m.ci_low <= 10.0 <= m.ci_high for m in margins])
    tol = 4 * np.sqrt(0.05 * 0.95 / reps)
    assert np.all(np.abs((pvals < 0.05).mean(axis=0) - 0.05) < tol)
    # p-values uniform under the null (KS at the 0.001 level, per effect).
    assert all(sps.kstest(pvals[:, k], "uniform").pvalue > 0.001 for k in range(3))
    assert abs(cell_cover.mean() - 0.95) < tol
    assert abs(marg_cover.mean() - 0.95) < tol


@pytest.mark.slow
def test_power_matches_noncentral_f() -> None:
    # Balanced 3 x 3, n = 3 per cell, sigma = 1, an interaction gamma_ij (rows and columns
    # sum to zero) plus a main effect of A. Exact power of the F test: noncentral F with
    # lambda = n * sum(effect²) / sigma² (the fixed-effects ANOVA power computation, e.g.
    # Montgomery 8th ed., ch. 5 "Choice of Sample Size"), evaluated with scipy's ncf.
    # MC SE at R = 250 is at most sqrt(0.25 / 250) = 0.032; tolerance 4 SE = 0.126.
    rng = np.random.default_rng(7)
    n, sigma, reps = 3, 1.0, 250
    tau = np.array([-0.5, 0.0, 0.5])
    gamma = 0.8 * np.array([[1.0, -1.0, 0.0], [-1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    mu = tau[:, None] + gamma
    ia, ib = np.divmod(np.repeat(np.arange(9), n), 3)
    frame = pd.DataFrame({"a": ia, "b": ib})
    df_e = 9 * (n - 1)
    lam_a = n * 3 * np.sum(tau**2) / sigma**2
    lam_ab = n * np.sum(gamma**2) / sigma**2
    power_a = sps.ncf.sf(sps.f.ppf(0.95, 2, df_e), 2, df_e, lam_a)
    power_ab = sps.ncf.sf(sps.f.ppf(0.95, 4, df_e), 4, df_e, lam_ab)
    hits = np.zeros(2)
    for _ in range(reps):
        y = mu[ia, ib] + rng.normal(0.0, sigma, ia.size)
        res = two_way_anova(frame.assign(y=y))
        hits += [row(res, "a").pvalue < 0.05, row(res, "a:b").pvalue < 0.05]
    assert 0.3 < power_a < 0.9 and 0.3 < power_ab < 0.9  # informative targets
    assert abs(hits[0] / reps - power_a) < 0.126
    assert abs(hits[1] / reps - power_ab) < 0.126


def test_boolean_levels_read_as_true_and_false() -> None:
    # A CSV's true/false column (e.g. "coupon shown") is a two-level factor: the analysis is
    # the one of the same data labelled "true"/"false".
    labelled = [
        {"a": a, "b": b, "y": y}
        for (a, b), ys in {
            ("true", "u"): [3.0, 4.0],
            ("true", "v"): [6.0, 5.5],
            ("false", "u"): [1.0, 2.5],
            ("false", "v"): [2.0, 1.0],
        }.items()
        for y in ys
    ]
    booleans = [{**r, "a": r["a"] == "true"} for r in labelled]
    res_bool, res_text = two_way_anova(booleans), two_way_anova(labelled)
    assert res_bool.levels_a == ("true", "false")
    assert row(res_text, "a").sum_sq > 0
    assert [r.sum_sq for r in res_bool.anova] == [r.sum_sq for r in res_text.anova]


# ------------------------------------------------------------- arrays (stats.doe proper)


def test_codes_give_the_analysis_of_the_rows() -> None:
    # stats.doe takes level codes, level names and responses; sources.doe reads rows into them.
    from stats.doe import two_way_anova_codes

    rows = unbalanced_rows()
    levels_a, levels_b = ("1", "2", "3"), ("15", "70", "125")
    codes_a = np.array([levels_a.index(str(r["a"])) for r in rows])
    codes_b = np.array([levels_b.index(str(r["b"])) for r in rows])
    y = np.array([r["y"] for r in rows], dtype=float)
    res = two_way_anova_codes(codes_a, codes_b, y, levels_a=levels_a, levels_b=levels_b)
    assert res == two_way_anova(rows)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"codes_a": np.array([0, 1, 2, 0])}, "factor_a"),
        ({"codes_b": np.array([0.0, 1.0, 0.0, 1.0])}, "factor_b"),
        ({"codes_a": np.array([0, 1, 0])}, "factor_a"),
        ({"levels_a": ("x", "x")}, "factor_a"),
        ({"levels_b": ("u",)}, "factor_b"),
        ({"y": np.array([1.0, np.nan, 2.0, 3.0])}, "y"),
    ],
)
def test_codes_are_checked(change: dict[str, object], field: str) -> None:
    from stats.doe import two_way_anova_codes
    from stats.errors import InvalidInput

    args: dict[str, object] = {
        "codes_a": np.array([0, 0, 1, 1]),
        "codes_b": np.array([0, 1, 0, 1]),
        "y": np.array([1.0, 2.0, 3.0, 5.0]),
        "levels_a": ("x", "z"),
        "levels_b": ("u", "v"),
    }
    args.update(change)
    with pytest.raises(InvalidInput) as err:
        two_way_anova_codes(**args)  # type: ignore[arg-type]
    assert err.value.field == field
