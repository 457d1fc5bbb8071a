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
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from projections.writers import Output

if TYPE_CHECKING:
    import duckdb

DDL = """CREATE TABLE IF NOT EXISTS _outputs (
    projection VARCHAR, path VARCHAR, size BIGINT, sha256 VARCHAR, mtime_ns BIGINT)"""
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
