"""``rebuild``: catch the base tables up, then bring each projection up to the same cursor.

Each projection keeps its own cursor. When it is behind, only the batches touched by the
events after it are recomputed and their files rewritten; when its hash no longer matches the
events (or it was never built) everything is. Tables, cursor and the record of the files
written (``projections.outputs``) commit together, after the files are written, so an
interrupted rebuild simply redoes that work next time.

Then every projection's recorded files are checked (size and mtime, hashed when either
moved): a file deleted or edited since is rendered again and rewritten, even when no event is
new. ``check_outputs`` (``rebuild --check``) compares every file with what the ledger implies
and writes nothing.

``rebuild(root, as_of=SEQ, out=DIR)`` does the same for the ledger as it was at ``SEQ``, into
a database and files of ``DIR`` (``projections.asof``): the engine reads events up to ``SEQ``
only, and every projection works unchanged on them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import projections.asof as asof
import projections.gaps as gaps
import projections.html_report as html_report
import projections.leaderboard as leaderboard
import projections.outputs as outputs
import projections.pareto as pareto
import projections.parity_projection as parity
import projections.promotion as promotion
import projections.report as report
import projections.scoreboard_projection as scoreboard
from projections.comments import Comments
from projections.engine import (
    BASE_CURSOR,
    LOCK_WAIT_S,
    SCHEMA_VERSION,
    Cursor,
    catch_up,
    clear_tables,
    connect,
    db_path,
    ensure_schema,
    get_cursor,
    hash_in_db,
    is_current,
    mark_as_of,
    set_cursor,
)
from projections.errors import AsOfRefused, UnknownProjection
from projections.writers import recording

if TYPE_CHECKING:
    import duckdb

    from ledger import Ledger

__all__ = [
    "DEFAULT_PROJECTIONS",
    "PROJECTIONS",
    "RebuildResult",
    "check_names",
    "check_outputs",
    "is_current",
    "rebuild",
    "rebuilding",
]

PROJECTIONS: dict[str, ModuleType] = {
    report.NAME: report,
    leaderboard.NAME: leaderboard,
    gaps.NAME: gaps,
    pareto.NAME: pareto,
    promotion.NAME: promotion,
    scoreboard.NAME: scoreboard,
    parity.NAME: parity,
    html_report.NAME: html_report,
}
# Built only when named: the HTML pages import matplotlib and draw charts per batch.
OPT_IN: frozenset[str] = frozenset({html_report.NAME})
DEFAULT_PROJECTIONS: tuple[str, ...] = tuple(n for n in PROJECTIONS if n not in OPT_IN)
# Projections that read others' tables: those are brought up to date first, then these.
REQUIRES: dict[str, tuple[str, ...]] = {
    html_report.NAME: html_report.REQUIRES,
    scoreboard.NAME: scoreboard.REQUIRES,
    parity.NAME: parity.REQUIRES,
}
WAL_ONLY_EVENTS = 20_000
PROJECTION_DDL: tuple[str, ...] = (
    outputs.DDL,
    *(s for m in PROJECTIONS.values() for s in m.DDL),
)
# Tables of the inputs commands gave (no event holds them): see ``projections.outputs``.
COMMAND_INPUTS: tuple[str, ...] = tuple(
    m.INPUTS for m in PROJECTIONS.values() if hasattr(m, "INPUTS")
)
PROJECTION_COMMENTS: Comments = {
    **outputs.COMMENTS,
    **{t: text for m in PROJECTIONS.values() for t, text in getattr(m, "COMMENTS", {}).items()},
}


@dataclass
class RebuildResult:
    """What a rebuild did: the cursor reached, events applied, and files written (among
    them ``restored``: files that were missing or edited and were put back)."""

    cursor: Cursor
    events: int
    full: bool
    updated: dict[str, list[str] | None] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)
    restored: list[Path] = field(default_factory=list)


def check_names(names: list[str] | None) -> list[str]:
    """The projections to build, in catalog order: ``DEFAULT_PROJECTIONS`` when ``names`` is
    empty, else the named ones and the ones they read (``REQUIRES``).

    Raises:
        UnknownProjection: a name is not a projection.
    """
    if not names:  # PROJECTIONS read now, not DEFAULT_PROJECTIONS: a test may add one
        return [n for n in PROJECTIONS if n not in OPT_IN]
    unknown = [n for n in names if n not in PROJECTIONS]
    if unknown:
        raise UnknownProjection(
            f"unknown projection {unknown[0]!r} (choose from {', '.join(PROJECTIONS)})"
        )
    wanted = set(names).union(*(REQUIRES.get(n, ()) for n in names))
    return [n for n in PROJECTIONS if n in wanted]


def _touched_since(con: duckdb.DuckDBPyConnection, seq: int) -> list[str]:
    rows = con.execute(
        "SELECT DISTINCT batch FROM events WHERE seq > ? AND batch IS NOT NULL ORDER BY batch",
        [seq],
    ).fetchall()
    return [str(r[0]) for r in rows]


def update_projection(
    con: duckdb.DuckDBPyConnection, root: Path, name: str, head: Cursor, full: bool
) -> tuple[list[str] | None, list[Path]] | None:
    """Bring one projection to ``head``; returns (batches redone or None for all, files)."""
    module = PROJECTIONS[name]
    cursor = get_cursor(con, name)
    redo_all = full or cursor is None or cursor.seq > head.seq
    if not redo_all and cursor is not None:
        if cursor == head:
            return None
        redo_all = hash_in_db(con, cursor.seq) != cursor.hash
    scope = None if redo_all or cursor is None else _touched_since(con, cursor.seq)
    con.execute("BEGIN TRANSACTION")
    try:
        if redo_all:
            clear_tables(con, module.TABLES)
        with recording() as log:
            written: list[Path] = module.update(con, root, scope)
        logged = {o.path: o for o in log.outputs()}
        outputs.record(con, root, name, written, logged, replace_all=redo_all)
        set_cursor(con, name, head)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return scope, written


def restore_outputs(con: duckdb.DuckDBPyConnection, root: Path, name: str) -> list[Path]:
    """Rewrite the recorded files of projection ``name`` that are missing or were edited;
    returns them. The projection is rendered again whole, as a full rebuild would (in a
    transaction rolled back after: its tables stay as they were), writing only those files."""
    damaged = [m.path for m in outputs.find_mismatches(con, root, [name])]
    if not damaged:
        return []
    module = PROJECTIONS[name]
    wanted = {root / p for p in damaged}
    con.execute("BEGIN TRANSACTION")
    try:
        clear_tables(con, module.TABLES)
        with recording(only=wanted) as log:
            written: list[Path] = module.update(con, root, None)
    finally:
        con.execute("ROLLBACK")
    # A file written without ``write_atomic`` was rewritten whatever ``only`` said.
    restored = sorted({o.path for o in log.outputs()} | (wanted & set(written)))
    con.execute("BEGIN TRANSACTION")
    try:
        outputs.record(con, root, name, restored, {o.path: o for o in log.outputs()}, False)
        # A recorded file the projection no longer writes is no longer implied by the ledger.
        outputs.forget(con, name, set(damaged) - {outputs.relative(root, p) for p in restored})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return restored


def rebuild_open(
    con: duckdb.DuckDBPyConnection,
    ledger: Ledger,
    root: Path,
    names: list[str] | None = None,
    full: bool = False,
    upto: int | None = None,
) -> RebuildResult:
    """``rebuild`` on an open read-write connection, writing files under ``root``; with
    ``upto``, of the ledger as it was at that seq (the database is marked as an as-of one)."""
    chosen = check_names(names)
    ensure_schema(con, PROJECTION_DDL, PROJECTION_COMMENTS)
    if upto is not None:
        mark_as_of(con, upto)
    delta = catch_up(con, ledger, full=full, upto=upto)
    result = RebuildResult(cursor=delta.cursor, events=delta.events, full=delta.full)
    first = [n for n in chosen if n not in REQUIRES]
    updates = _update_all(con, root, first, delta.cursor, full or delta.full)
    later = [n for n in chosen if n in REQUIRES]
    updates += [update_projection(con, root, n, delta.cursor, full or delta.full) for n in later]
    for name, done in zip([*first, *later], updates, strict=True):
        if done is not None:
            result.updated[name] = done[0]
            result.written.extend(done[1])
    for name in chosen:
        restored = restore_outputs(con, root, name)
        result.restored.extend(restored)
        result.written.extend(restored)
    return result


def _update_all(
    con: duckdb.DuckDBPyConnection, root: Path, names: list[str], head: Cursor, full: bool
) -> list[tuple[list[str] | None, list[Path]] | None]:
    """``update_projection`` for each of ``names``, concurrently when there are several.

    Each projection runs on its own cursor (a connection to the same database) in its own
    thread and transaction: they write disjoint tables and files, and while one renders and
    writes files in Python (holding the GIL), DuckDB runs another's queries on the other
    cores. Every projection is left to finish; the first failure (in ``names`` order) is
    raised.
    """
    if not names:
        return []
    if len(names) == 1:
        return [update_projection(con, root, names[0], head, full)]
    from concurrent.futures import ThreadPoolExecutor

    cursors = [con.cursor() for _ in names]
    try:
        with ThreadPoolExecutor(max_workers=len(names)) as pool:
            futures = [
                pool.submit(update_projection, cur, root, name, head, full)
                for cur, name in zip(cursors, names, strict=True)
            ]
            try:
                errors = [f.exception() for f in futures]
            except BaseException:  # Ctrl-C: stop the queries; each update rolls back
                for cur in cursors:
                    cur.interrupt()
                raise
    finally:
        for cur in cursors:
            cur.close()
    for error in errors:
        if error is not None:
            raise error
    return [f.result() for f in futures]


def rebuild(
    root: Path,
    names: list[str] | None = None,
    threads: int | None = None,
    full: bool = False,
    wait_s: float = LOCK_WAIT_S,
    as_of: int | None = None,
    out: Path | None = None,
) -> RebuildResult:
    """Rebuild the projection database and the files of ``names`` (all when empty), and put
    back any of their files that was deleted or edited since it was written.

    With ``as_of`` and ``out``: the database and files of the ledger as it was when it ended
    at seq ``as_of``, written under ``out`` (same relative paths as under the root) and never
    under the root; see ``projections.asof``.

    Raises:
        LedgerNotFound: no ledger at ``root``.
        UnknownProjection: a name is not a projection.
        ProjectionBusy: another process held the database more than ``wait_s`` seconds.
        AsOfRefused: ``as_of`` is beyond the head, or ``out`` cannot hold an as-of state.
    """
    with rebuilding(root, names, threads, full, wait_s, as_of, out) as (_, result):
        return result


@contextlib.contextmanager
def rebuilding(
    root: Path,
    names: list[str] | None = None,
    threads: int | None = None,
    full: bool = False,
    wait_s: float = LOCK_WAIT_S,
    as_of: int | None = None,
    out: Path | None = None,
) -> Iterator[tuple[duckdb.DuckDBPyConnection, RebuildResult]]:
    """``rebuild``, then its connection (read-write, insertion order kept as by default) and
    result for the caller to read the database it just brought up to date, before it is
    closed: a reader needs no connection of its own. Same arguments and errors as
    ``rebuild``."""
    from ledger import Ledger

    chosen = check_names(names)
    ledger = Ledger.open(root)
    target = root
    if as_of is not None:
        if out is None:
            raise AsOfRefused("--as-of needs --out DIR (where the state is written)")
        asof.check_seq(ledger, as_of)
        target = asof.check_out_dir(root, out)
        target.mkdir(parents=True, exist_ok=True)
    con = connect(target, threads=threads, wait_s=wait_s)
    try:
        con.execute("SET preserve_insertion_order = false")
        if as_of is not None:
            asof.claim(con, ledger, as_of, target)
        result = rebuild_open(con, ledger, target, chosen, full=full, upto=as_of)
        if result.full:
            # Every table was just written whole: nothing for the closing checkpoint to
            # compact, but its vacuum would merge each table's partly filled row groups, one
            # per thread (0.2-0.8 s of recompression on 1M events)
            con.execute("SET max_vacuum_tasks = 0")
        elif result.events <= WAL_ONLY_EVENTS:
            # A small catch-up stays in the write-ahead log (replayed in milliseconds on open)
            # instead of a checkpoint on close (~0.3 s on 1M events); DuckDB checkpoints once
            # the log passes its ``wal_autocheckpoint`` size.
            con.execute("PRAGMA disable_checkpoint_on_shutdown")
        con.execute("RESET preserve_insertion_order")
        yield con, result
    finally:
        con.close()


def check_outputs(root: Path, names: list[str] | None = None) -> list[outputs.Mismatch]:
    """Every file of ``names`` (all when empty) that is not what the ledger implies: missing,
    changed, or an extra file under the projections' output folders. Writes nothing under
    ``root``.

    When ``ledger.duckdb`` is at the ledger's head (and each projection with it), its record
    of the files is the reference; otherwise (missing, behind, from another version) the
    projections are built afresh in a temporary directory and that build is the reference.

    Raises:
        LedgerNotFound: no ledger at ``root``.
        UnknownProjection: a name is not a projection.
        ProjectionBusy: another process held the database too long.
    """
    import shutil
    import tempfile

    import duckdb

    from ledger import Ledger

    chosen = check_names(names)
    ledger = Ledger.open(root)
    if _outputs_current(root, ledger, chosen):
        con = connect(root, read_only=True)
        try:
            return outputs.find_mismatches(con, root, chosen, thorough=True)
        finally:
            con.close()
    scratch = Path(tempfile.mkdtemp(prefix="sweepledger-check-"))
    try:
        con = duckdb.connect(str(scratch / "reference.duckdb"))
        try:
            con.execute("SET enable_progress_bar = false")
            ensure_schema(con, PROJECTION_DDL, PROJECTION_COMMENTS)
            # commands' inputs are no events: the reference renders with the root's
            outputs.copy_inputs(con, db_path(root), COMMAND_INPUTS)
            rebuild_open(con, ledger, scratch / "outputs", chosen, full=True)
            return outputs.find_mismatches(con, root, chosen, thorough=True)
        finally:
            con.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _outputs_current(root: Path, ledger: Ledger, names: list[str]) -> bool:
    """Whether the database holds the files of ``names`` as of the ledger's head."""
    if not is_current(root):
        return False
    head = ledger.head()
    con = connect(root, read_only=True)
    try:
        row = con.execute("SELECT value FROM _meta WHERE key = 'schema_version'").fetchone()
        if row is None or row[0] != SCHEMA_VERSION:
            return False
        base = get_cursor(con, BASE_CURSOR)
        return (
            base is not None
            and all(get_cursor(con, n) == base for n in names)
            and (base.seq == head.seq)
        )
    finally:
        con.close()
