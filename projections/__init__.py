"""DuckDB read models of the ledger: the projection database, rebuild, query, and projections.

Public API (commands use only these):

- ``rebuild(root, names=None, threads=None, full=False) -> RebuildResult``: catch the
  projection database ``<root>/ledger.duckdb`` up with the ledger and rewrite the files of the
  projections whose batches changed.
- ``rebuild(root, as_of=SEQ, out=DIR)``: the same, of the ledger as it was at SEQ, into DIR.
- ``check_outputs(root, names=None) -> list[Mismatch]``: output files that are missing,
  edited or extra compared with what the ledger implies (writes nothing).
- ``ensure_current(root)``: rebuild only when the ledger head moved (cheap check otherwise).
- ``as_of_state(root, seq, directory=None)``: a context giving the directory of an as-of state
  (built or brought forward); ``open_query(..., as_of=SEQ)`` queries it.
- ``run_query(root, sql, timeout_s, limit) -> QueryResult``: read-only sandboxed SQL;
  ``projections.query.open_query`` streams the rows instead (``json_chunks``, ``csv_chunks``).
- ``list_gaps(root, batch=None)``: unanswered intents and dangling outcomes, after a catch-up.
- ``list_batches(root)``: every batch's state, final job counts and whether it can be resumed.
- ``leaderboard_document(root, batch=None, top=20)``: the leaderboard object of one batch.
- ``write_batch_html(root, batch=None)`` / ``write_study_html(root, study)``: write the
  self-contained HTML report of a batch or a study and return its path.
- ``pareto_document(root, study)``, ``study_trials(root, study)``: a study's frontier
  (``pareto.json``) and every trial of it; ``DEFAULT_OBJECTIVES``: what a study is ranked by
  when its manifest names no ``study.objectives``.
- ``scoreboard_report(root, batch, gates_path, allow_missing)``: judge a batch against a gates
  file and write ``scoreboard/<batch>/``.
- ``parity_report(root, a, b, ...)``: compare two batches' per-job results and write
  ``parity/<a>_vs_<b>.json`` and ``.md``.
"""

from __future__ import annotations

from ledger import BatchNotFound
from projections.errors import (
    AsOfRefused,
    GapsFound,
    GatesUnusable,
    MissingMetrics,
    OutputsDiffer,
    ParityMismatch,
    ParityUnusable,
    ProjectionBusy,
    ProjectionError,
    ProjectionUnwritable,
    QueryFailed,
    QueryRefused,
    QueryTimeout,
    StudyNotFound,
    UnknownProjection,
)
from projections.pareto import DEFAULT_OBJECTIVES
from projections.query import DEFAULT_TIMEOUT_S, QueryResult, rows_as_json, run_query
from projections.reads import (
    as_of_state,
    ensure_current,
    leaderboard_document,
    leaderboard_markdown,
    list_batches,
    list_gaps,
    pareto_document,
    parity_report,
    report_text,
    scoreboard_report,
    study_trials,
    write_batch_html,
    write_study_html,
)
from projections.rebuild import (
    DEFAULT_PROJECTIONS,
    PROJECTIONS,
    RebuildResult,
    check_outputs,
    is_current,
    rebuild,
)

__all__ = [
    "DEFAULT_OBJECTIVES",
    "DEFAULT_PROJECTIONS",
    "DEFAULT_TIMEOUT_S",
    "PROJECTIONS",
    "AsOfRefused",
    "BatchNotFound",
    "GapsFound",
    "GatesUnusable",
    "MissingMetrics",
    "OutputsDiffer",
    "ParityMismatch",
    "ParityUnusable",
    "ProjectionBusy",
    "ProjectionError",
    "ProjectionUnwritable",
    "QueryFailed",
    "QueryRefused",
    "QueryResult",
    "QueryTimeout",
    "RebuildResult",
    "StudyNotFound",
    "UnknownProjection",
    "as_of_state",
    "check_outputs",
    "ensure_current",
    "is_current",
    "leaderboard_document",
    "leaderboard_markdown",
    "list_batches",
    "list_gaps",
    "pareto_document",
    "parity_report",
    "rebuild",
    "report_text",
    "rows_as_json",
    "run_query",
    "scoreboard_report",
    "study_trials",
    "write_batch_html",
    "write_study_html",
]
