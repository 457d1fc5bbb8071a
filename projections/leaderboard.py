"""The ``leaderboard`` projection (seed 000): hypothesis segments combined across users.

Per batch with scan outcomes: the latest ok outcome of each user contributes its
``result.hypothesis_candidates`` entries. Per segment, notional-weighted combines use entries
with ``weighting="notional"`` and ``weight_used > 0``, count-weighted ones ``weighting="count"``
and ``count_used > 0``, each ``sum(v*w)/sum(w)`` over the entries whose value is not null.
Every float sum is exact (``math.fsum``), so no thread count or row order can change a bit.
"""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import projections.leaderboard_docs as leaderboard_docs
from projections.leaderboard_sql import (
    COMMENTS,
    CONTRIBUTIONS,
    DDL,
    PARSE_SCANS,
    REFRESH_ENTRIES,
    REFRESH_USERS,
    SEGMENT_FACTS,
    TABLES,
)
from projections.scope import set_scope
from projections.writers import BackgroundWrites

if TYPE_CHECKING:
    import duckdb
    import numpy as np

NAME = "leaderboard"
DEFAULT_TOP = 20
__all__ = ["COMMENTS", "DDL", "NAME", "TABLES", "compute_segments", "update"]


def _group_fsums(
    groups: np.ndarray, values: np.ndarray, mask: np.ndarray, n_groups: int
) -> list[float | None]:
    """Exact sum of ``values[mask]`` per group (groups sorted); None for an empty group."""
    import numpy as np

    keep = mask & ~np.isnan(values)
    picked_groups = groups[keep]
    picked = values[keep].tolist()
    ids = np.arange(n_groups)
    starts = np.searchsorted(picked_groups, ids, "left").tolist()
    ends = np.searchsorted(picked_groups, ids, "right").tolist()
    return [math.fsum(picked[a:b]) if b > a else None for a, b in zip(starts, ends, strict=True)]


def _ratio(num: float | None, den: float | None) -> float | None:
    return num / den if num is not None and den is not None and den > 0 else None


def _quantile(point: dict[str, Any] | None) -> float | None:
    if point is None or point["lo"] is None:
        return None
    lo, hi, frac = float(point["lo"]), float(point["hi"]), float(point["frac"])
    return lo if frac == 0 else lo + (hi - lo) * frac


def segment_inputs(con: duckdb.DuckDBPyConnection, batches: list[str]) -> tuple[list[Any], Any]:
    """What ``combine_segments`` needs from ``leaderboard_entries`` for ``batches``: per
    segment its facts (one row each, by batch and segment_key) and its contributions (an
    Arrow table, in the same order)."""
    facts = con.execute(SEGMENT_FACTS, {"batches": batches}).fetchall()
    # con.sql, not con.execute: DuckDB 2.0's DB-API Arrow fetch can lose ORDER BY across
    # chunks when preserve_insertion_order is off.
    table: Any = con.sql(CONTRIBUTIONS, params={"batches": batches}).to_arrow_table()
    return facts, table


