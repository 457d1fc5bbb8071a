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

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

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
_SQL = """
SELECT seq, e.ts, e.type, e.v, e.batch, e.key, e.cause,
       substr(line, pos + 8, length(line) - 148 - (pos + 8)) AS data,
       left(tail, 64) AS prev, tail[75:138] AS hash
FROM (
    SELECT seq, pos, line, try(from_json(left(line, pos - 1) || '}}', '{head}')) AS e,
           split_part(line, ',"prev":"', -1) AS tail
    FROM (
        SELECT TRY_CAST(substr(line, 8, strpos(line, ',') - 8) AS BIGINT) AS seq,
               strpos(line, ',"data":') AS pos, line
        FROM {source}
    )
    WHERE seq > {after:d} AND seq <= {upto:d}
)
"""
_FILE = (
    "read_csv('{path}', columns = {{'line': 'VARCHAR'}}, delim = '\\x01', quote = '', "
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


def bulk_live_table(path: Path, after: int, upto: int, schema: pa.Schema) -> pa.Table:
    """Events ``after < seq <= upto`` of a live file holding only committed, whole lines."""
    import duckdb

    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        table: pa.Table = live_relation(con, path, after, upto).order("seq").to_arrow_table()
    return table.cast(schema)
