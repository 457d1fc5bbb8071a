"""The byte layout of one stored event and the hash chain over it. Pure functions, no I/O.

A stored event is one line of UTF-8 JSON with the envelope keys in a fixed order::

    {"seq":N,"ts":"…","type":"…","v":1,"batch":…,"key":…,"cause":…,"data":{…},
     "prev":"<64 hex>","hash":"<64 hex>"}\\n      (one line; wrapped here)

``hash`` is the SHA-256 (lowercase hex) of every byte of the line before ``,"hash":"``, so
the last ``SUFFIX_LEN`` bytes of a line (without its newline) are always
``,"hash":"<64 hex>"}`` and ``prev`` sits at a fixed distance from the end. Verification hashes
the stored bytes; it never re-serializes JSON.
"""

from __future__ import annotations

import hashlib

GENESIS_HASH = "0" * 64
HASH_HEX_LEN = 64
HASH_FIELD = b',"hash":"'
PREV_FIELD = b',"prev":"'
LINE_END = b'"}'
SUFFIX_LEN = len(HASH_FIELD) + HASH_HEX_LEN + len(LINE_END)  # 75
# Offsets counted from the end of a line without its newline.
HASH_START = -(HASH_HEX_LEN + len(LINE_END))  # -66
HASH_STOP = -len(LINE_END)  # -2
PREV_START = -(SUFFIX_LEN + 1 + HASH_HEX_LEN)  # -140
PREV_STOP = -(SUFFIX_LEN + 1)  # -76
PREV_FIELD_START = PREV_START - len(PREV_FIELD)  # -149
SEQ_PREFIX = b'{"seq":'
DATA_FIELD = b',"data":'
MIN_LINE_LEN = len(SEQ_PREFIX) + 1 + (-PREV_FIELD_START)


def sha256_hex(data: bytes) -> str:
    """Lowercase hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def line_hash(line: bytes) -> str:
    """The hash stored in ``line`` (a line without its newline)."""
    return line[HASH_START:HASH_STOP].decode("ascii", "replace")


def line_prev(line: bytes) -> str:
    """The ``prev`` stored in ``line`` (a line without its newline)."""
    return line[PREV_START:PREV_STOP].decode("ascii", "replace")


def line_seq(line: bytes) -> int | None:
    """The seq at the start of ``line``, or None when the line does not start like an event."""
    if not line.startswith(SEQ_PREFIX):
        return None
    end = line.find(b",", len(SEQ_PREFIX))
    digits = line[len(SEQ_PREFIX) : end]
    return int(digits) if end > 0 and digits.isdigit() else None


def check_line(line: bytes, seq: int, prev: str) -> str | None:
    """What is wrong with ``line`` as the event at ``seq`` following ``prev``; None if intact."""
    if len(line) < MIN_LINE_LEN or line[-SUFFIX_LEN:HASH_START] != HASH_FIELD:
        return "malformed event line"
    if not line.endswith(LINE_END) or line[PREV_FIELD_START:PREV_START] != PREV_FIELD:
        return "malformed event line"
    found = line_seq(line)
    if found != seq:
        return f"expected seq {seq}, found {found if found is not None else 'no seq'}"
    if hashlib.sha256(line[:-SUFFIX_LEN]).hexdigest() != line_hash(line):
        return "hash mismatch (event bytes changed)"
    if line_prev(line) != prev:
        return "prev does not match the hash of the event before it"
    return None


def commit_marker(digest: str) -> bytes:
    """The last bytes of the line whose hash is ``digest``, newline included."""
    return b"%s%s%s\n" % (HASH_FIELD, digest.encode(), LINE_END)
