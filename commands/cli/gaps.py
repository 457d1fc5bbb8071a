"""``gaps``: intents that were started and never answered, and dangling outcomes."""

from __future__ import annotations

import click

from commands.cli.context import AppContext
from commands.cli.render import note


@click.command()
@click.option("--batch", default=None, help="Only this batch.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array of gap objects.")
@click.option("--fail", is_flag=True, help="Exit 1 when any gap exists.")
@click.pass_obj
def gaps(app: AppContext, batch: str | None, as_json: bool, fail: bool) -> None:
    """List unanswered intents (open or orphaned) and outcomes that answer no intent.

    \b
    Example:
      sweepledger --root ./artifacts gaps --fail
      sweepledger gaps --batch nightly --json
    """
    from projections import GapsFound, list_gaps
    from projections.gaps import summary, to_json_lines
    from projections.writers import text_table

    found = list_gaps(app.root, batch)
    if as_json:
        click.echo(to_json_lines(found), nl=False)
    elif found:
        columns = ["seq", "state", "type", "batch", "job_id", "name", "age_s", "reason"]
        click.echo(text_table(columns, [[g[c] for c in columns] for g in found]), nl=False)
    counts = summary(found)
    note(", ".join(f"{n} {state}" for state, n in counts.items()))
    if fail and found:
        raise GapsFound(f"{len(found)} gaps ({', '.join(f'{n} {s}' for s, n in counts.items())})")
