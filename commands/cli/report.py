"""``report``: the per-batch summary (seed 003) of one batch, or its HTML page (or a study's)."""

from __future__ import annotations

import click

from commands.cli.context import AppContext


@click.command()
@click.option("--batch", default=None, help="Batch id (default: the latest batch).")
@click.option("--study", default=None, help="Study id: write the study's page (with --html).")
@click.option("--csv", "as_csv", is_flag=True, help="Print summary.csv instead of report.md.")
@click.option(
    "--sort-by",
    metavar="METRIC[:asc|desc]",
    help="Rank jobs by METRIC (asc: lowest first; default desc) instead of the objective.",
)
@click.option(
    "--html",
    "as_html",
    is_flag=True,
    help="Write a self-contained report.html (inline SVG charts) and print its path.",
)
@click.pass_obj
def report(
    app: AppContext,
    batch: str | None,
    study: str | None,
    as_csv: bool,
    sort_by: str | None,
    as_html: bool,
) -> None:
    """Print a batch's report.md (or summary.csv), rebuilding it first if needed.

    report.md ranks the jobs by the manifest's `objective: {metric: M, direction: min|max}`,
    or by --sort-by (the printed report only: the file keeps the objective's ranking).
    With --html, write a page with charts instead, next to the batch's other files
    (batches/<batch>/report.html) or the study's (studies/<study>/report.html: its Pareto
    front and promotions too), and print its path. The page needs no network: open it in any
    browser.

    \b
    Example:
      sweepledger --root ./artifacts report --batch tuning --csv
      sweepledger report --batch tuning --sort-by loss:asc
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

    if sort_by is not None and as_csv:
        raise click.UsageError("--sort-by ranks report.md; it does not apply to --csv")
    if sort_by is not None and not sort_by.strip(":"):
        raise click.UsageError("--sort-by needs a metric name")
    click.echo(report_text(app.root, batch, as_csv, sort_by), nl=False)
