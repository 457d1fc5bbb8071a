"""Plain helpers for the ledger tests: reading and rewriting the on-disk files by hand.

Everything here re-implements the documented format independently (hashlib, zlib), so a test
that rewrites history does not lean on the code it checks.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import shutil
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from ledger import Ledger

LIVE = "ledger.jsonl"
COMMITS = "ledger.commits"
GENESIS = "0" * 64
HASH_FIELD = b',"hash":"'
SUFFIX_LEN = len(HASH_FIELD) + 64 + 2  # ,"hash":"<64 hex>"}


def sweepledger_executable() -> str:
    """The installed ``sweepledger`` console script (next to this interpreter, else on PATH)."""
    candidate = Path(sys.executable).parent / "sweepledger"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("sweepledger")
    assert found is not None, "the sweepledger entry point is not installed"
    return found


def example_events(count: int, start: int = 0, batch: str | None = None) -> list[dict[str, Any]]:
    """``count`` small ``x.item`` events with unique ids ``start..start+count-1``."""
    return [
        {"type": "x.item", "data": {"i": i, "text": f"item {i} é✓"}, "batch": batch}
        for i in range(start, start + count)
    ]


def live_lines(root: Path) -> list[bytes]:
    """Lines of the live file, newlines kept."""
    return (root / LIVE).read_bytes().splitlines(keepends=True)


def write_live(root: Path, lines: list[bytes]) -> None:
    (root / LIVE).write_bytes(b"".join(lines))


def stored_hash(line: bytes) -> str:
    """The ``hash`` field of a stored line (newline optional)."""
    return line.rstrip(b"\n")[-66:-2].decode()


def stored_seq(line: bytes) -> int:
    return int(json.loads(line)["seq"])


def expected_hash(line: bytes) -> str:
    """SHA-256 of the bytes before ``,"hash":"`` (the documented hashed region)."""
    body = line.rstrip(b"\n")
    return hashlib.sha256(body[: body.rindex(HASH_FIELD)]).hexdigest()


def relink(line: bytes, prev: str, seq: int | None = None) -> bytes:
    """``line`` with its ``prev`` (and optionally ``seq``) replaced and its hash recomputed."""
    body = line.rstrip(b"\n")
    prefix = body[: body.rindex(HASH_FIELD)]  # ... ,"prev":"<64>"
    prefix = prefix[:-65] + prev.encode() + b'"'
    if seq is not None:
        comma = prefix.index(b",")
        prefix = b'{"seq":%d' % seq + prefix[comma:]
    digest = hashlib.sha256(prefix).hexdigest()
    return prefix + HASH_FIELD + digest.encode() + b'"}\n'


def commit_record(seq: int, digest: str) -> bytes:
    """One 97-byte commit-log record naming ``seq``/``digest`` as the last committed event."""
    body = b"C %020d %s" % (seq, digest.encode())
    return b"%s %08x\n" % (body, zlib.crc32(body))


def head_of(root: Path) -> str:
    """``SEQ:HASH`` of the last line of the live file."""
    last = live_lines(root)[-1]
    return f"{stored_seq(last)}:{stored_hash(last)}"


def flip(path: Path, offset: int, mask: int = 0x01) -> None:
    """XOR one byte of ``path`` at ``offset`` (negative counts from the end)."""
    data = bytearray(path.read_bytes())
    data[offset] ^= mask
    path.write_bytes(bytes(data))


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (except the lock file) -> its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "ledger.lock"
    }


def event_table(ledger: Ledger, since: int = 0, upto: int | None = None) -> pa.Table:
    """Committed events ``since < seq <= upto`` as one Arrow table in seq order, read the way
    the projections read them (``Ledger.bulk_source`` through ``ledger.relations``)."""
    import duckdb

    from ledger.relations import event_relations

    con = duckdb.connect()
    relations = event_relations(ledger, con, since, upto).relations
    if not relations:
        from ledger.live_arrow import lines_relation

        relations = [lines_relation(con, [])]
    union = relations[0]
    for relation in relations[1:]:
        union = union.union(relation)
    table: pa.Table = union.order("seq").to_arrow_table()
    return table


def drop_file_override() -> None:
    """Lose root's power to ignore file modes (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) in a child
    about to exec, so that a read-only root is read-only for it as for any user."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop = 24
    for capability in (1, 2):
        libc.prctl(pr_capbset_drop, capability, 0, 0, 0)


@contextlib.contextmanager
def read_only(root: Path) -> Iterator[Callable[[], None] | None]:
    """Make every file and folder under ``root`` read-only for the block; yields the
    ``preexec_fn`` a child needs for the modes to bind it (None when not running as root)."""
    for path in [root, *root.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        yield drop_file_override if os.geteuid() == 0 else None
    finally:
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
