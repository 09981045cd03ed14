"""``flask --app app analyze FILE.csv [--control A] [--metric M] [--json]``: the analyzer on a
CSV or Parquet file from the command line, printing the readout (or the JSON the API returns).

``flask --app app analyze --source NAME --table T --variant V --metric M`` analyzes a table of
a configured source (``SOURCES`` / ``ABACUS_SOURCES``), reduced where it lives, as
``POST /api/abtest`` with ``{"source", "table", …}`` does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import orjson

from blueprints._api import ApiError, envelope
from blueprints.abtest import bp
from sources.upload import CSVError, read_upload
from stats.relative import RELATIVE_INTERVALS


@bp.cli.command("analyze")
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--source", help="A configured source (instead of FILE).")
@click.option("--table", "table_name", help="A table of --source.")
@click.option("--variant", help="The variant column (detected in a file when left out).")
@click.option("--control", help="The control variant (guessed when left out).")
@click.option("--metric", help="The metric column (the first metric column when left out).")
@click.option("--numerator", help="A ratio metric's numerator column (with --denominator).")
@click.option("--denominator", help="A ratio metric's denominator column (orders, ...).")
@click.option(
    "--relative-interval",
    type=click.Choice(RELATIVE_INTERVALS),
    default="dual",
    show_default=True,
    help="The relative lift's interval: dual to the test (score / Fieller) or delta.",
)
@click.option("--alpha", type=float, default=0.05, show_default=True)
@click.option("--min-effect", type=float, default=0.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON the API returns.")
def analyze_command(
    file: Path | None,
    source: str | None,
    table_name: str | None,
    variant: str | None,
    control: str | None,
    metric: str | None,
    numerator: str | None,
    denominator: str | None,
    relative_interval: str,
    alpha: float,
    min_effect: float,
    as_json: bool,
) -> None:
    """Analyze an A/B test from FILE (CSV or Parquet; one row per user, or one row per
    variant), or from --source NAME --table T (one row per user; name --variant and --metric)."""
    from blueprints._contract import validate
    from blueprints.abtest.analysis import analyse, body
    from blueprints.abtest.models import AbtestRequest

    options = {"control": control, "metric": metric, "alpha": alpha, "min_effect": min_effect}
    options |= {
        "variant": variant,
        "numerator": numerator,
        "denominator": denominator,
        "relative_interval": relative_interval,
    }
    if source is not None or table_name is not None:
        if file is not None or source is None or table_name is None:
            raise click.UsageError("Give FILE, or --source and --table (not both).")
        try:
            options |= {"source": source, "table": table_name}
            request = validate(AbtestRequest, given(options))
            result, figures, readout, warnings = body(analyse(request, None))
        except ApiError as exc:
            raise click.ClickException(f"{source}.{table_name}: {exc.detail}") from None
        _print(result, figures, readout, warnings, as_json)
        return
    if file is None:
        raise click.UsageError("Give FILE, or --source and --table.")
    try:
        request = validate(AbtestRequest, given(options))
        table = read_upload(file.read_bytes(), max_rows=None)
        result, figures, readout, warnings = body(analyse(request, table))
    except CSVError as exc:
        where = f" (row {exc.row})" if exc.row is not None else ""
        raise click.ClickException(f"{file.name}{where}: {exc}") from None
    except ApiError as exc:
        raise click.ClickException(f"{file.name}: {exc.detail}") from None
    _print(result, figures, readout, warnings, as_json)


def given(options: dict[str, Any]) -> dict[str, Any]:
    """The options the command line set (an option left out is absent, as in a request)."""
    return {key: value for key, value in options.items() if value is not None}


def _print(result: Any, figures: Any, readout: str, warnings: Any, as_json: bool) -> None:
    """The readout and warnings, or (``--json``) the JSON the API returns."""
    if as_json:
        out = envelope(result, figures, readout, warnings)
        click.echo(orjson.dumps(out, option=orjson.OPT_SERIALIZE_NUMPY).decode())
        return
    click.echo(readout)
    for warning in warnings:
        click.echo(f"Warning: {warning}")
