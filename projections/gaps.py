"""The ``gaps`` projection: intents with no outcome, and outcomes that answer no intent.

An unanswered intent is ``orphaned`` when its batch finished or was resumed after it, or when
the driver process its ``batch.started`` recorded (host, pid, start time) is gone from this
host; otherwise it is ``open`` (still in flight). An outcome whose ``cause`` names no intent is
``dangling``. Ages are measured up to the ledger's last event, never the clock.

Whether a driver process is gone is a fact of now, not of the ledger: an as-of state
(``rebuild --as-of``) never looks at processes, so an intent its batch had not yet finished or
resumed past at that seq is ``open`` whatever became of the driver since.
"""

from __future__ import annotations

import bisect
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.processes import pid_started
from projections.comments import Comments
from projections.engine import as_of_seq, get_cursor
from projections.tables import utc
from projections.writers import json_text, markdown_table, write_atomic

if TYPE_CHECKING:
    import duckdb

NAME = "gaps"
OPEN, ORPHANED, DANGLING = "open", "orphaned", "dangling"
FIELDS = (
    "seq",
    "type",
    "kind",
    "batch",
    "job_id",
    "name",
    "index",
    "ts",
    "age_s",
    "state",
    "reason",
)
DDL: tuple[str, ...] = (
    f"""CREATE TABLE IF NOT EXISTS gaps (
        seq BIGINT, type VARCHAR, kind VARCHAR, batch VARCHAR, job_id VARCHAR, name VARCHAR,
        "index" BIGINT, ts VARCHAR, age_s DOUBLE, state VARCHAR, reason VARCHAR,
        ts_utc {utc("ts")})""",
)
TABLES: tuple[str, ...] = ("gaps",)
COMMENTS: Comments = {
    "gaps": (
        "intents never answered (open or orphaned) and outcomes answering no intent (dangling)",
        {
            "seq": "seq of the intent (or of the dangling outcome)",
            "type": "its event type",
            "kind": "scan, trial, optimize, simulate or job",
            "batch": "batch id",
            "job_id": "the job's id",
            "name": "the job's name",
            "index": "the job's position in its manifest",
            "ts": "commit time of the event (RFC 3339 text)",
            "age_s": "seconds from the event to the ledger's last event (never the clock)",
            "state": "open (driver may still answer), orphaned (it never will) or dangling",
            "reason": "why it has that state",
            "ts_utc": "ts as a TIMESTAMP (UTC)",
        },
    ),
}

# ``$since`` (when not null) limits the candidates to the events after it plus the gaps found
# up to it (the ``gaps`` table): an intent answered or an outcome matched stays so, as the
# ledger only grows.
UNANSWERED = """
WITH cand AS (
    SELECT * FROM intents WHERE $since IS NULL OR seq > $since
    UNION ALL
    SELECT * FROM intents
    WHERE $since IS NOT NULL AND seq <= $since
      AND seq IN (SELECT seq FROM gaps WHERE state <> 'dangling')
)
SELECT i.seq, i.type, i.kind, i.batch, i.job_id, i.name, i."index", i.ts
FROM cand AS i
WHERE NOT EXISTS (SELECT 1 FROM outcomes AS o WHERE o.cause = i.seq)
  AND ($batch IS NULL OR i.batch = $batch)
ORDER BY i.seq
"""

DANGLING_SQL = """
WITH cand AS (
    SELECT * FROM outcomes WHERE $since IS NULL OR seq > $since
    UNION ALL
    SELECT * FROM outcomes
    WHERE $since IS NOT NULL AND seq <= $since
      AND seq IN (SELECT seq FROM gaps WHERE state = 'dangling')
)
SELECT o.seq, o.type, o.kind, o.batch, o.job_id, o.cause, o.ts
FROM cand AS o
WHERE NOT EXISTS (SELECT 1 FROM intents AS i WHERE i.seq = o.cause)
  AND ($batch IS NULL OR o.batch = $batch)
ORDER BY o.seq
"""

BATCH_EVENTS = """
SELECT batch, seq, type, data->>'host', TRY_CAST(data->>'pid' AS BIGINT), data->>'process_start'
FROM events
WHERE type IN ('batch.started', 'batch.finished', 'batch.resumed')
  AND batch IN (SELECT unnest($batches::VARCHAR[]))
ORDER BY batch, seq
"""


