"""Which batches a projection update covers, as the temporary table ``_scope``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

# A WHERE condition on ``batch`` for queries that take the batches as a ``$batches`` list.
IN_BATCHES = "batch IN (SELECT unnest($batches::VARCHAR[]))"


def set_scope(con: duckdb.DuckDBPyConnection, batches: list[str] | None) -> list[str]:
    """Fill ``_scope`` with ``batches`` (None: every batch) and return them sorted."""
    con.execute("CREATE OR REPLACE TEMP TABLE _scope (batch VARCHAR)")
    if batches is None:
        con.execute("INSERT INTO _scope SELECT batch FROM batches")
    elif batches:
        con.executemany("INSERT INTO _scope VALUES (?)", [[b] for b in batches])
    rows = con.execute("SELECT batch FROM _scope ORDER BY batch").fetchall()
    return [str(r[0]) for r in rows]
