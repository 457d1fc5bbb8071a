"""``query``: SQL over the projection database, read-only."""

from __future__ import annotations

import contextlib
from pathlib import Path

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
@click.option(
    "--as-of",
    "as_of",
    type=click.IntRange(min=0),
    default=None,
    help="Query the state of the ledger as it was when it ended at this seq.",
)
@click.option(
    "--state",
    "state_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="With --as-of: keep that state in this directory (as `rebuild --as-of SEQ --out DIR` "
    "writes it) and reuse it; default a temporary directory removed afterwards.",
)
@click.pass_obj
def query(
    app: AppContext,
    sql: str,
    fmt: str,
    timeout_s: float,
    limit: int,
    as_of: int | None,
    state_dir: Path | None,
) -> None:
    """Run one read-only SQL statement over events, intents, outcomes, metrics, batches, ...

    The database is brought up to date first when the ledger has new events. File access,
    ATTACH, COPY, INSTALL/LOAD and writes are refused. With --as-of SEQ the statement runs
    against the ledger as it was when it ended at SEQ (an as-of database built first).

    \b
    Example:
      sweepledger query "SELECT status, count(*) FROM outcomes GROUP BY ALL ORDER BY 1"
      sweepledger query --format json "SELECT * FROM batches"
      sweepledger query --as-of 1200 --state ./then "SELECT count(*) FROM outcomes"
    """
    from projections import as_of_state, ensure_current, rows_as_json, run_query
    from projections.writers import csv_text, text_table

    if state_dir is not None and as_of is None:
        raise click.UsageError("--state needs --as-of")
    with contextlib.ExitStack() as stack:
        if as_of is None:
            ensure_current(app.root)
            where = app.root
        else:
            where = stack.enter_context(as_of_state(app.root, as_of, state_dir))
        rows = limit if fmt == "table" else None
        result = run_query(where, sql, timeout_s=timeout_s, limit=rows)
    if fmt == "json":
        click.echo(rows_as_json(result), nl=False)
    elif fmt == "csv":
        click.echo(csv_text(result.columns, result.rows), nl=False)
    else:
        click.echo(text_table(result.columns, result.rows), nl=False)
        if result.truncated:
            note(f"(only the first {limit} rows shown; use --limit or --format csv)")
