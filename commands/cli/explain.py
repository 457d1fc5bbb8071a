"""``explain``: the tree of facts behind a seq, job, leaderboard segment, cell or promotion."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from commands.cli.context import AppContext
from commands.cli.render import echo_json

VALUE_CHARS = 120


@click.command()
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the default off a terminal).")
@click.option(
    "--proof",
    is_flag=True,
    help="Give each event its inclusion proof against the latest checkpoint (the head for "
    "events after it, or when there is none).",
)
@click.pass_obj
def explain(app: AppContext, target: str, as_json: bool, proof: bool) -> None:
    """Show the facts behind TARGET: the decision, the outcome it rests on, the intent, the
    candidate and its parents, the artifacts, the batch's manifest and git commit.

    TARGET is a seq (123 or seq:123), job:<id> (or a bare job id), segment:<batch>/<key> (a
    leaderboard segment), cell:<batch>/<job name> (a scoreboard cell) or
    promotion:<study>/<tier> (the latest promotion.decided). A rich tree on a terminal, JSON
    otherwise or with --json; with --proof each proof checks with `check-proof`.

    \b
    Example:
      sweepledger explain job:3f2a9c0d1e4b5a6f
      sweepledger explain promotion:mc/small --proof --json > why.json
    """
    from projections.explain import explain as run_explain

    doc = run_explain(app.root, target, proof=proof)
    if as_json or not sys.stdout.isatty():
        echo_json(doc)
        return
    from rich.console import Console
    from rich.tree import Tree

    top = Tree(f"[bold]{doc['target']}[/bold] ({doc['kind']})")
    _add(top, doc["tree"])
    Console().print(top)


def _label(node: dict[str, Any]) -> str:
    if node.get("seq") is None:
        return f"[bold]{node['role']}[/bold]"
    where = " ".join(f"{k} {node[k]}" for k in ("batch", "key") if node.get(k))
    repeated = " (see above)" if node.get("repeated") else ""
    return (
        f"[bold]{node['role']}[/bold]: {node['type']} seq {node['seq']} "
        f"[dim]{node['hash'][:16]} {node['ts']} {where}[/dim]{repeated}"
    )


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


def _add(parent: Any, node: dict[str, Any]) -> None:
    from rich.markup import escape

    branch = parent.add(_label(node))
    for name, value in node["facts"].items():
        branch.add(f"[cyan]{escape(name)}[/cyan] {escape(_value(value))}")
    proof = node.get("proof")
    if proof is not None:
        signed = " (checkpoint)" if "checkpoint" in proof else ""
        branch.add(
            f"[green]proof[/green] size {proof['size']}{signed} root {proof['root'][:16]} "
            f"path {len(proof['path'])} nodes"
        )
    for child in node["children"]:
        _add(branch, child)
