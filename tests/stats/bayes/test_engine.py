"""The Bayesian orchestrator: reference values, joint draws against quadrature, guardrails."""

import dataclasses
import json
import math

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as st

from stats.bayes import engine
from stats.bayes.engine import guardrail_specs, period_stats, variant_stats
from stats.warnings import Code


def analyze_bayesian(metric, variants, *, guardrails=(), **kwargs):
    """The engine on JSON records, through the parsers the web layer calls."""
    stats = variant_stats(metric, variants)
    return engine.analyze_bayesian(metric, stats, guardrails=guardrail_specs(guardrails), **kwargs)


def expected_loss_over_time(metric, periods, variants_by_period, **kwargs):
    """The engine on each period's JSON records, through the parser the web layer calls."""
    by_period = period_stats(metric, variants_by_period)
    return engine.expected_loss_over_time(metric, periods, by_period, **kwargs)


def prop(*rows):
    return [{"name": n, "users": u, "conversions": c} for n, u, c in rows]


AB = prop(("A", 1000, 100), ("B", 1000, 120))


def test_api_example_reproduces_the_reference_values():
    r = analyze_bayesian(
        "proportion", AB, control="A", threshold=0.001, rope=(-0.005, 0.005), seed=1
    )
    a, b = r.variants
    (cmp,) = r.comparisons
    # Issue reference (Beta(1, 1) prior): P(B > A) = 0.923183, loss of shipping B 0.00048461.
    assert b.prob_best == pytest.approx(0.923183, abs=5e-7)
    assert cmp.prob_better == pytest.approx(0.923183, abs=5e-7)
    assert b.expected_loss == pytest.approx(0.00048461, abs=5e-9)
    # Loss of keeping A = loss of B + E[θB − θA] (E[max(D,0)] − E[max(−D,0)] = E[D]).
    assert a.expected_loss == pytest.approx(b.expected_loss + 20 / 1002, rel=1e-9)
    assert (r.decision, r.best, r.method) == ("ship", "B", "closed-form")
    assert "ship B" in r.reasons[-1]
    # Posterior means and equal-tailed intervals: Beta(121, 881) from scipy.stats.
    assert b.mean == pytest.approx(121 / 1002)
    assert (b.ci_low, b.ci_high) == pytest.approx(st.beta(121, 881).interval(0.95))
    assert cmp.lift_mean == pytest.approx(20 / 1002)
    assert cmp.prob_rope_below + cmp.prob_rope_inside + cmp.prob_rope_above == pytest.approx(1)
    assert cmp.hdi_low < cmp.lift_mean < cmp.hdi_high
    json.dumps(dataclasses.asdict(r))  # the web layer serialises it as is


def test_reference_small_and_equal_cases():
    r = analyze_bayesian(
        "proportion", prop(("A", 100, 10), ("B", 100, 15)), control="A", threshold=0.001
    )
    assert r.comparisons[0].prob_better == pytest.approx(0.853284, abs=5e-7)
    r = analyze_bayesian(
        "proportion", prop(("A", 500, 50), ("B", 500, 50)), control="A", threshold=0.001
    )
    assert r.comparisons[0].prob_better == pytest.approx(0.5, abs=1e-10)
    assert r.variants[0].expected_loss == pytest.approx(r.variants[1].expected_loss, rel=1e-9)
    assert r.variants[0].cvar == pytest.approx(r.variants[1].cvar, rel=1e-6)
    assert r.decision == "keep-collecting"


def test_control_listed_second_keeps_the_user_order():
    r = analyze_bayesian("proportion", AB[::-1], control="A", threshold=0.001)
    assert [v.name for v in r.variants] == ["B", "A"]
    assert r.variants[0].prob_best == pytest.approx(0.923183, abs=5e-7)
    assert r.comparisons[0].variant == "B"


