"""Bulk reading of the live file into Arrow with DuckDB's parallel CSV/JSON readers.

Used by ``Ledger.arrow`` when a large, clean live file is read: DuckDB splits the lines (read as
one text column: JSON lines never hold a raw control character, so ``\\x01`` never delimits),
parses the envelope fields, and slices ``data`` out of each line's own bytes, as the sealed
segments store it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

BULK_MIN_BYTES = 8 << 20
_ENVELOPE = (
    '{"seq":"BIGINT","ts":"VARCHAR","type":"VARCHAR","v":"INTEGER","batch":"VARCHAR",'
    '"key":"VARCHAR","cause":"BIGINT","prev":"VARCHAR","hash":"VARCHAR"}'
)
_SQL = """
SELECT e.seq, e.ts, e.type, e.v, e.batch, e.key, e.cause,
       substr(line, pos + 8, length(line) - 148 - (pos + 8)) AS data,
       e.prev, e.hash
FROM (
    SELECT line, strpos(line, ',"data":') AS pos, from_json(line, '{envelope}') AS e
    FROM read_csv('{path}', columns = {{'line': 'VARCHAR'}}, delim = '\\x01', quote = '',
                  escape = '', header = false, auto_detect = false)
)
WHERE e.seq > ? AND e.seq <= ?
ORDER BY e.seq
"""


def bulk_live_table(path: Path, after: int, upto: int, schema: pa.Schema) -> pa.Table:
    """Events ``after < seq <= upto`` of a live file holding only committed, whole lines."""
    import duckdb

    sql = _SQL.format(envelope=_ENVELOPE, path=str(path).replace("'", "''"))
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        relation = con.sql(sql, params=[after, upto])
        table: pa.Table = relation.to_arrow_table()
    return table.cast(schema)
