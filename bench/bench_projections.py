"""Projection benchmark: full and incremental rebuild, CLI query latency, peak memory.

Usage: .venv/bin/python bench/bench_projections.py [--events 1000000] [--root DIR]

Builds a ledger of ~1M events (200,000 trial jobs with 5 metrics, intents + outcomes, in 20
batches, plus scan batches whose outcomes carry hypothesis candidates), then measures each
step in a fresh process and prints a table, each time also as a multiple of the baseline taken
in the same run: DuckDB alone grouping the events by type straight from the ledger's files
(the issue's yardstick). "floor" is the events table alone, persisted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ledger import Ledger

CHUNK = 10_000
TRIAL_JOBS = 200_000
TRIAL_BATCHES = 20
SCAN_BATCHES = 30


def _batch_events(batch: str, kind: str, first_seq: int, n: int, seed: int) -> list[dict[str, Any]]:
    started = {
        "name": batch,
        "manifest": {"name": batch},
        "manifest_sha256": "0" * 64,
        "jobs": n,
        "executor": "process",
        "workers": 2,
    }
    events: list[dict[str, Any]] = [{"type": "batch.started", "batch": batch, "data": started}]
    seq = first_seq + 1
    for i in range(n):
        j = seed + i
        jid = f"{batch}-{i:06d}"
        params = {"user": f"user{j}"} if kind == "scan" else {"lr": (j % 17) / 100, "depth": j % 9}
        events.append(
            {
                "type": f"{kind}.intent",
                "batch": batch,
                "data": {
                    "job_id": jid,
                    "index": i,
                    "name": f"job{i}",
                    "callable": "bench:work",
                    "params": params,
                    "seed": j,
                },
            }
        )
        if kind == "scan":
            cands = [
                {
                    "segment_key": f"seg{(j + k) % 40}",
                    "weighting": "notional" if k % 2 else "count",
                    "denominators": {"weight_used": (j % 13) / 3, "count_used": j % 5},
                    "metrics": {"avg_clv_pct": (j % 11) / 10 - 0.3, "beat_close_rate": (j % 7) / 7},
                }
                for k in range(2)
            ]
            result: Any = {"hypothesis_candidates": cands}
            metrics: dict[str, float] = {}
        else:
            result = None
            metrics = {f"m{k}": ((j * (k + 3)) % 101) / 7 for k in range(5)}
        status = "ok" if j % 11 else "error"
        events.append(
            {
                "type": f"{kind}.outcome",
                "batch": batch,
                "cause": seq,
                "data": {
                    "job_id": jid,
                    "status": status,
                    "duration_s": (j % 97) / 13,
                    "metrics": metrics,
                    "result": result,
                    "error": None
                    if status == "ok"
                    else {"type": "ValueError", "message": f"bad {j}"},
                },
            }
        )
        seq += 2
    events.append(
        {
            "type": "batch.finished",
            "batch": batch,
            "data": {
                "attempted": n,
                "succeeded": n,
                "failed": 0,
                "duration_s": 1.0,
                "interrupted": False,
            },
        }
    )
    return events


def append_batch(led: Ledger, batch: str, kind: str, n: int, seed: int) -> int:
    events = _batch_events(batch, kind, led.head().seq + 1, n, seed)
    for start in range(0, len(events), CHUNK):
        led.append(events[start : start + CHUNK])
    return len(events)


def build(root: Path, total: int) -> int:
    led = Ledger.open(root, create=True)
    scale = total / 1_000_000
    trial_jobs = int(TRIAL_JOBS * scale) // TRIAL_BATCHES
    count = 0
    for b in range(TRIAL_BATCHES):
        count += append_batch(led, f"trial{b:02d}", "trial", trial_jobs, b * trial_jobs)
    scan_users = max(1, int((total - count) / SCAN_BATCHES / 2) - 1)
    for b in range(SCAN_BATCHES):
        count += append_batch(led, f"scan{b:02d}", "scan", scan_users, b * scan_users)
    return count


def timed(args: list[str]) -> tuple[float, int]:
    """Wall time of a child process and its own peak RSS (bytes), from ``wait4``. Dirty
    pages of the steps before (the ledger just built, a database just written) are flushed
    first, so that no step pays for another one's writeback."""
    os.sync()
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            raise SystemExit(f"failed: {' '.join(args)}\n{errors.read().decode()}")
    return elapsed, usage.ru_maxrss * 1024


def rebuild_args(root: Path, full: bool) -> list[str]:
    code = (
        "import sys; from pathlib import Path; from projections import rebuild; "
        f"rebuild(Path(sys.argv[1]), full={full})"
    )
    return [sys.executable, "-c", code, str(root)]


