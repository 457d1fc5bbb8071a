"""Benchmark command jobs: ``sweepledger run --workers 2`` over N command jobs against the
same commands run by ``subprocess.run`` inside a plain ``ProcessPoolExecutor(2)`` script.

Each job runs ``python job.py INDEX WORK_DIR``, a trivial script that writes a tiny metrics
JSON. The sweepledger side also records every intent and outcome (hash-chained, fsynced),
reads the metrics file and keeps stdout/stderr; the baseline side reads the metrics file too.
Both sides are whole processes timed from outside, interleaved ``--repeat`` times, and the
best of each is compared (target ratio <= 1.15).

Usage:
  .venv/bin/python bench/bench_command_jobs.py               # 1,000 jobs, best of 3
  .venv/bin/python bench/bench_command_jobs.py --jobs 200 --repeat 2
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SWEEPLEDGER = Path(sys.executable).with_name("sweepledger")
TARGET_RATIO = 1.15
WORKERS = 2

JOB = """\
import json, os, sys
index, work_dir = int(sys.argv[1]), sys.argv[2]
os.makedirs(work_dir, exist_ok=True)
with open(os.path.join(work_dir, "metrics.json"), "w") as f:
    json.dump({"index": index, "square": index * index}, f)
"""

BASELINE = """\
import json, os, subprocess, sys
from concurrent.futures import ProcessPoolExecutor

def one(index):
    work_dir = os.path.join({out!r}, str(index))
    subprocess.run([sys.executable, {job!r}, str(index), work_dir], check=True)
    with open(os.path.join(work_dir, "metrics.json")) as f:
        return json.load(f)

if __name__ == "__main__":
    with ProcessPoolExecutor({workers}) as pool:
        results = list(pool.map(one, range({jobs})))
    assert len(results) == {jobs}
"""


def write_manifest(folder: Path, jobs: int) -> Path:
    body = {
        "name": "bench-commands",
        "command": [sys.executable, "job.py", "{index}", "{work_dir}"],
        "metrics_from": "metrics.json",
        "matrix": {"axes": {"i": list(range(jobs))}},
    }
    path = folder / "commands.yaml"
    path.write_text(json.dumps(body), encoding="utf-8")  # JSON is YAML
    return path


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return took


def run_sweepledger(folder: Path, manifest: Path, attempt: int) -> float:
    root = folder / f"root{attempt}"
    argv = [str(SWEEPLEDGER), "--root", str(root), "run", str(manifest)]
    took = timed([*argv, "--workers", str(WORKERS)], folder)
    shutil.rmtree(root)
    return took


def run_baseline(folder: Path, jobs: int, attempt: int) -> float:
    out = folder / f"plain{attempt}"
    script = folder / "baseline.py"
    script.write_text(
        BASELINE.format(out=str(out), job=str(folder / "job.py"), workers=WORKERS, jobs=jobs),
        encoding="utf-8",
    )
    took = timed([sys.executable, str(script)], folder)
    shutil.rmtree(out)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-commands-"))
    try:
        (folder / "job.py").write_text(JOB, encoding="utf-8")
        manifest = write_manifest(folder, args.jobs)
        ours: list[float] = []
        plain: list[float] = []
        for attempt in range(args.repeat):
            plain.append(run_baseline(folder, args.jobs, attempt))
            ours.append(run_sweepledger(folder, manifest, attempt))
        best_ours, best_plain = min(ours), min(plain)
        ratio = best_ours / best_plain
        rows = [
            ("sweepledger run", best_ours, statistics.median(ours)),
            ("ProcessPoolExecutor", best_plain, statistics.median(plain)),
        ]
        print(f"{args.jobs} command jobs, {WORKERS} workers, best of {args.repeat}")
        print(f"{'side':<22}{'best s':>9}{'median s':>10}{'jobs/s':>9}")
        for name, best, median in rows:
            print(f"{name:<22}{best:>9.2f}{median:>10.2f}{args.jobs / best:>9.0f}")
        verdict = "ok" if ratio <= TARGET_RATIO else "ABOVE TARGET"
        print(f"ratio {ratio:.3f} (target <= {TARGET_RATIO}): {verdict}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
