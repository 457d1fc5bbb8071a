"""``report``: the per-batch summary (seed 003) of one batch, or its HTML page (or a study's)."""

from __future__ import annotations

import click

from commands.cli.context import AppContext


@click.command()
@click.option("--batch", default=None, help="Batch id (default: the latest batch).")
@click.option("--study", default=None, help="Study id: write the study's page (with --html).")
@click.option("--csv", "as_csv", is_flag=True, help="Print summary.csv instead of report.md.")
@click.option(
    "--html",
    "as_html",
    is_flag=True,
    help="Write a self-contained report.html (inline SVG charts) and print its path.",
)
@click.pass_obj
def report(
    app: AppContext, batch: str | None, study: str | None, as_csv: bool, as_html: bool
) -> None:
    """Print a batch's report.md (or summary.csv), rebuilding it first if needed.

    With --html, write a page with charts instead, next to the batch's other files
    (batches/<batch>/report.html) or the study's (studies/<study>/report.html: its Pareto
    front and promotions too), and print its path. The page needs no network: open it in any
    browser.

    \b
    Example:
      sweepledger --root ./artifacts report --batch tuning --csv
      sweepledger --root ./artifacts report --batch tuning --html
      sweepledger --root ./artifacts report --study mc-1 --html
    """
    if as_csv and as_html:
        raise click.UsageError("--csv and --html exclude each other")
    if study is not None and (batch is not None or not as_html):
        raise click.UsageError("--study needs --html (and no --batch)")
    if as_html:
        from projections import write_batch_html, write_study_html

        path = (
            write_batch_html(app.root, batch)
            if study is None
            else write_study_html(app.root, study)
        )
        click.echo(str(path))
        return
    from projections import report_text

    click.echo(report_text(app.root, batch, as_csv), nl=False)
