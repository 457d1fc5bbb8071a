"""Ledger speed figures, printed as a table, each beside the baseline measured in the same run.

    python bench/bench_ledger.py                 # the issue's sizes (1M appends, 2M-event verify)
    python bench/bench_ledger.py --scale 0.1     # a quick look at a tenth of that

Figures: durable append through the Python API (calls of 10,000); `append --jsonl` of three
shapes of input (typed `trial.intent`, free-form nested `x.scan`, `trial.outcome` with metrics),
each whole CLI process and in-process, as a share of a bare loop doing only the unavoidable work
over the same file in the same run (the bare loop runs on one core; `append --jsonl` of a file
this large prepares it on every core, `ledger.jsonl_parallel`, so its CPU ratio is lower than
its wall ratio); `sweepledger verify` (whole CLI process, and in-process) on
JSONL and sealed ledgers against plain hashlib over the same bytes in 1 MiB blocks; `head`
start-up; one-event-per-call appends against raw write+fsync of the same disk. Every figure is
the best of `--repeat` runs (3).

The CLI runs the code beside this script (PYTHONPATH is set to its repo root).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

# Run as `python bench/bench_ledger.py`, sys.path[0] is bench/: the repo root goes first so that
# this checkout's code is measured, in this process and in the CLI processes it starts.
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
ENV = {**os.environ, "PYTHONPATH": str(REPO)}

from ledger import Ledger  # noqa: E402

CLI = str(Path(sys.executable).with_name("sweepledger"))
CALL = 10_000


def intent_event(i: int) -> dict[str, Any]:
    """A typed ``trial.intent`` of about 300 bytes stored (what the runner appends)."""
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


def scan_event(i: int) -> dict[str, Any]:
    """A free-form ``x.scan`` of about 1 KB stored, as a researcher's own tool appends it:
    nested dicts and lists of strings, ints and floats, metrics nested per segment."""
    segments = {
        name: {"n": (i + k) % 500, "mean": ((i * 7 + k) % 1000) / 7.0, "std": (i % 13) / 3.0}
        for k, name in enumerate(("asia", "europe", "us"))
    }
    return {
        "type": "x.scan",
        "batch": "b1",
        "key": f"scan/user{i % 1000}",
        "data": {
            "user": f"user{i % 1000}",
            "window": {"start": "2026-01-01", "end": "2026-03-31", "bars": 1440 + i % 7},
            "config": {"threshold": 0.25 + (i % 5) * 0.05, "lookback": [5, 20, 60], "mode": "fast"},
            "metrics": {
                "pnl": (i % 10_000) / 3.0 - 1000.0,
                "sharpe": (i % 300) / 97.0,
                "trades": i % 97,
                "hit_rate": (i % 100) / 100.0,
                "by_segment": segments,
            },
            "hypotheses": [
                {"id": f"h{i}-{k}", "score": ((i + k) % 89) / 89.0, "tags": ["momentum", "short"]}
                for k in range(3)
            ],
            "notes": f"scan of user{i % 1000} over Q1, run {i}",
        },
    }


def outcome_event(i: int) -> dict[str, Any]:
    """A ``trial.outcome`` (status ok) with ten float metrics and a ``result`` dict."""
    metrics = ("loss", "accuracy", "f1", "precision", "recall", "auc", "mae", "rmse", "r2", "lat")
    return {
        "type": "trial.outcome",
        "batch": "b1",
        "key": f"trial/{i * 2654435761 % 2**64:016x}",
        "data": {
            "job_id": f"{i * 2654435761 % 2**64:016x}",
            "status": "ok",
            "duration_s": 0.5 + (i % 1000) / 1000.0,
            "metrics": {name: ((i * (k + 3)) % 1000) / 999.0 for k, name in enumerate(metrics)},
            "result": {
                "best_epoch": i % 50,
                "curve": [((i + k) % 100) / 100.0 for k in range(5)],
                "summary": {"mean": (i % 77) / 7.0, "p95": (i % 91) / 9.0},
            },
        },
    }


SHAPES = {"trial.intent": intent_event, "x.scan": scan_event, "trial.outcome": outcome_event}
event = intent_event


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_cli(*args: str) -> float:
    """Wall time of a whole CLI process."""
    return run_cli_rss(*args)[0]


def run_cli_rss(*args: str) -> tuple[float, int, float]:
    """Wall time, peak RSS (KiB) and CPU seconds (user + system) of one whole CLI process
    and the children it waited for."""
    start = time.perf_counter()
    child = subprocess.Popen([CLI, *args], stdout=subprocess.DEVNULL, env=ENV)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {child.returncode}")
    return elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def wall_and_cpu(fn: Any) -> tuple[float, float]:
    """Wall and CPU seconds of ``fn()``: this process's and those of the child processes it
    started and waited for (``append --jsonl``'s preparing workers)."""
    start, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu + _children_cpu() - children


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_append(root: Path, events: int) -> float:
    """Events/s of ``Ledger.append`` in calls of ``CALL``; payloads are built outside the timer,
    one call at a time, so this process stays small for the RSS figures measured after it."""
    ledger = Ledger.open(root, create=True)
    seconds = 0.0
    for start in range(0, events, CALL):
        batch = [event(i) for i in range(start, min(start + CALL, events))]
        seconds += timed(lambda batch=batch: ledger.append(batch))
    return events / seconds


def hashlib_rate(path: Path, repeat: int) -> tuple[float, float]:
    """Bytes per wall second and per CPU second of plain hashlib.sha256 over a file read in
    1 MiB blocks (best of ``repeat``)."""

    def digest() -> None:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)

    runs = [wall_and_cpu(digest) for _ in range(repeat)]
    size = path.stat().st_size
    return size / min(r[0] for r in runs), size / min(r[1] for r in runs)


