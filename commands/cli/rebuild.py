"""``rebuild``: bring the projection database and every projection's files up to date."""

from __future__ import annotations

from pathlib import Path

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
@click.option(
    "--as-of",
    "as_of",
    type=click.IntRange(min=0),
    default=None,
    help="Build the state of the ledger as it was when it ended at this seq (needs --out).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where --as-of writes ledger.duckdb and the files: outside the root, empty or an "
    "earlier as-of state of this ledger.",
)
@click.pass_obj
def rebuild(
    app: AppContext,
    names: tuple[str, ...],
    full: bool,
    threads: int | None,
    check: bool,
    as_of: int | None,
    out: Path | None,
) -> None:
    """Rebuild projections (report, leaderboard, gaps, pareto, promotion, scoreboard, parity
    when no NAME; html) and ledger.duckdb.

    Only batches touched since the last rebuild are recomputed, unless --full. Output files
    that were deleted or edited since they were written are put back, even with no new event.
    With --as-of SEQ --out DIR, every projection is written under DIR (same relative paths as
    under the root) exactly as a rebuild would have written it when the ledger ended at SEQ;
    the root's own outputs are not touched.
    The html projection (batches/<batch>/report.html and studies/<study>/report.html, charts
    drawn with matplotlib) is built only when named: `rebuild html`. The scoreboard is
    rendered for the batches `scoreboard` judged, with the gates it was last given; parity
    for the pairs `parity` compared, with the options it was last given.

    \b
    Example:
      sweepledger --root ./artifacts rebuild
      sweepledger --root ./artifacts rebuild report --full
      sweepledger --root ./artifacts rebuild html
      sweepledger --root ./artifacts rebuild --check    # in CI: reports not edited by hand
      sweepledger --root ./artifacts rebuild --as-of 1200 --out ./then
    """
    from projections import OutputsDiffer, check_outputs
    from projections import rebuild as run_rebuild

    if (as_of is None) != (out is None):
        raise click.UsageError("--as-of and --out go together")
    if check:
        if full or threads is not None or as_of is not None:
            raise click.UsageError("--check takes no --full, --threads or --as-of")
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
    result = run_rebuild(app.root, list(names), threads=threads, full=full, as_of=as_of, out=out)
    mode = "full" if result.full else "incremental"
    restored = f", {len(result.restored)} restored" if result.restored else ""
    state = f" as of seq {as_of} into {out}" if as_of is not None else ""
    note(
        f"rebuilt to seq {result.cursor.seq}{state} ({mode}, {result.events} new events, "
        f"{len(result.written)} files written{restored})"
    )
    for path in result.written:
        click.echo(str(path))
