"""The slowest valid request per endpoint: ``python -m bench worst``.

Each case is a request inside the documented caps (README, "Limits") built to cost the most
work: the most variants, looks, draws, covariates, rows or dates the API accepts. Every one
must answer within 2 s on the 2-core development machine (Flask test client, one request at a
time, after one warm-up request per endpoint). Cases past a cap must answer a 413 or 422
naming it; ``tests/web/test_hostile_inputs.py`` checks those quickly.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app import create_app
from sources.tabular import MAX_ROWS, MAX_VARIANTS
from stats.bayes.stopping import MAX_WORK
from stats.cuped import MAX_ARMS as CUPED_MAX_ARMS
from stats.cuped import MAX_COVARIATES
from stats.doe import MAX_LEVELS
from stats.doe import MAX_ROWS as DOE_MAX_ROWS

LIMIT_SECONDS = 2.0


@dataclass(frozen=True)
class Case:
    endpoint: str
    what: str
    request: Callable[[], dict[str, Any]]
    """Keyword arguments for ``client.post`` (built lazily: some are large)."""


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _typed_mean_variants(k: int) -> list[dict[str, Any]]:
    return [
        {"name": f"v{i}", "users": 10_000 + i, "mean": 10.0 + 0.01 * i, "sd": 3.0} for i in range(k)
    ]


def _typed_prop_variants(k: int) -> list[dict[str, Any]]:
    return [{"name": f"v{i}", "users": 10_000, "conversions": 1_000 + 3 * i} for i in range(k)]


def _upload(text: str, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {k: str(v) for k, v in fields.items()}
    data["file"] = (io.BytesIO(text.encode()), "data.csv")
    return {"data": data, "content_type": "multipart/form-data"}


def _users_csv(rows: int, arms: int = 2, seed: int = 0) -> str:
    rng = _rng(seed)
    arm = rng.integers(0, arms, rows)
    conv = (rng.random(rows) < 0.1).astype(int)
    revenue = np.round(rng.gamma(2.0, 10.0, rows) * conv, 2)
    lines = "\n".join(f"v{a},{c},{r}" for a, c, r in zip(arm, conv, revenue, strict=True))
    return "variant,converted,revenue\n" + lines + "\n"


def _dated_csv(rows: int, days: int, seed: int = 0) -> str:
    rng = _rng(seed)
    day = np.sort(rng.integers(0, days, rows))
    dates = np.datetime64("2024-01-01") + day.astype("timedelta64[D]")
    arm = np.where(rng.random(rows) < 0.5, "A", "B")
    conv = (rng.random(rows) < 0.1).astype(int)
    body = "\n".join(f"{d},{a},{c}" for d, a, c in zip(dates.astype(str), arm, conv, strict=True))
    return "date,variant,converted\n" + body + "\n"


def _lin_csv(rows: int, arms: int, covariates: int, seed: int = 0) -> str:
    rng = _rng(seed)
    arm = np.arange(rows) % arms
    x = np.round(rng.normal(0.0, 1.0, (rows, covariates)), 3)
    y = np.round(x.sum(axis=1) + 0.1 * arm + rng.normal(0.0, 1.0, rows), 3)
    head = "variant,y," + ",".join(f"x{j}" for j in range(covariates))
    body = "\n".join(
        f"a{a},{yy}," + ",".join(map(str, xs)) for a, yy, xs in zip(arm, y, x, strict=True)
    )
    return head + "\n" + body + "\n"


def _doe_csv(rows: int, seed: int = 0) -> str:
    rng = _rng(seed)
    a = rng.integers(0, MAX_LEVELS, rows)
    b = rng.integers(0, MAX_LEVELS, rows)
    y = np.round(rng.normal(10.0, 2.0, rows) + a - b, 3)
    body = "\n".join(f"a{i},b{j},{v}" for i, j, v in zip(a, b, y, strict=True))
    return "factor_a,factor_b,response\n" + body + "\n"


CASES: list[Case] = [
    Case(
        "/api/power",
        "mean metric, 20 arms, power solved",
        lambda: {
            "json": {
                "metric": "mean",
                "baseline": 10,
                "sd": 3,
                "mde": 0.05,
                "power": 0.8,
                "arms": 20,
            }
        },
    ),
    Case(
        "/api/power",
        "proportion, 20 arms, tiny MDE",
        lambda: {"json": {"baseline": 0.5, "mde": 0.0001, "power": 0.99, "arms": 20}},
    ),
    Case(
        "/api/abtest",
        f"{MAX_VARIANTS} typed variants, 20 guardrails of {MAX_VARIANTS}",
        lambda: {
            "json": {
                "variants": _typed_prop_variants(MAX_VARIANTS),
                "guardrails": [
                    {
                        "metric": f"g{j}",
                        "direction": "higher",
                        "tolerance": 0.1,
                        "variants": _typed_mean_variants(MAX_VARIANTS),
                    }
                    for j in range(20)
                ],
            }
        },
    ),
    Case(
        "/api/abtest",
        f"CSV upload, {MAX_ROWS:,} rows, revenue guardrail",
        lambda: _upload(
            _users_csv(MAX_ROWS),
            metric="converted",
            guardrails='[{"metric": "revenue", "direction": "higher", "tolerance": 0.5}]',
        ),
    ),
    Case(
        "/api/sequential/simulate",
        "100 looks x 100,000 simulations, continuous",
        lambda: {
            "json": {
                "looks": 100,
                "n_per_arm": 100_000_000,
                "metric": "mean",
                "baseline": 10,
                "sd": 3,
                "effect": 0.0,
                "simulations": 100_000,
                "seed": 1,
            }
        },
    ),
    Case(
        "/api/sequential/simulate",
        "100 looks x 100,000 simulations, conversion",
        lambda: {
            "json": {
                "looks": 100,
                "n_per_arm": 100_000_000,
                "baseline": 0.1,
                "effect": 0.0,
                "simulations": 100_000,
                "seed": 1,
            }
        },
    ),
    Case(
        "/api/sequential/boundaries",
        "100 looks, Hwang-Shih-DeCani",
        lambda: {"json": {"looks": 100, "alpha": 0.05, "spending": "hsd", "gamma": -4}},
    ),
    Case(
        "/api/sequential/monitor",
        "100 looks taken",
        lambda: {
            "json": {
                "planned_n_per_arm": 1_000_000,
                "looks": [
                    {"users": [10_000 * (t + 1)] * 2, "conversions": [1_000 * (t + 1)] * 2}
                    for t in range(100)
                ],
            }
        },
    ),
    Case(
        "/api/sequential/msprt",
        "mean metric, planned n 1e12",
        lambda: {
            "json": {
                "metric": "mean",
                "alpha": 0.05,
                "planned_n": 10**12,
                "variants": [
                    {"name": "A", "users": 10**9, "mean": 10, "sd": 3},
                    {"name": "B", "users": 10**9, "mean": 10.001, "sd": 3},
                ],
            }
        },
    ),
    Case(
        "/api/bayesian",
        f"{MAX_VARIANTS} revenue-free proportion arms, most draws",
        lambda: {
            "json": {
                "metric": "proportion",
                "threshold": 0.001,
                "draws": 200_000,
                "seed": 1,
                "variants": _typed_prop_variants(MAX_VARIANTS),
            }
        },
    ),
    Case(
        "/api/bayesian",
        "CSV, 1,000,000 rows over 1,000 dates",
        lambda: _upload(_dated_csv(1_000_000, 1_000), threshold=0.001),
    ),
    Case(
        "/api/bayesian/stopping",
        f"simulations x days at the {MAX_WORK:,} cap",
        lambda: {
            "json": {
                "baseline": 0.1,
                "daily_users": 1000,
                "days": 365,
                "threshold": 0.001,
                "simulations": MAX_WORK // 365,
                "seed": 1,
            }
        },
    ),
    Case(
        "/api/cuped",
        f"Lin, {CUPED_MAX_ARMS} arms x {MAX_COVARIATES} covariates, 50,000 rows",
        lambda: {
            "json": {
                "csv": _lin_csv(50_000, CUPED_MAX_ARMS, MAX_COVARIATES),
                "variant": "variant",
                "outcome": "y",
                "covariates": [f"x{j}" for j in range(MAX_COVARIATES)],
                "control": "a0",
            }
        },
    ),
    Case(
        "/api/cuped",
        f"Lin, 2 arms x {MAX_COVARIATES} covariates, 200,000 rows",
        lambda: {
            "json": {
                "csv": _lin_csv(200_000, 2, MAX_COVARIATES),
                "variant": "variant",
                "outcome": "y",
                "covariates": [f"x{j}" for j in range(MAX_COVARIATES)],
                "control": "a0",
            }
        },
    ),
    Case(
        "/api/cuped/plan",
        "10,001-point rho grid",
        lambda: {
            "json": {
                "rho": 0.6,
                "n_per_group": 5000,
                "sd": 10,
                "rho_grid": np.linspace(-0.9999, 0.9999, 10_001).tolist(),
            }
        },
    ),
    Case(
        "/api/doe",
        f"{MAX_LEVELS} x {MAX_LEVELS}, {DOE_MAX_ROWS:,} rows, Type III",
        lambda: _upload(_doe_csv(DOE_MAX_ROWS), anova_type=3),
    ),
]


def run(cases: list[Case] = CASES) -> list[tuple[Case, int, float]]:
    """Each case once after a warm-up request per endpoint: (case, status, seconds)."""
    app = create_app({"TESTING": True, "DATABASE": ":memory:"})
    client = app.test_client()
    out = []
    warmed: set[str] = set()
    for case in cases:
        kwargs = case.request()
        if case.endpoint not in warmed:
            client.post(case.endpoint, **case.request())
            warmed.add(case.endpoint)
            kwargs = case.request()
        start = time.perf_counter()
        response = client.post(case.endpoint, **kwargs)
        seconds = time.perf_counter() - start
        out.append((case, response.status_code, seconds))
    return out


def main() -> None:
    results = run()
    print(f"\n## Worst valid request per endpoint (limit {LIMIT_SECONDS:.0f} s)")
    print(f"{'endpoint':28} {'status':>6} {'time':>8}  case")
    slowest: dict[str, tuple[Case, int, float]] = {}
    for case, status, seconds in results:
        if case.endpoint not in slowest or seconds > slowest[case.endpoint][2]:
            slowest[case.endpoint] = (case, status, seconds)
    for case, status, seconds in slowest.values():
        flag = "" if status == 200 and seconds <= LIMIT_SECONDS else "  <-- over"
        print(f"{case.endpoint:28} {status:>6} {seconds:>7.2f}s  {case.what}{flag}")


if __name__ == "__main__":
    main()
