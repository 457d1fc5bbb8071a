"""``parity``: two batches' per-job results compared record by record (seed 001)."""

from __future__ import annotations

import click

from commands.cli.context import AppContext
from commands.cli.render import note

DEFAULT_FIELD = "trades"
DEFAULT_TOL = 0.01
DEFAULT_EXACT = "timestamp,side"


def _fields(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


@click.command()
@click.argument("batch_a")
@click.argument("batch_b")
@click.option(
    "--key",
    default=None,
    metavar="PARAM",
    help="Match jobs by the value of this param (default: by job name).",
)
@click.option(
    "--field",
    default=DEFAULT_FIELD,
    show_default=True,
    help="Compare result.FIELD of each job: a list of objects (records).",
)
@click.option(
    "--tol",
    type=click.FloatRange(min=0),
    default=DEFAULT_TOL,
    show_default=True,
    help="Absolute tolerance for numbers: |a - b| <= TOL passes.",
)
@click.option(
    "--exact",
    default=DEFAULT_EXACT,
    show_default=True,
    help="Comma-separated record fields that must be equal, numbers too ('' for none).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON document, not Markdown.")
@click.pass_obj
def parity(
    app: AppContext,
    batch_a: str,
    batch_b: str,
    key: str | None,
    field: str,
    tol: float,
    exact: str,
    as_json: bool,
) -> None:
    """Compare BATCH_A's per-job results with BATCH_B's; write parity/<A>_vs_<B>.json and .md.

    Each job's final ok outcome is taken; jobs are matched by name (or --key), and their
    result lists are compared element by element: counts, exact fields, other numbers within
    --tol, anything else equal. The files also give bars processed (the bars_processed
    metric) and wall time (duration_s) per batch with their ratio A / B. Exit 0 when the
    batches agree, 1 when they differ (files still written), 2 for bad input (nothing written).
    The options are kept in ledger.duckdb with the files' record: `rebuild` compares the
    batches again when either gets new events and puts back the files, and `rebuild --check`
    covers them.

    \b
    Example:
      sweepledger parity replay-full replay-focused --exact timestamp,side,entry_bar
    """
    from projections import ParityMismatch, parity_report
    from projections.parity import document, markdown, mismatch_summary
    from projections.writers import json_text

    report, written = parity_report(app.root, batch_a, batch_b, key, field, tol, _fields(exact))
    if as_json:
        click.echo(json_text(document(report)), nl=False)
    else:
        click.echo(markdown(report), nl=False)
    note(f"wrote {len(written)} files under {written[0].parent}")
    if not report.result.identical:
        raise ParityMismatch(mismatch_summary(report))
