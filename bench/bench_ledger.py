"""Ledger speed figures, printed as a table, each beside the baseline measured in the same run.

    python bench/bench_ledger.py                 # the issue's sizes (1M appends, 2M-event verify)
    python bench/bench_ledger.py --scale 0.1     # a quick look at a tenth of that

Figures: durable append through the Python API (calls of 10,000), `append --jsonl` end to end,
`sweepledger verify` (whole CLI process) on JSONL and sealed ledgers against plain hashlib over
the same bytes in 1 MiB blocks (best of 3), `head` start-up, and one-event-per-call appends
against raw write+fsync of the same disk.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ledger import Ledger

CLI = str(Path(sys.executable).with_name("sweepledger"))
CALL = 10_000


def event(i: int) -> dict[str, Any]:
    """A representative typed event of about 300 bytes stored (a trial.intent)."""
    return {
        "type": "trial.intent",
        "batch": "b1",
        "data": {
            "job_id": f"{i * 2654435761 % 2**64:016x}",
            "index": i,
            "name": f"job{i}",
            "callable": "work:f",
            "params": {"x": i % 10},
            "seed": i,
        },
    }


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_cli(*args: str) -> float:
    """Wall time of a whole CLI process."""
    return run_cli_rss(*args)[0]


def run_cli_rss(*args: str) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of one whole CLI process and its children."""
    start = time.perf_counter()
    child = subprocess.Popen([CLI, *args], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {child.returncode}")
    return elapsed, usage.ru_maxrss


def bench_append(root: Path, events: int) -> float:
    """Events/s of ``Ledger.append`` in calls of ``CALL``; payloads are built outside the timer,
    one call at a time, so this process stays small for the RSS figures measured after it."""
    ledger = Ledger.open(root, create=True)
    seconds = 0.0
    for start in range(0, events, CALL):
        batch = [event(i) for i in range(start, min(start + CALL, events))]
        seconds += timed(lambda batch=batch: ledger.append(batch))
    return events / seconds


def hashlib_rate(path: Path) -> float:
    """Bytes/s of plain hashlib.sha256 over a file read in 1 MiB blocks (best of 3)."""
    best = float("inf")
    size = path.stat().st_size
    for _ in range(3):
        start = time.perf_counter()
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
        best = min(best, time.perf_counter() - start)
    return size / best


def verify_rate(root: Path, size: int) -> tuple[float, int]:
    """Bytes/s of the whole `sweepledger verify` process (best of 3) and its peak RSS (KiB).

    ``wait4`` reports the largest RSS among the process and the workers it waited for.
    """
    runs = [run_cli_rss("--root", str(root), "verify") for _ in range(3)]
    return size / min(r[0] for r in runs), max(r[1] for r in runs)


def bench_jsonl(root: Path, events: int) -> float:
    import orjson

    source = root.parent / "events.jsonl"
    with open(source, "wb") as f:
        for s in range(0, events, CALL):
            f.write(
                b"".join(orjson.dumps(event(i)) + b"\n" for i in range(s, min(s + CALL, events)))
            )
    seconds = run_cli("--root", str(root), "append", "--jsonl", str(source))
    return events / seconds


def bench_single(root: Path, n: int) -> tuple[float, float]:
    ledger = Ledger.open(root, create=True)
    rate = n / timed(lambda: [ledger.append([event(i)]) for i in range(n)])
    raw_path = root / "raw.bin"
    fd = os.open(raw_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    line = b"x" * 300 + b"\n"

    def raw() -> None:
        for _ in range(n):
            os.write(fd, line)
            os.fdatasync(fd)

    raw_rate = n / timed(raw)
    os.close(fd)
    return rate, raw_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the issue's sizes")
    args = parser.parse_args()
    appends, verifies, singles = int(1_000_000 * args.scale), int(2_000_000 * args.scale), 2000
    work = Path(tempfile.mkdtemp(prefix="sweepledger-bench-"))
    table = Table(title=f"ledger bench (scale {args.scale})")
    for column in ("figure", "measured", "baseline (same run)", "ratio", "target"):
        table.add_column(column)
    try:
        rate = bench_append(work / "append", appends)
        table.add_row(
            f"durable append, {appends:,} events in calls of {CALL:,}",
            f"{rate:,.0f} ev/s",
            "",
            "",
            ">= 150,000 ev/s",
        )
        rate = bench_jsonl(work / "jsonl", appends)
        table.add_row(
            f"`append --jsonl` {appends:,} lines, end to end",
            f"{rate:,.0f} ev/s",
            "",
            "",
            ">= 100,000 ev/s",
        )
        root = work / "verify"
        bench_append(root, verifies)
        live = root / "ledger.jsonl"
        size = live.stat().st_size
        base = hashlib_rate(live)
        got, peak = verify_rate(root, size)
        table.add_row(
            f"`verify` {verifies:,} events JSONL ({size / 1e6:,.0f} MB)",
            f"{got / 1e6:,.0f} MB/s",
            f"hashlib {base / 1e6:,.0f} MB/s",
            f"{got / base:.0%}",
            ">= 25%",
        )
        table.add_row(
            "  peak RSS of one verify process",
            f"{peak / 1024:,.0f} MB",
            "",
            "",
            "< 150 MB",
        )
        Ledger.open(root).seal()
        got, _ = verify_rate(root, size)
        table.add_row(
            f"`verify` {verifies:,} events sealed",
            f"{got / 1e6:,.0f} MB/s",
            f"hashlib {base / 1e6:,.0f} MB/s",
            f"{got / base:.0%}",
            ">= 25%",
        )
        small = work / "small"
        bench_append(small, 100)
        startup = min(run_cli("--root", str(small), "head") for _ in range(5))
        table.add_row(
            "`head` start-up (whole process, best of 5)", f"{startup:.3f} s", "", "", "<= 0.3 s"
        )
        rate, raw_rate = bench_single(work / "single", singles)
        table.add_row(
            f"one event per call, {singles:,} calls",
            f"{rate:,.0f} ev/s",
            f"write+fdatasync {raw_rate:,.0f}/s",
            f"{rate / raw_rate:.0%}",
            "report",
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    Console().print(table)


if __name__ == "__main__":
    main()
