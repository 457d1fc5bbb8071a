"""Fast chain check of a byte range of the live file, for ``verify``.

Lines are checked a block at a time with C-level ``map`` over the block (hash each line's
prefix, compare the joined stored hashes, the joined ``prev`` fields and the seq prefixes);
only a block that fails is re-checked line by line to name the first bad event. Ranges can be
checked in separate processes and stitched (``RangeResult``).
"""

from __future__ import annotations

import hashlib
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

SCAN_BLOCK = 256 * 1024
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


def scan_range(
    path: Path, start: int, stop: int, first_seq: int | None, anchor_seq: int | None
) -> RangeResult:
    """Check the lines in ``[start, stop)`` (``start`` at a line start; bytes after the last
    newline before ``stop`` are ignored). ``first_seq`` is the expected seq of the first line,
    or None to take it from the line (the caller stitches ranges together).
    """
    seq = first_seq
    prev: str | None = None
    begin_seq: int | None = None
    begin_prev: str | None = None
    count = 0
    anchor_hash: str | None = None
    pos = start
    carry = b""

    def result(bad: Bad | None) -> RangeResult:
        last = (seq - 1) if seq is not None else 0
        return RangeResult(start, begin_seq, begin_prev, last, prev or "", count, bad, anchor_hash)

    with open(path, "rb", buffering=0) as f:
        f.seek(start)
        while pos < stop:
            chunk = f.read(min(SCAN_BLOCK, stop - pos))
            if not chunk:
                break
            buf_start = pos - len(carry)
            pos += len(chunk)
            buf = carry + chunk if carry else chunk
            lines = buf.split(b"\n")
            carry = lines.pop()
            if not lines:
                continue
            if seq is None:
                seq = line_seq(lines[0])
                if seq is None:
                    return result(Bad(None, buf_start, "malformed event line (no seq)"))
            if prev is None:
                begin_seq, begin_prev = seq, line_prev(lines[0])
                prev = begin_prev
            if not _block_ok(lines, seq, prev.encode()):
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
            if anchor_seq is not None and seq <= anchor_seq < seq + len(lines):
                anchor_hash = line_hash(lines[anchor_seq - seq])
            seq += len(lines)
            count += len(lines)
            prev = line_hash(lines[-1])
    return result(None)
