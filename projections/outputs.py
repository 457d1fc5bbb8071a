"""What each projection wrote, kept in the projection database so outputs can be proven intact.

The table ``_outputs`` holds one row per file a projection wrote: its path relative to the
root (POSIX), size, SHA-256, and the modification time seen right after writing. The rebuild
loop records a projection's files in the same transaction as its rows and cursor (sizes and
digests come from ``writers.recording``; a file written some other way is read back).

Two checks read it:

- quick (every ``rebuild``): a file whose size or modification time differs from its row is
  hashed; a missing file or a different digest is damage, which ``rebuild`` repairs by
  rendering the projection again and writing only the damaged files;
- thorough (``rebuild --check``): every file is hashed, and files under the top-level folders
  that hold outputs (``batches/``, ``gaps/``, ...) that no projection wrote count as extras.

Commands whose files depend on an input the ledger does not hold (``scoreboard``'s gates file,
``parity``'s matching rules) write them as outputs of a projection of that name: the command
keeps its input in a table of the projection database (one row per set of files, the last
run's) and records the files, in one transaction (``command_transaction``); the projection's
``update`` renders every stored input again (``render_stored``), so ``rebuild`` refreshes
those files on new events and puts back edited or deleted ones, and ``rebuild --check``,
building its reference in a scratch database, copies the inputs first (``copy_inputs``).
Such tables are not derived from the ledger: a full rebuild keeps them; deleting
``ledger.duckdb`` forgets them with ``_outputs``, and the files are then no longer tracked
until the command runs again. An as-of state has none.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from projections.comments import Comments
from projections.writers import Output, recording

if TYPE_CHECKING:
    import duckdb

DDL = """CREATE TABLE IF NOT EXISTS _outputs (
    projection VARCHAR, path VARCHAR, size BIGINT, sha256 VARCHAR, mtime_ns BIGINT)"""
COMMENTS: Comments = {
    "_outputs": (
        "every file a projection wrote: what rebuild restores and rebuild --check compares",
        {
            "projection": "the projection that wrote the file",
            "path": "the file's path relative to the ledger root",
            "size": "its size in bytes when written",
            "sha256": "the SHA-256 (hex) of its bytes when written",
            "mtime_ns": "its modification time when written (ns), to skip unchanged files",
        },
    )
}
MISSING = "missing"
CHANGED = "changed"
EXTRA = "extra"


@dataclass(frozen=True)
class Mismatch:
    """An output that is not what the ledger implies: ``missing``, ``changed`` or ``extra``
    (a file no projection wrote); ``projection`` is None for an extra."""

    path: str
    state: str
    projection: str | None


@dataclass(frozen=True)
class _Row:
    projection: str
    path: str
    size: int
    sha256: str
    mtime_ns: int


def relative(root: Path, path: Path) -> str:
    """``path`` as stored: relative to ``root``, POSIX separators."""
    return path.relative_to(root).as_posix()


def file_digest(path: Path) -> str:
    """The SHA-256 (hex) of a file's bytes."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def record(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    projection: str,
    written: Iterable[Path],
    logged: dict[Path, Output],
    replace_all: bool,
) -> None:
    """Store the rows of the files ``projection`` just wrote (inside the caller's
    transaction); ``replace_all`` first forgets every earlier row of that projection.

    Args:
        written: every file the update wrote (its return value).
        logged: what ``writers.recording`` noted for them; others are read back.
    """
    rows: dict[str, tuple[int, str, int]] = {}
    for path in written:
        stat = path.stat()
        noted = logged.get(path)
        digest = noted.sha256 if noted is not None and noted.size == stat.st_size else None
        rows[relative(root, path)] = (stat.st_size, digest or file_digest(path), stat.st_mtime_ns)
    if replace_all:
        con.execute("DELETE FROM _outputs WHERE projection = ?", [projection])
    elif rows:
        con.execute(
            "DELETE FROM _outputs WHERE projection = $p AND list_contains($paths, path)",
            {"p": projection, "paths": list(rows)},
        )
    if rows:
        paths = sorted(rows)
        con.execute(
            "INSERT INTO _outputs SELECT $p, unnest($paths), unnest($sizes), unnest($shas), "
            "unnest($mtimes)",
            {
                "p": projection,
                "paths": paths,
                "sizes": [rows[p][0] for p in paths],
                "shas": [rows[p][1] for p in paths],
                "mtimes": [rows[p][2] for p in paths],
            },
        )


def forget(con: duckdb.DuckDBPyConnection, projection: str, paths: Iterable[str]) -> None:
    """Drop the rows of ``paths`` (files the projection no longer writes)."""
    listed = sorted(paths)
    if listed:
        con.execute(
            "DELETE FROM _outputs WHERE projection = $p AND list_contains($paths, path)",
            {"p": projection, "paths": listed},
        )


