"""What commands read from the projection database, each after bringing it up to date: gaps,
the batches, a batch's leaderboard document, a batch's report text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ledger import BatchNotFound
from projections.rebuild import RebuildResult, is_current, rebuild

CLOSEST_N = 3
CLOSEST_CUTOFF = 0.5


def ensure_current(root: Path) -> RebuildResult | None:
    """Rebuild (incrementally) only when the ledger head is past the database's cursor.

    Raises:
        LedgerNotFound: no ledger at ``root``.
    """
    if is_current(root):
        return None
    return rebuild(root)


def list_gaps(root: Path, batch: str | None = None) -> list[dict[str, Any]]:
    """Every gap after bringing the database up to date (liveness checked now).

    Raises:
        BatchNotFound: ``batch`` has no events.
    """
    from projections.engine import connect
    from projections.gaps import find_gaps

    ensure_current(root)
    con = connect(root, read_only=True)
    try:
        if batch is not None:
            _require_batch(con, batch)
        return find_gaps(con, batch)
    finally:
        con.close()


def list_batches(root: Path) -> list[dict[str, Any]]:
    """Every batch, oldest first: state, planned and final job counts, started, resumable
    (see ``projections.batches``), after bringing the database up to date.

    Raises:
        LedgerNotFound: no ledger at ``root``.
    """
    from projections.batches import batch_rows
    from projections.engine import connect

    ensure_current(root)
    con = connect(root, read_only=True)
    try:
        return batch_rows(con)
    finally:
        con.close()


def _require_batch(con: Any, batch: str) -> None:
    """Refuse a batch id the ledger does not hold, naming the closest ids it does hold."""
    import difflib

    if con.execute("SELECT 1 FROM batches WHERE batch = ?", [batch]).fetchone() is None:
        ids = [str(r[0]) for r in con.execute("SELECT batch FROM batches").fetchall()]
        close = difflib.get_close_matches(batch, ids, CLOSEST_N, CLOSEST_CUTOFF)
        hint = f"; closest: {', '.join(close)}" if close else ""
        raise BatchNotFound(f"no batch {batch!r} in the ledger{hint}")


def leaderboard_document(root: Path, batch: str | None = None, top: int = 20) -> dict[str, Any]:
    """The hypothesis leaderboard of ``batch`` (default: the latest batch with scans).

    Raises:
        BatchNotFound: no such batch, or it has no scan outcomes.
    """
    import projections.leaderboard_docs as leaderboard_docs
    from projections.engine import connect

    ensure_current(root)
    con = connect(root, read_only=True)
    try:
        if batch is None:
            row = con.execute(
                """SELECT u.batch FROM leaderboard_users AS u JOIN batches AS b USING (batch)
                   ORDER BY b.first_seq DESC, u.batch LIMIT 1"""
            ).fetchone()
            if row is None:
                raise BatchNotFound("no batch with scan outcomes in the ledger")
            batch = str(row[0])
        _require_batch(con, batch)
        found = con.execute("SELECT 1 FROM leaderboard_users WHERE batch = ?", [batch]).fetchone()
        if found is None:
            raise BatchNotFound(f"batch {batch!r} has no scan outcomes")
        segments = leaderboard_docs.segments_from_table(con, batch)
        return leaderboard_docs.document(con, batch, segments, top)
    finally:
        con.close()


def leaderboard_markdown(doc: dict[str, Any], top: int = 20) -> str:
    """The Markdown rendering of a leaderboard document."""
    import projections.leaderboard_docs as leaderboard_docs

    return leaderboard_docs.markdown(doc, top)


def report_text(
    root: Path, batch: str | None = None, as_csv: bool = False, sort_by: str | None = None
) -> str:
    """The ``report.md`` (or ``summary.csv``) text of ``batch`` (default: the latest batch);
    ``sort_by`` (``METRIC[:asc|desc]``) ranks the jobs instead of the manifest's objective.

    Raises:
        BatchNotFound: no such batch, or it has no jobs.
    """
    import projections.report as report
    from projections.engine import connect
    from projections.report_ranking import parse_sort_by

    ensure_current(root)
    con = connect(root, read_only=True)
    try:
        if batch is None:
            row = con.execute(
                """SELECT r.batch FROM report_jobs AS r JOIN batches AS b USING (batch)
                   ORDER BY b.first_seq DESC, r.batch LIMIT 1"""
            ).fetchone()
            if row is None:
                raise BatchNotFound("no batch with jobs in the ledger")
            batch = str(row[0])
        if con.execute("SELECT 1 FROM report_jobs WHERE batch = ?", [batch]).fetchone() is None:
            raise BatchNotFound(f"no batch {batch!r} with jobs in the ledger")
        if as_csv:
            return report.summary_csv(con, batch)
        return report.report_markdown(con, batch, parse_sort_by(sort_by) if sort_by else None)
    finally:
        con.close()
