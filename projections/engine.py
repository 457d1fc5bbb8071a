"""The projection database: connect, keep the base tables in step with the ledger, cursors.

``<root>/ledger.duckdb`` holds the events and the tables derived from them. A cursor
(last seq and its hash) per table group records how far it has applied the ledger; a catch-up
reads only the events after the cursor (``Ledger.arrow(since=)``) and commits the new rows and
the moved cursor in one transaction, so a crash leaves the old, consistent state. A cursor
whose hash no longer matches the ledger (the ledger was replaced or rewritten) forces a full
rebuild.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from projections.errors import ProjectionBusy

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from ledger import Ledger

DB_FILE = "ledger.duckdb"
SCHEMA_VERSION = "1"
BASE_CURSOR = "base"
GENESIS_HASH = "0" * 64
LOCK_WAIT_S = 30.0
ARROW_CHUNK_ROWS = 65_536


@dataclass(frozen=True)
class Cursor:
    """How far a table group has applied the ledger: the last seq and that event's hash."""

    seq: int
    hash: str


@dataclass(frozen=True)
class Delta:
    """What a catch-up applied: events after ``since`` up to ``cursor``; ``full`` if reset."""

    since: int
    cursor: Cursor
    full: bool
    events: int


def db_path(root: Path) -> Path:
    """Where the projection database of a ledger root lives."""
    return root / DB_FILE