def test_rope_probabilities_match_quadrature():
    # P(θB − θA < lo) = ∫ f_A(x) F_B(x + lo) dx with scipy.stats and quad.
    r = analyze_bayesian("proportion", AB, control="A", threshold=0.001, rope=(-0.005, 0.01))
    a, b = st.beta(101, 901), st.beta(121, 881)

    def below(t):
        return integrate.quad(lambda x: a.pdf(x) * b.cdf(x + t), 0, 1, points=[0.1])[0]

    c = r.comparisons[0]
    assert c.prob_rope_below == pytest.approx(below(-0.005), abs=2e-5)
    assert c.prob_rope_above == pytest.approx(1 - below(0.01), abs=2e-5)


def test_three_arms_joint_draws_match_quadrature():
    # P(best_i) = ∫ f_i(x) Π_{j≠i} F_j(x) dx and E[max_j θ_j] = ∫ (1 − Π_j F_j(x)) dx.
    rows = prop(("A", 2000, 200), ("B", 2000, 215), ("C", 2000, 230))
    n = 200_000
    r = analyze_bayesian("proportion", rows, control="A", threshold=0.001, draws=n, seed=4)
    d = [
        st.beta(1 + c, 1 + u - c)
        for _, u, c in [(x["name"], x["users"], x["conversions"]) for x in rows]
    ]
    e_max = integrate.quad(
        lambda x: 1 - math.prod(f.cdf(x) for f in d), 0, 1, points=[0.1], limit=200
    )[0]
    assert r.method == "draws" and r.draws == n
    for i, v in enumerate(r.variants):
        p = integrate.quad(
            lambda x, i=i: d[i].pdf(x) * math.prod(f.cdf(x) for j, f in enumerate(d) if j != i),
            0,
            1,
            points=[0.1],
            limit=200,
        )[0]
        assert abs(v.prob_best - p) < 4 * math.sqrt(p * (1 - p) / n)  # 4 MC standard errors
        loss = e_max - d[i].mean()
        # sd of the loss is below the sd of max − θ_i <= 0.02 here; 4 SE = 4 * 0.02/sqrt(n)
        assert abs(v.expected_loss - loss) < 4 * 0.02 / math.sqrt(n)
    # Pairwise comparisons are exact (Miller), whatever the number of arms.
    p_ba = st.beta(216, 1786).expect(lambda x: d[0].cdf(x))
    assert r.comparisons[0].prob_better == pytest.approx(p_ba, abs=1e-7)


def test_hdi_matches_an_independent_draws_computation():
    # Against 400,000 draws of θB − θA and θB/θA − 1 (independent of the grid): the interval
    # must hold 95% of the draws (SE sqrt(.95 x .05 / n) = 3.4e-4; 4 SE) and be as short as
    # the shortest window over the sorted draws, to 1%. (The window's ends themselves are
    # poorly determined by draws: the width is flat near its minimum, so the ends are not
    # compared directly.)
    r = analyze_bayesian("proportion", AB, control="A", threshold=0.001)
    c = r.comparisons[0]
    rng = np.random.default_rng(8)
    n = 400_000
    a, b = rng.beta(101, 901, n), rng.beta(121, 881, n)
    m = math.ceil(0.95 * n)
    for x, (lo, hi) in [
        (b - a, (c.hdi_low, c.hdi_high)),
        (b / a - 1, (c.relative_hdi_low, c.relative_hdi_high)),
    ]:
        assert abs(np.mean((x >= lo) & (x <= hi)) - 0.95) < 4 * 3.4e-4
        s = np.sort(x)
        shortest = np.min(s[m - 1 :] - s[: n - m + 1])
        assert hi - lo == pytest.approx(shortest, rel=0.01)


