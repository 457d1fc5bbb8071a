"""The commit log: durable commit boundaries of the live file, one fixed-size record each.

A record is ``C <seq:020d> <hash:64 hex> <crc32:08x>\\n`` (97 bytes). Only the last intact
record matters: it names the last committed event. Bytes of the live file after that event's
line were never acknowledged. A torn or garbled last record is ignored (the call that wrote
it was never acknowledged either), so the boundary falls back to the record before it.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path

RECORD_LEN = 97
_TAIL_RECORDS = 4


@dataclass(frozen=True)
class Commit:
    """The last committed event: its seq and hash."""

    seq: int
    hash: str


def _record(seq: int, digest: str) -> bytes:
    body = b"C %020d %s" % (seq, digest.encode())
    return b"%s %08x\n" % (body, zlib.crc32(body))


def _parse(record: bytes) -> Commit | None:
    if len(record) != RECORD_LEN or not record.startswith(b"C ") or record[-1:] != b"\n":
        return None
    body, crc = record[:87], record[88:96]
    try:
        if int(crc, 16) != zlib.crc32(body):
            return None
        return Commit(int(body[2:22]), body[23:87].decode("ascii"))
    except ValueError:
        return None


def last_commit(path: Path) -> Commit | None:
    """The last intact commit record of the log at ``path``; None when there is none."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            whole = size - size % RECORD_LEN
            start = max(0, whole - _TAIL_RECORDS * RECORD_LEN)
            f.seek(start)
            block = f.read(whole - start)
    except FileNotFoundError:
        return None
    for end in range(len(block), 0, -RECORD_LEN):
        commit = _parse(block[end - RECORD_LEN : end])
        if commit is not None:
            return commit
    return None


def append_commit(path: Path, seq: int, digest: str) -> None:
    """Durably record that every event up to ``seq`` (whose hash is ``digest``) is committed."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size % RECORD_LEN:
            # A torn record from a crashed call: cut it so records stay aligned.
            os.ftruncate(fd, size - size % RECORD_LEN)
        os.write(fd, _record(seq, digest))
        os.fdatasync(fd)
    finally:
        os.close(fd)


def rewrite_commits(path: Path, seq: int, digest: str) -> None:
    """Replace the log with a single record (atomically), used after sealing to keep it small."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(_record(seq, digest))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