def connect(
    root: Path, read_only: bool = False, threads: int | None = None, wait_s: float = LOCK_WAIT_S
) -> duckdb.DuckDBPyConnection:
    """Open the projection database, waiting while another process holds it.

    Raises:
        ProjectionBusy: it stayed locked for ``wait_s`` seconds.
    """
    import duckdb

    config: dict[str, Any] = {}
    if threads is not None:
        config["threads"] = threads
    deadline = time.monotonic() + wait_s
    delay = 0.02
    while True:
        try:
            return duckdb.connect(str(db_path(root)), read_only=read_only, config=config)
        except duckdb.IOException as e:
            if "lock" not in str(e).lower() or time.monotonic() >= deadline:
                raise ProjectionBusy(
                    f"projection database {db_path(root)} is busy: {str(e).splitlines()[0]}"
                ) from e
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def ensure_schema(con: duckdb.DuckDBPyConnection, extra_ddl: tuple[str, ...] = ()) -> bool:
    """Create missing tables; drop everything first when the layout version changed.

    Returns:
        True when the database was (re)initialised and needs a full rebuild.
    """
    from projections.tables import DDL

    tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    version = None
    if "_meta" in tables:
        row = con.execute("SELECT value FROM _meta WHERE key = 'schema_version'").fetchone()
        version = row[0] if row else None
    fresh = version != SCHEMA_VERSION
    if fresh:
        for table in sorted(tables):
            con.execute(f'DROP TABLE IF EXISTS "{table}"')
    for statement in (*DDL, *extra_ddl):
        con.execute(statement)
    if fresh:
        con.execute("INSERT INTO _meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])
    return fresh


def get_cursor(con: duckdb.DuckDBPyConnection, name: str) -> Cursor | None:
    """The cursor of ``name``, or None when it has never been built."""
    row = con.execute("SELECT seq, hash FROM _cursors WHERE name = ?", [name]).fetchone()
    return Cursor(int(row[0]), str(row[1])) if row else None


def set_cursor(con: duckdb.DuckDBPyConnection, name: str, cursor: Cursor) -> None:
    """Record ``cursor`` for ``name`` (inside the caller's transaction)."""
    con.execute("INSERT OR REPLACE INTO _cursors VALUES (?, ?, ?)", [name, cursor.seq, cursor.hash])


def hash_in_db(con: duckdb.DuckDBPyConnection, seq: int) -> str | None:
    """The hash of event ``seq`` as the events table holds it (genesis for 0)."""
    if seq == 0:
        return GENESIS_HASH
    row = con.execute("SELECT hash FROM events WHERE seq = ?", [seq]).fetchone()
    return str(row[0]) if row else None


def _cursor_valid(ledger: Ledger, cursor: Cursor) -> bool:
    if cursor.seq == 0:
        return cursor.hash == GENESIS_HASH
    return ledger.hash_at(cursor.seq) == cursor.hash


def clear_tables(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> None:
    """Empty ``tables`` (a full rebuild starts from nothing)."""
    for table in tables:
        con.execute(f'DELETE FROM "{table}"')


def _chunked(table: pa.Table) -> pa.Table:
    """Re-slice into moderate record batches so DuckDB can scan them in parallel."""
    import pyarrow as pa

    return pa.Table.from_batches(table.to_batches(max_chunksize=ARROW_CHUNK_ROWS), table.schema)


def _upgraded(table: pa.Table) -> pa.Table:
    """``table`` with payloads of older versions upgraded (see ``schemas.upgrade``)."""
    import json

    from schemas import CATALOG, upgrade, version_for

    stale = [t for t in CATALOG if version_for(t) > 1]
    if not stale or table.num_rows == 0:
        return table
    import pyarrow as pa
    import pyarrow.compute as pc

    mask = pc.scalar(False)
    for name in stale:
        older = pc.and_(pc.equal(table["type"], name), pc.less(table["v"], version_for(name)))
        mask = pc.or_(mask, older)
    if not pc.any(mask).as_py():
        return table
    types, versions, datas = (table[c].to_pylist() for c in ("type", "v", "data"))
    flags = mask.to_pylist()
    new = [
        json.dumps(upgrade(t, v, json.loads(d)), sort_keys=True, separators=(",", ":"))
        if flag
        else d
        for t, v, d, flag in zip(types, versions, datas, flags, strict=True)
    ]
    return table.set_column(table.schema.get_field_index("data"), "data", pa.array(new))


def catch_up(con: duckdb.DuckDBPyConnection, ledger: Ledger, full: bool = False) -> Delta:
    """Bring the base tables up to the ledger's head and return what was applied.

    The new rows and the moved base cursor commit in one transaction.
    """
    from projections.tables import (
        BASE_TABLES,
        INSERT_ARTIFACTS,
        INSERT_EVENTS,
        INSERT_INTENTS,
        INSERT_METRICS,
        INSERT_OUTCOMES,
        REFRESH_BATCHES,
        TOUCHED,
    )

    fresh = ensure_schema(con)
    cursor = get_cursor(con, BASE_CURSOR)
    reset = full or fresh or cursor is None or not _cursor_valid(ledger, cursor)
    since = 0 if reset or cursor is None else cursor.seq
    head = ledger.head()
    if not reset and cursor is not None and head.seq == cursor.seq:
        return Delta(since, cursor, False, 0)
    raw = _chunked(ledger.arrow(since=since))
    new = _upgraded(raw)
    count = raw.num_rows
    if count:
        last = Cursor(int(raw["seq"][-1].as_py()), str(raw["hash"][-1].as_py()))
    else:
        last = Cursor(since, GENESIS_HASH if since == 0 else str(hash_in_db(con, since)))
    con.execute("BEGIN TRANSACTION")
    try:
        if reset:
            clear_tables(con, BASE_TABLES)
        con.register("_raw", raw)
        con.register("_new", new)
        for statement in (INSERT_EVENTS, INSERT_INTENTS, INSERT_OUTCOMES, INSERT_ARTIFACTS):
            con.execute(statement)
        con.execute(INSERT_METRICS, {"since": since})
        con.execute(TOUCHED, {"since": since})
        con.execute(REFRESH_BATCHES)
        set_cursor(con, BASE_CURSOR, last)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_raw")
        con.unregister("_new")
    return Delta(since, last, reset, count)


def is_current(root: Path) -> bool:
    """True when the database exists and its base cursor is the ledger's head (cheap)."""
    from ledger import Ledger

    if not db_path(root).exists():
        return False
    head = Ledger.open(root).head()
    con = connect(root, read_only=True)
    try:
        cursor = get_cursor(con, BASE_CURSOR)
    except Exception:
        return False
    finally:
        con.close()
    return cursor is not None and cursor.seq == head.seq and cursor.hash == head.hash
