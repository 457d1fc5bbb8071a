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
    help="table (default), csv, or json (one array of row objects); csv and json are "
    "written batch by batch, so a result of any size fits in memory.",
)
@click.option(
    "--timeout-s",
    type=click.FloatRange(min=0.001),
    default=60.0,
    show_default=True,
    help="Limit on the whole query: waiting for the database, running, writing rows.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help=f"Most rows written, in every format [default: {DEFAULT_TABLE_ROWS} for table, "
    "all for csv and json].",
)
@click.pass_obj
def query(app: AppContext, sql: str, fmt: str, timeout_s: float, limit: int | None) -> None:
    """Run one read-only SQL statement over events, intents, outcomes, metrics, batches, ...

    The database is brought up to date first when the ledger has new events. When it is
    behind and another process has it open, the query reads it as it stands and says on
    stderr how many events it is behind. File access, ATTACH, COPY, INSTALL/LOAD and writes
    are refused.

    \b
    Example:
      sweepledger query "SELECT status, count(*) FROM outcomes GROUP BY ALL ORDER BY 1"
      sweepledger query --format json "SELECT * FROM batches"
    """
    from projections.query import csv_chunks, json_chunks, open_query
    from projections.writers import text_table

    most = limit if limit is not None or fmt != "table" else DEFAULT_TABLE_ROWS
    with open_query(app.root, sql, timeout_s=timeout_s, limit=most) as stream:
        fresh = stream.freshness
        if fresh.behind:
            events = f"{fresh.behind} event{'s' if fresh.behind > 1 else ''}"
            note(
                f"note: the projection database is {events} behind the ledger (results as of "
                f"seq {fresh.as_of} of {fresh.head}): another process has it open"
            )
        if fmt == "table":
            rows = [row for batch in stream.batches() for row in batch]
            click.echo(text_table(stream.columns, rows), nl=False)
        else:
            for chunk in (json_chunks if fmt == "json" else csv_chunks)(stream):
                click.echo(chunk, nl=False)
        if stream.truncated:
            hint = "use --limit or --format csv" if fmt == "table" else "use a larger --limit"
            note(f"(only the first {most} rows {'shown' if fmt == 'table' else 'written'}; {hint})")
