"""``report``: the per-batch summary (seed 003) of one batch."""

from __future__ import annotations

import click

from commands.cli.context import AppContext


@click.command()
@click.option("--batch", default=None, help="Batch id (default: the latest batch).")
@click.option("--csv", "as_csv", is_flag=True, help="Print summary.csv instead of report.md.")
@click.pass_obj
def report(app: AppContext, batch: str | None, as_csv: bool) -> None:
    """Print a batch's report.md (or summary.csv), rebuilding it first if needed.

    \b
    Example:
      sweepledger --root ./artifacts report --batch tuning --csv
    """
    from projections import report_text

    click.echo(report_text(app.root, batch, as_csv), nl=False)
