"""The sections of a batch's HTML report, each from the projection database (or the batch's
scoreboard file) and each only when its data exists.

A job is counted by its final outcome (``report_jobs``: the latest outcome of each job), so
the distributions and the parameter view show what the batch ended with after any resume;
the durations chart shows every outcome ever recorded (a resumed job appears once per try).
Charts with more points than ``MAX_POINTS`` draw an evenly spaced sample (in job or ledger
order, so the sample is the same on every render) and say so in their caption.
"""

from __future__ import annotations

import csv
import json
import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import projections.charts as charts
from projections.html_page import Section, esc, figure, grid, note, pairs, table
from projections.writers import safe_dir_name

if TYPE_CHECKING:
    import duckdb

MAX_POINTS = 5_000
MAX_PARAM_CHARTS = 12
MAX_CATEGORIES = 20
TOP_SEGMENTS = 10
SCOREBOARD_CSV = "tournament_scoreboard.csv"
CHECK_PREFIXES = ("gate:", "parity:", "beat:")
CHECK_VALUES = frozenset({"pass", "fail", "skipped"})


def _sample(n: int) -> list[int]:
    """Indexes of at most ``MAX_POINTS`` evenly spaced items of ``n`` (all when fewer)."""
    if n <= MAX_POINTS:
        return list(range(n))
    return [i * n // MAX_POINTS for i in range(MAX_POINTS)]


def _sampled_note(n: int) -> str:
    return f" (an evenly spaced sample of {MAX_POINTS:,} of {n:,} shown)" if n > MAX_POINTS else ""


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def metric_values(con: duckdb.DuckDBPyConnection, batch: str) -> dict[str, list[float | None]]:
    """Per metric (by name), its value in each job whose final outcome is ``ok``, in job
    order (None where the value was not finite)."""
    rows = con.execute(
        """SELECT m.name, m.value FROM report_jobs AS r JOIN metrics AS m ON m.seq = r.outcome_seq
           WHERE r.batch = ? AND r.status = 'ok' ORDER BY m.name, r."index", r.intent_seq""",
        [batch],
    ).fetchall()
    out: dict[str, list[float | None]] = {}
    for name, value in rows:
        out.setdefault(str(name), []).append(float(value) if _finite(value) else None)
    return out


def distributions(batch: str, values: dict[str, list[float | None]]) -> Section | None:
    """One histogram per metric of the final ok outcomes."""
    if not values:
        return None
    parts = []
    empty = []
    for i, (metric, column) in enumerate(values.items()):
        finite = [v for v in column if v is not None]
        nulls = len(column) - len(finite)
        caption = (
            f"Distribution of {metric} over the {len(finite)} jobs of {batch} whose final "
            f"outcome is ok"
        )
        caption += f"; {nulls} null (non-finite) values not drawn." if nulls else "."
        if finite:
            svg = charts.histogram(f"hist{i}", metric, finite)
            parts.append(figure(f"histogram:{metric}", svg, caption))
        else:
            empty.append(note(f"{metric}: no finite value ({nulls} null)."))
    return Section("metrics", "Metric distributions", grid(parts) + "".join(empty))


def objective_of(
    con: duckdb.DuckDBPyConnection, batch: str, values: dict[str, list[float | None]]
) -> str | None:
    """The metric to rank by: the manifest's ``objective`` (``{metric: ...}`` or a name) when
    the batch measured it, else the metric with a finite value in the most jobs (ties: by
    name)."""
    row = con.execute(
        """SELECT arg_min(data, seq) FROM events WHERE batch = ? AND type = 'batch.started'""",
        [batch],
    ).fetchone()
    manifest = (json.loads(row[0]).get("manifest") or {}) if row and row[0] else {}
    objective = manifest.get("objective") if isinstance(manifest, dict) else None
    if isinstance(objective, dict):
        objective = objective.get("metric")
    counts = {name: sum(v is not None for v in column) for name, column in values.items()}
    measured = sorted((n for n in counts if counts[n]), key=lambda n: (-counts[n], n))
    if isinstance(objective, str) and objective in measured:
        return objective
    return measured[0] if measured else None


def _param_rows(
    con: duckdb.DuckDBPyConnection, batch: str, metric: str
) -> list[tuple[dict[str, Any], float]]:
    rows = con.execute(
        """SELECT CAST(i.params AS VARCHAR), o.metrics[$metric]
           FROM report_jobs AS r JOIN intents AS i ON i.seq = r.intent_seq
           JOIN outcomes AS o ON o.seq = r.outcome_seq
           WHERE r.batch = $batch AND r.status = 'ok' ORDER BY r."index", r.intent_seq""",
        {"batch": batch, "metric": metric},
    ).fetchall()
    out = []
    for params, value in rows:
        parsed = json.loads(params) if params else {}
        if _finite(value) and isinstance(parsed, dict):
            out.append((parsed, float(value)))
    return out


def _category(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def param_views(con: duckdb.DuckDBPyConnection, batch: str, metric: str | None) -> Section | None:
    """One scatter per parameter that varies across the ok jobs, against ``metric``.

    Numeric parameters are drawn on a number line; others as categories (sorted) when there
    are at most ``MAX_CATEGORIES`` of them (more is an identifier, such as a user name, not a
    swept axis).
    """
    if metric is None:
        return None
    rows = _param_rows(con, batch, metric)
    names = sorted({k for params, _ in rows for k in params})
    parts: list[str] = []
    skipped: list[str] = []
    for name in names:
        points = [(p[name], y) for p, y in rows if name in p]
        distinct = {json.dumps(x, sort_keys=True) for x, _ in points}
        if len(distinct) < 2:
            continue
        numeric = all(_finite(x) for x, _ in points)
        categories = None if numeric else sorted({_category(x) for x, _ in points})
        if (categories is not None and len(categories) > MAX_CATEGORIES) or (
            len(parts) >= MAX_PARAM_CHARTS
        ):
            skipped.append(name)
            continue
        picked = [points[i] for i in _sample(len(points))]
        xs = [x if numeric else _category(x) for x, _ in picked]
        svg = charts.param_scatter(
            f"param{len(parts)}", name, metric, xs, [y for _, y in picked], categories
        )
        caption = (
            f"{metric} of each ok job against its parameter {name} "
            f"({len(points)} jobs){_sampled_note(len(points))}."
        )
        parts.append(figure(f"param:{name}", svg, caption))
    if not parts:
        return None
    body = note(f"Objective: {metric} (the manifest's objective, else the most measured metric).")
    body += grid(parts)
    if skipped:
        body += note(f"Not drawn: {', '.join(skipped)} (too many distinct values or charts).")
    return Section("params", f"Parameters vs {metric}", body)


def _seconds_between(start: str, ts: str) -> float:
    return (datetime.fromisoformat(ts) - datetime.fromisoformat(start)).total_seconds()


def durations(con: duckdb.DuckDBPyConnection, batch: str) -> Section | None:
    """Every outcome of the batch's jobs (sub-steps left out, as ``report_jobs`` does): when
    it was recorded against how long its job ran."""
    rows = con.execute(
        """SELECT CAST(ts AS VARCHAR), duration_s, status FROM outcomes
           WHERE batch = $batch AND duration_s IS NOT NULL
                 AND kind IN (SELECT kind FROM report_jobs WHERE batch = $batch)
           ORDER BY seq""",
        {"batch": batch},
    ).fetchall()
    first = con.execute(
        "SELECT CAST(ts AS VARCHAR) FROM events WHERE batch = ? ORDER BY seq LIMIT 1", [batch]
    ).fetchone()
    if first is None or not any(d for _, d, _ in rows):
        return None  # no outcome, or none took measurable time (ingested run roots)
    picked = [rows[i] for i in _sample(len(rows))]
    start = str(first[0])
    svg = charts.durations(
        "durations",
        [_seconds_between(start, str(ts)) for ts, _, _ in picked],
        [float(d) for _, d, _ in picked],
        [str(s) for _, _, s in picked],
    )
    caption = (
        f"Each of the {len(rows)} outcomes of {batch} at the time it was recorded (seconds "
        f"after the batch's first event, {start}) against its job's duration, coloured by "
        f"status{_sampled_note(len(rows))}."
    )
    return Section("durations", "Job durations over time", figure("durations", svg, caption))


def leaderboard(con: duckdb.DuckDBPyConnection, batch: str) -> Section | None:
    """The top segments of the batch's hypothesis leaderboard, by the first weighted metric
    that has values."""
    import projections.leaderboard_docs as leaderboard_docs

    segments = leaderboard_docs.segments_from_table(con, batch)
    if not segments:
        return None
    lists = leaderboard_docs.top_lists(segments, TOP_SEGMENTS)
    by_key = {s["segment_key"]: s for s in segments}
    metric = next((m for m in leaderboard_docs.WEIGHTED_METRICS if lists[m]), None)
    parts = [note(f"{len(segments)} segments; the full leaderboard: hypothesis_leaderboard.md.")]
    if metric is not None:
        keys = lists[metric]
        svg = charts.ranked_bars("leaderboard", keys, [by_key[k][metric] for k in keys], metric)
        caption = f"The top {len(keys)} segments of {batch} by {metric} (ties by segment key)."
        parts.append(figure(f"leaderboard:{metric}", svg, caption))
    keys = lists[metric] if metric is not None else lists["persistence"]
    header = ["segment_key", "users", *leaderboard_docs.WEIGHTED_METRICS]
    rows = [[k, by_key[k]["users_with_segment"], *(by_key[k][m] for m in header[2:])] for k in keys]
    parts.append(table(header, rows))
    return Section("leaderboard", "Leaderboard: top segments", "".join(parts))


def _check_columns(header: list[str], rows: list[dict[str, str]]) -> list[str]:
    """The columns holding a check's result: named ``gate:``/``parity:``/``beat:`` or ending in
    ``_pass``, or whose every non-empty value is pass/fail/skipped."""
    out = []
    for name in header:
        values = {row.get(name) or "" for row in rows} - {""}
        named = name.startswith(CHECK_PREFIXES) or name.endswith("_pass")
        if (named and values <= CHECK_VALUES | {"true", "false"}) or (
            values and values <= CHECK_VALUES
        ):
            out.append(name)
    return out


def _tally(values: list[str]) -> dict[str, int]:
    """pass/fail/skipped counts; ``true``/``false`` (a ``*_pass`` column) count as pass/fail."""
    counts = {"pass": 0, "fail": 0, "skipped": 0}
    for value in values:
        key = {"true": "pass", "false": "fail"}.get(value, value)
        if key in counts:
            counts[key] += 1
    return counts


def scoreboard(root: Path, batch: str) -> Section | None:
    """The pass rate of each check in ``scoreboard/<batch>/tournament_scoreboard.csv``."""
    path = root / "scoreboard" / safe_dir_name(batch) / SCOREBOARD_CSV
    if not path.is_file():
        return None
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    checks = _check_columns(header, rows)
    if not checks:
        return None
    counts = [_tally([row.get(c) or "" for row in rows]) for c in checks]
    svg = charts.check_rates("scoreboard", checks, counts)
    candidates = sum(1 for row in rows if row.get("candidate") == "true")
    caption = (
        f"Share of the {len(rows)} rows of scoreboard/{safe_dir_name(batch)}/{SCOREBOARD_CSV} "
        "that pass, fail or skip each check."
    )
    table_rows = []
    for check, tally in zip(checks, counts, strict=True):
        judged = tally["pass"] + tally["fail"]
        rate = tally["pass"] / judged if judged else None
        table_rows.append([check, tally["pass"], tally["fail"], tally["skipped"], rate])
    body = note(f"{len(rows)} rows, {candidates} candidates (pass every check).")
    body += figure("scoreboard", svg, caption)
    body += table(["check", "pass", "fail", "skipped", "pass rate (of judged)"], table_rows)
    return Section("scoreboard", "Scoreboard: check pass rates", body)


def overview(
    con: duckdb.DuckDBPyConnection, batch: str, anchor: tuple[int, str] | None
) -> Section | None:
    """The batch's identity and its jobs' final statuses."""
    info = con.execute(
        """SELECT name, created_at, state, jobs, executor, workers, resumed
           FROM batches WHERE batch = ?""",
        [batch],
    ).fetchone()
    if info is None:
        return None
    counts = con.execute(
        """SELECT status, count(*) FROM report_jobs WHERE batch = ?
           GROUP BY status ORDER BY count(*) DESC, status""",
        [batch],
    ).fetchall()
    name, created_at, state, planned, executor, workers, resumed = info
    rows: list[tuple[str, Any]] = [
        ("batch", batch),
        ("name", name),
        ("state", state),
        ("started at", created_at),
        ("jobs planned", planned),
        ("executor", f"{executor or '-'} x {workers if workers is not None else '-'}"),
        ("resumed", resumed),
    ]
    rows += [(f"final {status}", int(n)) for status, n in counts]
    if anchor is not None:
        rows.append(("last event", f"{anchor[0]}:{anchor[1]}"))
    body = pairs(rows)
    body += note("Final: each job counted once, by its latest outcome (see report.md).")
    return Section("overview", "Overview", body)


def anchor_html(seq: int, digest: str, what: str) -> str:
    """The page's provenance line."""
    return (
        f"Built from the ledger up to event <code>{seq}:{esc(digest)}</code> ({esc(what)}); "
        f"<code>sweepledger verify --anchor {seq}:{esc(digest)}</code> proves the ledger still "
        "holds it."
    )
