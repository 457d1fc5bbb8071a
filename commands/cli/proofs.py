"""Merkle tree commands: root, prove, check-proof."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from commands.cli.context import AppContext
from commands.cli.render import InputError, echo_json
from ledger import (
    Checkpoint,
    Ledger,
    consistency_proof,
    inclusion_proof,
    load_public_key,
    tree_root,
)
from ledger import check_proof as check_document


def _ledger(ctx: click.Context) -> Ledger:
    app: AppContext = ctx.obj
    return Ledger.open(app.root)


@click.command()
@click.option(
    "--at", "size", type=click.IntRange(min=0), help="Tree of events 1..N (default: head)."
)
@click.pass_context
def root(ctx: click.Context, size: int | None) -> None:
    """Print the Merkle tree root of the ledger's events as N:ROOT (RFC 9162, lowercase hex).

    Catches up the derived tree under <root>/merkle/ first (rebuilt if damaged).

    \b
    Examples:
      sweepledger root
      sweepledger root --at 1000
    """
    found_size, digest = tree_root(_ledger(ctx), size)
    click.echo(f"{found_size}:{digest}")


@click.command()
@click.argument("seq", type=click.IntRange(min=1), required=False)
@click.option(
    "--size",
    type=click.IntRange(min=1),
    help="Tree size N (default: the latest checkpoint's, else the head).",
)
@click.option(
    "--consistency",
    type=(click.IntRange(min=1), click.IntRange(min=1)),
    default=None,
    metavar="A B",
    help="Prove that the tree of A events is a prefix of the tree of B events.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the proof document (for check-proof).")
@click.pass_context
def prove(
    ctx: click.Context,
    seq: int | None,
    size: int | None,
    consistency: tuple[int, int] | None,
    as_json: bool,
) -> None:
    """Print an inclusion proof of event SEQ, or a consistency proof between two tree sizes.

    \b
    Examples:
      sweepledger prove 42 --json > proof.json
      sweepledger prove 42 --size 1000
      sweepledger prove --consistency 1000 2000 --json > consistency.json
    """
    if (seq is None) == (consistency is None):
        raise InputError("give SEQ or --consistency A B")
    if consistency is not None and size is not None:
        raise InputError("--size goes with SEQ, not with --consistency")
    ledger = _ledger(ctx)
    if consistency is not None:
        proof = consistency_proof(ledger, *consistency)
    else:
        assert seq is not None
        proof = inclusion_proof(ledger, seq, size)
    if as_json:
        echo_json(proof)
        return
    for key, value in proof.items():
        if key == "path":
            click.echo(f"path: {len(value)} hashes")
            for node in value:
                click.echo(f"  {node}")
        elif isinstance(value, dict):
            click.echo(f"{key}: " + " ".join(f"{k}={v}" for k, v in value.items()))
        else:
            click.echo(f"{key}: {value}")


def _read_json(path: Path, option: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"{option}: cannot read {path}: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise InputError(f"{option}: {path} is not UTF-8 text") from e
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{option}: {path} is not JSON ({e.msg})") from e


@click.command("check-proof")
@click.argument("proof_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--pubkey",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Check the checkpoint's signature with this Ed25519 public key (PEM).",
)
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A checkpoint (JSON: checkpoint --json, or its event from log --json) signing the root.",
)
@click.option(
    "--line",
    "line_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The event's stored line: it must hash to the proof's leaf.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.pass_context
def check_proof(
    ctx: click.Context,
    proof_file: Path,
    pubkey: Path | None,
    checkpoint_file: Path | None,
    line_file: Path | None,
    as_json: bool,
) -> None:
    """Check a proof from `prove --json` without the ledger. Exit 0 valid, 1 invalid.

    \b
    Examples:
      sweepledger check-proof proof.json
      sweepledger check-proof proof.json --pubkey ci.pub --line event.jsonl
      sweepledger check-proof consistency.json --pubkey ci.pub --checkpoint checkpoint.json
    """
    if checkpoint_file is not None and pubkey is None:
        raise InputError("--checkpoint needs --pubkey to check its signature")
    try:
        text = proof_file.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read {proof_file}: {e.strerror}") from e
    try:
        proof = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError):
        proof = None  # evidence, not usage: an unreadable proof is an invalid one
    public_key = load_public_key(pubkey) if pubkey is not None else None
    checkpoint = None
    if checkpoint_file is not None:
        try:
            checkpoint = Checkpoint.from_dict(_read_json(checkpoint_file, "--checkpoint"))
        except ValueError as e:
            raise InputError(f"--checkpoint: {e}") from e
    line = None
    if line_file is not None:
        try:
            line = line_file.read_bytes()
        except OSError as e:
            raise InputError(f"--line: cannot read {line_file}: {e.strerror}") from e
        line = line[:-1] if line.endswith(b"\n") else line
    result = check_document(proof, public_key, checkpoint, line)
    if proof is None:
        result.problem = "malformed proof: not JSON"
    if as_json:
        echo_json(
            {
                "ok": result.ok,
                "kind": result.kind,
                "problem": result.problem,
                "checked": result.checked,
            }
        )
    elif result.ok:
        click.echo("ok: " + "; ".join(result.checked))
    else:
        click.echo(f"INVALID: {result.problem}")
    ctx.exit(0 if result.ok else 1)
