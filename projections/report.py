"""The ``report`` projection (seed 003): per batch, one row per job and a Markdown summary.

``batches/<batch>/summary.csv``: one row per job in manifest order: index, name, job_id,
status, duration_s, then every param (sorted names; ``param.<name>`` if a name is taken), every
metric (sorted; ``metric.<name>`` if taken), error_type. A value recorded as null (a metric
that was NaN or Infinity, a null param) is written ``null``; a cell is empty only when the job
has no such value. A job's row is its latest intent and the latest outcome answering any intent
of that index; ``missing`` when none has. Only intents of the batch's job kind count (not its
jobs' sub-steps, e.g. ``optimize`` of ``trial``).
``batches/<batch>/report.md``: counts by status, the jobs ranked by the manifest's
``objective`` (``projections.report_ranking``), the slowest jobs, failures with their messages,
and min/median/max per metric.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from projections.comments import Comments
from projections.report_ranking import NO_OBJECTIVE, Objective, objectives, ranking_section
from projections.scope import IN_BATCHES, set_scope
from projections.tables import ZSTD, json_pointer
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
LAST_COLUMN = "error_type"
NULL_TEXT = "null"

DDL: tuple[str, ...] = (
    f"""CREATE TABLE IF NOT EXISTS report_jobs (
        batch VARCHAR, "index" BIGINT, name VARCHAR {ZSTD}, job_id VARCHAR {ZSTD}, kind VARCHAR,
        intent_seq BIGINT, outcome_seq BIGINT, status VARCHAR, duration_s DOUBLE,
        error_type VARCHAR, error_message VARCHAR)""",
)
TABLES: tuple[str, ...] = ("report_jobs",)
COMMENTS: Comments = {
    "report_jobs": (
        "the report projection: one row per job of a batch, its latest intent and outcome",
        {
            "batch": "batch id",
            "index": "the job's position in its manifest",
            "name": "the job's name",
            "job_id": "the job's id",
            "kind": "scan, trial, optimize, simulate or job",
            "intent_seq": "seq of the job's latest intent",
            "outcome_seq": "seq of the latest outcome answering an intent of that index",
            "status": "that outcome's status, or missing",
            "duration_s": "that outcome's duration in seconds",
            "error_type": "that outcome's error type",
            "error_message": "that outcome's error message",
        },
    ),
}

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


def _names_by_batch(
    con: duckdb.DuckDBPyConnection, batches: list[str]
) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Per batch: the sorted param names of its jobs' intents and metric names of their
    outcomes."""
    params = con.execute(
        f"""SELECT DISTINCT r.batch, unnest(json_keys(i.params))
            FROM report_jobs AS r JOIN intents AS i ON i.seq = r.intent_seq
            WHERE r.{IN_BATCHES} AND json_type(i.params) = 'OBJECT'""",
        {"batches": batches},
    ).fetchall()
    metrics = con.execute(
        f"""SELECT DISTINCT r.batch, m.name
            FROM metrics AS m JOIN report_jobs AS r ON m.seq = r.outcome_seq
            WHERE r.{IN_BATCHES}""",
        {"batches": batches},
    ).fetchall()
    found: dict[str, tuple[set[str], set[str]]] = {b: (set(), set()) for b in batches}
    for batch, name in params:
        found[str(batch)][0].add(str(name))
    for batch, name in metrics:
        found[str(batch)][1].add(str(name))
    return {b: (tuple(sorted(p)), tuple(sorted(m))) for b, (p, m) in found.items()}


def _header(params: tuple[str, ...], metrics: tuple[str, ...]) -> list[str]:
    taken = {*FIXED_COLUMNS, LAST_COLUMN}
    param_columns = [f"param.{n}" if n in taken else n for n in params]
    taken |= set(param_columns)
    metric_columns = [f"metric.{n}" if n in taken else n for n in metrics]
    return [*FIXED_COLUMNS, *param_columns, *metric_columns, LAST_COLUMN]


