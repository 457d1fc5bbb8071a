"""The ``batches`` read: every batch with its state and its jobs' final counts.

A batch is ``finished`` when its last run ended normally, ``interrupted`` when that run was
stopped (Ctrl-C, SIGTERM) or its driver is gone without finishing (a crash, ``kill -9``), and
``running`` while its driver may still answer (alive, or on another host). Job counts come
from ``final_outcomes`` (each job's last outcome), so a resumed batch's counts add up:
``planned = ok + failed + interrupted + unanswered``, where ``ok`` counts ``ok`` and ``empty``,
``failed`` counts ``error``, ``timeout`` and ``crashed``, ``interrupted`` counts
``interrupted`` and ``skipped``, and ``unanswered`` is every planned job without an outcome.
A batch is resumable (``run --resume``) when it is not running, was recorded by ``run`` (not
``ingest``), and has interrupted or unanswered jobs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from projections.gaps import driver_gone

if TYPE_CHECKING:
    import duckdb

FINISHED, INTERRUPTED, RUNNING = "finished", "interrupted", "running"
NOT_RESUMABLE_EXECUTORS = ("ingest",)
FIELDS = (
    "batch",
    "name",
    "state",
    "planned",
    "ok",
    "failed",
    "interrupted",
    "unanswered",
    "started",
    "resumable",
)

# The driver that owes the batch its answers is the last to start or resume it; a resume
# also sets the planned job count (skipped + remaining).
BATCH_ROWS = """
WITH drv AS (
    SELECT batch, arg_max(data->>'host', seq) AS host,
           arg_max(TRY_CAST(data->>'pid' AS BIGINT), seq) AS pid,
           arg_max(data->>'process_start', seq) AS process_start,
           arg_max(TRY_CAST(data->>'skipped' AS BIGINT) + TRY_CAST(data->>'remaining' AS BIGINT),
                   seq) FILTER (WHERE type = 'batch.resumed') AS resumed_jobs
    FROM events WHERE type IN ('batch.started', 'batch.resumed') AND batch IS NOT NULL
    GROUP BY batch
),
fin AS (
    SELECT batch,
           count(*) FILTER (WHERE status IN ('ok', 'empty')) AS ok,
           count(*) FILTER (WHERE status IN ('error', 'timeout', 'crashed')) AS failed,
           count(*) FILTER (WHERE status IN ('interrupted', 'skipped')) AS interrupted,
           count(*) AS answered
    FROM final_outcomes WHERE batch IS NOT NULL GROUP BY batch
),
ji AS (
    SELECT batch, count(DISTINCT job_id) AS jobs FROM intents WHERE batch IS NOT NULL
    GROUP BY batch
)
SELECT b.batch, b.name, b.state, coalesce(b.interrupted, false), b.executor,
       coalesce(drv.resumed_jobs, b.jobs, ji.jobs, 0),
       coalesce(fin.ok, 0), coalesce(fin.failed, 0), coalesce(fin.interrupted, 0),
       coalesce(fin.answered, 0), b.created_at, drv.host, drv.pid, drv.process_start
FROM batches AS b
LEFT JOIN drv USING (batch) LEFT JOIN fin USING (batch) LEFT JOIN ji USING (batch)
ORDER BY b.first_seq, b.batch
"""


def _state(
    open_: bool, stopped: bool, host: str | None, pid: int | None, process_start: str | None
) -> str:
    if not open_:
        return INTERRUPTED if stopped else FINISHED
    return INTERRUPTED if driver_gone(host, pid, process_start) else RUNNING


def batch_rows(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """One dict per batch (keys ``FIELDS``), oldest first; liveness is checked now."""
    rows: list[dict[str, Any]] = []
    for (
        batch,
        name,
        table_state,
        stopped,
        executor,
        planned,
        ok,
        failed,
        interrupted,
        answered,
        started,
        host,
        pid,
        process_start,
    ) in con.execute(BATCH_ROWS).fetchall():
        state = _state(table_state != FINISHED, bool(stopped), host, pid, process_start)
        unanswered = max(0, int(planned) - int(answered))
        resumable = (
            state != RUNNING
            and executor not in NOT_RESUMABLE_EXECUTORS
            and (interrupted + unanswered) > 0
        )
        rows.append(
            {
                "batch": batch,
                "name": name,
                "state": state,
                "planned": int(planned),
                "ok": int(ok),
                "failed": int(failed),
                "interrupted": int(interrupted),
                "unanswered": unanswered,
                "started": started,
                "resumable": resumable,
            }
        )
    return rows
