"""The ``report`` projection (seed 003): per batch, one row per job and a Markdown summary.

``batches/<batch>/summary.csv``: one row per job in manifest order (index, name, job_id,
status, duration_s, every metric as a column, error_type). A job's row is its latest intent
and the latest outcome answering any intent of that index; ``missing`` when none has. Only
intents of the batch's job kind count (not its jobs' sub-steps, e.g. ``optimize`` of ``trial``).
``batches/<batch>/report.md``: counts by status, the slowest jobs, failures with their
messages, and min/median/max per metric.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from projections.scope import IN_BATCHES, set_scope
from projections.tables import ZSTD
from projections.writers import (
    csv_cell_sql,
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
    f"""CREATE TABLE IF NOT EXISTS report_jobs (
        batch VARCHAR, "index" BIGINT, name VARCHAR {ZSTD}, job_id VARCHAR {ZSTD}, kind VARCHAR,
        intent_seq BIGINT, outcome_seq BIGINT, status VARCHAR, duration_s DOUBLE,
        error_type VARCHAR, error_message VARCHAR)""",
)
TABLES: tuple[str, ...] = ("report_jobs",)

# The kind of a batch's jobs (its manifest's): the intents of other kinds sharing a job's
# index are its declared sub-steps (``optimize`` of a ``trial``), not jobs. A batch without a
# ``batch.started`` (appended by hand) counts every kind.
JOB_KINDS = """
    SELECT batch, arg_min(data->'manifest'->>'kind', seq) AS job_kind FROM events
    WHERE type = 'batch.started' AND batch IN (SELECT batch FROM _scope) GROUP BY batch"""

REFRESH = f"""
DELETE FROM report_jobs WHERE batch IN (SELECT batch FROM _scope);
INSERT INTO report_jobs
WITH jk AS ({JOB_KINDS}),
i AS (
    SELECT batch, "index", arg_max(name, seq) AS name, arg_max(job_id, seq) AS job_id,
           arg_max(kind, seq) AS kind, max(seq) AS intent_seq
    FROM intents LEFT JOIN jk USING (batch)
    WHERE batch IN (SELECT batch FROM _scope) AND kind = coalesce(jk.job_kind, kind)
    GROUP BY batch, "index"
),
last AS (
    SELECT batch, "index", max(seq) AS outcome_seq FROM outcomes LEFT JOIN jk USING (batch)
    WHERE batch IN (SELECT batch FROM _scope) AND "index" IS NOT NULL
          AND kind = coalesce(jk.job_kind, kind)
    GROUP BY batch, "index"
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
    chosen = [b for b in scope if b in have]
    csvs = summary_csvs(con, chosen)
    reports = report_markdowns(con, chosen)
    written: list[Path] = []
    for batch in chosen:
        folder = root / "batches" / safe_dir_name(batch)
        written.append(write_atomic(folder / "summary.csv", csvs[batch]))
        written.append(write_atomic(folder / "report.md", reports[batch]))
    return written


def _metric_names_by_batch(
    con: duckdb.DuckDBPyConnection, batches: list[str]
) -> dict[str, list[str]]:
    rows = con.execute(
        f"""SELECT DISTINCT r.batch, m.name
            FROM metrics AS m JOIN report_jobs AS r ON m.seq = r.outcome_seq
            WHERE r.{IN_BATCHES} ORDER BY r.batch, m.name""",
        {"batches": batches},
    ).fetchall()
    names: dict[str, list[str]] = {b: [] for b in batches}
    for batch, name in rows:
        names[str(batch)].append(str(name))
    return names


def _header(names: list[str]) -> list[str]:
    header = [*FIXED_COLUMNS, *(f"metric.{n}" if n in FIXED_COLUMNS else n for n in names)]
    return [*header, "error_type"]


def summary_csv(con: duckdb.DuckDBPyConnection, batch: str) -> str:
    """The ``summary.csv`` text of ``batch``."""
    return summary_csvs(con, [batch])[batch]


def summary_csvs(con: duckdb.DuckDBPyConnection, batches: list[str]) -> dict[str, str]:
    """The ``summary.csv`` text of each of ``batches``: rows rendered and joined per batch by
    DuckDB (no Python object per row), one query per distinct set of metric columns."""
    by_names: dict[tuple[str, ...], list[str]] = {}
    for batch, metric_names in _metric_names_by_batch(con, batches).items():
        by_names.setdefault(tuple(metric_names), []).append(batch)
    out: dict[str, str] = {}
    for names, group in by_names.items():
        cells = [
            csv_cell_sql('r."index"', numeric=True),
            csv_cell_sql("r.name"),
            csv_cell_sql("r.job_id"),
            csv_cell_sql("r.status"),
            csv_cell_sql("r.duration_s", numeric=True),
            *(csv_cell_sql(f"o.metrics[$m{i}]", numeric=True) for i in range(len(names))),
            csv_cell_sql("r.error_type"),
        ]
        line = " || ',' || ".join(cells)
        params: dict[str, Any] = {"batches": group, **{f"m{i}": n for i, n in enumerate(names)}}
        rows = con.execute(
            f"""SELECT r.batch, string_agg({line} || chr(10), ''
                                          ORDER BY r."index", r.intent_seq, r.outcome_seq)
                FROM report_jobs AS r LEFT JOIN outcomes AS o ON o.seq = r.outcome_seq
                WHERE r.{IN_BATCHES} GROUP BY r.batch""",
            params,
        ).fetchall()
        head = csv_text(_header(list(names)), [])
        bodies = {str(batch): str(body) for batch, body in rows}
        for batch in group:
            out[batch] = head + bodies.get(batch, "")
    return out


def _order_statuses(counts: list[tuple[str, int]]) -> list[tuple[str, int]]:
    from schemas import STATUSES  # lazily: the payload schemas are slow to import

    order = {s: i for i, s in enumerate((*STATUSES, MISSING))}
    return sorted(counts, key=lambda c: (order.get(c[0], len(order)), c[0]))


def _first_line(text: str | None) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= MESSAGE_CHARS else line[: MESSAGE_CHARS - 3] + "..."


def _grouped(rows: list[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    """Rows whose first column is the batch, grouped by it (order kept), batch dropped."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        out.setdefault(str(row[0]), []).append(tuple(row[1:]))
    return out


def report_markdown(con: duckdb.DuckDBPyConnection, batch: str) -> str:
    """The ``report.md`` text of ``batch``."""
    return report_markdowns(con, [batch])[batch]


def report_markdowns(con: duckdb.DuckDBPyConnection, batches: list[str]) -> dict[str, str]:
    """The ``report.md`` text of each of ``batches`` (one query per section for all)."""
    params = {"batches": batches}
    info = _grouped(
        con.execute(
            f"SELECT batch, name, created_at, jobs, state FROM batches WHERE {IN_BATCHES}",
            params,
        ).fetchall()
    )
    counts = _grouped(
        con.execute(
            f"""SELECT batch, status, count(*) FROM report_jobs WHERE {IN_BATCHES}
                GROUP BY batch, status""",
            params,
        ).fetchall()
    )
    slow = _grouped(
        con.execute(
            f"""SELECT batch, "index", name, status, duration_s FROM (
                    SELECT *, row_number() OVER (
                        PARTITION BY batch ORDER BY duration_s DESC, "index", intent_seq) AS rk
                    FROM report_jobs WHERE {IN_BATCHES} AND duration_s IS NOT NULL)
                WHERE rk <= {SLOWEST_N} ORDER BY batch, rk""",
            params,
        ).fetchall()
    )
    failed = _grouped(
        con.execute(
            f"""SELECT batch, "index", name, status, error_type, error_message, n FROM (
                    SELECT *, row_number() OVER (
                               PARTITION BY batch ORDER BY "index", intent_seq) AS rk,
                           count(*) OVER (PARTITION BY batch) AS n
                    FROM report_jobs
                    WHERE {IN_BATCHES} AND status IN {FAILED_STATUSES!r})
                WHERE rk <= {FAILURES_N} ORDER BY batch, rk""",
            params,
        ).fetchall()
    )
    stats = _grouped(
        con.execute(
            f"""SELECT r.batch, m.name, count(m.value), count(*) - count(m.value), min(m.value),
                       quantile_cont(m.value, 0.5), max(m.value)
                FROM metrics AS m JOIN report_jobs AS r ON m.seq = r.outcome_seq
                WHERE r.{IN_BATCHES} GROUP BY r.batch, m.name ORDER BY r.batch, m.name""",
            params,
        ).fetchall()
    )
    return {
        b: _render_markdown(
            b,
            info.get(b, [None])[0],
            counts.get(b, []),
            slow.get(b, []),
            failed.get(b, []),
            stats.get(b, []),
        )
        for b in batches
    }


def _render_markdown(
    batch: str,
    info: tuple[Any, ...] | None,
    status_rows: list[tuple[Any, ...]],
    slow: list[tuple[Any, ...]],
    failed: list[tuple[Any, ...]],
    stats: list[tuple[Any, ...]],
) -> str:
    name, created_at, planned, state = info if info else (None, None, None, "unknown")
    counts = _order_statuses([(str(s), int(n)) for s, n in status_rows])
    total = sum(n for _, n in counts)
    parts = [f"# Batch report: {batch}\n"]
    parts.append(
        f"- name: {name or '-'}\n- created_at: {created_at or '-'}\n"
        f"- jobs: {total} (planned {planned if planned is not None else '-'})\n"
        f"- state: {state}\n"
    )
    parts.append("## Status\n")
    parts.append(markdown_table(["status", "jobs"], counts))
    parts.append(f"## Slowest jobs (top {SLOWEST_N})\n")
    parts.append(
        markdown_table(
            ["index", "name", "status", "duration_s"],
            [(i, n, s, fmt_number(d, 3)) for i, n, s, d in slow],
        )
    )
    n_failed = int(failed[0][-1]) if failed else 0
    parts.append(f"## Failures ({n_failed})\n")
    if failed:
        shown = [(i, n, s, t or "-", _first_line(m)) for i, n, s, t, m, _ in failed]
        parts.append(markdown_table(["index", "name", "status", "error", "message"], shown))
        if n_failed > FAILURES_N:
            parts.append(f"\n... and {n_failed - FAILURES_N} more (see summary.csv)\n")
    else:
        parts.append("None.\n")
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
