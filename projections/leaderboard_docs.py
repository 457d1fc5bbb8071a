"""The leaderboard's documents: the JSON envelope, per-user results, manifest and Markdown."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from projections.leaderboard_render import MANIFEST_ITEM, MD_ROW, USER_ITEM
from projections.scope import IN_BATCHES
from projections.writers import (
    BackgroundWrites,
    JsonLines,
    fmt_number,
    json_text,
    markdown_table,
    safe_dir_name,
    write_atomic,
)

if TYPE_CHECKING:
    import duckdb

WEIGHTED_METRICS: tuple[str, ...] = (
    "notional_weighted_avg_clv_pct",
    "notional_weighted_beat_close_rate",
    "count_weighted_avg_clv_pct",
    "count_weighted_beat_close_rate",
)
FILES = {
    "hypothesis_leaderboard_json": "hypothesis_leaderboard.json",
    "hypothesis_leaderboard_md": "hypothesis_leaderboard.md",
    "per_user_results_json": "per_user_results.json",
    "batch_manifest_json": "batch_manifest.json",
}


PER_USER = f"""
SELECT u.batch, u.status, {USER_ITEM}, {MANIFEST_ITEM}, {MD_ROW}
FROM leaderboard_users AS u
WHERE u.{IN_BATCHES} ORDER BY u.batch, u."index", u.outcome_seq
"""


@dataclass(frozen=True)
class UserLines:
    """The users of a batch, rendered: statuses, JSON objects, manifest entries, Markdown rows."""

    statuses: list[str]
    results: JsonLines
    manifest: JsonLines
    markdown: list[str]


def users_by_batch(con: duckdb.DuckDBPyConnection, batches: list[str]) -> dict[str, UserLines]:
    """The users (scan jobs) of each of ``batches`` in manifest order, rendered by DuckDB in
    one query (a batch without users is left out)."""
    cols = con.execute(PER_USER, {"batches": batches}).fetchnumpy()
    owner, statuses, results, manifest, md = (cols[k].tolist() for k in cols)
    out: dict[str, UserLines] = {}
    start = 0
    for end in range(1, len(owner) + 1):
        if end == len(owner) or owner[end] != owner[start]:
            out[owner[start]] = UserLines(
                statuses[start:end],
                JsonLines(results[start:end]),
                JsonLines(manifest[start:end]),
                md[start:end],
            )
            start = end
    return out


def user_lines(con: duckdb.DuckDBPyConnection, batch: str) -> UserLines:
    """The users (scan jobs) of ``batch`` in manifest order, rendered by DuckDB."""
    found = users_by_batch(con, [batch]).get(batch)
    return found or UserLines([], JsonLines(), JsonLines(), [])


def per_user(con: duckdb.DuckDBPyConnection, batch: str) -> list[dict[str, Any]]:
    """One object per user (scan job) of ``batch``, in manifest order."""
    return [json.loads(line) for line in user_lines(con, batch).results]


def top_lists(segments: list[dict[str, Any]], top: int) -> dict[str, list[str]]:
    """Segment keys by each weighted metric (desc, then key; nulls left out) and persistence."""
    lists: dict[str, list[str]] = {}
    for metric in WEIGHTED_METRICS:
        ranked = sorted(
            (s for s in segments if s[metric] is not None),
            key=lambda s: (-s[metric], s["segment_key"]),
        )
        lists[metric] = [s["segment_key"] for s in ranked[:top]]
    persistent = sorted(segments, key=lambda s: (-s["users_with_segment"], s["segment_key"]))
    lists["persistence"] = [s["segment_key"] for s in persistent[:top]]
    return lists


def _inputs_of(data: str | None) -> dict[str, Any]:
    if data is None:
        return {}
    started = json.loads(data)
    manifest = started.get("manifest") or {}
    return {
        "name": started.get("name"),
        "users_file": manifest.get("users_file"),
        "manifest_sha256": started.get("manifest_sha256"),
        "argv": started.get("argv", []),
        "settings": started.get("settings", {}),
        "sources": started.get("sources", []),
    }


def inputs_by_batch(
    con: duckdb.DuckDBPyConnection, batches: list[str]
) -> dict[str, dict[str, Any]]:
    """The ``inputs`` object of each of ``batches`` (from its first ``batch.started``)."""
    rows = con.execute(
        f"""SELECT batch, arg_min(data, seq) FROM events
            WHERE type = 'batch.started' AND {IN_BATCHES} GROUP BY batch""",
        {"batches": batches},
    ).fetchall()
    found = {str(batch): _inputs_of(data) for batch, data in rows}
    return {batch: found.get(batch, {}) for batch in batches}


def document(
    con: duckdb.DuckDBPyConnection,
    batch: str,
    segments: list[dict[str, Any]],
    top: int,
    users: UserLines | None = None,
    inputs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``hypothesis_leaderboard.json`` object of ``batch``.

    With ``users`` (rendered by ``user_lines``), ``per_user`` holds them as pre-rendered JSON
    lines (for the writers); without, parsed objects. ``inputs``: from ``inputs_by_batch``.
    """
    row = con.execute("SELECT created_at FROM batches WHERE batch = ?", [batch]).fetchone()
    statuses = users.statuses if users is not None else None
    per: Any
    if users is None:
        per = per_user(con, batch)
        statuses = [u["status"] for u in per]
    else:
        per = users.results
    assert statuses is not None
    attempted = sum(1 for s in statuses if s != "missing")
    succeeded = sum(1 for s in statuses if s == "ok")
    return {
        "batch_id": batch,
        "created_at": row[0] if row else None,
        "attempted": attempted,
        "succeeded": succeeded,
        "failed": attempted - succeeded,
        "inputs": inputs_by_batch(con, [batch])[batch] if inputs is None else inputs,
        "per_user": per,
        "segments": segments,
        "top_lists": top_lists(segments, top),
    }