def test_mean_and_count_two_arms_match_draws():
    # Difference of two t (mean) and two Gamma (count) posteriors by grid vs 400,000 draws.
    n = 400_000
    rng = np.random.default_rng(21)
    r = analyze_bayesian(
        "mean",
        [
            {"name": "A", "users": 50, "mean": 30, "sd": 12},
            {"name": "B", "users": 60, "mean": 34, "sd": 13},
        ],
        control="A",
        threshold=0.1,
    )
    a = 30 + 12 / math.sqrt(50) * rng.standard_t(49, n)
    b = 34 + 13 / math.sqrt(60) * rng.standard_t(59, n)
    p = np.mean(b > a)
    assert abs(r.comparisons[0].prob_better - p) < 4 * math.sqrt(p * (1 - p) / n) + 1e-4
    loss_b = np.maximum(a - b, 0)
    assert abs(r.variants[1].expected_loss - loss_b.mean()) < 4 * loss_b.std() / math.sqrt(n)
    r = analyze_bayesian(
        "count",
        [{"name": "A", "users": 400, "total": 300}, {"name": "B", "users": 400, "total": 340}],
        control="A",
        threshold=0.01,
    )
    a = rng.gamma(300.5, 1 / 400, n)
    b = rng.gamma(340.5, 1 / 400, n)
    p = np.mean(b > a)
    assert abs(r.comparisons[0].prob_better - p) < 4 * math.sqrt(p * (1 - p) / n) + 1e-4
    assert r.variants[1].mean == pytest.approx(340.5 / 400)


def test_revenue_prefers_the_richer_variant_and_is_seeded():
    rng = np.random.default_rng(30)

    def amounts(p, mu):
        return np.where(rng.random(5000) < p, rng.lognormal(mu, 1.0, 5000), 0.0).tolist()

    rows = [
        {"name": "A", "amounts": amounts(0.05, 3.0)},
        {"name": "B", "amounts": amounts(0.08, 3.2)},
    ]
    r1 = analyze_bayesian("revenue", rows, control="A", threshold=0.05, draws=20_000, seed=3)
    r2 = analyze_bayesian("revenue", rows, control="A", threshold=0.05, draws=20_000, seed=3)
    assert r1 == r2
    assert r1.method == "draws" and r1.variants[1].prob_best > 0.99
    assert r1.decision == "ship" and r1.best == "B"
    assert r1.densities[0].x and r1.lift_histograms[0].edges


def test_guardrails_joint_probability_and_conflict():
    latency = {
        "name": "latency",
        "metric": "mean",
        "tolerance": 2.0,
        "higher_is_better": False,
        "variants": [
            {"name": "A", "users": 1000, "mean": 300, "sd": 40},
            {"name": "B", "users": 1000, "mean": 306, "sd": 40},
        ],
    }
    r = analyze_bayesian("proportion", AB, control="A", threshold=0.001, guardrails=[latency])
    (g,) = r.guardrails
    # Latency B − A ~ t-difference ≈ N(6, 40²/1000 · 2): P(> 2) ≈ Φ((6 − 2)/1.789) = 0.9873.
    assert g.prob_degrade == pytest.approx(st.norm.cdf(4 / math.sqrt(3.2)), abs=2e-3)
    assert g.fails
    c = r.comparisons[0]
    # Joint draws (100,000) of independent metrics: the product of the exact marginals within
    # 4 Monte Carlo standard errors.
    product = c.prob_better * (1 - g.prob_degrade)
    se = math.sqrt(product * (1 - product) / 100_000)
    assert c.prob_better_and_safe == pytest.approx(product, abs=4 * se)
    assert r.decision == "ship" and r.conflicts and "latency" in r.conflicts[0]
    assert any(reason.startswith("Conflict:") for reason in r.reasons)
    # The product is the joint probability under independence: check against joint draws.
    rng = np.random.default_rng(40)
    n = 400_000
    better = rng.beta(121, 881, n) > rng.beta(101, 901, n)
    ok = (306 + 40 / math.sqrt(1000) * rng.standard_t(999, n)) - (
        300 + 40 / math.sqrt(1000) * rng.standard_t(999, n)
    ) <= 2.0
    p = np.mean(better & ok)
    assert abs(c.prob_better_and_safe - p) < 4 * math.sqrt(p * (1 - p) / n) + 1e-4
    calm = dict(latency, tolerance=20.0)
    r = analyze_bayesian("proportion", AB, control="A", threshold=0.001, guardrails=[calm])
    assert not r.guardrails[0].fails and r.conflicts == ()


