"""``rebuild``: bring the projection database and every projection's files up to date."""

from __future__ import annotations

import click

from commands.cli.context import AppContext
from commands.cli.render import note


@click.command()
@click.argument("names", nargs=-1)
@click.option("--full", is_flag=True, help="Ignore the cursors and rebuild everything.")
@click.option("--threads", type=click.IntRange(1, 256), default=None, help="DuckDB threads.")
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 naming every output file that is missing, edited, or extra "
    "(not written by any projection) compared with what the ledger implies.",
)
@click.pass_obj
def rebuild(
    app: AppContext, names: tuple[str, ...], full: bool, threads: int | None, check: bool
) -> None:
    """Rebuild projections (report, leaderboard, gaps, pareto, promotion when no NAME; html)
    and ledger.duckdb.

    Only batches touched since the last rebuild are recomputed, unless --full. Output files
    that were deleted or edited since they were written are put back, even with no new event.
    The html projection (batches/<batch>/report.html and studies/<study>/report.html, charts
    drawn with matplotlib) is built only when named: `rebuild html`.

    \b
    Example:
      sweepledger --root ./artifacts rebuild
      sweepledger --root ./artifacts rebuild report --full
      sweepledger --root ./artifacts rebuild html
      sweepledger --root ./artifacts rebuild --check    # in CI: reports not edited by hand
    """
    from projections import OutputsDiffer, check_outputs
    from projections import rebuild as run_rebuild

    if check:
        if full or threads is not None:
            raise click.UsageError("--check takes no --full or --threads")
        found = check_outputs(app.root, list(names))
        for mismatch in found:
            click.echo(f"{mismatch.state}\t{mismatch.path}")
        if found:
            raise OutputsDiffer(
                f"{len(found)} output files differ from what the ledger implies "
                "(`sweepledger rebuild` restores missing and edited ones)"
            )
        note("every output file is what the ledger implies")
        return
    result = run_rebuild(app.root, list(names), threads=threads, full=full)
    mode = "full" if result.full else "incremental"
    restored = f", {len(result.restored)} restored" if result.restored else ""
    note(
        f"rebuilt to seq {result.cursor.seq} ({mode}, {result.events} new events, "
        f"{len(result.written)} files written{restored})"
    )
    for path in result.written:
        click.echo(str(path))
