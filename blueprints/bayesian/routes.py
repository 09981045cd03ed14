"""``GET /bayesian`` (the page), ``POST /api/bayesian`` (analysis) and
``POST /api/bayesian/stopping`` (the honest-stopping simulation).

The analysis takes per-variant records as JSON (``variants``, in the metric's shape) or a CSV
(multipart ``file``, pasted ``csv`` form text, or a JSON ``csv`` string) reduced by
:mod:`blueprints.bayesian.data`; with a date column it also answers the expected loss of each
choice day by day.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from flask import Response, current_app, render_template

from blueprints._api import Fields, bad_request, respond, stats_errors, unprocessable
from blueprints._upload import request_fields, uploaded_csv
from blueprints.bayesian import bp
from blueprints.bayesian.data import CsvRecords, Record, csv_records, source_records
from blueprints.bayesian.figures import analysis_figures, stopping_figures
from blueprints.bayesian.readout import analysis_readout, stopping_readout
from sources.tabular import MAX_VARIANTS, guess_control
from stats.bayes.engine import (
    BayesianAnalysis,
    LossOverTime,
    analyze_bayesian,
    guardrail_specs,
    loss_over_time,
    period_stats,
    variant_stats,
)
from stats.bayes.joint import EffectPrior
from stats.bayes.stopping import simulate_loss_stopping
from stats.vocabulary import BAYES_METRICS as METRICS

FIELDS = {
    "proportion": ("users", "conversions"),
    "mean": ("users", "mean", "sd"),
    "count": ("users", "total"),
}
"""The numbers each metric's variant record holds (besides ``name``; revenue has ``amounts``)."""
SAMPLES = ("bayesian_daily.csv", "abtest_users.csv")


@bp.get("/bayesian")
def page() -> str:
    folder = Path(current_app.static_folder or "") / "samples"
    samples = [name for name in SAMPLES if (folder / name).is_file()]
    return render_template("bayesian.html", samples=samples)


def variant_records(f: Fields, key: str, metric: str) -> list[Record]:
    """``f[key]``: a list of variant objects in ``metric``'s shape, type-checked (400s)."""
    items = f.objects(key)
    if len(items) > MAX_VARIANTS:
        unprocessable(
            f.name(key),
            f"{f.name(key)} must have at most {MAX_VARIANTS} entries, got {len(items)}.",
        )
    out = []
    for v in items:
        record: Record = {"name": v.string("name")}
        if metric == "revenue":
            record["amounts"] = v.numbers("amounts")
        else:
            record.update({k: v.number(k) for k in FIELDS[metric]})
        out.append(record)
    return out


def prior(f: Fields, key: str = "prior") -> dict[str, float] | None:
    """An object of prior parameters (numbers); stats says which names the metric allows."""
    if not f.has(key):
        return None
    values = Fields(f.data[key], f"{f.name(key)}.")
    return {str(k): values.number(str(k)) for k in values.data}


def guardrails(f: Fields) -> list[dict[str, Any]]:
    out = []
    for g in f.objects("guardrails", []):
        metric = g.choice("metric", METRICS)
        spec: dict[str, Any] = {
            "name": g.string("name"),
            "metric": metric,
            "tolerance": g.number("tolerance"),
            "higher_is_better": g.boolean("higher_is_better", True),
            "max_risk": g.number("max_risk", 0.1),
            "variants": variant_records(g, "variants", metric),
        }
        if g.has("prior"):
            spec["prior"] = prior(g)
        out.append(spec)
    return out


def effect_prior(f: Fields) -> EffectPrior | None:
    """``{"mean": 0, "sd": 0.01}``: a normal prior on each variant's absolute lift."""
    if not f.has("effect_prior"):
        return None
    if not isinstance(f.data["effect_prior"], dict):
        bad_request("effect_prior", 'effect_prior must be an object: {"mean": 0, "sd": 0.01}.')
    values = Fields(f.data["effect_prior"], "effect_prior.")
    return EffectPrior(values.number("mean", 0.0), values.number("sd"))


def matrix(f: Fields, key: str) -> list[list[float]] | None:
    """A list of lists of numbers (a correlation matrix), type-checked (400s)."""
    if not f.has(key):
        return None
    rows = f.array(key)
    for i, row in enumerate(rows):
        if not isinstance(row, list):
            bad_request(f"{key}[{i}]", f"{key}[{i}] must be a list of numbers.")
    return [Fields({f"{key}[{i}]": row}).numbers(f"{key}[{i}]") for i, row in enumerate(rows)]


def analyse(f: Fields) -> tuple[BayesianAnalysis, LossOverTime | None, CsvRecords | None]:
    table = uploaded_csv(f)
    metric = f.choice("metric", METRICS, "proportion")
    options: dict[str, Any] = {
        "threshold": f.number("threshold"),
        "prior": prior(f),
        "rope": f.numbers("rope", [0.0, 0.0]),
        "draws": f.integer("draws", 100_000),
        "seed": f.integer("seed", None),
        "guardrails": guardrails(f),
        "higher_is_better": f.boolean("higher_is_better", True),
        "effect_prior": effect_prior(f),
        "correlation": matrix(f, "correlation"),
        "weights": f.numbers("weights", None),
    }
    data = None
    if f.has("source"):
        if table is not None or f.has("variants"):
            unprocessable("source", "Send a source, a CSV or variants: only one of them.")
        data = source_records(f, metric)
        records = data.records
    elif table is not None:
        if f.has("variants"):
            bad_request("variants", "Send a CSV or variants (per-variant records), not both.")
        data = csv_records(f, table, metric)
        records = data.records
    else:
        records = variant_records(f, "variants", metric)
    control = f.string("control", None)
    if control is None and records:
        control = guess_control([r["name"] for r in records])
    with stats_errors():
        stats = variant_stats(metric, records)
        options["guardrails"] = guardrail_specs(options["guardrails"])
        analysis = analyze_bayesian(metric, stats, control=control or "", **options)
        loss = None
        if data is not None and data.periods:
            loss = loss_over_time(
                metric,
                data.periods,
                period_stats(metric, data.by_period),
                control=analysis.control,
                prior=options["prior"],
                draws=options["draws"],
                seed=options["seed"],
                higher_is_better=options["higher_is_better"],
            )
    return analysis, loss, data


@bp.post("/api/bayesian")
def api() -> Response:
    f = request_fields()
    analysis, loss, data = analyse(f)
    result = {
        **dataclasses.asdict(analysis),
        "loss_over_time": None if loss is None else dataclasses.asdict(loss),
        "source": None if data is None else dataclasses.asdict(data.source),
    }
    warnings = analysis.warnings + (data.warnings if data else ())
    return respond(result, analysis_figures(analysis, loss), analysis_readout(analysis), warnings)


@bp.post("/api/bayesian/stopping")
def stopping() -> Response:
    f = request_fields()
    p = prior(f) or {}
    unknown = sorted(set(p) - {"alpha", "beta"})
    if unknown:
        unprocessable(
            f"prior.{unknown[0]}",
            f"prior.{unknown[0]} is not a prior parameter of the simulation (allowed: alpha, beta).",
        )
    with stats_errors():
        result = simulate_loss_stopping(
            f.number("baseline", 0.10),
            f.integer("daily_users", 500),
            f.integer("days", 30),
            f.number("threshold", 0.001),
            prior_alpha=p.get("alpha", 1.0),
            prior_beta=p.get("beta", 1.0),
            simulations=f.integer("simulations", 2_000),
            seed=f.integer("seed", None),
        )
    return respond(result, stopping_figures(result), stopping_readout(result), result.warnings)
