"""Bulk reading of the live file with DuckDB's parallel CSV/JSON readers.

Used when a large, clean live file is read: DuckDB splits the lines (read as one text column:
JSON lines never hold a raw control character, so ``\\x01`` never delimits), takes the
envelope fields, and slices ``data`` out of each line's own bytes, as the sealed segments store
it. A line cut short (one an appender is writing past the commit boundary) has a seq outside
every range asked for, or none.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ledger.chain import (
    DATA_FIELD,
    HASH_FIELD,
    HASH_HEX_LEN,
    PREV_FIELD,
    PREV_FIELD_START,
    SEQ_PREFIX,
)
from ledger.encoding import MAX_EVENT_BYTES

if TYPE_CHECKING:
    import duckdb

BULK_MIN_BYTES = 8 << 20
_HEAD = (
    '{"seq":"BIGINT","ts":"VARCHAR","type":"VARCHAR","v":"INTEGER","batch":"VARCHAR",'
    '"key":"VARCHAR","cause":"BIGINT"}'
)
# Every piece is cut at known places instead of parsing whole lines as JSON (which costs twice
# as much): the seq between ``{"seq":`` and the first comma (cheap, so the range filter runs
# before anything else), the envelope head (every key before ``,"data":``) parsed as a small
# JSON object, ``data`` up to the fixed-size suffix, and prev/hash out of the text after the
# last ``,"prev":"`` (``data`` may hold that text too, never after its end).
# SQL strings are 1-based: the seq's digits start right after ``{"seq":``; ``data`` right
# after ``,"data":`` and it ends where ``,"prev":"`` starts, a fixed distance from the line's
# end; in the text after that marker, prev is the first 64 characters and the hash follows
# ``","hash":"``.
_SEQ_FROM = len(SEQ_PREFIX) + 1
_DATA_SKIP = len(DATA_FIELD)
_DATA_END_BACK = -PREV_FIELD_START - 1
_HASH_FROM = HASH_HEX_LEN + 1 + len(HASH_FIELD) + 1
_HASH_TO = _HASH_FROM + HASH_HEX_LEN - 1
_SQL = f"""
SELECT seq, e.ts, e.type, e.v, e.batch, e.key, e.cause,
       substr(line, pos + {_DATA_SKIP}, length(line) - {_DATA_END_BACK} - (pos + {_DATA_SKIP}))
           AS data,
       left(tail, {HASH_HEX_LEN}) AS prev, tail[{_HASH_FROM}:{_HASH_TO}] AS hash
FROM (
    SELECT seq, pos, line, try(from_json(left(line, pos - 1) || '}}}}', '{{head}}')) AS e,
           split_part(line, '{PREV_FIELD.decode()}', -1) AS tail
    FROM (
        SELECT TRY_CAST(substr(line, {_SEQ_FROM}, strpos(line, ',') - {_SEQ_FROM}) AS BIGINT)
                   AS seq,
               strpos(line, '{DATA_FIELD.decode()}') AS pos, line
        FROM {{source}}
    )
    WHERE seq > {{after:d}} AND seq <= {{upto:d}}
)
"""
# Every line the ledger accepts must fit DuckDB's line limit (2,000,000 bytes by default).
_MAX_LINE = MAX_EVENT_BYTES + 1024
_FILE = (
    f"read_csv('{{path}}', columns = {{{{'line': 'VARCHAR'}}}}, delim = '\\x01', quote = '', "
    f"max_line_size = {_MAX_LINE}, "
    "escape = '', header = false, auto_detect = false)"
)


def live_relation(
    con: duckdb.DuckDBPyConnection, path: Path, after: int, upto: int
) -> duckdb.DuckDBPyRelation:
    """Events ``after < seq <= upto`` of a live file as a relation of ``con`` (unordered)."""
    source = _FILE.format(path=str(path).replace("'", "''"))
    return con.sql(_SQL.format(head=_HEAD, source=source, after=after, upto=upto))


def lines_relation(con: duckdb.DuckDBPyConnection, lines: list[bytes]) -> duckdb.DuckDBPyRelation:
    """Stored lines (without newlines) as events, a relation of ``con`` (unordered).

    For a few lines: no file scan and no Arrow (whose import alone costs a small catch-up
    ~0.2 s). Bytes that are not UTF-8 (damage ``verify`` reports) are read as U+FFFD.
    """
    text = [line.decode("utf-8", "replace") for line in lines]
    source = "(SELECT unnest($lines::VARCHAR[]) AS line)"
    sql = _SQL.format(head=_HEAD, source=source, after=-1, upto=2**63 - 1)
    return con.sql(sql, params={"lines": text})