def markdown(doc: dict[str, Any], top: int, user_rows: list[str] | None = None) -> str:
    """``hypothesis_leaderboard.md``: top lists, segment table, robust CLV stats, users.

    ``user_rows``: the Users table rows already rendered (``UserLines.markdown``).
    """
    by_key = {s["segment_key"]: s for s in doc["segments"]}
    rows: list[tuple[Any, ...]]
    parts = [f"# Hypothesis leaderboard: {doc['batch_id']}\n"]
    parts.append(
        f"- created_at: {doc['created_at'] or '-'}\n- users: {doc['attempted']} attempted, "
        f"{doc['succeeded']} succeeded, {doc['failed']} failed\n"
        f"- segments: {len(doc['segments'])}\n"
    )
    for metric in WEIGHTED_METRICS:
        parts.append(f"## Top by {metric} (top {top})\n")
        rows = [
            (rank, key, fmt_number(by_key[key][metric]), by_key[key]["users_with_segment"])
            for rank, key in enumerate(doc["top_lists"][metric], 1)
        ]
        parts.append(
            markdown_table(["rank", "segment_key", metric, "users"], rows) if rows else "None.\n"
        )
    parts.append(f"## Persistence (top {top})\n")
    rows = [
        (rank, key, by_key[key]["users_with_segment"])
        for rank, key in enumerate(doc["top_lists"]["persistence"], 1)
    ]
    parts.append(
        markdown_table(["rank", "segment_key", "users_with_segment"], rows) if rows else "None.\n"
    )
    parts.append("## Robust CLV stats (per-user avg_clv_pct)\n")
    rows = [
        (
            s["segment_key"],
            s["users_with_segment"],
            fmt_number(s["robust_avg_clv_pct"]["median"]),
            fmt_number(s["robust_avg_clv_pct"]["p25"]),
            fmt_number(s["robust_avg_clv_pct"]["p75"]),
            fmt_number(s["robust_avg_clv_pct"]["iqr"]),
        )
        for s in doc["segments"]
    ]
    header = ["segment_key", "users", "median", "p25", "p75", "IQR"]
    parts.append(markdown_table(header, rows) if rows else "None.\n")
    parts.append("## Segments\n")
    rows = [
        (
            s["segment_key"],
            s["users_with_segment"],
            fmt_number(s["total_count"]),
            fmt_number(s["total_notional_weight_used"]),
            *(fmt_number(s[m]) for m in WEIGHTED_METRICS),
        )
        for s in doc["segments"]
    ]
    header = [
        "segment_key",
        "users",
        "total_count",
        "total_notional_weight_used",
        *WEIGHTED_METRICS,
    ]
    parts.append(markdown_table(header, rows) if rows else "None.\n")
    parts.append("## Users\n")
    header = ["index", "user", "status", "candidates", "run_root"]
    if user_rows is None:
        rows = [
            (u["index"], u["user"], u["status"], u["coverage"]["candidates"], u["run_root"] or "-")
            for u in doc["per_user"]
        ]
        parts.append(markdown_table(header, rows))
    else:
        parts.append(markdown_table(header, []) + "".join(r + "\n" for r in user_rows))
    return "\n".join(parts)


