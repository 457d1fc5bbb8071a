"""``rebuild``: bring the projection database and every projection's files up to date."""

from __future__ import annotations

import click

from commands.cli.context import AppContext
from commands.cli.render import note


@click.command()
@click.argument("names", nargs=-1)
@click.option("--full", is_flag=True, help="Ignore the cursors and rebuild everything.")
@click.option("--threads", type=click.IntRange(1, 256), default=None, help="DuckDB threads.")
@click.pass_obj
def rebuild(app: AppContext, names: tuple[str, ...], full: bool, threads: int | None) -> None:
    """Rebuild projections (report, leaderboard, gaps when no NAME; html) and ledger.duckdb.

    Only batches touched since the last rebuild are recomputed, unless --full. The html
    projection (batches/<batch>/report.html, charts drawn with matplotlib) is built only when
    named: `rebuild html` writes the page of every batch touched since it last ran.

    \b
    Example:
      sweepledger --root ./artifacts rebuild
      sweepledger --root ./artifacts rebuild report --full
      sweepledger --root ./artifacts rebuild html
    """
    from projections import rebuild as run_rebuild

    result = run_rebuild(app.root, list(names), threads=threads, full=full)
    mode = "full" if result.full else "incremental"
    note(
        f"rebuilt to seq {result.cursor.seq} ({mode}, {result.events} new events, "
        f"{len(result.written)} files written)"
    )
    for path in result.written:
        click.echo(str(path))
