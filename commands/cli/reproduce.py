"""``reproduce``: re-run a promoted trial and compare its metrics and evidence."""

from __future__ import annotations

import sys

import click

from commands.cli.context import AppContext
from commands.cli.render import echo_json


@click.command()
@click.option("--study", required=True, help="Study id.")
@click.option("--tier", required=True, help="Budget tier whose promoted trial to re-run.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.pass_context
def reproduce(ctx: click.Context, study: str, tier: str, as_json: bool) -> None:
    """Re-run the trial promoted for TIER from its recorded config and seed, in a new batch.

    Exit 0 when the status, every metric and the evidence pack's SHA256SUMS are identical,
    1 otherwise (the differing fields are named), 2 when the tier has no promotion.

    \b
    Example:
      sweepledger --root ./artifacts reproduce --study mc-study-42 --tier balanced
    """
    from commands.runner.reproduce import reproduce as run_reproduce

    app: AppContext = ctx.obj
    result = run_reproduce(app.root, study, tier, tuple(sys.argv))
    if as_json:
        echo_json(
            {
                "study": result.study,
                "tier": result.tier,
                "trial_id": result.trial_id,
                "batch": result.batch,
                "identical": result.identical,
                "differences": result.differences,
            }
        )
    elif result.identical:
        click.echo(f"{tier}: {result.trial_id} reproduced identically in batch {result.batch}")
    else:
        click.echo(
            f"{tier}: {result.trial_id} differs in batch {result.batch}: "
            + ", ".join(result.differences)
        )
    ctx.exit(0 if result.identical else 1)
