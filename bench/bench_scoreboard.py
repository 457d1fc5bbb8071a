"""Scoreboard benchmark: the DuckDB projection against the plain-Python reference rules.

Usage: .venv/bin/python bench/bench_scoreboard.py [--cells 50000] [--root DIR]

Appends one tournament batch (a 6-D grid of ``--cells`` cells with 8 metrics each; ``af_dist``
only for the covariance engines, ``stress_alpha`` only under one simulator, a few nulls) to a
fresh ledger with ``Ledger.append``, rebuilds the projection database, then times (best of 3)
the scoreboard with gates, parity and baselines (judging in DuckDB and writing its three files)
and ``scoreboard_rules.evaluate`` over the same cells (fetched once, not timed), and prints a
table with their ratio. Target: the projection within 2 s.
"""

from __future__ import annotations

import argparse
import itertools
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger import Ledger  # noqa: E402

CHUNK = 20_000
AXES = {
    "selection": ["all", "momentum_top", "low_vol", "value", "quality"],
    "rebalance": ["monthly", "weekly", "threshold", "quarterly"],
    "engine": [f"engine{i}" for i in range(10)],
    "profile": ["market", "benchmark", "raw_pool_ew", "balanced", "aggressive"],
    "simulator": ["ideal", "costly", "slippage", "nautilus", "cvx"],
    "window": list(range(10)),
}
GATES = """
gates:
  sharpe: {min: 0.4}
  cvar: {max: 0.04}
  max_drawdown: {max: 0.45}
  turnover: {max: 8.0}
  beta: {max: 1.0}
  hhi: {max: 0.55}
  af_dist: {min: -0.1}
  stress_alpha: {min: -0.1}
parity:
  metric: sharpe
  across: simulator
  max_abs_diff: 0.3
baselines:
  profile_values: [market, benchmark, raw_pool_ew]
  beat: {metric: sharpe, margin: 0.05}
"""


def grid(cells: int) -> list[dict[str, Any]]:
    combos = itertools.islice(itertools.product(*AXES.values()), cells)
    return [dict(zip(AXES, combo, strict=True)) for combo in combos]


def metrics_of(params: dict[str, Any], rng: random.Random) -> dict[str, float | None]:
    m: dict[str, float | None] = {
        "sharpe": round(rng.gauss(0.6, 0.4), 3),
        "cvar": rng.uniform(0.01, 0.06),
        "max_drawdown": rng.uniform(0.1, 0.6),
        "turnover": rng.uniform(0.5, 12.0),
        "beta": rng.uniform(0.3, 1.3),
        "hhi": rng.uniform(0.05, 0.7),
    }
    if params["engine"] in ("engine2", "engine3") and params["profile"] in (
        "balanced",
        "aggressive",
    ):
        m["af_dist"] = rng.uniform(-0.3, 0.5)
    if params["simulator"] == "slippage":
        m["stress_alpha"] = rng.uniform(-0.3, 0.3)
    if rng.random() < 0.01:
        m["sharpe"] = None  # non-finite, stored as null
    return m


def append_batch(root: Path, cells: int) -> list[dict[str, Any]]:
    led = Ledger.open(root, create=True)
    rng = random.Random(4)
    params = grid(cells)
    started = {
        "name": "bench",
        "manifest": {"name": "bench", "kind": "trial"},
        "manifest_sha256": "0" * 64,
        "jobs": len(params),
        "executor": "process",
        "workers": 8,
    }
    led.append([{"type": "batch.started", "batch": "bench", "data": started}])
    reference = []
    for start in range(0, len(params), CHUNK):
        chunk = params[start : start + CHUNK]
        first = led.head().seq + 1
        events: list[dict[str, Any]] = []
        for i, p in enumerate(chunk):
            jid = f"cell{start + i:06d}"
            events.append(
                {
                    "type": "trial.intent",
                    "batch": "bench",
                    "key": f"trial/{jid}",
                    "data": {
                        "job_id": jid,
                        "index": start + i,
                        "name": jid,
                        "callable": "bench:cell",
                        "params": p,
                        "seed": start + i,
                    },
                }
            )
        for i, p in enumerate(chunk):
            jid = f"cell{start + i:06d}"
            m = metrics_of(p, rng)
            events.append(
                {
                    "type": "trial.outcome",
                    "batch": "bench",
                    "key": f"trial/{jid}",
                    "cause": first + i,
                    "data": {"job_id": jid, "status": "ok", "duration_s": 0.5, "metrics": m},
                }
            )
            reference.append({"job_id": jid, "name": jid, "params": p, "metrics": m})
        led.append(events)
    return reference


def best_of(n: int, fn: Any) -> float:
    times = []
    for _ in range(n):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=50_000)
    parser.add_argument("--root", type=Path, default=None)
    args = parser.parse_args()
    from projections import rebuild, scoreboard_report
    from projections.engine import connect
    from projections.reads import read_gates
    from projections.scoreboard import judge, judged_cells
    from projections.scoreboard_rules import evaluate

    base = args.root or Path(tempfile.mkdtemp(prefix="sweepledger-bench-"))
    root = base / "ledger"
    shutil.rmtree(root, ignore_errors=True)
    began = time.perf_counter()
    cells = append_batch(root, args.cells)
    appended = time.perf_counter() - began
    rebuild(root)
    gates_path = base / "gates.yaml"
    gates_path.write_text(GATES, encoding="utf-8")
    gates, _ = read_gates(gates_path)
    for allow_missing in (False, True):
        sql_s = best_of(
            3, lambda am=allow_missing: scoreboard_report(root, "bench", gates_path, am)
        )
        py_s = best_of(3, lambda am=allow_missing: evaluate(cells, gates, am))
        con = connect(root, read_only=True)
        try:
            board = judge(con, "bench", gates, allow_missing)
            judged = judged_cells(con, board)
        finally:
            con.close()
        expected = evaluate(cells, gates, allow_missing)
        same = [(c.job_id, c.candidate, c.checks) for c in judged] == [
            (r.job_id, r.candidate, r.checks) for r in expected.rows
        ]
        mode = "allow-missing" if allow_missing else "strict"
        print(f"\n{args.cells} cells, 8 metrics, {mode} (append {appended:.2f} s)")
        print(f"{'step':<48} {'best of 3 (s)':>14} {'ratio':>8}")
        print(f"{'scoreboard projection (DuckDB + 3 files)':<48} {sql_s:>14.3f} {1.0:>8.2f}")
        print(
            f"{'scoreboard_rules.evaluate (plain Python)':<48} {py_s:>14.3f} {py_s / sql_s:>8.2f}"
        )
        print(f"candidates {len(board.candidate_names)}, same rows as the reference: {same}")
    if args.root is None:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