def baseline_args(root: Path, sealed: bool) -> list[str]:
    """DuckDB alone grouping every event by type, straight from the ledger's files (the
    issue's yardstick): no hashing, no projection, nothing written."""
    source = (
        f"read_parquet('{root}/segments/*.parquet')"
        if sealed
        else f"read_json('{root}/ledger.jsonl', columns={{'type': 'VARCHAR'}})"
    )
    code = (
        "import duckdb; con = duckdb.connect(); "
        f'con.execute("SELECT type, count(*) FROM {source} GROUP BY type").fetchall()'
    )
    return [sys.executable, "-c", code]


def floor_args(root: Path) -> list[str]:
    """The events table alone: read the ledger through ``ledger.relations`` and persist it
    in a fresh DuckDB file with the engine's own DDL (what every full rebuild must do before
    any projection)."""
    code = (
        "import sys, duckdb; from pathlib import Path; from ledger import Ledger; "
        "from ledger.relations import event_relations; from projections.tables import DDL; "
        "con = duckdb.connect(sys.argv[2]); con.execute('SET preserve_insertion_order=false'); "
        "con.execute(next(d for d in DDL if 'EXISTS events' in d)); "
        "parts = event_relations(Ledger.open(Path(sys.argv[1])), con); "
        "[con.register(f'_p{i}', r) for i, r in enumerate(parts.relations)]; "
        "con.execute('INSERT INTO events ' + ' UNION ALL '.join("
        "f'SELECT * FROM _p{i}' for i in range(len(parts.relations)))); con.close()"
    )
    return [sys.executable, "-c", code, str(root), str(root.parent / "floor.duckdb")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--root", type=Path, default=None)
    opts = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sweepledger-bench-"))
    root = opts.root or tmp / "root"
    rows: list[tuple[str, str, str, str, str]] = []
    try:
        t0 = time.perf_counter()
        n = build(root, opts.events)
        print(f"built {n:,} events in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        exe = str(Path(sys.executable).parent / "sweepledger")
        query = [
            exe,
            "--root",
            str(root),
            "query",
            "SELECT count(*) FROM outcomes WHERE status='ok'",
        ]

        base: dict[str, float] = {}

        def row(
            name: str, target: str, args: list[str], best_of: int = 1, scale: str = "jsonl"
        ) -> float:
            runs = [timed(args) for _ in range(best_of)]
            secs = min(r[0] for r in runs)
            peak = max(r[1] for r in runs)
            ratio = f"{secs / base[scale]:.1f}x" if scale in base else "1.0x"
            rows.append((name, f"{secs:.2f} s", f"{peak / 2**20:.0f} MB", target, ratio))
            return secs

        base["jsonl"] = row(
            "baseline: DuckDB groups by type, JSONL (best of 3)", "-", baseline_args(root, False), 3
        )
        row("floor: events table alone, JSONL", "-", floor_args(root))
        (root.parent / "floor.duckdb").unlink(missing_ok=True)
        row("full rebuild, JSONL (best of 3)", "<= 5 s", rebuild_args(root, True), 3)
        led = Ledger.open(root)
        append_batch(led, "late", "trial", 499, 10**7)
        row("incremental, +1,000 events (new batch)", "<= 0.5 s", rebuild_args(root, False))
        row("query CLI (up to date, best of 3)", "<= 0.5 s", query, best_of=3)
        append_batch(led, "late2", "trial", 499, 2 * 10**7)
        row("query CLI after +1,000 events (catch-up)", "-", query)
        led.seal()
        base["sealed"] = row(
            "baseline: DuckDB groups by type, Parquet (best of 3)",
            "-",
            baseline_args(root, True),
            3,
            "sealed",
        )
        row(
            "full rebuild, sealed Parquet (best of 3)",
            "<= 5 s",
            rebuild_args(root, True),
            3,
            "sealed",
        )
        events = Ledger.open(root).head().seq
        print(f"\nprojections bench: {events:,} events, {len(rows)} measurements\n")
        print(
            f"| {'step':52} | {'time':>8} | {'peak RSS':>9} | {'target':8} | {'/ baseline':>10} |"
        )
        print(f"|{'-' * 54}|{'-' * 10}|{'-' * 11}|{'-' * 10}|{'-' * 12}|")
        for name, secs, peak, target, ratio in rows:
            print(f"| {name:52} | {secs:>8} | {peak:>9} | {target:8} | {ratio:>10} |")
        print(json.dumps({"events": events}))
    finally:
        if opts.root is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
