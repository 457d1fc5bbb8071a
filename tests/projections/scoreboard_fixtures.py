"""Tournament-like batches for the scoreboard tests, appended in three commits."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

from ledger import Ledger
from projections.scoreboard_rules import ScoreboardResult
from projections.scoreboard_sql import CheckSpec
from projections.writers import csv_text
from schemas import NewEvent

SELECTIONS = ("momentum_top", "low_vol")
ENGINES = ("equal_weight", "min_variance", "hrp")
PROFILES = ("market", "benchmark", "balanced", "aggressive")
SIMULATORS = ("ideal", "costly", "slippage")
SHARPES = (0.1, 0.2, 0.25, 0.3, 0.35, 0.5, None)


def append_batch(root: Path, batch: str, cells: list[dict[str, Any]], kind: str = "trial") -> None:
    """``cells``: {name, params, metrics, status?}; a job's index is its position."""
    led = Ledger.open(root, create=True)
    started = {
        "name": batch,
        "manifest": {"name": batch, "kind": kind},
        "manifest_sha256": "0" * 64,
        "jobs": len(cells),
        "executor": "process",
        "workers": 1,
    }
    led.append([NewEvent(type="batch.started", data=started, batch=batch)])
    intents = []
    for index, cell in enumerate(cells):
        job_id = hashlib.sha256(json.dumps(cell["params"], sort_keys=True).encode()).hexdigest()
        cell["job_id"] = job_id[:16]
        data = {
            "job_id": cell["job_id"],
            "index": index,
            "name": cell["name"],
            "callable": "x:y",
            "params": cell["params"],
            "seed": index,
        }
        key = f"{kind}/{cell['job_id']}"
        intents.append(NewEvent(type=f"{kind}.intent", data=data, batch=batch, key=key))
    receipts = led.append(intents)
    outcomes = []
    for cell, receipt in zip(cells, receipts, strict=True):
        status = cell.get("status", "ok")
        data = {
            "job_id": cell["job_id"],
            "status": status,
            "duration_s": cell.get("duration_s", 0.5),
            "metrics": cell["metrics"],
            "result": cell.get("result"),
        }
        if status == "error":
            data["error"] = {"type": "E", "message": "boom"}
        outcomes.append(
            NewEvent(
                type=f"{kind}.outcome",
                data=data,
                batch=batch,
                key=f"{kind}/{cell['job_id']}",
                cause=receipt.seq,
            )
        )
    led.append(outcomes)


def random_grid(rng: random.Random) -> list[dict[str, Any]]:
    """A grid with baselines (some recorded without an engine), odd coordinates, ties,
    missing and null metrics, and a few failed jobs."""
    cells = []
    for selection in SELECTIONS:
        for engine in ENGINES:
            for profile in PROFILES:
                for simulator in SIMULATORS:
                    if rng.random() < 0.1:
                        continue
                    params: dict[str, Any] = {
                        "selection": selection,
                        "engine": engine,
                        "profile": profile,
                        "simulator": simulator,
                    }
                    if profile == "market" and rng.random() < 0.5:
                        if engine != ENGINES[0]:
                            continue
                        del params["engine"]  # a baseline serving every engine
                    if rng.random() < 0.1:
                        params["lookback"] = rng.choice([20, 20.5, 63, True, [1, 2], None])
                    metrics: dict[str, float | None] = {}
                    for metric, values in (
                        ("sharpe", SHARPES),
                        ("cvar", (0.01, 0.03, 0.04, 0.05)),
                        ("af_dist", (-0.2, -0.1, 0.0, 0.3)),
                    ):
                        if rng.random() < 0.85:
                            metrics[metric] = rng.choice(values)
                    cells.append(
                        {
                            "name": "_".join(str(v) for v in params.values()),
                            "params": params,
                            "metrics": metrics,
                            "status": "error" if rng.random() < 0.05 else "ok",
                        }
                    )
    rng.shuffle(cells)
    return cells


def random_gates(rng: random.Random) -> dict[str, Any]:
    data: dict[str, Any] = {
        "gates": {
            "sharpe": {"min": rng.choice([0.2, 0.25, 0.3])},
            "cvar": {"max": rng.choice([0.03, 0.04])},
            "af_dist": {"min": -0.1, "required": rng.random() < 0.5},
        },
        "parity": [
            {"metric": "sharpe", "across": "simulator", "max_abs_diff": rng.choice([0, 0.1, 0.15])}
        ],
    }
    if rng.random() < 0.5:
        data["parity"].append({"metric": "cvar", "across": "engine", "max_abs_diff": 0.01})
    if rng.random() < 0.8:
        data["baselines"] = {
            "profile_values": rng.choice([["market"], ["market", "benchmark"]]),
            "beat": {"metric": "sharpe", "margin": rng.choice([0.0, 0.05, 0.1])},
        }
    return data


def reference_names(result: ScoreboardResult) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The coordinate and metric names of the reference rows, each sorted."""
    coordinates = sorted({c for row in result.rows for c in row.params})
    metrics = sorted({m for row in result.rows for m in row.metrics})
    return tuple(coordinates), tuple(metrics)


def reference_csv_texts(
    head: list[str],
    specs: tuple[CheckSpec, ...],
    result: ScoreboardResult,
    indexes: list[int],
) -> tuple[str, str]:
    """The scoreboard and candidates CSV texts written by Python's ``csv`` module
    (``csv_text``) from the reference rows: the columns of ``scoreboard_files`` (header
    ``head``), each value as ``writers.cell`` renders it. ``indexes``: each row's job index."""
    coordinates, metrics = reference_names(result)
    rows = []
    for row, job_index in zip(result.rows, indexes, strict=True):
        line: list[Any] = [job_index, row.name, row.job_id]
        line += [row.params.get(c) for c in coordinates]
        line += [row.metrics.get(m) for m in metrics]
        line += [row.baseline, row.candidate]
        by_name = {c.name: c for c in row.checks}
        for spec in specs:
            check = by_name.get(spec.metric if spec.kind == "gate" else spec.name)
            line.append(check.status if check else None)
            if spec.kind != "gate":
                line.append(check.reference if check else None)
        rows.append((row.candidate, line))
    return (
        csv_text(head, [line for _, line in rows]),
        csv_text(head, [line for candidate, line in rows if candidate]),
    )
