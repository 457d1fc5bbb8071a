"""``demo``: the main job end to end on the built-in examples, in a fresh root."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from commands.cli.render import note


@click.command()
@click.option(
    "--root",
    "demo_root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to put the demo ledger (default: a new temporary directory).",
)
def demo(demo_root: Path | None) -> None:
    """Run the four example workloads end to end in a fresh root, then verify and rebuild.

    A hypothesis scan per user (leaderboard), a tournament grid judged by a strict and a
    lenient scoreboard, a screener with full and focused replays compared by parity; `make
    demo` runs this.

    \b
    Example:
      sweepledger demo --root ./demo-root
    """
    from commands.runner.demo import run_demo

    root = demo_root or Path(tempfile.mkdtemp(prefix="sweepledger-demo-"))
    if root.exists() and any(root.iterdir()):
        raise click.UsageError(f"--root {root} is not empty: the demo needs a fresh root")
    note(f"demo root: {root}")
    result = run_demo(root)
    for number, step in enumerate(result.steps, start=1):
        click.echo(f"{number}. {step.name}: {step.detail}")
        for output in step.outputs:
            click.echo(f"   {output}")
    click.echo(f"verify: {'ok' if result.verified else 'DAMAGED'}, {result.events} events")
    click.echo(f"gaps:   {result.gaps} unanswered intents")
    click.echo(f"head:   {result.head}")
    click.echo(f"root:   {root}")
    click.echo("try:")
    for sql in result.queries:
        click.echo(f'  sweepledger --root {root} query "{sql}"')