def _parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def driver_gone(host: str | None, pid: int | None, process_start: str | None) -> bool:
    """True when the recorded driver ran on this host and that process no longer runs."""
    if host is None or pid is None or host != socket.gethostname():
        return False
    if Path("/proc").is_dir():
        now = pid_started(pid)
        return now is None or (process_start is not None and now != process_start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _state(
    intent_seq: int, events: list[tuple[Any, ...]], liveness: bool = True
) -> tuple[str, str]:
    """The state of an unanswered intent from its batch's started/finished/resumed events
    (and, with ``liveness``, from whether its driver process still runs)."""
    seqs = [e[1] for e in events]
    at = bisect.bisect_right(seqs, intent_seq)
    for later in events[at:]:
        if later[2] == "batch.finished":
            return ORPHANED, "batch finished without answering it"
        if later[2] == "batch.resumed":
            return ORPHANED, "batch resumed without answering it"
    for earlier in reversed(events[:at] if liveness else []):
        # The latest driver to start or resume the batch is the one that owes the answer
        # (resumes recorded before host/pid were added carry none: then we cannot tell).
        if earlier[2] in ("batch.started", "batch.resumed"):
            if driver_gone(earlier[3], earlier[4], earlier[5]):
                return ORPHANED, f"driver process {earlier[4]} on {earlier[3]} is gone"
            break
    return OPEN, "batch still open"


def find_gaps(
    con: duckdb.DuckDBPyConnection,
    batch: str | None = None,
    since: int | None = None,
    liveness: bool = True,
) -> list[dict[str, Any]]:
    """Every gap (optionally of one batch), in seq order, as objects with ``FIELDS``.

    With ``since``, only the events after it and the gaps stored in the ``gaps`` table (found
    at ``since``) are candidates. Without ``liveness``, drivers' processes are not looked at
    (the ledger's events alone decide open vs orphaned).
    """
    last = con.execute("SELECT ts FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    as_of = _parse_ts(last[0]) if last else None
    params = {"batch": batch, "since": since}
    unanswered = con.execute(UNANSWERED, params).fetchall()
    dangling = con.execute(DANGLING_SQL, params).fetchall()
    batches = sorted({r[3] for r in unanswered if r[3] is not None})
    by_batch: dict[str, list[tuple[Any, ...]]] = {}
    rows = con.execute(BATCH_EVENTS, {"batches": batches}).fetchall() if batches else []
    for row in rows:
        by_batch.setdefault(row[0], []).append(row)

    def age(ts: str) -> float | None:
        return None if as_of is None else (as_of - _parse_ts(ts)).total_seconds()

    found: list[dict[str, Any]] = []
    for seq, type_, kind, b, job_id, name, index, ts in unanswered:
        state, reason = (
            _state(seq, by_batch.get(b, []), liveness) if b is not None else (OPEN, "no batch")
        )
        found.append(
            dict(
                zip(
                    FIELDS,
                    (seq, type_, kind, b, job_id, name, index, ts, age(ts), state, reason),
                    strict=True,
                )
            )
        )
    for seq, type_, kind, b, job_id, cause, ts in dangling:
        reason = "outcome has no cause" if cause is None else f"cause {cause} is not an intent"
        found.append(
            dict(
                zip(
                    FIELDS,
                    (seq, type_, kind, b, job_id, None, None, ts, age(ts), DANGLING, reason),
                    strict=True,
                )
            )
        )
    found.sort(key=lambda g: g["seq"])
    return found


def summary(found: list[dict[str, Any]]) -> dict[str, int]:
    """Counts of gaps by state."""
    return {s: sum(1 for g in found if g["state"] == s) for s in (OPEN, ORPHANED, DANGLING)}


def markdown(found: list[dict[str, Any]], as_of: tuple[int, str] | None) -> str:
    """``gaps.md``: counts by state and one row per gap."""
    counts = summary(found)
    head = f"as of seq {as_of[0]} ({as_of[1]})" if as_of else "empty ledger"
    parts = [f"# Gaps\n\n{head}\n", markdown_table(["state", "count"], list(counts.items()))]
    rows = [
        (
            g["seq"],
            g["state"],
            g["type"],
            g["batch"] or "-",
            g["job_id"] or "-",
            g["name"] or "-",
            g["reason"],
        )
        for g in found
    ]
    parts.append(
        markdown_table(["seq", "state", "type", "batch", "job_id", "name", "reason"], rows)
        if rows
        else "No gaps.\n"
    )
    return "\n".join(parts)


def update(con: duckdb.DuckDBPyConnection, root: Path, batches: list[str] | None) -> list[Path]:
    """Recompute the ``gaps`` table and write ``gaps/gaps.json`` and ``gaps/gaps.md``.

    When only some ``batches`` changed, only the new events and the stored gaps are rechecked.
    An as-of database does not look at processes (see the module docstring).
    """
    cursor = get_cursor(con, NAME) if batches is not None else None
    since = cursor.seq if cursor is not None else None
    found = find_gaps(con, since=since, liveness=as_of_seq(con) is None)
    con.execute("DELETE FROM gaps")
    if found:
        con.executemany(
            "INSERT INTO gaps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[g[f] for f in FIELDS] for g in found],
        )
    last = con.execute("SELECT seq, ts FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    as_of = (int(last[0]), str(last[1])) if last else None
    doc = {
        "as_of": {"seq": as_of[0], "ts": as_of[1]} if as_of else None,
        "counts": summary(found),
        "gaps": found,
    }
    folder = root / "gaps"
    return [
        write_atomic(folder / "gaps.json", json_text(doc)),
        write_atomic(folder / "gaps.md", markdown(found, as_of)),
    ]


def to_json_lines(found: list[dict[str, Any]]) -> str:
    """The ``gaps --json`` output: one JSON array of gap objects."""
    return json.dumps(found, indent=2, ensure_ascii=False) + "\n"
