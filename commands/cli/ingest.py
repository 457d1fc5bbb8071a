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
    """Ingest scan run roots: PATH is a directory of run roots (its subdirectories, by name)
    or a file listing them (one path per line, # comments).

    Each run root becomes one scan.intent + scan.outcome. Files read in a run root:

    \b
      hypothesis_candidates.json  required: {"user": NAME (optional, default: the
                                  folder's name), "candidates": [ENTRY, ...]} or just the
                                  list; ENTRY = {"segment_key": STR, "weighting":
                                  "notional"|"count", "denominators": {"weight_used": NUM,
                                  "count_used": NUM}, "metrics": {"avg_clv_pct": NUM,
                                  "beat_close_rate": NUM}, "examples": [...]}, other keys kept
      run_manifest.json           optional: any JSON, kept as result.run_manifest

    A missing or invalid file makes that run root an error outcome (the others are kept); NaN
    or Infinity is recorded as null and listed in non_finite. Prints the batch id; see
    docs/RUNNER.md (scan jobs) for what reaches the leaderboard.

    \b
    Example:
      sweepledger --root ./artifacts ingest run-roots runs/2026-02-20/ --batch-id feb20
      sweepledger leaderboard --batch feb20
    """
    from commands.runner import ingest_run_roots

    batch, ok, failed = ingest_run_roots(app.root, path, batch_id)
    note(f"ingested {ok + failed} run roots into batch {batch} ({ok} ok, {failed} failed)")
    click.echo(batch)