def batch_folder(root: Path, batch: str) -> Path:
    """``<root>/batches/<batch>`` (batch ids that are not plain names are sanitized)."""
    return root / "batches" / safe_dir_name(batch)


def write_batch(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    batch: str,
    segments: list[dict[str, Any]],
    top: int,
    users: UserLines | None = None,
    writes: BackgroundWrites | None = None,
    inputs: dict[str, Any] | None = None,
) -> list[Path]:
    """Write the four leaderboard files of ``batch`` (``users``: its ``user_lines``;
    ``writes``: write them in the background; ``inputs``: from ``inputs_by_batch``)."""
    folder = batch_folder(root, batch)
    if users is None:
        users = user_lines(con, batch)
    doc = document(con, batch, segments, top, users, inputs)
    relative = {k: (folder / v).relative_to(root).as_posix() for k, v in FILES.items()}
    manifest = {
        "batch_id": batch,
        "created_at": doc["created_at"],
        "outputs": relative,
        "users": users.manifest,
    }
    results = {"batch_id": batch, "created_at": doc["created_at"], "users": users.results}
    write = writes.write if writes is not None else write_atomic
    return [
        write(folder / FILES["hypothesis_leaderboard_json"], json_text(doc)),
        write(folder / FILES["hypothesis_leaderboard_md"], markdown(doc, top, users.markdown)),
        write(folder / FILES["per_user_results_json"], json_text(results)),
        write(folder / FILES["batch_manifest_json"], json_text(manifest)),
    ]


def segments_from_table(con: duckdb.DuckDBPyConnection, batch: str) -> list[dict[str, Any]]:
    """The stored ``leaderboard_segments`` rows of ``batch`` as segment objects."""
    rows = con.execute(
        "SELECT * EXCLUDE (batch) FROM leaderboard_segments WHERE batch = ? ORDER BY segment_key",
        [batch],
    ).fetchall()
    out = []
    for key, users, total, notional, nac, nbc, cac, cbc, med, p25, p75, iqr, ex in rows:
        out.append(
            {
                "segment_key": key,
                "users_with_segment": users,
                "total_count": int(total) if float(total).is_integer() else total,
                "total_notional_weight_used": notional,
                "notional_weighted_avg_clv_pct": nac,
                "notional_weighted_beat_close_rate": nbc,
                "count_weighted_avg_clv_pct": cac,
                "count_weighted_beat_close_rate": cbc,
                "robust_avg_clv_pct": {"median": med, "p25": p25, "p75": p75, "iqr": iqr},
                "examples": json.loads(ex),
            }
        )
    out.sort(key=lambda s: s["segment_key"])
    return out
