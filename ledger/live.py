"""The live JSONL file: where its committed bytes end, and streaming its committed lines."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ledger.chain import GENESIS_HASH, commit_marker, line_seq
from ledger.commits import Commit

READ_BLOCK = 1 << 20
BULK_READ_BLOCK = 1 << 18
MAX_LINE_PROBE = 17 << 20  # longer than the largest event


@dataclass(frozen=True)
class LiveState:
    """What is in the live file right now.

    ``boundary`` is the byte offset where committed bytes end; None when the last committed
    event cannot be found (committed bytes were truncated or altered). ``start`` is where
    lines not yet covered by a sealed segment begin (non-zero only after an interrupted seal).
    """

    size: int
    boundary: int | None
    commit: Commit | None
    start: int = 0

    @property
    def head_seq(self) -> int:
        return self.commit.seq if self.commit else 0

    @property
    def head_hash(self) -> str:
        return self.commit.hash if self.commit else GENESIS_HASH

    @property
    def uncommitted(self) -> int:
        """Bytes after the commit boundary (a torn line or lines of a call never committed)."""
        return 0 if self.boundary is None else self.size - self.boundary


def find_boundary(path: Path, commit: Commit | None) -> tuple[int, int | None]:
    """Size of the live file and the end offset of the committed event's line.

    Fast path: the file ends with the committed line. Otherwise the committed line is
    searched backwards (cost proportional to the uncommitted tail).
    """
    if not path.exists():
        return 0, (0 if commit is None else None)
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        if commit is None:
            return size, 0
        marker = commit_marker(commit.hash)
        if size >= len(marker):
            f.seek(size - len(marker))
            if f.read(len(marker)) == marker:
                return size, size
        end = size
        while end > 0:
            start = max(0, end - READ_BLOCK)
            f.seek(start)
            block = f.read(min(end + len(marker), size) - start)
            found = block.rfind(marker)
            if found >= 0:
                return size, start + found + len(marker)
            end = start
    return size, None


def iter_lines(
    path: Path, start: int, stop: int, block: int = READ_BLOCK
) -> Iterator[tuple[int, bytes]]:
    """Yield ``(offset, line)`` for each complete line in ``[start, stop)``, newline stripped.

    Bytes after the last newline before ``stop`` are not yielded.
    """
    with open(path, "rb") as f:
        f.seek(start)
        pos = start
        carry = b""
        while pos < stop:
            chunk = f.read(min(block, stop - pos))
            if not chunk:
                break
            pos += len(chunk)
            buf = carry + chunk if carry else chunk
            lines = buf.split(b"\n")
            carry = lines.pop()
            offset = pos - len(buf)
            for line in lines:
                yield offset, line
                offset += len(line) + 1


def iter_line_blocks(
    path: Path, start: int, stop: int, block: int = BULK_READ_BLOCK
) -> Iterator[list[bytes]]:
    """The complete lines in ``[start, stop)`` (newline stripped), a block's worth per list:
    for bulk readers that handle lines with C-level ``map`` rather than one at a time."""
    with open(path, "rb", buffering=0) as f:
        f.seek(start)
        pos = start
        carry = b""
        while pos < stop:
            chunk = f.read(min(block, stop - pos))
            if not chunk:
                break
            pos += len(chunk)
            lines = (carry + chunk if carry else chunk).split(b"\n")
            carry = lines.pop()
            if lines:
                yield lines


LINEAR_SCAN_BYTES = 1 << 16
_PROBE = 1 << 20


def _line_after(f: BinaryIO, offset: int, stop: int) -> tuple[int, int | None] | None:
    """Start offset and seq of the first line starting after ``offset`` (None if none/unclear)."""
    f.seek(offset)
    block = f.read(min(_PROBE, stop - offset))
    newline = block.find(b"\n")
    if newline < 0:
        return None
    begin = offset + newline + 1
    if begin >= stop:
        return None
    f.seek(begin)
    return begin, line_seq(f.read(40))


def seek_seq(path: Path, start: int, stop: int, seq: int) -> int:
    """Offset of the first line in ``[start, stop)`` whose seq is >= ``seq`` (``stop`` if none).

    Lines are in seq order, so this bisects over byte offsets: O(log n) small reads instead of
    reading everything before it. ``start`` must be a line start.
    """
    lo, hi = start, stop
    with open(path, "rb") as f:
        while hi - lo > LINEAR_SCAN_BYTES:
            probe = _line_after(f, (lo + hi) // 2, hi)
            if probe is None:
                break
            begin, found = probe
            if found is None:
                break
            if found < seq:
                lo = begin
            else:
                hi = begin
    for offset, line in iter_lines(path, lo, stop):
        found_seq = line_seq(line)
        if found_seq is not None and found_seq >= seq:
            return offset
    return stop


def offset_of_seq(path: Path, start: int, stop: int, seq: int) -> int | None:
    """Byte offset of the line holding ``seq`` in ``[start, stop)``, or None."""
    offset = seek_seq(path, start, stop, seq)
    for _, line in iter_lines(path, offset, min(stop, offset + MAX_LINE_PROBE)):
        return offset if line_seq(line) == seq else None
    return None


def first_seq(path: Path, start: int, stop: int) -> int | None:
    """The seq of the first line at or after ``start``, or None for an empty range."""
    for _, line in iter_lines(path, start, min(stop, start + (1 << 25))):
        return line_seq(line)
    return None