def _rows(con: duckdb.DuckDBPyConnection, projections: list[str]) -> list[_Row]:
    found = con.execute(
        "SELECT projection, path, size, sha256, mtime_ns FROM _outputs "
        "WHERE list_contains($names, projection) ORDER BY path, projection",
        {"names": projections},
    ).fetchall()
    return [_Row(str(p), str(a), int(s), str(h), int(m)) for p, a, s, h, m in found]


def find_mismatches(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    projections: list[str],
    thorough: bool = False,
) -> list[Mismatch]:
    """The outputs of ``projections`` under ``root`` that differ from their rows, by path.

    ``thorough``: hash every file (not only those whose size or mtime moved) and report
    extras: files under the top-level folders of any projection's outputs that no projection
    wrote (a leftover temporary file counts too).
    """
    found: list[Mismatch] = []
    for row in _rows(con, projections):
        path = root / row.path
        try:
            stat = path.stat()
        except FileNotFoundError:
            found.append(Mismatch(row.path, MISSING, row.projection))
            continue
        if not path.is_file():
            found.append(Mismatch(row.path, MISSING, row.projection))
        elif _changed(path, stat, row, thorough):
            found.append(Mismatch(row.path, CHANGED, row.projection))
    if thorough:
        found.extend(_extras(con, root, projections))
    return sorted(found, key=lambda m: (m.path, m.state))


def _changed(path: Path, stat: os.stat_result, row: _Row, thorough: bool) -> bool:
    """A size that moved is a change; same size: hashed when ``thorough`` or the mtime moved."""
    if stat.st_size != row.size:
        return True
    return (thorough or stat.st_mtime_ns != row.mtime_ns) and file_digest(path) != row.sha256


def _extras(con: duckdb.DuckDBPyConnection, root: Path, projections: list[str]) -> list[Mismatch]:
    known = {str(r[0]) for r in con.execute("SELECT DISTINCT path FROM _outputs").fetchall()}
    tops = {
        r.path.split("/", 1)[0] for r in _rows(con, projections) if "/" in r.path
    }  # an output written straight into the root names no folder to scan
    extras: list[Mismatch] = []
    for top in sorted(tops):
        for folder, _, files in os.walk(root / top):
            for name in files:
                rel = relative(root, Path(folder) / name)
                if rel not in known:
                    extras.append(Mismatch(rel, EXTRA, None))
    return extras


@contextmanager
def command_transaction(
    con: duckdb.DuckDBPyConnection, root: Path, projection: str
) -> Iterator[list[Path]]:
    """One transaction for a command writing ``projection``'s files from an input it stores
    (on a current read-write database): the caller stores its input and appends every file it
    writes to the yielded list; those files are recorded and everything commits together. On
    an error all is rolled back (a file already written stays, unrecorded)."""
    con.execute("BEGIN TRANSACTION")
    try:
        written: list[Path] = []
        with recording() as log:
            yield written
        record(con, root, projection, written, {o.path: o for o in log.outputs()}, False)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def render_stored(
    con: duckdb.DuckDBPyConnection,
    table: str,
    order: str,
    render: Callable[[tuple[Any, ...]], list[Path] | None],
) -> list[Path]:
    """``render`` each row of the command inputs ``table`` (every column, ordered by
    ``order``); returns the files written. ``render`` returns None for a row it leaves alone
    (out of scope); a row that can no longer be rendered (a ``SweepledgerError``: refused by
    this version, or the ledger has since made it unusable) is left as it is, with its files,
    as the command would then write nothing."""
    from schemas import SweepledgerError

    written: list[Path] = []
    for row in con.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall():
        try:
            written.extend(render(row) or ())
        except SweepledgerError:
            continue
    return written


def copy_inputs(con: duckdb.DuckDBPyConnection, source: Path, tables: Sequence[str]) -> None:
    """Copy the command inputs ``tables`` from the database at ``source`` (those it has, when
    it can be opened read-only) into ``con``, which holds the tables already."""
    import duckdb

    if not source.exists() or not tables:
        return
    try:
        con.execute("ATTACH ? AS inputs_source (READ_ONLY)", [str(source)])
    except duckdb.Error:  # a writer holds it: those outputs go unchecked this time
        return
    try:
        present = {
            str(r[0])
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'inputs_source'"
            ).fetchall()
        }
        for table in tables:
            if table in present:
                con.execute(f"INSERT INTO {table} SELECT * FROM inputs_source.{table}")
    finally:
        con.execute("DETACH inputs_source")
