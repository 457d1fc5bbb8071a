"""Ledger commands: init, append, log, head, verify, repair, seal."""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from commands.cli.context import AppContext
from commands.cli.render import InputError, echo_json, note, write_raw_line
from ledger import (
    MAX_EVENT_BYTES,
    InvalidEvent,
    JSONTextError,
    Ledger,
    load_public_key,
    loads_text,
    read_input_file,
    read_jsonl,
    verify_signed,
)

if TYPE_CHECKING:
    from schemas import Event

T = TypeVar("T")

# A saved anchor is one SEQ:HASH line; anything much longer is not one.
ANCHOR_FILE_LIMIT = 4096
# Receipts printed per write: one string for a million would be ~170 MB of fresh pages.
RECEIPTS_PER_WRITE = 10_000


def _ledger(ctx: click.Context, create: bool = False) -> Ledger:
    app: AppContext = ctx.obj
    return Ledger.open(app.root, create=create)


@click.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create an empty ledger at the root (writes no event).

    \b
    Example:
      sweepledger --root ./artifacts init
    """
    ledger = _ledger(ctx, create=True)
    click.echo(str(ledger.root))


def _read_data(value: str) -> Any:
    """The payload of ``--data``: JSON text, or ``@FILE``, read under the same rules as a
    ``--jsonl`` line (``ledger.json_text``); a refusal is one ``--data: ...`` line."""
    if value.startswith("@"):
        text = read_input_file(Path(value[1:]), MAX_EVENT_BYTES, "--data")
    else:
        try:
            text = value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InputError(f"--data: not valid UTF-8 (character {e.start})") from e
    try:
        return loads_text(text)
    except JSONTextError as e:
        raise InputError(f"--data: {e}") from e


@click.command()
@click.argument("event_type", required=False)
@click.option("--data", "data", help="Payload as JSON, or @FILE to read it from a file.")
@click.option("--batch", help="Batch id the event belongs to.")
@click.option("--key", help="Subject key, e.g. trial/abc123.")
@click.option("--cause", type=click.IntRange(min=1), help="Seq of the intent this answers.")
@click.option(
    "--jsonl",
    type=click.File("rb"),
    help='Append many events, one {"type","data","batch"?,"key"?,"cause"?} per line (- for stdin).',
)
@click.pass_context
def append(
    ctx: click.Context,
    event_type: str | None,
    data: str | None,
    batch: str | None,
    key: str | None,
    cause: int | None,
    jsonl: IO[bytes] | None,
) -> None:
    """Append one event, or every line of a JSONL file as one all-or-nothing commit.

    Prints SEQ:HASH of each event once it is durable.

    \b
    Examples:
      sweepledger append x.note --data '{"text": "hello"}'
      sweepledger append trial.outcome --data @outcome.json --batch b1 --cause 12
      cat events.jsonl | sweepledger append --jsonl -
    """
    if jsonl is not None:
        if event_type or data or batch or key or cause:
            raise InputError("--jsonl takes no TYPE, --data, --batch, --key or --cause")
        name = "stdin" if jsonl.name == "<stdin>" else str(jsonl.name)
        numbers: list[int] = []
        try:
            receipts = _ledger(ctx, create=True).append(read_jsonl(jsonl, name, numbers))
        except InvalidEvent as e:
            if e.index is None:
                raise
            raise InputError(f"{name} line {numbers[e.index]}: {e.detail}") from e
    else:
        if not event_type:
            raise InputError("missing TYPE (or use --jsonl FILE)")
        payload = _read_data(data) if data is not None else {}
        receipts = _ledger(ctx, create=True).append(
            [{"type": event_type, "data": payload, "batch": batch, "key": key, "cause": cause}]
        )
    for start in range(0, len(receipts), RECEIPTS_PER_WRITE):
        chunk = receipts[start : start + RECEIPTS_PER_WRITE]
        sys.stdout.write("".join(f"{seq}:{digest}\n" for seq, digest in chunk))


@click.command()
@click.option("--type", "types", multiple=True, help="Only events of this type (repeatable).")
@click.option("--batch", help="Only events of this batch.")
@click.option("--since", type=click.IntRange(min=0), default=0, help="Only events with seq > N.")
@click.option("--tail", type=click.IntRange(min=1), help="Only the last N matching events.")
@click.option("--json", "as_json", is_flag=True, help="One event per line, exactly as stored.")
@click.pass_context
def log(
    ctx: click.Context,
    types: tuple[str, ...],
    batch: str | None,
    since: int,
    tail: int | None,
    as_json: bool,
) -> None:
    """List committed events; an outcome's line ends with its status (and error type).

    \b
    Examples:
      sweepledger log --type trial.outcome --batch b1
      sweepledger log --tail 20
      sweepledger log --since 100 --json | jq .data
    """
    ledger = _ledger(ctx)
    if as_json:
        for line in _last(ledger.read_raw(since, types or None, batch), tail):
            write_raw_line(line)
        return
    for event in _last(ledger.read(since=since, types=types or None, batch=batch), tail):
        subject = f" {event.key}" if event.key else ""
        scope = f" [{event.batch}]" if event.batch else ""
        cause = f" <- {event.cause}" if event.cause else ""
        click.echo(f"{event.seq:>8} {event.ts} {event.type}{scope}{subject}{cause}{_status(event)}")


def _last(items: Iterable[T], n: int | None) -> Iterable[T]:
    """``items``, or only the last ``n`` of them (read once, ``n`` kept at a time)."""
    return items if n is None else deque(items, maxlen=n)


def _status(event: Event) -> str:
    """`` status`` (and `` (ErrorType)``) for an outcome, else nothing."""
    if not event.type.endswith(".outcome") or not isinstance(event.data, dict):
        return ""
    status = event.data.get("status")
    error = event.data.get("error")
    kind = error.get("type") if isinstance(error, dict) and status != "ok" else None
    return f" {status}" + (f" ({kind})" if kind else "")


@click.command()
@click.pass_context
def head(ctx: click.Context) -> None:
    """Print the last committed event as SEQ:HASH (0: and 64 zeros when empty).

    \b
    Example:
      sweepledger head > ledger.anchor    # commit it; later: verify --anchor-file ledger.anchor
    """
    click.echo(str(_ledger(ctx).head()))


@click.command()
@click.option("--anchor", help="SEQ:HASH that the ledger must still contain.")
@click.option(
    "--anchor-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding SEQ:HASH (the saved output of `head`).",
)
@click.option("--deep", is_flag=True, help="Also re-check every row of sealed segments.")
@click.option(
    "--pubkey",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also check every checkpoint: its root against the events, its signature with this key.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def verify(
    ctx: click.Context,
    anchor: str | None,
    anchor_file: Path | None,
    deep: bool,
    pubkey: Path | None,
    as_json: bool,
) -> None:
    """Check every committed event: seq continuity, prev links, hashes, sealed segments.

    With --pubkey, also recompute the Merkle root under every ledger.checkpoint and check the
    signatures of those made with that key; fails if none is (checkpoints of other keys are
    reported as not checked).
    Exit 0 intact, 1 damaged (naming the first bad seq and where), 2 bad usage.

    \b
    Examples:
      sweepledger verify
      sweepledger verify --anchor-file ledger.anchor --json
      sweepledger verify --pubkey keys/ci.pub
    """
    if anchor and anchor_file:
        raise InputError("give --anchor or --anchor-file, not both")
    if anchor_file is not None:
        raw = read_input_file(anchor_file, ANCHOR_FILE_LIMIT, "--anchor-file")
        try:
            anchor = raw.decode("utf-8").strip()
        except UnicodeDecodeError as e:
            raise InputError(f"--anchor-file {anchor_file}: not UTF-8 text (byte {e.start})") from e
    if pubkey is not None:
        report = verify_signed(_ledger(ctx), load_public_key(pubkey), anchor=anchor, deep=deep)
    else:
        report = _ledger(ctx).verify(anchor=anchor, deep=deep)
    if as_json:
        echo_json(report.to_dict())
    else:
        for warning in report.warnings:
            note(f"warning: {warning}")
        signed = (
            f", {report.checkpoints_checked} checkpoints signed by key {report.key_id}"
            if report.checkpoints_checked
            else ""
        )
        if report.ok:
            click.echo(f"ok: {report.events_checked} events checked, head {report.head}{signed}")
        elif report.first_bad_seq is None:
            click.echo(f"DAMAGED: {report.problem}")
        else:
            where = f" ({report.location})" if report.location else ""
            at = "" if report.first_bad_seq is None else f"seq {report.first_bad_seq}: "
            click.echo(
                f"DAMAGED: {at}{report.problem}{where}; "
                f"{report.events_checked} events checked before it"
            )
    ctx.exit(0 if report.ok else 1)


@click.command()
@click.option(
    "--trust-chain",
    is_flag=True,
    help="Rebuild a missing or damaged commit log from the live file's hash-chained lines.",
)
@click.pass_context
def repair(ctx: click.Context, trust_chain: bool) -> None:
    """Keep and cut bytes after the last commit (recording ledger.recovered), finish an
    interrupted seal.

    Cut bytes are first kept under <root>/recovered/. Damage to committed bytes is never
    repaired: `verify` reports it and writers refuse. With --trust-chain you vouch for the live
    file's complete, hash-chained lines and the commit log is rebuilt from them.

    \b
    Example:
      sweepledger repair
      sweepledger repair --trust-chain
    """
    report = _ledger(ctx).repair(trust_chain=trust_chain)
    for step in report.finished_seal:
        click.echo(f"finished an interrupted seal: {step}")
    if report.recorded is None:
        if not report.finished_seal:
            click.echo("nothing to repair")
        return
    if report.rebuilt:
        click.echo("rebuilt the commit log from the live file's hash chain")
    if report.kept_commit_log:
        click.echo(f"cut a torn commit-log record (kept in {report.kept_commit_log})")
    if report.truncated_bytes or not report.kept_commit_log:
        kept = f", kept in {report.kept}" if report.kept else ""
        click.echo(
            f"cut {report.truncated_bytes} uncommitted bytes from the live file "
            f"(sha256 {report.truncated_sha256}{kept})"
        )
    click.echo(f"recorded as seq {report.recorded.seq} (ledger.recovered)")


@click.command()
@click.pass_context
def seal(ctx: click.Context) -> None:
    """Move the committed live events into an immutable Parquet segment.

    \b
    Example:
      sweepledger seal && sweepledger verify --deep
    """
    report = _ledger(ctx).seal()
    if report is None:
        click.echo("nothing to seal")
    else:
        click.echo(
            f"sealed seq {report.first_seq}..{report.last_seq} into {report.segment} "
            f"({report.size} bytes, sha256 {report.sha256}); recorded as seq {report.sealed_event}"
        )
