"""The ``scoreboard`` projection (seed 004): a tournament batch's cells judged against gates.

The cells are the batch's jobs whose final outcome (``report_jobs``: the last outcome of each
job index) is ``ok``; a cell's coordinates are its params, its metrics its outcome's. The
rules are exactly those of ``projections/scoreboard_rules.py`` (its docstring is the
specification, its ``evaluate`` the reference a test checks this SQL against), computed in one
DuckDB query: the gates as column comparisons, parity as window aggregates over the cells
grouped by their other coordinates, baselines by a join on the coordinates each baseline has.

The gates file is an input of the command, not of the ledger: ``rebuild`` does not know it.
``sweepledger scoreboard`` brings the database up to date, judges the batch and rewrites
``scoreboard/<batch>/`` every time it runs; the Markdown names the sha256 of the gates used.

``judge`` leaves the judged cells in the temporary table ``_judged`` of its connection (one
row per cell, ``pos`` its place in scoreboard order) and reads from it only what the summary
needs: counts, per-check tallies, the candidates' names, the first candidates shown in the
Markdown. The files' rows are rendered from ``_judged`` by SQL (``scoreboard_files``); a
Python object per cell is built only on request (``judged_cells``, on the same connection).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from projections.errors import GatesUnusable
from projections.scoreboard_rules import FAIL, PASS, SKIPPED, Check
from projections.scoreboard_sql import CheckSpec, judge_params, judge_query

if TYPE_CHECKING:
    import duckdb

    from schemas import Gates

NAME = "scoreboard"
JUDGED = "_judged"  # the temporary table of judged cells
SHOWN_CANDIDATES = 50  # candidates listed in the Markdown


@dataclass(frozen=True)
class Cell:
    """One judged cell, in scoreboard order."""

    index: int
    name: str
    job_id: str
    params: dict[str, Any]
    metrics: dict[str, float | None]
    baseline: bool
    candidate: bool
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class ShownCandidate:
    """A candidate listed in the Markdown: its index, name and coordinates."""

    index: int
    name: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Scoreboard:
    """The judged batch: its check columns and the summary of its cells (counts, tallies,
    candidates); the cells themselves stay in ``_judged`` (``judged_cells``)."""

    batch: str
    specs: tuple[CheckSpec, ...]
    coordinates: tuple[str, ...]
    metric_names: tuple[str, ...]
    missing: dict[str, int]
    allow_missing: bool
    cell_count: int
    baseline_count: int
    candidate_names: tuple[str, ...]
    tallies: tuple[tuple[int, int, int], ...]  # per spec: pass, fail, skipped
    failed_missing: tuple[str, ...]  # metrics whose absence failed a check
    shown_candidates: tuple[ShownCandidate, ...]

    def failed_for_missing(self) -> dict[str, int]:
        """Metrics whose absence failed a check (strict mode), with the cells lacking each."""
        return {m: self.missing.get(m, 0) for m in self.failed_missing}


def _coordinate_names(con: duckdb.DuckDBPyConnection, batch: str) -> list[str]:
    rows = con.execute(
        """SELECT DISTINCT unnest(json_keys(i.params)) AS n
           FROM report_jobs AS r JOIN intents AS i ON i.seq = r.intent_seq
           WHERE r.batch = $batch AND r.status = 'ok' ORDER BY n""",
        {"batch": batch},
    ).fetchall()
    return [str(r[0]) for r in rows]


def _metric_counts(con: duckdb.DuckDBPyConnection, batch: str) -> tuple[int, dict[str, int]]:
    """How many cells there are and how many of them have each metric (non-null)."""
    total = con.execute(
        "SELECT count(*) FROM report_jobs WHERE batch = $batch AND status = 'ok'",
        {"batch": batch},
    ).fetchone()
    rows = con.execute(
        """SELECT m.name, count(m.value) FROM report_jobs AS r
           JOIN metrics AS m ON m.seq = r.outcome_seq
           WHERE r.batch = $batch AND r.status = 'ok' GROUP BY m.name ORDER BY m.name""",
        {"batch": batch},
    ).fetchall()
    return int(total[0]) if total else 0, {str(n): int(c) for n, c in rows}


def judge(
    con: duckdb.DuckDBPyConnection, batch: str, gates: Gates, allow_missing: bool
) -> Scoreboard:
    """Judge the cells of ``batch`` into the temporary table ``_judged`` and summarize them
    (the database must be current).

    Raises:
        GatesUnusable: strict mode and a gated metric that no cell of the batch has.
    """
    total, have = _metric_counts(con, batch)
    if not allow_missing and total:
        required = {m for m, g in gates.gates.items() if g.required}
        required |= {p.metric for p in gates.parity}
        if gates.baselines is not None and gates.baselines.beat is not None:
            required.add(gates.baselines.beat.metric)
        absent = sorted(m for m in required if not have.get(m))
        if absent:
            raise GatesUnusable(
                f"no cell of batch {batch!r} has metric {absent[0]!r} (gated in strict mode; "
                f"the batch's metrics: {', '.join(sorted(have)) or 'none'})"
            )
    names = _coordinate_names(con, batch)
    sql, specs = judge_query(gates, allow_missing, names)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {JUDGED} AS {sql}",
        judge_params(gates, specs, batch, names),
    )
    counts, baselines, candidates, tallies, failed = _summary(con, specs)
    return Scoreboard(
        batch=batch,
        specs=specs,
        coordinates=tuple(names),
        metric_names=tuple(sorted(have)),
        missing={m: total - have.get(m, 0) for m in gates.metrics},
        allow_missing=allow_missing,
        cell_count=counts,
        baseline_count=baselines,
        candidate_names=candidates,
        tallies=tallies,
        failed_missing=tuple(sorted({s.metric for s, f in zip(specs, failed, strict=True) if f})),
        shown_candidates=_shown_candidates(con),
    )


def _summary(
    con: duckdb.DuckDBPyConnection, specs: tuple[CheckSpec, ...]
) -> tuple[int, int, tuple[str, ...], tuple[tuple[int, int, int], ...], tuple[bool, ...]]:
    """Cells, baselines, candidate names in order, per-check tallies and per-check "a missing
    metric failed it", from ``_judged``."""
    columns = ["count(*)", "count(*) FILTER (WHERE baseline)"]
    columns.append("coalesce(list(name ORDER BY pos) FILTER (WHERE candidate), [])")
    for i in range(len(specs)):
        columns += [
            f"count(*) FILTER (WHERE s{i} = '{status}')" for status in (PASS, FAIL, SKIPPED)
        ]
        columns.append(f"coalesce(bool_or(x{i} AND s{i} = '{FAIL}'), false)")
    row = con.execute(f"SELECT {', '.join(columns)} FROM {JUDGED}").fetchone()
    assert row is not None  # an aggregate without GROUP BY always gives one row
    per_check = [row[3 + 4 * i : 7 + 4 * i] for i in range(len(specs))]
    return (
        int(row[0]),
        int(row[1]),
        tuple(str(n) for n in row[2]),
        tuple((int(p), int(f), int(s)) for p, f, s, _ in per_check),
        tuple(bool(c[3]) for c in per_check),
    )