def verify_rate(root: Path, size: int, repeat: int) -> tuple[float, int, float]:
    """Bytes per wall second of the whole `sweepledger verify` process (best of ``repeat``),
    its peak RSS (KiB), and bytes per CPU second of it and its workers.

    ``wait4`` reports the largest RSS among the process and the workers it waited for.
    """
    runs = [run_cli_rss("--root", str(root), "verify") for _ in range(repeat)]
    return size / min(r[0] for r in runs), max(r[1] for r in runs), size / min(r[2] for r in runs)


def write_source(path: Path, shape: str, events: int) -> int:
    """Write ``events`` lines of one shape as a user's JSONL input; returns its size."""
    make = SHAPES[shape]
    with open(path, "wb") as f:
        for s in range(0, events, CALL):
            f.write(
                b"".join(orjson.dumps(make(i)) + b"\n" for i in range(s, min(s + CALL, events)))
            )
    return path.stat().st_size


def bare_loop(source: Path, out: Path) -> tuple[float, float]:
    """Seconds of the unavoidable work of ``append --jsonl`` over ``source``, in one plain loop:
    orjson parse per line, canonical sorted encode as the ledger stores it, chained SHA-256 as
    the ledger chains, written to ``out`` in blocks, one fsync. Returns wall and CPU seconds."""
    start, cpu = time.perf_counter(), time.process_time()
    sha256 = hashlib.sha256
    dumps = orjson.dumps
    sort = orjson.OPT_SORT_KEYS
    prev = b"0" * 64
    ts = b"2026-12-02T10:00:00.000000Z"
    line = (
        b'{"seq":%d,"ts":"%s","type":"%s","v":1,"batch":%s,"key":%s,"cause":%s,"data":%s,"prev":"%s'
    )
    out_lines: list[bytes] = []
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    with open(source, "rb") as f:
        for seq, text in enumerate(f, 1):
            obj = orjson.loads(text)
            cause = obj.get("cause")
            prefix = line % (
                seq,
                ts,
                obj["type"].encode(),
                dumps(obj.get("batch")),
                dumps(obj.get("key")),
                b"null" if cause is None else b"%d" % cause,
                dumps(obj["data"], option=sort),
                prev,
            )
            prev = sha256(prefix).hexdigest().encode()
            out_lines.append(b'%s","hash":"%s"}\n' % (prefix, prev))
            if len(out_lines) == CALL:
                os.write(fd, b"".join(out_lines))
                out_lines.clear()
    os.write(fd, b"".join(out_lines))
    os.fsync(fd)
    os.close(fd)
    return time.perf_counter() - start, time.process_time() - cpu


def jsonl_cli(source: Path, root: Path) -> tuple[float, float]:
    """Wall and CPU seconds of the whole ``sweepledger append --jsonl`` process."""
    wall, _, cpu = run_cli_rss("--root", str(root), "append", "--jsonl", str(source))
    return wall, cpu


def jsonl_in_process(source: Path, root: Path) -> tuple[float, float]:
    """Wall and CPU seconds of ``Ledger.append(read_jsonl(...))``: the CLI's work without its
    start-up and without printing receipts."""
    from ledger import read_jsonl

    def append() -> None:
        with open(source, "rb") as f:
            Ledger.open(root, create=True).append(read_jsonl(f, source.name, []))

    return wall_and_cpu(append)


def best_of(repeat: int, work: Path, run: Any) -> tuple[float, float]:
    """The shortest wall and the smallest CPU time of ``repeat`` runs of ``run(fresh path)``
    (each returning both); each run's output is removed."""
    best = (float("inf"), float("inf"))
    for k in range(repeat):
        target = work / f"run{k}"
        try:
            wall, cpu = run(target)
            best = (min(best[0], wall), min(best[1], cpu))
        finally:
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
    return best


