"""Time travel: where the projections of the ledger as it was at a past seq may be written.

An as-of state is an ordinary output tree (``ledger.duckdb`` and every projection's files, at
the same relative paths as under the root) built from events ``1..SEQ`` only
(``Ledger.bulk_source(upto=SEQ)``), in a directory of its own. Its database is marked with the
seq (``_meta.as_of``), has cursors of its own, and is never the root's ``ledger.duckdb``.

The directory is refused (``AsOfRefused``, nothing written) when it is the root or inside it
(the root's outputs live there, and projections may add folders at any level of it), when it
is another ledger, or when it is not empty and not an earlier as-of state of this ledger: an
as-of state only moves forward, as the root's own projections do, so a later one (or one of
another ledger) would leave files of batches that did not exist yet at SEQ.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from projections.engine import BASE_CURSOR, DB_FILE, as_of_seq, get_cursor
from projections.errors import AsOfRefused

if TYPE_CHECKING:
    import duckdb

    from ledger import Ledger


def check_seq(ledger: Ledger, seq: int) -> None:
    """Refuse a seq the ledger has not reached.

    Raises:
        AsOfRefused: ``seq`` is negative or beyond the head.
    """
    head = ledger.head().seq
    if not 0 <= seq <= head:
        raise AsOfRefused(f"--as-of {seq}: the ledger's events are 1..{head}")


def check_out_dir(root: Path, out: Path) -> Path:
    """The resolved output directory of an as-of rebuild, after refusing unusable ones.

    Raises:
        AsOfRefused: ``out`` is the root or inside it, a ledger root, a file, or a non-empty
            directory without an as-of database.
    """
    from ledger import Ledger

    home, target = root.resolve(), out.resolve()
    if target == home or target.is_relative_to(home):
        raise AsOfRefused(
            f"--out {out}: an as-of state is never written into the ledger root {root} "
            "(its current outputs live there); choose a directory outside it"
        )
    if target.exists() and not target.is_dir():
        raise AsOfRefused(f"--out {out} is not a directory")
    if Ledger(target).exists():
        raise AsOfRefused(f"--out {out} is a ledger root; choose an empty directory")
    if target.is_dir() and any(target.iterdir()) and not (target / DB_FILE).is_file():
        raise AsOfRefused(
            f"--out {out} is not empty and holds no as-of state; choose an empty directory"
        )
    return target


def claim(con: duckdb.DuckDBPyConnection, ledger: Ledger, seq: int, out: Path) -> None:
    """Check that the database ``con`` (in ``out``) is new or an as-of state of ``ledger`` at
    or before ``seq``, so that bringing it forward leaves no file that did not exist at ``seq``.

    Raises:
        AsOfRefused: it is a root's own database, a later state, or another ledger's.
    """
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if not tables:
        return
    if "_meta" not in tables or "_cursors" not in tables or as_of_seq(con) is None:
        raise AsOfRefused(f"--out {out} holds a projection database that is not an as-of state")
    cursor = get_cursor(con, BASE_CURSOR)
    if cursor is None or cursor.seq == 0:
        return
    if cursor.seq > seq:
        raise AsOfRefused(
            f"--out {out} holds the state as of seq {cursor.seq}, later than {seq}; "
            "choose an empty directory"
        )
    if ledger.hash_at(cursor.seq) != cursor.hash:
        raise AsOfRefused(f"--out {out} holds the state of another ledger; choose an empty one")
