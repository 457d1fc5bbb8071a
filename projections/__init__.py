"""DuckDB read models of the ledger: the projection database, rebuild, query, and projections.

Public API (commands use only these):

- ``rebuild(root, names=None, threads=None, full=False) -> RebuildResult``: catch the
  projection database ``<root>/ledger.duckdb`` up with the ledger and rewrite the files of the
  projections whose batches changed.
- ``ensure_current(root)``: rebuild only when the ledger head moved (cheap check otherwise).
- ``run_query(root, sql, timeout_s, limit) -> QueryResult``: read-only sandboxed SQL.
- ``list_gaps(root, batch=None)``: unanswered intents and dangling outcomes, after a catch-up.
- ``leaderboard_document(root, batch=None, top=20)``: the leaderboard object of one batch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ledger import BatchNotFound
from projections.errors import (
    GapsFound,
    ProjectionBusy,
    ProjectionError,
    QueryFailed,
    QueryRefused,
    QueryTimeout,
    UnknownProjection,
)
from projections.query import DEFAULT_TIMEOUT_S, QueryResult, rows_as_json, run_query
from projections.rebuild import PROJECTIONS, RebuildResult, is_current, rebuild

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "PROJECTIONS",
    "BatchNotFound",
    "GapsFound",
    "ProjectionBusy",
    "ProjectionError",
    "QueryFailed",
    "QueryRefused",
    "QueryResult",
    "QueryTimeout",
    "RebuildResult",
    "UnknownProjection",
    "ensure_current",
    "leaderboard_document",
    "leaderboard_markdown",
    "list_gaps",
    "rebuild",
    "report_text",
    "rows_as_json",
    "run_query",
]


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
    from projections import gaps
    from projections.engine import connect

    ensure_current(root)
    con = connect(root, read_only=True)
    try:
        if batch is not None:
            _require_batch(con, batch)
        return gaps.find_gaps(con, batch)
    finally:
        con.close()


def _require_batch(con: Any, batch: str) -> None:
    if con.execute("SELECT 1 FROM batches WHERE batch = ?", [batch]).fetchone() is None:
        raise BatchNotFound(f"no batch {batch!r} in the ledger")


def leaderboard_document(root: Path, batch: str | None = None, top: int = 20) -> dict[str, Any]:
    """The hypothesis leaderboard of ``batch`` (default: the latest batch with scans).

    Raises:
        BatchNotFound: no such batch, or it has no scan outcomes.
    """
    from projections import leaderboard_docs
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
        found = con.execute("SELECT 1 FROM leaderboard_users WHERE batch = ?", [batch]).fetchone()
        if found is None:
            raise BatchNotFound(f"batch {batch!r} has no scan outcomes")
        segments = leaderboard_docs.segments_from_table(con, batch)
        return leaderboard_docs.document(con, batch, segments, top)
    finally:
        con.close()


def leaderboard_markdown(doc: dict[str, Any], top: int = 20) -> str:
    """The Markdown rendering of a leaderboard document."""
    from projections import leaderboard_docs

    return leaderboard_docs.markdown(doc, top)


def report_text(root: Path, batch: str | None = None, as_csv: bool = False) -> str:
    """The ``report.md`` (or ``summary.csv``) text of ``batch`` (default: the latest batch).

    Raises:
        BatchNotFound: no such batch, or it has no jobs.
    """
    from projections import report
    from projections.engine import connect

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
        return report.report_markdown(con, batch)
    finally:
        con.close()
