"""The commit step shared by every writer (append, repair, seal): encode prepared events after
a head, write their lines, fsync, then durably record the commit boundary. Called with the
ledger lock held.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from itertools import repeat
from typing import NamedTuple

from ledger.commits import append_commit
from ledger.encoding import Prepared, check_lines, encode_lines, utc_timestamp
from ledger.files import LedgerFiles, fsync_dir, os_errors, write_lines

ENCODE_CHUNK = 10_000


class Receipt(NamedTuple):
    """Acknowledgement of one durably committed event."""

    seq: int
    hash: str


class Head(NamedTuple):
    """The last committed event, printed as ``SEQ:HASH``."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


def ensure_commit_log(files: LedgerFiles) -> None:
    """Create the (empty) commit log before the first lines are written, durably, so that a
    live file with lines but no commit log is always damage, never a first call's crash."""
    if not files.commits_path.exists():
        fd = os.open(files.commits_path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(files.root)


def commit(files: LedgerFiles, prepared: list[Prepared], seq: int, prev: str) -> list[Receipt]:
    """Encode, write and durably commit ``prepared`` after ``seq``/``prev`` (lock held).

    Lines are encoded and written ``ENCODE_CHUNK`` events at a time, so a huge call never
    holds all its lines; a call of several chunks is checked whole before the first write.
    The commit record is appended only after the lines are fsynced: it is the acknowledgement.

    Raises:
        InvalidEvent: an event is refused (a cause or size); nothing written.
        StorageRefused: the OS refused a write (naming the file); nothing acknowledged.
    """
    ts = utc_timestamp()
    if len(prepared) > ENCODE_CHUNK:
        check_lines(prepared, seq, ts)
    lines, digests = encode_lines(prepared[:ENCODE_CHUNK], seq, prev, ts)

    def write(fd: int) -> None:
        nonlocal lines
        write_lines(fd, lines)
        for start in range(ENCODE_CHUNK, len(prepared), ENCODE_CHUNK):
            chunk = prepared[start : start + ENCODE_CHUNK]
            lines, more = encode_lines(chunk, seq + start, digests[-1], ts, start)
            write_lines(fd, lines)
            digests.extend(more)

    _write_live(files, write)
    return _acknowledge(files, seq, digests)


def commit_encoded(
    files: LedgerFiles, blocks: list[bytes], seq: int, digests: list[str]
) -> list[Receipt]:
    """Write and durably commit lines already encoded after ``seq`` (lock held; the caller
    checked that ``seq`` and its hash are still the head): ``blocks`` of whole lines, the
    hash of each line in ``digests``.

    Raises:
        StorageRefused: the OS refused a write (naming the file); nothing acknowledged.
    """
    _write_live(files, lambda fd: write_lines(fd, blocks))
    return _acknowledge(files, seq, digests)


def _write_live(files: LedgerFiles, write: Callable[[int], None]) -> None:
    """Run ``write`` on the live file opened for appending, then fsync it."""
    with os_errors(files.commits_path):
        ensure_commit_log(files)
    with os_errors(files.live_path):
        fd = os.open(files.live_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            write(fd)
            os.fdatasync(fd)
        finally:
            os.close(fd)


def _acknowledge(files: LedgerFiles, seq: int, digests: list[str]) -> list[Receipt]:
    """Record the commit of the events after ``seq`` (hashes ``digests``, fsynced in the
    live file): the acknowledgement. Returns their receipts."""
    # tuple.__new__ straight from C: Receipt(seq, digest) is a Python-level call per event.
    seqs = range(seq + 1, seq + 1 + len(digests))
    receipts = list(map(tuple.__new__, repeat(Receipt), zip(seqs, digests, strict=True)))
    with os_errors(files.commits_path):
        append_commit(files.commits_path, receipts[-1].seq, receipts[-1].hash)
    return receipts
