"""``report``: the per-batch summary (seed 003) of one batch."""

from __future__ import annotations

import click

from commands.cli.context import AppContext


@click.command()
@click.option("--batch", default=None, help="Batch id (default: the latest batch).")
@click.option("--csv", "as_csv", is_flag=True, help="Print summary.csv instead of report.md.")
@click.option(
    "--sort-by",
    metavar="METRIC[:asc|desc]",
    help="Rank jobs by METRIC (asc: lowest first; default desc) instead of the objective.",
)
@click.pass_obj
def report(app: AppContext, batch: str | None, as_csv: bool, sort_by: str | None) -> None:
    """Print a batch's report.md (or summary.csv), rebuilding it first if needed.

    report.md ranks the jobs by the manifest's `objective: {metric: M, direction: min|max}`,
    or by --sort-by (the printed report only: the file keeps the objective's ranking).

    \b
    Example:
      sweepledger --root ./artifacts report --batch tuning --csv
      sweepledger report --batch tuning --sort-by loss:asc
    """
    from projections import report_text

    if sort_by is not None and as_csv:
        raise click.UsageError("--sort-by ranks report.md; it does not apply to --csv")
    if sort_by is not None and not sort_by.strip(":"):
        raise click.UsageError("--sort-by needs a metric name")
    click.echo(report_text(app.root, batch, as_csv, sort_by), nl=False)
