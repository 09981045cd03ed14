"""Several comparisons at once: Holm, Bonferroni and Benjamini–Hochberg, vs control or all pairs.

References: statsmodels ``multipletests`` (adjusted p-values), scipy ``ttest_ind_from_stats``
(each pair's Welch test), the definition of Benjamini & Yekutieli's (2005) FCR-adjusted
intervals (level 1 − R·α/m), and seeded simulations of the false discovery and false
coverage rates with tolerances from their Monte Carlo standard errors.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from stats.abtest import analyze
from stats.comparisons import adjust_pvalues, compare_to_control, interval_alpha, variant_pairs
from stats.errors import InvalidInput
from stats.sufficient import MeanStats, ProportionStats

PVALUES = [[0.01, 0.04, 0.03], [0.2, 0.001, 0.5, 0.04], [0.9], [0.02, 0.02, 0.6, 0.011]]


@pytest.mark.parametrize("pvalues", PVALUES)
@pytest.mark.parametrize(
    ("correction", "method"), [("holm", "holm"), ("bonferroni", "bonferroni"), ("bh", "fdr_bh")]
)
def test_adjusted_pvalues_match_statsmodels(pvalues, correction, method):
    ref = multipletests(pvalues, alpha=0.05, method=method)[1]
    assert adjust_pvalues(pvalues, correction) == pytest.approx(ref, rel=1e-12)


def test_fcr_level_counts_the_bh_rejections():
    # BH at 0.05 on these rejects 0.001, 0.008 and 0.029 (0.029 <= 3 * 0.05 / 5), not 0.2:
    # the FCR-adjusted intervals are at level 1 - 3 * 0.05 / 5 (Benjamini & Yekutieli 2005).
    pvalues = [0.2, 0.001, 0.029, 0.008, 0.6]
    assert multipletests(pvalues, alpha=0.05, method="fdr_bh")[0].sum() == 3
    assert interval_alpha(pvalues, 0.05, "bh") == pytest.approx(3 * 0.05 / 5)
    assert interval_alpha([0.5, 0.7], 0.05, "bh") == pytest.approx(0.05 / 2)  # none: Bonferroni
    assert interval_alpha(pvalues, 0.05, "holm") == pytest.approx(0.05 / 5)


def _means(rng: np.random.Generator, k: int, shift: np.ndarray | None = None) -> list[MeanStats]:
    n = rng.integers(80, 300, k)
    mu = np.zeros(k) if shift is None else shift
    out = []
    for i in range(k):
        x = rng.normal(mu[i], 1.0, n[i])
        out.append(MeanStats(f"V{i}", int(n[i]), float(x.mean()), float(x.std(ddof=1))))
    return out


def test_all_pairs_are_welch_tests_of_every_pair():
    variants = _means(np.random.default_rng(5), 4, np.array([0, 0.1, 0.3, 0.25]))
    comps = compare_to_control(variants, "V0", comparisons="all", correction="bonferroni")
    assert [(c.control, c.variant) for c in comps] == list(
        itertools.combinations(["V0", "V1", "V2", "V3"], 2)
    )
    by = {v.name: v for v in variants}
    raw = []
    for c in comps:
        b, v = by[c.control], by[c.variant]
        ref = sps.ttest_ind_from_stats(v.mean, v.sd, v.n, b.mean, b.sd, b.n, equal_var=False)
        assert c.pvalue == pytest.approx(ref.pvalue, rel=1e-9)
        assert c.ci_level == pytest.approx(1 - 0.05 / 6)
        raw.append(ref.pvalue)
    ref_adj = multipletests(raw, method="bonferroni")[1]
    assert [c.pvalue_adjusted for c in comps] == pytest.approx(ref_adj, rel=1e-9)


def test_variant_pairs_put_control_first():
    assert variant_pairs(["A", "B", "C"], "B") == (("B", "A"), ("B", "C"))
    assert variant_pairs(["A", "B", "C"], "B", "all") == (("B", "A"), ("B", "C"), ("A", "C"))
    with pytest.raises(InvalidInput) as err:
        variant_pairs(["A", "B"], "A", "some")  # type: ignore[arg-type]
    assert err.value.field == "comparisons"


@pytest.mark.parametrize("kind", ["proportion", "mean"])
def test_bh_interval_excludes_zero_exactly_when_bh_rejects(kind):
    # Duality of the FCR-adjusted intervals with BH, over seeded experiments near the boundary.
    rng = np.random.default_rng(41 if kind == "proportion" else 42)
    rejected = 0
    for _ in range(120):
        k = int(rng.integers(3, 6))
        if kind == "proportion":
            n = rng.integers(800, 3000, k)
            p = 0.1 + rng.normal(0, 0.012, k)
            variants: list = [
                ProportionStats(f"V{i}", int(n[i]), int(rng.binomial(n[i], p[i]))) for i in range(k)
            ]
        else:
            variants = _means(rng, k, rng.normal(0, 0.2, k))
        comps = compare_to_control(variants, "V0", correction="bh", comparisons="all")
        ref = multipletests([c.pvalue for c in comps], alpha=0.05, method="fdr_bh")[0]
        level = 1 - ref.sum() * 0.05 / len(comps) if ref.any() else 1 - 0.05 / len(comps)
        for c, reject in zip(comps, ref, strict=True):
            assert c.ci_level == pytest.approx(level)
            assert c.significant == bool(reject)
            if c.test != "fisher":
                assert (c.ci_low > 0 or c.ci_high < 0) == bool(reject)
            rejected += bool(reject)
    assert rejected > 30  # exercised, not vacuous


def test_bh_controls_false_discovery_and_false_coverage_rates():
    # 6 variants against control, 3 with a true effect: the false discovery proportion of BH
    # and the false coverage proportion of the selected intervals average at most alpha
    # (Benjamini & Hochberg 1995; Benjamini & Yekutieli 2005, Theorem 1: independent or
    # positively dependent tests, as comparisons with a shared control are). Tolerance: 3 Monte
    # Carlo standard errors of a proportion near 0.05.
    rng = np.random.default_rng(2024)
    effects = np.array([0, 0, 0, 0, 0.3, 0.3, 0.4])
    reps, fdp, fcp = 1500, [], []
    for _ in range(reps):
        variants = _means(rng, 7, effects)
        comps = compare_to_control(variants, "V0", correction="bh")
        selected = [(c, effects[int(c.variant[1:])]) for c in comps if c.significant]
        fdp.append(np.mean([d == 0 for _, d in selected]) if selected else 0.0)
        fcp.append(
            np.mean([not c.ci_low <= d <= c.ci_high for c, d in selected]) if selected else 0.0
        )
    tol = 3 * np.sqrt(0.05 * 0.95 / reps)
    assert np.mean(fdp) <= 0.05 + tol
    assert np.mean(fcp) <= 0.05 + tol
    assert np.mean([f > 0 for f in fdp]) > 0.01  # some false discoveries happen: not vacuous


def test_analyze_decides_on_control_pairs_only():
    variants = [
        ProportionStats("A", 5000, 500),
        ProportionStats("B", 5000, 620),
        ProportionStats("C", 5000, 505),
    ]
    a = analyze(variants, control="A", comparisons="all", correction="bh")
    assert a.comparison_set == "all" and a.correction == "bh"
    assert [(c.control, c.variant) for c in a.comparisons] == [("A", "B"), ("A", "C"), ("B", "C")]
    assert a.verdict == "ship" and "B beats A" in a.reasons[0]
    with pytest.raises(InvalidInput) as err:
        analyze(variants, control="A", correction="fdr")  # type: ignore[arg-type]
    assert err.value.field == "correction"
