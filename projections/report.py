"""The ``report`` projection (seed 003): per batch, one row per job and a Markdown summary.

``batches/<batch>/summary.csv``: one row per job in manifest order (index, name, job_id,
status, duration_s, every metric as a column, error_type). A job's row is its latest intent
and the latest outcome answering any intent of that index; ``missing`` when none has.
``batches/<batch>/report.md``: counts by status, the slowest jobs, failures with their
messages, and min/median/max per metric.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from projections.scope import set_scope
from projections.writers import (
    csv_text,
    fmt_number,
    markdown_table,
    safe_dir_name,
    write_atomic,
)

if TYPE_CHECKING:
    import duckdb

NAME = "report"
MISSING = "missing"
FAILED_STATUSES = ("error", "timeout", "crashed", "interrupted")
SLOWEST_N = 10
FAILURES_N = 50
MESSAGE_CHARS = 200
FIXED_COLUMNS = ("index", "name", "job_id", "status", "duration_s")

DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS report_jobs (
        batch VARCHAR, "index" BIGINT, name VARCHAR, job_id VARCHAR, kind VARCHAR,
        intent_seq BIGINT, outcome_seq BIGINT, status VARCHAR, duration_s DOUBLE,
        error_type VARCHAR, error_message VARCHAR)""",
)
TABLES: tuple[str, ...] = ("report_jobs",)

REFRESH = f"""
DELETE FROM report_jobs WHERE batch IN (SELECT batch FROM _scope);
INSERT INTO report_jobs
WITH i AS (
    SELECT batch, "index", arg_max(name, seq) AS name, arg_max(job_id, seq) AS job_id,
           arg_max(kind, seq) AS kind, max(seq) AS intent_seq
    FROM intents WHERE batch IN (SELECT batch FROM _scope) GROUP BY batch, "index"
),
last AS (
    SELECT batch, "index", max(seq) AS outcome_seq FROM outcomes
    WHERE batch IN (SELECT batch FROM _scope) AND "index" IS NOT NULL GROUP BY batch, "index"
)
SELECT i.batch, i."index", i.name, i.job_id, i.kind, i.intent_seq, o.seq,
       coalesce(o.status, '{MISSING}'), o.duration_s, o.error_type, o.error_message
FROM i LEFT JOIN last USING (batch, "index") LEFT JOIN outcomes AS o ON o.seq = last.outcome_seq
"""


def update(con: duckdb.DuckDBPyConnection, root: Path, batches: list[str] | None) -> list[Path]:
    """Recompute ``report_jobs`` for ``batches`` (None: all) and write their files."""
    scope = set_scope(con, batches)
    con.execute(REFRESH)
    have = {r[0] for r in con.execute("SELECT DISTINCT batch FROM report_jobs").fetchall()}
    written: list[Path] = []
    for batch in scope:
        if batch in have:
            written.extend(write_batch(con, root, batch))
    return written


def _metric_names(con: duckdb.DuckDBPyConnection, batch: str) -> list[str]:
    rows = con.execute(
        """SELECT DISTINCT m.name FROM metrics AS m JOIN report_jobs AS r ON m.seq = r.outcome_seq
           WHERE r.batch = ? ORDER BY m.name""",
        [batch],
    ).fetchall()
    return [str(r[0]) for r in rows]


