"""The ``pareto`` projection (seed 002): each study's trials and their Pareto frontier.

A study is any batch holding ``trial.outcome`` events, whoever recorded them (``run``,
``study``, ``append --jsonl``). A job's trial is its latest outcome. Its candidate id is
``result.candidate_id``, else ``params.candidate_id`` (its intent's), else its job id; its
``trial_id`` is ``trial_<index, at least 4 digits>_<candidate_id>`` (``trial_<job_id>`` without an
intent). A trial is valid when its status is ``ok`` and ``result.evidence_verified`` is true.
Its metrics are the outcome's, plus ``kill_prob_ci_upper`` computed with the 95% Wilson upper
bound (``projections.stats.wilson_upper``) from ``kills`` / ``total_runs`` when absent.

Objectives come from the batch's manifest (``study.objectives``, metric -> ``max``/``min``,
in order), else maximize ``mean_pnl``, minimize ``kill_prob_ci_upper`` and ``drawdown_cvar``.
A valid trial is on the frontier when no valid trial is at least as good on every objective
and better on one (``projections.dominance.nondominated``: equal points are all on it; a null
objective is never on it and never dominates).

``study_trials`` is a view over the base tables (``pareto_sql``); ``study_frontier`` holds
the seqs on each study's frontier, the one thing an update stores. Files under
``studies/<study>/``: ``pareto.json`` (``study``, ``objectives``, ``frontier``:
``{candidate_id, trial_id, job_id, <objectives>, params}`` by candidate_id then trial_id),
``pareto.csv`` (the same rows, one column per param), ``trials.jsonl`` (every trial, in job
order: index, then seq).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from projections.comments import Comments
from projections.dominance import nondominated
from projections.pareto_sql import (
    FRONTIER_TRIALS,
    KILL_METRIC,
    STUDY_TRIALS_VIEW,
    objective_values,
)
from projections.pareto_trials import TRIALS_FILE, TrialsWriter
from projections.scope import IN_BATCHES, set_scope
from projections.writers import (
    BackgroundWrites,
    csv_text,
    json_text,
    safe_dir_name,
)

if TYPE_CHECKING:
    import duckdb

NAME = "pareto"
STUDIES_DIR = "studies"
DEFAULT_OBJECTIVES: tuple[tuple[str, str], ...] = (
    ("mean_pnl", "max"),
    (KILL_METRIC, "min"),
    ("drawdown_cvar", "min"),
)
FIXED_FIELDS = ("candidate_id", "trial_id", "job_id")

# The frontier is the one thing stored; the trials are a view over the base tables.
DDL: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS study_frontier (batch VARCHAR, seq BIGINT)",
    STUDY_TRIALS_VIEW,
)
TABLES: tuple[str, ...] = ("study_frontier",)
COMMENTS: Comments = {
    "study_frontier": (
        "the pareto projection's stored part: the trials on each study's Pareto front",
        {"batch": "batch id (the study's batch)", "seq": "seq of the trial's latest outcome"},
    ),
    "study_trials": (
        "the pareto projection (a view): one row per trial job of a batch, its latest outcome",
        {
            "batch": "batch id (the study's batch)",
            "seq": "seq of the trial's latest outcome",
            "hash": "hash of that outcome event",
            "index": "the trial's position in its batch",
            "job_id": "the trial's job id",
            "name": "the trial's name",
            "candidate_id": "the candidate it evaluates",
            "trial_id": "the trial's id",
            "status": "the outcome's status",
            "evidence_verified": "its evidence pack verified",
            "valid": "status ok and result.evidence_verified true: may be on the frontier",
            "on_frontier": "on the Pareto front of its study",
            "metrics": "metric name -> value (Wilson bound and CVaR included)",
            "params": "the candidate's params (JSON)",
            "result": "the outcome's result (JSON)",
            "intent_seq": "seq of the trial's intent",
            "seed": "the trial's seed",
        },
    ),
}


def study_objectives(con: duckdb.DuckDBPyConnection, batches: list[str]) -> dict[str, list[Any]]:
    """Each batch's objectives as ``[(metric, direction), ...]``: its first ``batch.started``
    manifest's ``study.objectives``, else the defaults."""
    rows = con.execute(
        f"""SELECT batch, arg_min(data->'manifest'->'study'->'objectives', seq) FROM events
            WHERE type = 'batch.started' AND {IN_BATCHES} GROUP BY batch""",
        {"batches": batches},
    ).fetchall()
    found = {str(b): json.loads(o) for b, o in rows if o is not None}
    out: dict[str, list[Any]] = {}
    for batch in batches:
        named = found.get(batch)
        if isinstance(named, dict) and named and all(d in ("max", "min") for d in named.values()):
            out[batch] = [(str(k), str(v)) for k, v in named.items()]
        else:
            out[batch] = list(DEFAULT_OBJECTIVES)
    return out


