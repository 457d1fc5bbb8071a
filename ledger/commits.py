"""The commit log: durable commit boundaries of the live file, one fixed-size record each.

A record is ``C <seq:020d> <hash:64 hex> <crc32:08x>\\n`` (97 bytes). The last record names the
last committed event; bytes of the live file after that event's line were never acknowledged.

Only a *torn* end is a crash's doing and recovered automatically: a short last record, or a
last record of zero bytes (a file extended but never written); the call that wrote it was never
acknowledged, so the boundary falls back to the record before it. A full-length record whose
check fails is *damage* (a flipped bit, an edit): writers refuse and ``verify`` fails.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path

RECORD_LEN = 97
ZERO_RECORD = bytes(RECORD_LEN)
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
    """The commit a record names, or None unless every byte is as ``_record`` writes it."""
    if len(record) != RECORD_LEN or not record.startswith(b"C ") or record[-1:] != b"\n":
        return None
    body = record[:87]
    if record[87:96] != b" %08x" % zlib.crc32(body):
        return None
    try:
        return Commit(int(body[2:22]), body[23:87].decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return None


@dataclass(frozen=True)
class CommitLog:
    """What the end of the commit log says.

    ``commit`` is the last committed event (None when no record is intact); ``torn`` the number
    of bytes at the end that a crash left (a short or zero-filled last record); ``damage`` says
    what is wrong when the last full record fails its check; ``exists`` is false when there is
    no log file at all.
    """

    commit: Commit | None
    torn: int = 0
    damage: str | None = None
    exists: bool = True


def read_commit_log(path: Path) -> CommitLog:
    """The commit log's last records, read as a writer must: torn ends told from damage."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            whole = size - size % RECORD_LEN
            start = max(0, whole - 2 * RECORD_LEN)
            f.seek(start)
            block = f.read(whole - start)
    except FileNotFoundError:
        return CommitLog(None, exists=False)
    torn = size - whole
    records = [block[i : i + RECORD_LEN] for i in range(0, len(block), RECORD_LEN)]
    if records and records[-1] == ZERO_RECORD:
        records.pop()
        torn += RECORD_LEN
    if not records:
        return CommitLog(None, torn)
    commit = _parse(records[-1])
    if commit is None:
        offset = size - torn - RECORD_LEN
        index = offset // RECORD_LEN + 1
        problem = f"commit record {index} ({path.name} byte {offset}) fails its check"
        return CommitLog(None, torn, problem)
    return CommitLog(commit, torn)


def damaged_records(path: Path) -> list[int]:
    """Byte offsets of every full-length record that fails its check (a torn end excluded)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    whole = len(data) - len(data) % RECORD_LEN
    if whole and data[whole - RECORD_LEN : whole] == ZERO_RECORD:
        whole -= RECORD_LEN
    return [
        offset
        for offset in range(0, whole, RECORD_LEN)
        if _parse(data[offset : offset + RECORD_LEN]) is None
    ]


def last_commit(path: Path) -> Commit | None:
    """The last intact commit record of the log at ``path``; None when there is none.

    For readers: a damaged last record is passed over (``verify`` reports it; writers, which
    must not guess, use ``read_commit_log``).
    """
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
    """Durably record that every event up to ``seq`` (whose hash is ``digest``) is committed.

    The log must end on a whole record (a writer keeps and cuts a torn end first).
    """
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if os.fstat(fd).st_size % RECORD_LEN:
            raise ValueError(f"{path} does not end on a whole record")
        os.write(fd, _record(seq, digest))
        os.fdatasync(fd)
    finally:
        os.close(fd)


def _opener(path: str, flags: int) -> int:
    return os.open(path, flags, 0o644)


def rewrite_commits(path: Path, seq: int, digest: str) -> None:
    """Replace the log with a single record (atomically), used after sealing to keep it small."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb", opener=_opener) as f:
        f.write(_record(seq, digest))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