def test_degenerate_data_warns_instead_of_failing():
    r = analyze_bayesian(
        "proportion", prop(("A", 1000, 0), ("B", 1000, 0)), control="A", threshold=0.001
    )
    assert any(w.code == Code.PRIOR_ONLY and "no conversions" in w.message for w in r.warnings)
    r = analyze_bayesian(
        "mean",
        [
            {"name": "A", "users": 10, "mean": 5, "sd": 0},
            {"name": "B", "users": 10, "mean": 6, "sd": 1},
        ],
        control="A",
        threshold=0.1,
    )
    assert r.comparisons[0].prob_better == pytest.approx(
        st.t(9).sf((5 - 6) / (1 / 10**0.5)), abs=1e-4
    )
    assert any(
        w.code == Code.ZERO_VARIANCE and "zero standard deviation" in w.message for w in r.warnings
    )
    assert r.densities[0].x == ()
    r = analyze_bayesian(
        "mean",
        [
            {"name": "A", "users": 10, "mean": 0.1, "sd": 2},
            {"name": "B", "users": 10, "mean": 1, "sd": 2},
        ],
        control="A",
        threshold=0.1,
    )
    assert r.comparisons[0].relative_lift_mean is None
    assert any(w.code == Code.LIFT_UNDEFINED and "Relative lift" in w.message for w in r.warnings)


def test_expected_loss_over_time():
    days = [prop(("A", 100, 10), ("B", 100, 15)), prop(("A", 1000, 100), ("B", 1000, 120))]
    s = expected_loss_over_time("proportion", ["d1", "d2"], days, control="A")
    assert s.names == ("A", "B")
    assert s.expected_loss[1][1] == pytest.approx(0.00048461, abs=5e-9)
    three = [prop(("A", 100, 10), ("B", 100, 15), ("C", 100, 9))] * 2
    n = 200_000
    s = expected_loss_over_time("proportion", ["d1", "d2"], three, control="A", draws=n, seed=2)
    # Reference: E[max_j θ_j] − E[θ_i] by quadrature. Posterior sds are ~0.03, so the loss
    # sd is below 0.06 and 4 SE < 4 x 0.06 / sqrt(n).
    d = [st.beta(11, 91), st.beta(16, 86), st.beta(10, 92)]
    e_max = integrate.quad(lambda x: 1 - math.prod(f.cdf(x) for f in d), 0, 1, limit=200)[0]
    for f, series in zip(d, s.expected_loss, strict=True):
        assert series == pytest.approx([e_max - f.mean()] * 2, abs=4 * 0.06 / math.sqrt(n))


