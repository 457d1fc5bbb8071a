"""``ingest``: record work done outside sweepledger (seed 000's run roots) in the ledger."""

from __future__ import annotations

from pathlib import Path

import click

from commands.cli.context import AppContext
from commands.cli.render import note


@click.group()
def ingest() -> None:
    """Record existing results in the ledger as a new batch.

    \b
    Example:
      sweepledger --root ./artifacts ingest run-roots runs/2026-02-20/
    """


@ingest.command("run-roots")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--batch-id", default=None, help="Batch id (default: a random uuid).")
@click.pass_obj
def run_roots(app: AppContext, path: Path, batch_id: str | None) -> None:
    """Ingest scan run roots: PATH is a directory of run roots or a file listing them.

    Each run root's hypothesis_candidates.json (and optional run_manifest.json) becomes one
    scan.intent + scan.outcome; an unreadable one becomes an error outcome. Prints the batch id.

    \b
    Example:
      sweepledger --root ./artifacts ingest run-roots runs/2026-02-20/ --batch-id feb20
      sweepledger leaderboard --batch feb20
    """
    from commands.runner import ingest_run_roots

    batch, ok, failed = ingest_run_roots(app.root, path, batch_id)
    note(f"ingested {ok + failed} run roots into batch {batch} ({ok} ok, {failed} failed)")
    click.echo(batch)
