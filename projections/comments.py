"""``COMMENT ON`` text for every table, view and column of ``ledger.duckdb``.

Other DuckDB clients see these in ``duckdb_tables()``, ``duckdb_views()`` and
``duckdb_columns()``. Each module that creates tables gives its own as ``COMMENTS``:
``{table: (what the table holds, {column: what it holds})}``; ``apply_comments`` writes them
when a table is created, and ``engine.clear_tables`` keeps them across a table's re-creation.
docs/SCHEMA.md is the same in prose.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

Comments = dict[str, tuple[str, dict[str, str]]]

TS_TEXT = "commit time as stored in the event (RFC 3339 text, UTC, microseconds, Z)"
TS_UTC = "the same commit time as a TIMESTAMP (UTC), for date arithmetic"
SEQ = "the event's seq in the ledger (1, 2, 3 ...), unique"
BATCH = "batch id (the event's batch)"
JOB_ID = "stable job id: 16 hex digits of SHA-256 over what the job runs and its params"
KIND = "intent/outcome kind: scan, trial, optimize, simulate or job"
INDEX = "the job's position in its manifest (0-based)"

_OUTCOME_COLUMNS = {
    "seq": SEQ,
    "ts": TS_TEXT,
    "type": "event type, <kind>.outcome",
    "kind": KIND,
    "batch": BATCH,
    "key": "the event's subject key, e.g. trial/<job_id>",
    "cause": "seq of the intent this outcome answers",
    "job_id": JOB_ID,
    "status": "ok, empty, error, timeout, crashed, interrupted or skipped",
    "duration_s": "the job's run time in seconds",
    "metrics": "metric name -> value; a non-finite value is NULL and named in non_finite",
    "non_finite": "dotted paths (metrics.loss, result.x.3) of NaN/Infinity values stored as null",
    "result": "the job's result (any JSON)",
    "artifacts": "sha256 of each file the job stored in the blob store",
    "error_type": "the error's type (exception class, CommandFailed, interrupted ...)",
    "error_message": "the error's message",
    "error_traceback": "the error's traceback, when it raised",
    "index": "the answered intent's index in its manifest",
    "name": "the answered intent's job name",
    "ts_utc": TS_UTC,
}

BASE_COMMENTS: Comments = {
    "_meta": (
        "bookkeeping of this database (its layout version)",
        {"key": "setting name (schema_version)", "value": "setting value"},
    ),
    "_cursors": (
        "how far each table group has applied the ledger: rebuilds are incremental from here",
        {
            "name": "table group: base, or a projection's name",
            "seq": "last ledger seq applied",
            "hash": "hash of that event (a mismatch forces a full rebuild)",
        },
    ),
    "events": (
        "every committed event of the ledger, as stored (one row per event)",
        {
            "seq": SEQ,
            "ts": TS_TEXT,
            "type": "event type (batch.started, trial.outcome, x.note ...)",
            "v": "payload schema version",
            "batch": "batch id, or NULL",
            "key": "subject key, or NULL",
            "cause": "seq of the intent an outcome answers, or NULL",
            "data": "the payload (older versions as stored; projections read them upgraded)",
            "prev": "hash of the event before (64 zeros for seq 1)",
            "hash": "SHA-256 of the stored line up to its hash field",
            "ts_utc": TS_UTC,
        },
    ),
    "intents": (
        "every <kind>.intent event: a job about to run (a resumed job has one per attempt)",
        {
            "seq": SEQ,
            "ts": TS_TEXT,
            "type": "event type, <kind>.intent",
            "kind": KIND,
            "batch": BATCH,
            "key": "the event's subject key, e.g. trial/<job_id>",
            "job_id": JOB_ID,
            "index": INDEX,
            "name": "the job's name (explicit, matrix_<axes>, or a user handle)",
            "callable": "module:function the job calls (NULL for a command job)",
            "params": "the job's parameters (JSON object)",
            "seed": "the job's seed, derived from the batch seed and its job id",
            "ts_utc": TS_UTC,
        },
    ),
    "outcomes": (
        "every <kind>.outcome event, the whole history: a resumed or retried job has several"
        " (final_outcomes keeps the last of each job)",
        _OUTCOME_COLUMNS,
    ),
    "final_outcomes": (
        "one row per job (batch, job_id): its last outcome; count jobs here, not in outcomes",
        _OUTCOME_COLUMNS,
    ),
    "metrics": (
        "one row per metric of every outcome (name, value), for SQL over metrics",
        {
            "seq": "seq of the outcome",
            "batch": BATCH,
            "kind": KIND,
            "job_id": JOB_ID,
            "name": "metric name",
            "value": "metric value (NULL when it was NaN or Infinity)",
        },
    ),
    "artifacts": (
        "every artifact.recorded event: a file stored in the blob store",
        {
            "seq": SEQ,
            "ts": TS_TEXT,
            "batch": BATCH,
            "sha256": "content hash: the blob is blobs/sha256/<2 hex>/<62 hex>",
            "size": "size in bytes",
            "name": "the file's name as recorded",
            "media_type": "its media type",
            "job_id": "the producing job, or NULL",
            "ts_utc": TS_UTC,
        },
    ),
    "batches": (
        "one row per batch id: its start, last finish, resumes, and history counts",
        {
            "batch": "batch id",
            "name": "batch name from batch.started (the manifest's name)",
            "created_at": "commit time of batch.started (RFC 3339 text)",
            "started_seq": "seq of the first batch.started",
            "jobs": "jobs planned by batch.started",
            "executor": "process, thread, ray or ingest",
            "workers": "number of workers",
            "host": "host of the driver that started it",
            "pid": "process id of that driver",
            "process_start": "start time of that process (tells a reused pid apart)",
            "finished_seq": "seq of the last batch.finished, or NULL",
            "finished_at": "commit time of the last batch.finished (RFC 3339 text)",
            "attempted": "jobs the last run attempted (batch.finished)",
            "succeeded": "jobs of the last run that ended ok",
            "failed": "jobs of the last run that did not end ok",
            "duration_s": "duration of the last run in seconds",
            "interrupted": "the last run was stopped (Ctrl-C, SIGTERM)",
            "resumed": "number of batch.resumed events",
            "last_resumed_seq": "seq of the last batch.resumed, or NULL",
            "state": "finished (its last run finished) or open",
            "intents": "intent events (history: a resumed job counts once per attempt)",
            "outcomes": "outcome events (history; final_outcomes counts jobs)",
            "ok": "ok outcome events (history; final_outcomes counts jobs)",
            "first_seq": "seq of the batch's first event",
            "last_seq": "seq of the batch's last event",
            "created_utc": "created_at as a TIMESTAMP (UTC)",
            "finished_utc": "finished_at as a TIMESTAMP (UTC)",
        },
    ),
}


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def apply_comments(con: duckdb.DuckDBPyConnection, comments: Comments, names: set[str]) -> None:
    """Write the comments of the tables and views in ``names`` (those ``comments`` has)."""
    views = {str(r[0]) for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
    for name in sorted(names & set(comments)):
        table_text, columns = comments[name]
        what = "VIEW" if name in views else "TABLE"
        con.execute(f'COMMENT ON {what} "{name}" IS {_quoted(table_text)}')
        for column, text in columns.items():
            con.execute(f'COMMENT ON COLUMN "{name}"."{column}" IS {_quoted(text)}')