def bench_jsonl_shapes(table: Table, work: Path, events: int, repeat: int) -> None:
    """One row per shape: the CLI end to end and in-process, each as a share of the bare
    loop's rate over the same input file in the same run; by wall time, and by CPU time (which
    other processes on a shared machine disturb less)."""
    for shape in SHAPES:
        source = work / f"{shape}.jsonl"
        size = write_source(source, shape, events)
        bare = best_of(repeat, work, partial(bare_loop, source))
        cli = best_of(repeat, work, partial(jsonl_cli, source))
        inproc = best_of(repeat, work, partial(jsonl_in_process, source))
        table.add_row(
            f"`append --jsonl` {events:,} {shape} lines ({size / events:,.0f} B), whole CLI",
            f"{events / cli[0]:,.0f} ev/s",
            f"bare loop {events / bare[0]:,.0f} ev/s",
            f"{bare[0] / cli[0]:.0%}",
            f"{bare[1] / cli[1]:.0%}",
            ">= 60%",
        )
        table.add_row(
            "  in-process (Ledger.append(read_jsonl(...)))",
            f"{events / inproc[0]:,.0f} ev/s",
            "",
            f"{bare[0] / inproc[0]:.0%}",
            f"{bare[1] / inproc[1]:.0%}",
            "",
        )
        source.unlink()


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
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (best is kept)")
    parser.add_argument(
        "--only", choices=("all", "jsonl", "verify"), default="all", help="which figures to run"
    )
    args = parser.parse_args()
    appends, verifies, singles = int(1_000_000 * args.scale), int(2_000_000 * args.scale), 2000
    work = Path(tempfile.mkdtemp(prefix="sweepledger-bench-"))
    table = Table(title=f"ledger bench (scale {args.scale}, best of {args.repeat})")
    for column in ("figure", "measured", "baseline (same run)", "ratio", "CPU ratio", "target"):
        table.add_column(column)
    try:
        if args.only == "all":
            rate = bench_append(work / "append", appends)
            table.add_row(
                f"durable append, {appends:,} events in calls of {CALL:,}",
                f"{rate:,.0f} ev/s",
                "",
                "",
                "",
                ">= 150,000 ev/s",
            )
        # verify first: a CLI process forked from this one counts this one's pages in its
        # peak RSS until it execs, and the in-process appends below grow this process.
        if args.only in ("all", "verify"):
            bench_verify(table, work, verifies, args.repeat)
        if args.only in ("all", "jsonl"):
            bench_jsonl_shapes(table, work, appends, args.repeat)
        if args.only == "all":
            small = work / "small"
            bench_append(small, 100)
            startup = min(run_cli("--root", str(small), "head") for _ in range(5))
            table.add_row(
                "`head` start-up (whole process, best of 5)",
                f"{startup:.3f} s",
                "",
                "",
                "",
                "<= 0.3 s",
            )
            rate, raw_rate = bench_single(work / "single", singles)
            table.add_row(
                f"one event per call, {singles:,} calls",
                f"{rate:,.0f} ev/s",
                f"write+fdatasync {raw_rate:,.0f}/s",
                f"{rate / raw_rate:.0%}",
                "",
                "report",
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    Console(width=150).print(table)


def bench_verify(table: Table, work: Path, events: int, repeat: int) -> None:
    """`verify` of a JSONL and then a sealed ledger, as shares of hashlib over the live file."""
    root = work / "verify"
    bench_append(root, events)
    live = root / "ledger.jsonl"
    size = live.stat().st_size
    base, base_cpu = hashlib_rate(live, repeat)
    got, peak, got_cpu = verify_rate(root, size, repeat)
    inproc = min(timed(lambda: Ledger.open(root).verify()) for _ in range(repeat))
    table.add_row(
        f"`verify` {events:,} events JSONL ({size / 1e6:,.0f} MB), whole CLI",
        f"{got / 1e6:,.0f} MB/s",
        f"hashlib {base / 1e6:,.0f} MB/s",
        f"{got / base:.0%}",
        f"{got_cpu / base_cpu:.0%}",
        ">= 35%",
    )
    table.add_row(
        "  in-process (Ledger.verify())",
        f"{size / inproc / 1e6:,.0f} MB/s",
        "",
        f"{size / inproc / base:.0%}",
        "",
        "",
    )
    table.add_row(
        "  peak RSS of one verify process", f"{peak / 1024:,.0f} MB", "", "", "", "< 150 MB"
    )
    Ledger.open(root).seal()
    got, _, got_cpu = verify_rate(root, size, repeat)
    table.add_row(
        f"`verify` {events:,} events sealed, whole CLI",
        f"{got / 1e6:,.0f} MB/s",
        f"hashlib {base / 1e6:,.0f} MB/s",
        f"{got / base:.0%}",
        f"{got_cpu / base_cpu:.0%}",
        ">= 25%",
    )
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
