"""Signing commands: keygen, checkpoint."""

from __future__ import annotations

from pathlib import Path

import click

from commands.cli.context import AppContext
from commands.cli.render import echo_json, note
from ledger import Ledger, generate_keys, load_private_key, make_checkpoint


@click.command()
@click.option(
    "--out",
    "prefix",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Writes PREFIX.key (private, mode 0600) and PREFIX.pub; never overwrites.",
)
def keygen(prefix: Path) -> None:
    """Make an Ed25519 key pair for signing checkpoints (PEM files).

    \b
    Example:
      sweepledger keygen --out keys/ci     # keys/ci.key (keep secret), keys/ci.pub (publish)
    """
    private_path, public_path = generate_keys(prefix)
    click.echo(f"{private_path}\n{public_path}")


@click.command()
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Ed25519 private key (PEM), e.g. from `keygen`.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the checkpoint as JSON.")
@click.pass_context
def checkpoint(ctx: click.Context, key_file: Path, as_json: bool) -> None:
    """Append a ledger.checkpoint event signing the Merkle root of every event before it.

    Prints SEQ:HASH of the checkpoint event (or, with --json, the checkpoint itself, usable
    as `check-proof --checkpoint`). `verify --pubkey` checks every checkpoint later.

    \b
    Example:
      sweepledger checkpoint --key keys/ci.key
      sweepledger verify --pubkey keys/ci.pub
    """
    app: AppContext = ctx.obj
    ledger = Ledger.open(app.root)
    made = make_checkpoint(ledger, load_private_key(key_file))
    if as_json:
        echo_json(made.to_dict())
        return
    note(f"checkpoint: events 1..{made.size} have root {made.root}, signed by key {made.key_id}")
    click.echo(f"{made.seq}:{ledger.hash_at(made.seq or 0)}")
