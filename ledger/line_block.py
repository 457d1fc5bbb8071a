"""The chain check of a block of whole stored lines, vectorised with numpy, for ``verify``.

``block_ok`` makes, for every line of a block at once, each check ``chain.check_line`` makes
of one line: its length, the fixed bytes of its tail (``,"prev":"``, ``,"hash":"``, ``"}``),
its seq (``{"seq":`` then the expected number and a comma), the SHA-256 of its prefix against
its stored hash, and its ``prev`` against the hash of the line before it. Because the tail of
every line has a fixed size (``chain.PREV_FIELD_START``), the tails of all lines are cut out as
one ``(lines, 149)`` byte matrix and compared column-wise; only hashing is done per line (by
hashlib, on views of the block), the digests joined and turned into hex in one call.

It is stricter than ``check_line`` where the two could differ (a seq written with leading
zeros is refused here): a block that fails is re-checked line by line by the caller, whose
verdict and message are the ones reported.
"""

from __future__ import annotations

import hashlib
from binascii import hexlify
from typing import TYPE_CHECKING

from ledger.chain import (
    HASH_FIELD,
    HASH_START,
    HASH_STOP,
    LINE_END,
    MIN_LINE_LEN,
    PREV_FIELD,
    PREV_FIELD_START,
    PREV_START,
    PREV_STOP,
    SEQ_PREFIX,
    SUFFIX_LEN,
)

if TYPE_CHECKING:
    import numpy as np

TAIL_LEN = -PREV_FIELD_START  # ,"prev":"<64 hex>","hash":"<64 hex>"}
# Columns of the tail matrix (a line's last TAIL_LEN bytes without its newline).
_PREV_COLS = slice(TAIL_LEN + PREV_START, TAIL_LEN + PREV_STOP)
_HASH_COLS = slice(TAIL_LEN + HASH_START, TAIL_LEN + HASH_STOP)
_FIXED = (
    (0, PREV_FIELD),
    (TAIL_LEN - SUFFIX_LEN, HASH_FIELD),
    (TAIL_LEN - len(LINE_END), LINE_END),
)
# Seqs with more digits than this are left to the line-by-line check (int64 arithmetic).
MAX_SEQ_DIGITS = 18
_NEWLINE = ord("\n")
_COMMA = ord(",")
_EMPTY = hashlib.sha256()


def newline_ends(buf: bytes) -> np.ndarray:
    """Offsets of every newline in ``buf``."""
    import numpy as np

    return np.flatnonzero(np.frombuffer(buf, np.uint8) == _NEWLINE)


def block_ok(buf: bytes, ends: np.ndarray, seq: int, prev: bytes) -> bool:
    """Whether the lines of ``buf`` (whole lines; ``ends`` the offsets of their newlines) are
    intact events ``seq``, ``seq + 1``, ... chained after the hash ``prev`` (hex bytes)."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    count = len(ends)
    starts = np.empty(count, np.int64)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    if count == 0 or int((ends - starts).min()) < MIN_LINE_LEN:
        return False
    last = seq + count - 1
    digits = len(str(last))
    if digits > MAX_SEQ_DIGITS:
        return False
    data = np.frombuffer(buf, np.uint8)
    head_len = len(SEQ_PREFIX) + digits + 1
    heads = sliding_window_view(data, head_len)[starts]
    tails = sliding_window_view(data, TAIL_LEN)[ends - TAIL_LEN]
    for column, fixed in _FIXED:
        if not (tails[:, column : column + len(fixed)] == np.frombuffer(fixed, np.uint8)).all():
            return False
    if not (heads[:, : len(SEQ_PREFIX)] == np.frombuffer(SEQ_PREFIX, np.uint8)).all():
        return False
    if not _seqs_ok(heads[:, len(SEQ_PREFIX) :], np.arange(seq, last + 1, dtype=np.int64)):
        return False
    stored = tails[:, _HASH_COLS].tobytes()
    if hexlify(_digests(buf, starts.tolist(), (ends - SUFFIX_LEN).tolist())) != stored:
        return False
    return bool(tails[:, _PREV_COLS].tobytes() == prev + stored[:-64])


def _digests(buf: bytes, starts: list[int], stops: list[int]) -> bytes:
    """The SHA-256 digests of ``buf[start:stop]`` for each pair, joined."""
    digests: list[bytes] = []
    add = digests.append
    # Copying an initialised context skips the algorithm look-up OpenSSL makes for each new
    # hash object, and a memoryview slice does not copy the line.
    new = _EMPTY.copy
    with memoryview(buf) as view:
        for start, stop in zip(starts, stops, strict=True):
            digest = new()
            digest.update(view[start:stop])
            add(digest.digest())
    return b"".join(digests)


def _seqs_ok(found: np.ndarray, seqs: np.ndarray) -> bool:
    """Whether each row of ``found`` starts with the decimal digits of its seq and a comma
    (``found`` is as wide as the longest seq plus its comma)."""
    import numpy as np

    width = found.shape[1]
    lengths = np.ones_like(seqs)
    for power in range(1, width):
        lengths += seqs >= 10**power
    # Digit k of a seq of ``length`` digits is (seq // 10**(length - 1 - k)) % 10.
    exponents = lengths[:, None] - 1 - np.arange(width)
    expected = (seqs[:, None] // 10 ** np.maximum(exponents, 0)) % 10 + ord("0")
    expected = np.where(exponents == -1, _COMMA, expected)
    # Bytes after the comma belong to the next field: whatever they are, they match.
    expected = np.where(exponents < -1, found, expected)
    return bool((found == expected).all())