def _param_text(doc: str, path: str) -> str:
    """SQL rendering one param like ``writers.cell``: strings as they are, floats by their
    shortest round-trip text, null as ``null``, other values as compact JSON; NULL when the
    job has no such param."""
    return (
        f"CASE json_type({doc}, {path}) "
        f"WHEN 'VARCHAR' THEN json_extract_string({doc}, {path}) "
        f"WHEN 'DOUBLE' THEN CAST(CAST(json_extract_string({doc}, {path}) AS DOUBLE) AS VARCHAR) "
        f"WHEN 'NULL' THEN '{NULL_TEXT}' "
        f"ELSE CAST(json_extract({doc}, {path}) AS VARCHAR) END"
    )


def _metric_text(path: str) -> str:
    """SQL rendering one metric: ``null`` when recorded as null, NULL when absent."""
    return (
        f"CASE WHEN map_contains(o.metrics, {path}) "
        f"THEN coalesce(CAST(o.metrics[{path}] AS VARCHAR), '{NULL_TEXT}') END"
    )


def summary_csv(con: duckdb.DuckDBPyConnection, batch: str) -> str:
    """The ``summary.csv`` text of ``batch``."""
    return summary_csvs(con, [batch])[batch]


def summary_csvs(con: duckdb.DuckDBPyConnection, batches: list[str]) -> dict[str, str]:
    """The ``summary.csv`` text of each of ``batches``: rows rendered and joined per batch by
    DuckDB (no Python object per row), one query per distinct set of columns."""
    by_names: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}
    for batch, names in _names_by_batch(con, batches).items():
        by_names.setdefault(names, []).append(batch)
    out: dict[str, str] = {}
    for (params, metrics), group in by_names.items():
        cells = [
            csv_cell_sql('r."index"', numeric=True),
            csv_cell_sql("r.name"),
            csv_cell_sql("r.job_id"),
            csv_cell_sql("r.status"),
            csv_cell_sql("r.duration_s", numeric=True),
            *(csv_cell_sql(_param_text("i.params", f"$p{k}")) for k in range(len(params))),
            *(csv_cell_sql(_metric_text(f"$m{k}"), numeric=True) for k in range(len(metrics))),
            csv_cell_sql("r.error_type"),
        ]
        line = " || ',' || ".join(cells)
        values: dict[str, Any] = {
            "batches": group,
            **{f"p{k}": json_pointer(n) for k, n in enumerate(params)},
            **{f"m{k}": n for k, n in enumerate(metrics)},
        }
        rows = con.execute(
            f"""SELECT r.batch, string_agg({line} || chr(10), ''
                                          ORDER BY r."index", r.intent_seq, r.outcome_seq)
                FROM report_jobs AS r LEFT JOIN outcomes AS o ON o.seq = r.outcome_seq
                LEFT JOIN intents AS i ON i.seq = r.intent_seq
                WHERE r.{IN_BATCHES} GROUP BY r.batch""",
            values,
        ).fetchall()
        head = csv_text(_header(params, metrics), [])
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


def report_markdown(
    con: duckdb.DuckDBPyConnection, batch: str, sort_by: Objective | None = None
) -> str:
    """The ``report.md`` text of ``batch``, ranked by ``sort_by`` instead of its objective."""
    return report_markdowns(con, [batch], sort_by)[batch]


def _rankings(
    con: duckdb.DuckDBPyConnection, batches: list[str], sort_by: Objective | None
) -> dict[str, str]:
    chosen = {b: sort_by for b in batches} if sort_by else objectives(con, batches)
    return {
        b: ranking_section(con, b, chosen[b]) if chosen.get(b) else NO_OBJECTIVE for b in batches
    }


def report_markdowns(
    con: duckdb.DuckDBPyConnection, batches: list[str], sort_by: Objective | None = None
) -> dict[str, str]:
    """The ``report.md`` text of each of ``batches`` (one query per section for all but the
    ranking), ranked by ``sort_by`` or else each batch's objective."""
    params = {"batches": batches}
    rankings = _rankings(con, batches, sort_by)
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
            rankings[b],
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
    ranking: str,
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
    parts.append(ranking)
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
