"""``flask --app app analyze FILE.csv [--control A] [--metric M] [--json]``: the analyzer on a
CSV from the command line, printing the readout (or the JSON the API returns)."""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from blueprints._api import ApiError, Fields, envelope
from blueprints.abtest import bp
from sources.upload import CSVError, read_upload


@bp.cli.command("analyze")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--control", help="The control variant (guessed when left out).")
@click.option("--metric", help="The metric column (the first metric column when left out).")
@click.option("--alpha", type=float, default=0.05, show_default=True)
@click.option("--min-effect", type=float, default=0.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON the API returns.")
def analyze_command(
    file: Path,
    control: str | None,
    metric: str | None,
    alpha: float,
    min_effect: float,
    as_json: bool,
) -> None:
    """Analyze an A/B test from FILE.csv (one row per user, or one row per variant)."""
    from blueprints.abtest.routes import analyse, body

    options = {"control": control, "metric": metric, "alpha": alpha, "min_effect": min_effect}
    try:
        table = read_upload(file.read_bytes(), max_rows=None)
        result, figures, readout, warnings = body(analyse(Fields(options), table))
    except CSVError as exc:
        where = f" (row {exc.row})" if exc.row is not None else ""
        raise click.ClickException(f"{file.name}{where}: {exc}") from None
    except ApiError as exc:
        raise click.ClickException(f"{file.name}: {exc.detail}") from None
    if as_json:
        out = envelope(result, figures, readout, warnings)
        click.echo(orjson.dumps(out, option=orjson.OPT_SERIALIZE_NUMPY).decode())
        return
    click.echo(readout)
    for warning in warnings:
        click.echo(f"Warning: {warning}")