def _frontier_seqs(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    batches: list[str],
    objectives: Sequence[tuple[str, str]],
) -> np.ndarray:
    """The seqs of the trials on the frontier of each of ``batches`` (sharing ``objectives``),
    from the objective values ``sql`` selects (``pareto_sql.*_objective_values``)."""
    params: dict[str, Any] = {"batches": batches}
    params.update({f"o{i}": name for i, (name, _) in enumerate(objectives)})
    # A null objective is NaN for ``nondominated``: never on the frontier, never dominating.
    arrays = con.execute(sql, params).fetchnumpy()
    studies = np.asarray(arrays["study"], dtype=np.int32)
    seqs = np.asarray(arrays["seq"], dtype=np.int64)
    values = np.empty((seqs.size, len(objectives)), dtype=np.float64)
    for i in range(len(objectives)):
        values[:, i] = np.asarray(arrays[f"o{i}"], dtype=np.float64)
    maximize = [direction == "max" for _, direction in objectives]
    starts = np.flatnonzero(np.r_[True, studies[1:] != studies[:-1]])
    bounds = [*map(int, starts), seqs.size] if seqs.size else [0]
    fronts = [
        seqs[lo:hi][nondominated(values[lo:hi], maximize)] for lo, hi in itertools.pairwise(bounds)
    ]
    return np.concatenate(fronts) if fronts else seqs[:0]


def _fronts(
    con: duckdb.DuckDBPyConnection, batches: list[str], objectives: dict[str, list[Any]]
) -> np.ndarray:
    """``_frontier_seqs`` of ``batches``, grouped by their objectives."""
    groups: dict[tuple[tuple[str, str], ...], list[str]] = {}
    for batch in batches:
        groups.setdefault(tuple(objectives[batch]), []).append(batch)
    fronts = [
        _frontier_seqs(con, objective_values(len(o)), group, o) for o, group in groups.items()
    ]
    return np.concatenate(fronts) if fronts else np.zeros(0, dtype=np.int64)


def frontier_document(
    con: duckdb.DuckDBPyConnection, batch: str, objectives: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    """The ``pareto.json`` object of ``batch`` (its frontier rows read back from the table)."""
    params: dict[str, Any] = {"batch": batch}
    params.update({f"o{i}": name for i, (name, _) in enumerate(objectives)})
    columns = "".join(f", metrics[$o{i}]" for i in range(len(objectives)))
    rows = con.execute(
        f"""SELECT candidate_id, trial_id, job_id{columns}, CAST(params AS VARCHAR)
            FROM ({FRONTIER_TRIALS}) ORDER BY candidate_id, trial_id, seq""",
        params,
    ).fetchall()
    frontier = []
    for row in rows:
        item: dict[str, Any] = dict(zip(FIXED_FIELDS, row[:3], strict=True))
        for (name, _), value in zip(objectives, row[3:-1], strict=True):
            item[name] = value
        item["params"] = json.loads(row[-1]) if row[-1] is not None else {}
        frontier.append(item)
    return {
        "study": batch,
        "objectives": [{"name": n, "direction": d} for n, d in objectives],
        "frontier": frontier,
    }


def frontier_csv(doc: dict[str, Any]) -> str:
    """The ``pareto.csv`` text of a ``pareto.json`` object: one column per objective, then
    one per param (``param.<name>`` when a param is named like another column)."""
    objective_names = [o["name"] for o in doc["objectives"]]
    taken = {*FIXED_FIELDS, *objective_names}
    param_names = sorted({k for row in doc["frontier"] for k in row["params"]})
    header = [*FIXED_FIELDS, *objective_names]
    header += [f"param.{p}" if p in taken else p for p in param_names]
    rows = [
        [row[f] for f in FIXED_FIELDS]
        + [row[n] for n in objective_names]
        + [row["params"].get(p) for p in param_names]
        for row in doc["frontier"]
    ]
    return csv_text(header, rows)


def update(con: duckdb.DuckDBPyConnection, root: Path, batches: list[str] | None) -> list[Path]:
    """Bring ``study_frontier`` up to date for ``batches`` (None: all) and write their files.

    A batch's trials are the ``study_trials`` view, always current: an update computes each
    batch's frontier whole and replaces its rows, so a catch-up leaves what a full rebuild
    would, and every file is rendered again.
    """
    scope = set_scope(con, batches)
    have = {
        r[0]
        for r in con.execute(
            """SELECT DISTINCT batch FROM outcomes
               WHERE type = 'trial.outcome' AND batch IN (SELECT batch FROM _scope)"""
        ).fetchall()
    }
    chosen = [b for b in scope if b in have]
    if not chosen:
        return []
    folders = {batch: root / STUDIES_DIR / safe_dir_name(batch) for batch in chosen}
    written: list[Path] = []
    # trials.jsonl is rendered from the start, while the frontier is computed (TrialsWriter)
    with BackgroundWrites() as files, TrialsWriter(con, chosen, folders, files) as trials:
        objectives = study_objectives(con, chosen)
        front = _fronts(con, chosen, objectives)
        trials.frontier(front)
        con.execute("DELETE FROM study_frontier WHERE batch IN (SELECT batch FROM _scope)")
        con.execute(
            """INSERT INTO study_frontier SELECT batch, seq FROM outcomes
               WHERE seq IN (SELECT unnest($seqs::BIGINT[])) ORDER BY seq""",
            {"seqs": front.tolist()},
        )
        for batch in chosen:
            doc = frontier_document(con, batch, objectives[batch])
            written.append(files.write(folders[batch] / "pareto.json", json_text(doc)))
            written.append(files.write(folders[batch] / "pareto.csv", frontier_csv(doc)))
            written.append(folders[batch] / TRIALS_FILE)
    return written
