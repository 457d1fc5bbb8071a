"""Fast chain check of a byte range of the live file, for ``verify``.

Lines are checked a block at a time: in a large range by ``ledger.line_block`` (numpy over the
whole block, hashlib per line); in a small one with C-level ``map`` over the block's lines
(hash each line's prefix, compare the joined stored hashes, the joined ``prev`` fields and the
seq prefixes). Only a block that fails is re-checked line by line to name the first bad event.
Ranges can be checked in separate processes and stitched (``RangeResult``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter, methodcaller
from pathlib import Path

from ledger.chain import (
    HASH_FIELD,
    HASH_START,
    HASH_STOP,
    LINE_END,
    PREV_START,
    PREV_STOP,
    SUFFIX_LEN,
    check_line,
    line_hash,
    line_prev,
    line_seq,
)
from ledger.line_block import block_ok, newline_ends

SCAN_BLOCK = 256 * 1024
VECTOR_BLOCK = 1 << 20
# numpy's import costs about as much as the vectorised check saves on ~100 MiB of lines.
VECTOR_MIN_BYTES = 128 << 20
_SEQ_FORMAT = b'{"seq":%d,'.__mod__
_PREFIX = itemgetter(slice(None, -SUFFIX_LEN))
_HASH = itemgetter(slice(HASH_START, HASH_STOP))
_PREV = itemgetter(slice(PREV_START, PREV_STOP))
_HASH_FIELD = itemgetter(slice(-SUFFIX_LEN, HASH_START))
_END = itemgetter(slice(HASH_STOP, None))
_HEX = methodcaller("hexdigest")
_sha256 = hashlib.sha256


@dataclass(frozen=True)
class Bad:
    """The first event that does not check out: its expected seq (None if unknown yet)."""

    seq: int | None
    offset: int
    problem: str


@dataclass(frozen=True)
class RangeResult:
    """What a range check found; ``first_*`` are unchecked links for the caller to stitch."""

    start: int
    first_seq: int | None
    first_prev: str | None
    last_seq: int
    last_hash: str
    count: int
    bad: Bad | None
    anchor_hash: str | None


def _block_ok(lines: list[bytes], seq: int, prev: bytes) -> bool:
    n = len(lines)
    if not all(map(bytes.startswith, lines, map(_SEQ_FORMAT, range(seq, seq + n)))):
        return False
    stored = b"".join(map(_HASH, lines))
    if "".join(map(_HEX, map(_sha256, map(_PREFIX, lines)))).encode() != stored:
        return False
    if b"".join(map(_HASH_FIELD, lines)) != b"".join(repeat(HASH_FIELD, n)):
        return False
    if b"".join(map(_END, lines)) != b"".join(repeat(LINE_END, n)):
        return False
    return b"".join(map(_PREV, lines)) == prev + stored[:-64]


def _plain_count(buf: bytes, seq: int, prev: bytes) -> int | None:
    """How many whole lines ``buf`` holds if they all check out (``_block_ok``), else None;
    bytes after its last newline are not a line."""
    lines = buf.split(b"\n")
    lines.pop()
    return len(lines) if _block_ok(lines, seq, prev) else None


def _vector_count(buf: bytes, seq: int, prev: bytes) -> int | None:
    """``_plain_count`` through the vectorised check of ``ledger.line_block``."""
    ends = newline_ends(buf)
    return len(ends) if block_ok(buf, ends, seq, prev) else None


def _blocks(path: Path, start: int, stop: int, size: int) -> Iterator[tuple[int, bytes, int]]:
    """Blocks of ``[start, stop)`` read ``size`` bytes at a time (more for a longer line), as
    (offset, bytes, end): ``bytes[:end]`` are whole lines; what follows, a part of the next
    line, is read again with the next block (cheaper than joining it to the next read)."""
    pos = start
    with open(path, "rb", buffering=0) as f:
        while pos < stop:
            f.seek(pos)
            buf = f.read(min(size, stop - pos))
            end = buf.rfind(b"\n") + 1
            if end:
                yield pos, buf, end
                pos += end
            elif len(buf) < size:
                return  # no newline before stop (or the end of the file)
            else:
                size *= 2


def scan_range(
    path: Path, start: int, stop: int, first_seq: int | None, anchor_seq: int | None
) -> RangeResult:
    """Check the lines in ``[start, stop)`` (``start`` at a line start; bytes after the last
    newline before ``stop`` are ignored). ``first_seq`` is the expected seq of the first line,
    or None to take it from the line (the caller stitches ranges together).

    Ranges of ``VECTOR_MIN_BYTES`` or more are checked in blocks of ``VECTOR_BLOCK`` by
    ``ledger.line_block`` (numpy); smaller ones, without importing numpy, by ``_block_ok``.
    A block that fails either is re-checked line by line (``check_line``) to name the first
    bad event.
    """
    seq = first_seq
    prev: str | None = None
    begin_seq: int | None = None
    begin_prev: str | None = None
    count = 0
    anchor_hash: str | None = None
    vector = stop - start >= VECTOR_MIN_BYTES
    counted = _vector_count if vector else _plain_count

    def result(bad: Bad | None) -> RangeResult:
        last = (seq - 1) if seq is not None else 0
        return RangeResult(start, begin_seq, begin_prev, last, prev or "", count, bad, anchor_hash)

    for buf_start, buf, end in _blocks(path, start, stop, VECTOR_BLOCK if vector else SCAN_BLOCK):
        first_line = buf[: buf.index(b"\n")]
        if seq is None:
            seq = line_seq(first_line)
            if seq is None:
                return result(Bad(None, buf_start, "malformed event line (no seq)"))
        if prev is None:
            begin_seq, begin_prev = seq, line_prev(first_line)
            prev = begin_prev
        lines = None
        found = counted(buf, seq, prev.encode())
        if found is None:
            lines = buf.split(b"\n")
            lines.pop()
            offset, at, link = buf_start, seq, prev
            for line in lines:
                problem = check_line(line, at, link)
                if problem is not None:
                    count += at - seq
                    seq, prev = at, link
                    return result(Bad(at, offset, problem))
                link = line_hash(line)
                at += 1
                offset += len(line) + 1
            found = len(lines)
        if anchor_seq is not None and seq <= anchor_seq < seq + found:
            lines = lines or buf.split(b"\n")
            anchor_hash = line_hash(lines[anchor_seq - seq])
        seq += found
        count += found
        prev = line_hash(buf[buf.rfind(b"\n", 0, end - 1) + 1 : end - 1])
    return result(None)
