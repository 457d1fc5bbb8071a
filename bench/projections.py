"""Projection benchmark: full and incremental rebuild, CLI query latency, peak memory.

Usage: .venv/bin/python bench/projections.py [--events 1000000] [--root DIR]

Builds a ledger of ~1M events (200,000 trial jobs with 5 metrics, intents + outcomes, in 20
batches, plus scan batches whose outcomes carry hypothesis candidates), then measures each
step in a fresh process and prints a table.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT_DIR))

from ledger import Ledger  # noqa: E402

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
    """Wall time of a child process and its peak RSS (bytes)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{done.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before) * 1024


def rebuild_args(root: Path, full: bool) -> list[str]:
    code = (
        "import sys; from pathlib import Path; from projections import rebuild; "
        f"rebuild(Path(sys.argv[1]), full={full})"
    )
    return [sys.executable, "-c", code, str(root)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--root", type=Path, default=None)
    opts = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sweepledger-bench-"))
    root = opts.root or tmp / "root"
    rows: list[tuple[str, str, str, str]] = []
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

        def row(name: str, target: str, args: list[str], best_of: int = 1) -> None:
            runs = [timed(args) for _ in range(best_of)]
            secs = min(r[0] for r in runs)
            peak = max(r[1] for r in runs)
            rows.append((name, f"{secs:.2f} s", f"{peak / 2**20:.0f} MB", target))

        row("full rebuild, JSONL", "<= 5 s", rebuild_args(root, True))
        led = Ledger.open(root)
        append_batch(led, "late", "trial", 499, 10**7)
        row("incremental, +1,000 events (new batch)", "<= 0.5 s", rebuild_args(root, False))
        row("query CLI (up to date)", "<= 0.5 s", query, best_of=3)
        append_batch(led, "late2", "trial", 499, 2 * 10**7)
        row("query CLI after +1,000 events (catch-up)", "-", query)
        led.seal()
        row("full rebuild, sealed Parquet", "<= 5 s", rebuild_args(root, True))
        events = Ledger.open(root).head().seq
        print(f"\nprojections bench: {events:,} events, {len(rows)} measurements\n")
        print(f"| {'step':44} | {'time':>8} | {'peak RSS':>9} | {'target':8} |")
        print(f"|{'-' * 46}|{'-' * 10}|{'-' * 11}|{'-' * 10}|")
        for name, secs, peak, target in rows:
            print(f"| {name:44} | {secs:>8} | {peak:>9} | {target:8} |")
        print(json.dumps({"events": events}))
    finally:
        if opts.root is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