def summary_rows(
    con: duckdb.DuckDBPyConnection, batch: str
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The header and rows of ``summary.csv`` for ``batch``, in manifest order."""
    names = _metric_names(con, batch)
    picks = "".join(f", o.metrics[$m{i}]" for i in range(len(names)))
    params: dict[str, Any] = {"batch": batch, **{f"m{i}": n for i, n in enumerate(names)}}
    rows = con.execute(
        f"""SELECT r."index", r.name, r.job_id, r.status, r.duration_s{picks}, r.error_type
            FROM report_jobs AS r LEFT JOIN outcomes AS o ON o.seq = r.outcome_seq
            WHERE r.batch = $batch ORDER BY r."index", r.intent_seq""",
        params,
    ).fetchall()
    return _header(names), rows


def _header(names: list[str]) -> list[str]:
    header = [*FIXED_COLUMNS, *(f"metric.{n}" if n in FIXED_COLUMNS else n for n in names)]
    return [*header, "error_type"]


def _csv_cell(expr: str) -> str:
    """SQL rendering one CSV cell like ``writers.csv_text`` (``csv`` module, minimal quoting):
    None empty, floats by their shortest round-trip text (``repr``)."""
    text = f"coalesce(CAST({expr} AS VARCHAR), '')"
    return (
        f"CASE WHEN regexp_matches({text}, '[,\"\r\n]') "
        f"THEN '\"' || replace({text}, '\"', '\"\"') || '\"' ELSE {text} END"
    )


def summary_csv(con: duckdb.DuckDBPyConnection, batch: str) -> str:
    """The ``summary.csv`` text of ``batch``: each row rendered by DuckDB, joined once."""
    names = _metric_names(con, batch)
    cells = ['r."index"', "r.name", "r.job_id", "r.status", "r.duration_s"]
    cells += [f"o.metrics[$m{i}]" for i in range(len(names))]
    cells.append("r.error_type")
    line = " || ',' || ".join(_csv_cell(c) for c in cells)
    params: dict[str, Any] = {"batch": batch, **{f"m{i}": n for i, n in enumerate(names)}}
    lines = con.execute(
        f"""SELECT {line}
            FROM report_jobs AS r LEFT JOIN outcomes AS o ON o.seq = r.outcome_seq
            WHERE r.batch = $batch ORDER BY r."index", r.intent_seq""",
        params,
    ).fetchnumpy()
    body = next(iter(lines.values())).tolist()
    head = csv_text(_header(names), [])
    return head + "".join(f"{text}\n" for text in body)


def _status_counts(con: duckdb.DuckDBPyConnection, batch: str) -> list[tuple[str, int]]:
    rows = con.execute(
        "SELECT status, count(*) FROM report_jobs WHERE batch = ? GROUP BY status", [batch]
    ).fetchall()
    from schemas import STATUSES  # lazily: the payload schemas are slow to import

    order = {s: i for i, s in enumerate((*STATUSES, MISSING))}
    counts = [(str(s), int(n)) for s, n in rows]
    return sorted(counts, key=lambda c: (order.get(c[0], len(order)), c[0]))


def _first_line(text: str | None) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= MESSAGE_CHARS else line[: MESSAGE_CHARS - 3] + "..."


def report_markdown(con: duckdb.DuckDBPyConnection, batch: str) -> str:
    """The ``report.md`` text of ``batch``."""
    info = con.execute(
        "SELECT name, created_at, jobs, state FROM batches WHERE batch = ?", [batch]
    ).fetchone()
    name, created_at, planned, state = info if info else (None, None, None, "unknown")
    counts = _status_counts(con, batch)
    total = sum(n for _, n in counts)
    parts = [f"# Batch report: {batch}\n"]
    parts.append(
        f"- name: {name or '-'}\n- created_at: {created_at or '-'}\n"
        f"- jobs: {total} (planned {planned if planned is not None else '-'})\n"
        f"- state: {state}\n"
    )
    parts.append("## Status\n")
    parts.append(markdown_table(["status", "jobs"], counts))
    slow = con.execute(
        """SELECT "index", name, status, duration_s FROM report_jobs
           WHERE batch = ? AND duration_s IS NOT NULL
           ORDER BY duration_s DESC, "index", intent_seq LIMIT ?""",
        [batch, SLOWEST_N],
    ).fetchall()
    parts.append(f"## Slowest jobs (top {SLOWEST_N})\n")
    parts.append(
        markdown_table(
            ["index", "name", "status", "duration_s"],
            [(i, n, s, fmt_number(d, 3)) for i, n, s, d in slow],
        )
    )
    failed = con.execute(
        f"""SELECT "index", name, status, error_type, error_message FROM report_jobs
            WHERE batch = ? AND status IN {FAILED_STATUSES!r}
            ORDER BY "index", intent_seq""",
        [batch],
    ).fetchall()
    parts.append(f"## Failures ({len(failed)})\n")
    if failed:
        shown = [(i, n, s, t or "-", _first_line(m)) for i, n, s, t, m in failed[:FAILURES_N]]
        parts.append(markdown_table(["index", "name", "status", "error", "message"], shown))
        if len(failed) > FAILURES_N:
            parts.append(f"\n... and {len(failed) - FAILURES_N} more (see summary.csv)\n")
    else:
        parts.append("None.\n")
    stats = con.execute(
        """SELECT m.name, count(m.value), count(*) - count(m.value), min(m.value),
                  quantile_cont(m.value, 0.5), max(m.value)
           FROM metrics AS m JOIN report_jobs AS r ON m.seq = r.outcome_seq
           WHERE r.batch = ? GROUP BY m.name ORDER BY m.name""",
        [batch],
    ).fetchall()
    parts.append("## Metrics\n")
    if stats:
        parts.append(
            markdown_table(
                ["metric", "count", "nulls", "min", "median", "max"],
                [
                    (n, c, z, fmt_number(lo), fmt_number(md), fmt_number(hi))
                    for n, c, z, lo, md, hi in stats
                ],
            )
        )
    else:
        parts.append("No metrics.\n")
    return "\n".join(parts)


def write_batch(con: duckdb.DuckDBPyConnection, root: Path, batch: str) -> list[Path]:
    """Write ``summary.csv`` and ``report.md`` of one batch."""
    folder = root / "batches" / safe_dir_name(batch)
    return [
        write_atomic(folder / "summary.csv", summary_csv(con, batch)),
        write_atomic(folder / "report.md", report_markdown(con, batch)),
    ]
