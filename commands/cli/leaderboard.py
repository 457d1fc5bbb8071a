"""``leaderboard``: the hypothesis leaderboard of one batch of scans (seed 000)."""

from __future__ import annotations

import json

import click

from commands.cli.context import AppContext


@click.command()
@click.option("--batch", default=None, help="Batch id (default: the latest batch with scans).")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON document, not Markdown.")
@click.pass_obj
def leaderboard(app: AppContext, batch: str | None, top: int, as_json: bool) -> None:
    """Print the hypothesis leaderboard of a batch (rebuilding its files first if needed).

    \b
    Example:
      sweepledger --root ./artifacts leaderboard --batch nightly --top 10
    """
    from projections import leaderboard_document, leaderboard_markdown

    doc = leaderboard_document(app.root, batch, top)
    if as_json:
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        click.echo(leaderboard_markdown(doc, top), nl=False)