BAD = [
    (dict(variants=prop(("A", -1, 0), ("B", 10, 1))), r"variants\[0\]\.users must be a whole"),
    (
        dict(variants=prop(("A", 1000, 1200), ("B", 10, 1))),
        r"variants\[0\]\.conversions must be <= users \(1000\), got 1200",
    ),
    (dict(prior={"alpha": 0}), r"prior\.alpha must be > 0"),
    (dict(prior={"beta": -1}), r"prior\.beta must be > 0"),
    (dict(prior={"shape": 1}), r"prior\.shape is not a prior parameter of metric 'proportion'"),
    (dict(threshold=-0.1), "threshold must be >= 0"),
    (dict(rope=(0.01, -0.01)), r"rope must have low <= high"),
    (dict(rope=(0.01,)), r"rope must be a pair"),
    (dict(draws=2_000_000), "draws must be <= 1,000,000"),
    (dict(draws=10), "draws must be a whole number >= 1000"),
    (dict(variants=prop(("A", 10, 1))), "variants must have at least 2 entries, got 1"),
    (dict(control="Z"), "control must be one of A, B, got 'Z'"),
    (dict(metric="rate"), "metric must be one of proportion, mean, count, revenue, ratio"),
    (dict(variants=prop(("A", 10, 1), ("A", 10, 1))), r"variants\[1\]\.name must be unique"),
    (dict(seed=-1), "seed must be a whole number >= 0"),
    (
        dict(
            guardrails=[
                {
                    "name": "g",
                    "metric": "proportion",
                    "tolerance": -1,
                    "variants": prop(("A", 10, 1), ("B", 10, 1)),
                }
            ]
        ),
        r"guardrails\[0\]\.tolerance must be >= 0",
    ),
    (
        dict(
            guardrails=[
                {
                    "name": "g",
                    "metric": "proportion",
                    "tolerance": 0,
                    "variants": prop(("A", 10, 1), ("C", 10, 1)),
                }
            ]
        ),
        r"guardrails\[0\]\.variants must name the same variants",
    ),
    (
        dict(
            guardrails=[
                {
                    "name": "g",
                    "metric": "proportion",
                    "tolerance": 0,
                    "variants": prop(("A", 10, 11), ("B", 10, 1)),
                }
            ]
        ),
        r"guardrails\[0\]\.variants\[0\]\.conversions must be <= users",
    ),
    (
        dict(
            guardrails=[
                {
                    "name": "g",
                    "metric": "count",
                    "tolerance": 0,
                    "prior": {"shape": 0},
                    "variants": prop(("A", 10, 1), ("B", 10, 1)),
                }
            ]
        ),
        r"guardrails\[0\]\.prior\.shape must be > 0",
    ),
    (
        dict(
            guardrails=[
                {
                    "name": "g",
                    "metric": "proportion",
                    "tolerance": 0,
                    "max_risk": 1.5,
                    "variants": prop(("A", 10, 1), ("B", 10, 1)),
                }
            ]
        ),
        r"guardrails\[0\]\.max_risk must be in \(0, 1\)",
    ),
    (
        dict(
            draws=1_000_000,
            guardrails=[
                {
                    "name": f"g{i}",
                    "metric": "proportion",
                    "tolerance": 0,
                    "variants": prop(("A", 10, 1), ("B", 10, 1)),
                }
                for i in range(5)
            ],
        ),
        r"draws × variants × metrics must be <= 10,000,000",
    ),
    (
        dict(
            metric="mean",
            prior=None,
            variants=[
                {"name": "A", "users": 1, "mean": 1, "sd": 1},
                {"name": "B", "users": 5, "mean": 1, "sd": 1},
            ],
        ),
        r"variants\[0\]\.users must be a whole number >= 2",
    ),
    (
        dict(
            metric="count",
            prior=None,
            variants=[
                {"name": "A", "users": 5, "total": -1},
                {"name": "B", "users": 5, "total": 1},
            ],
        ),
        r"variants\[0\]\.total must be a whole number >= 0",
    ),
    (
        dict(
            metric="revenue",
            prior=None,
            variants=[{"name": "A", "amounts": [1, -1, 2]}, {"name": "B", "amounts": [1, 2]}],
        ),
        r"variants\[0\]\.amounts must be a non-empty list",
    ),
    (
        dict(
            metric="revenue",
            prior=None,
            variants=[{"name": "A", "amounts": list(range(1, 11))}, {"name": "B"}],
        ),
        r"variants\[1\]\.amounts is required",
    ),
    (
        dict(
            metric="revenue",
            prior=None,
            variants=[
                {"name": "A", "amounts": [0, 12.5, 30, 8]},
                {"name": "B", "amounts": [0, 20, 41, 5.5]},
            ],
        ),
        r"variants\[0\]\.amounts must have more buyers: with 3 positive amounts",
    ),
]


@pytest.mark.parametrize(("override", "message"), BAD)
def test_invalid_input_names_the_field(override, message):
    kwargs = dict(
        metric="proportion",
        variants=AB,
        control="A",
        threshold=0.001,
        prior={"alpha": 1, "beta": 1},
    )
    kwargs.update(override)
    with pytest.raises(ValueError, match=f"^{message}"):
        analyze_bayesian(kwargs.pop("metric"), kwargs.pop("variants"), **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(periods=["d1"], variants_by_period=[AB, AB]), "periods must have between 1 and"),
        (
            dict(periods=["d1", "d2"], variants_by_period=[AB, prop(("A", 10, 1), ("C", 10, 1))]),
            r"variants_by_period\[1\] must name the same variants",
        ),
        (
            dict(periods=["d1"], variants_by_period=[prop(("A", 10, 11), ("B", 10, 1))]),
            r"variants_by_period\[0\]\[0\]\.conversions must be <= users",
        ),
    ],
)
def test_loss_over_time_invalid_input(kwargs, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        expected_loss_over_time("proportion", control="A", **kwargs)
