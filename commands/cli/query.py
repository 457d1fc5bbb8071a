"""``query``: SQL over the projection database, read-only."""

from __future__ import annotations

import click

from commands.cli.context import AppContext
from commands.cli.render import note

DEFAULT_TABLE_ROWS = 1000


@click.command()
@click.argument("sql")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    help="table (default), csv, or json (one array of row objects).",
)
@click.option("--timeout-s", type=click.FloatRange(min=0.001), default=60.0, show_default=True)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=DEFAULT_TABLE_ROWS,
    show_default=True,
    help="Most rows shown by the table format.",
)
@click.pass_obj
def query(app: AppContext, sql: str, fmt: str, timeout_s: float, limit: int) -> None:
    """Run one read-only SQL statement over events, intents, outcomes, metrics, batches, ...

    The database is brought up to date first when the ledger has new events. File access,
    ATTACH, COPY, INSTALL/LOAD and writes are refused.

    \b
    Example:
      sweepledger query "SELECT status, count(*) FROM outcomes GROUP BY ALL ORDER BY 1"
      sweepledger query --format json "SELECT * FROM batches"
    """
    from projections import ensure_current, rows_as_json, run_query
    from projections.writers import csv_text, text_table

    ensure_current(app.root)
    result = run_query(app.root, sql, timeout_s=timeout_s, limit=limit if fmt == "table" else None)
    if fmt == "json":
        click.echo(rows_as_json(result), nl=False)
    elif fmt == "csv":
        click.echo(csv_text(result.columns, result.rows), nl=False)
    else:
        click.echo(text_table(result.columns, result.rows), nl=False)
        if result.truncated:
            note(f"(only the first {limit} rows shown; use --limit or --format csv)")