def segments_by_batch(
    con: duckdb.DuckDBPyConnection, batches: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """Aggregate the segments of each of ``batches`` from ``leaderboard_entries``, in
    segment_key order; batches without entries left out."""
    return combine_segments(*segment_inputs(con, batches))


def combine_segments(facts: list[Any], table: Any) -> dict[str, list[dict[str, Any]]]:
    """The segment objects per batch from ``segment_inputs`` (pure Python and numpy: it runs
    beside DuckDB's next query)."""
    import numpy as np

    sizes = [int(f[5]) for f in facts]
    if sum(sizes) != table.num_rows:
        raise AssertionError("leaderboard facts and contributions disagree")
    n = len(facts)
    groups = np.repeat(np.arange(n, dtype=np.int64), sizes)

    def col(name: str) -> np.ndarray:
        return np.asarray(table[name].to_numpy(zero_copy_only=False), dtype=np.float64)

    def flag(name: str) -> np.ndarray:
        return np.asarray(table[name].fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)

    w, c = col("weight_used"), col("count_used")
    notional, counted = flag("notional"), flag("counted")
    sums = {
        "total_count": _group_fsums(groups, c, np.ones(len(c), dtype=bool), n),
        "total_notional_weight_used": _group_fsums(groups, w, notional, n),
    }
    for metric in ("avg_clv_pct", "beat_close_rate"):
        v = col(metric)
        has = ~np.isnan(v)
        for mode, mask, weight in (("notional", notional, w), ("count", counted, c)):
            num = _group_fsums(groups, v * weight, mask & has, n)
            den = _group_fsums(groups, weight, mask & has, n)
            sums[f"{mode}_weighted_{metric}"] = [
                _ratio(a, b) for a, b in zip(num, den, strict=True)
            ]
    out: dict[str, list[dict[str, Any]]] = {}
    for i, (batch, key, users, points, examples, _) in enumerate(facts):
        p25, median, p75 = (_quantile(p) for p in (points or [None, None, None]))
        total_count = sums["total_count"][i]
        out.setdefault(batch, []).append(
            {
                "segment_key": key,
                "users_with_segment": int(users),
                "total_count": _integral(total_count if total_count is not None else 0.0),
                "total_notional_weight_used": sums["total_notional_weight_used"][i] or 0.0,
                "notional_weighted_avg_clv_pct": sums["notional_weighted_avg_clv_pct"][i],
                "notional_weighted_beat_close_rate": sums["notional_weighted_beat_close_rate"][i],
                "count_weighted_avg_clv_pct": sums["count_weighted_avg_clv_pct"][i],
                "count_weighted_beat_close_rate": sums["count_weighted_beat_close_rate"][i],
                "robust_avg_clv_pct": {
                    "median": median,
                    "p25": p25,
                    "p75": p75,
                    "iqr": None if p25 is None or p75 is None else p75 - p25,
                },
                "examples": _flatten_examples(examples),
            }
        )
    for segments in out.values():
        segments.sort(key=lambda s: s["segment_key"])
    return out


def compute_segments(con: duckdb.DuckDBPyConnection, batch: str) -> list[dict[str, Any]]:
    """Aggregate the segments of ``batch`` from ``leaderboard_entries``, in segment_key order."""
    return segments_by_batch(con, [batch]).get(batch, [])


def _integral(value: float) -> float | int:
    return int(value) if value.is_integer() else value


def _flatten_examples(lists: list[str] | None, limit: int = 3) -> list[Any]:
    out: list[Any] = []
    for text in lists or []:
        items = json.loads(text)
        out.extend(items if isinstance(items, list) else [items])
        if len(out) >= limit:
            break
    return out[:limit]


def _store_segments(
    con: duckdb.DuckDBPyConnection, segments: list[tuple[str, dict[str, Any]]]
) -> None:
    """Insert (batch, segment) pairs into ``leaderboard_segments`` (cleared by the caller)."""
    rows = [
        [
            batch,
            s["segment_key"],
            s["users_with_segment"],
            float(s["total_count"]),
            s["total_notional_weight_used"],
            s["notional_weighted_avg_clv_pct"],
            s["notional_weighted_beat_close_rate"],
            s["count_weighted_avg_clv_pct"],
            s["count_weighted_beat_close_rate"],
            s["robust_avg_clv_pct"]["median"],
            s["robust_avg_clv_pct"]["p25"],
            s["robust_avg_clv_pct"]["p75"],
            s["robust_avg_clv_pct"]["iqr"],
            json.dumps(s["examples"], sort_keys=True),
        ]
        for batch, s in segments
    ]
    if rows:
        import pyarrow as pa

        names = [f"c{i}" for i in range(len(rows[0]))]
        staged = pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in rows])
        con.register("_segments", staged)
        try:
            con.execute("INSERT INTO leaderboard_segments SELECT * FROM _segments")
        finally:
            con.unregister("_segments")


def update(con: duckdb.DuckDBPyConnection, root: Path, batches: list[str] | None) -> list[Path]:
    """Recompute the leaderboard tables for ``batches`` (None: all) and write their files."""
    scope = set_scope(con, batches)
    con.execute("DELETE FROM leaderboard_segments WHERE batch IN (SELECT batch FROM _scope)")
    con.execute(PARSE_SCANS)
    con.execute(REFRESH_USERS)
    con.execute(REFRESH_ENTRIES)
    con.execute("DROP TABLE _scan")
    have = {r[0] for r in con.execute("SELECT DISTINCT batch FROM leaderboard_users").fetchall()}
    chosen = [b for b in scope if b in have]
    if not chosen:  # e.g. a catch-up of trial batches only
        return []
    facts, contributions = segment_inputs(con, chosen)
    with ThreadPoolExecutor(max_workers=1) as pool:  # Python sums beside DuckDB's rendering
        combined = pool.submit(combine_segments, facts, contributions)
        users = leaderboard_docs.users_by_batch(con, chosen)
        segments = combined.result()
    _store_segments(con, [(b, s) for b in chosen for s in segments.get(b, [])])
    inputs = leaderboard_docs.inputs_by_batch(con, chosen)
    written: list[Path] = []
    with BackgroundWrites() as writes:
        for batch in chosen:
            written.extend(
                leaderboard_docs.write_batch(
                    con,
                    root,
                    batch,
                    segments.get(batch, []),
                    DEFAULT_TOP,
                    users.get(batch),
                    writes,
                    inputs[batch],
                )
            )
    return written