def _shown_candidates(con: duckdb.DuckDBPyConnection) -> tuple[ShownCandidate, ...]:
    rows = con.execute(
        f"""SELECT "index", name, CAST(params AS VARCHAR) FROM {JUDGED}
            WHERE candidate ORDER BY pos LIMIT {SHOWN_CANDIDATES}"""
    ).fetchall()
    return tuple(ShownCandidate(int(i), str(n), json.loads(p)) for i, n, p in rows)


def judged_cells(con: duckdb.DuckDBPyConnection, board: Scoreboard) -> tuple[Cell, ...]:
    """Every cell of ``board`` as an object, in scoreboard order, read from ``_judged`` (so
    ``con`` must be the connection ``judge`` ran on)."""
    checks = "".join(f", s{i}, r{i}, x{i}" for i in range(len(board.specs)))
    rows = con.execute(
        f"""SELECT "index", name, job_id, CAST(params AS VARCHAR), metrics, baseline,
                   candidate{checks} FROM {JUDGED} ORDER BY pos"""
    ).fetchall()
    return tuple(_cell(row, board.specs) for row in rows)


def _cell(row: tuple[Any, ...], specs: tuple[CheckSpec, ...]) -> Cell:
    index, name, job_id, params, metrics, baseline, candidate = row[:7]
    metrics = dict(metrics or {})
    checks = []
    for i, spec in enumerate(specs):
        status, reference, missing = row[7 + 3 * i : 10 + 3 * i]
        if status is None:  # beat on a baseline: not a check of that row
            continue
        check_name = spec.metric if spec.kind == "gate" else spec.name
        value = metrics.get(spec.metric)
        checks.append(Check(check_name, spec.metric, status, value, reference, bool(missing)))
    return Cell(
        index=int(index),
        name=str(name),
        job_id=str(job_id),
        params=json.loads(params),
        metrics=metrics,
        baseline=bool(baseline),
        candidate=bool(candidate),
        checks=tuple(checks),
    )
