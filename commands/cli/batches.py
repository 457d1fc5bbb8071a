"""``batches``: every batch of the ledger, its state, final job counts, and how to resume it."""

from __future__ import annotations

import click

from commands.cli.context import AppContext
from commands.cli.render import echo_json, note


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array of batch objects.")
@click.pass_obj
def batches(app: AppContext, as_json: bool) -> None:
    """List batches, oldest first: id, name, state (running, finished, interrupted), jobs
    planned and their final outcomes (ok, failed, interrupted, unanswered: a resumed job counts
    once, by its last outcome), when it started, and whether `run --resume` can continue it.

    \b
    Example:
      sweepledger --root ./artifacts batches
      sweepledger run sweep.yaml --resume latest     # continue this manifest's last batch
    """
    from projections import list_batches
    from projections.batches import FIELDS
    from projections.writers import text_table

    rows = list_batches(app.root)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        note("no batches")
        return
    shown = [
        [("yes" if r[f] else "no") if f == "resumable" else r[f] for f in FIELDS] for r in rows
    ]
    click.echo(text_table(list(FIELDS), shown), nl=False)
