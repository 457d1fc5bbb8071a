"""Benchmark the batch runner: the whole ``sweepledger run`` process, timed from outside.

Cases (issue 3):
  cpu     N jobs of ~5 ms CPU, --workers 2, against a plain ProcessPoolExecutor(2) script
          running the same callable N times, measured in the same run (target ratio <= 1.15);
  noop    20,000 no-op jobs: jobs/s and the events/s the ledger sustained;
  sleep   N jobs of 50 ms sleep, --workers 2, against the ideal N * 50 ms / 2 (target <= 1.10);
  ray     the sleep case with --executor ray, and its ratio to process.

Machines shared with other work make single timings noisy: the cpu case interleaves
``--repeat`` runs of both sides and compares the best of each (medians are shown too).

Usage:
  .venv/bin/python bench/bench_runner.py                 # every case at the issue's sizes
  .venv/bin/python bench/bench_runner.py --quick         # small sizes, a smoke run
  .venv/bin/python bench/bench_runner.py --cases cpu,noop --repeat 5
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
from typing import Any

HERE = Path(__file__).resolve().parent
SWEEPLEDGER = Path(sys.executable).with_name("sweepledger")

from bench_runner_jobs import burn  # noqa: E402

BASELINE = """\
import sys
from concurrent.futures import ProcessPoolExecutor

sys.path.insert(0, {folder!r})
from bench_runner_jobs import cpu

if __name__ == "__main__":
    params = [{{"n": {n}, "i": i}} for i in range({jobs})]
    with ProcessPoolExecutor({workers}) as pool:
        results = list(pool.map(cpu, params, [None] * len(params)))
    assert len(results) == {jobs}
"""


def calibrate(ms: float) -> int:
    """Iterations of ``burn`` that take about ``ms`` milliseconds on this machine."""
    n = 10_000
    while True:
        start = time.perf_counter()
        burn(n)
        took = time.perf_counter() - start
        if took > 0.05:
            return max(1, int(n * ms / 1000.0 / took))
        n *= 2


def write_manifest(
    folder: Path, name: str, func: str, axis: list[int], base: dict[str, Any]
) -> Path:
    path = folder / f"{name}.yaml"
    body = {
        "name": name,
        "callable": f"bench_runner_jobs:{func}",
        "matrix": {"base_params": base, "axes": {"i": axis}},
    }
    path.write_text(json.dumps(body), encoding="utf-8")  # JSON is YAML
    return path


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return took


def run_cmd(folder: Path, manifest: Path, root: str, *args: str) -> float:
    root_path = folder / root
    shutil.rmtree(root_path, ignore_errors=True)
    argv = [str(SWEEPLEDGER), "--root", str(root_path), "run", str(manifest), *args]
    return timed(argv, folder)


def count_events(folder: Path, root: str) -> int:
    out = subprocess.run(
        [str(SWEEPLEDGER), "--root", str(folder / root), "head"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out.split(":", 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="cpu,noop,sleep,ray")
    parser.add_argument(
        "--repeat", type=int, default=5, help="Interleaved runs of the cpu case (best is shown)."
    )
    parser.add_argument("--cpu-jobs", type=int, default=2000)
    parser.add_argument("--cpu-ms", type=float, default=5.0)
    parser.add_argument("--noop-jobs", type=int, default=20000)
    parser.add_argument("--sleep-jobs", type=int, default=2000)
    parser.add_argument("--sleep-ms", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="Small sizes, one repeat.")
    args = parser.parse_args()
    if args.quick:
        args.cpu_jobs, args.noop_jobs, args.sleep_jobs, args.repeat = 400, 2000, 100, 1
    cases = set(args.cases.split(","))
    w = str(args.workers)
    rows: list[tuple[str, int, float, float | None, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="sweepledger-bench-") as tmp:
        folder = Path(tmp)
        shutil.copy(HERE / "bench_runner_jobs.py", folder / "bench_runner_jobs.py")
        if "cpu" in cases:
            n = calibrate(args.cpu_ms)
            manifest = write_manifest(folder, "cpu", "cpu", list(range(args.cpu_jobs)), {"n": n})
            script = folder / "baseline.py"
            script.write_text(
                BASELINE.format(folder=str(folder), n=n, jobs=args.cpu_jobs, workers=args.workers),
                encoding="utf-8",
            )
            ours, base = [], []
            for _ in range(args.repeat):  # interleaved, so drift hits both alike
                base.append(timed([sys.executable, str(script)], folder))
                ours.append(run_cmd(folder, manifest, "cpu-root", "--workers", w))
            b, o = min(base), min(ours)
            mb, mo = statistics.median(base), statistics.median(ours)
            label = f"cpu {args.cpu_ms:g}ms x{args.cpu_jobs} w{w}"
            spread = f"median {mb:.2f}"
            rows.append((f"{label} ProcessPoolExecutor", args.cpu_jobs, b, None, "", spread))
            note = f"median {mo:.2f}, median ratio {mo / mb:.3f}"
            rows.append((f"{label} sweepledger run", args.cpu_jobs, o, o / b, "<= 1.15", note))
        if "noop" in cases:
            manifest = write_manifest(folder, "noop", "noop", list(range(args.noop_jobs)), {})
            took = min(
                run_cmd(folder, manifest, "noop-root", "--workers", w)
                for _ in range(max(1, args.repeat // 2))
            )
            events = count_events(folder, "noop-root")
            rate = f"{args.noop_jobs / took:,.0f} jobs/s, {events / took:,.0f} events/s"
            rows.append((f"noop x{args.noop_jobs} w{w}", args.noop_jobs, took, None, "", rate))
        sleep_s: float | None = None
        ideal = args.sleep_jobs * args.sleep_ms / 1000.0 / args.workers
        axis = list(range(args.sleep_jobs))
        base_params = {"ms": args.sleep_ms}
        if "sleep" in cases:
            manifest = write_manifest(folder, "sleep", "sleep", axis, base_params)
            sleep_s = run_cmd(folder, manifest, "sleep-root", "--workers", w)
            label = f"sleep {args.sleep_ms:g}ms x{args.sleep_jobs} w{w} process"
            rows.append((label, args.sleep_jobs, sleep_s, sleep_s / ideal, "<= 1.10 of ideal", ""))
        if "ray" in cases:
            manifest = write_manifest(folder, "sleep", "sleep", axis, base_params)
            ray_s = run_cmd(folder, manifest, "ray-root", "--workers", w, "--executor", "ray")
            label = f"sleep {args.sleep_ms:g}ms x{args.sleep_jobs} w{w} ray"
            note = f"{ray_s / sleep_s:.3f}x process" if sleep_s else ""
            rows.append((label, args.sleep_jobs, ray_s, ray_s / ideal, "of ideal", note))
    print(f"{'case':<48} {'jobs':>6} {'wall_s':>8} {'ratio':>7}  target / notes")
    for label, jobs, took, ratio, target, note in rows:
        ratio_text = f"{ratio:.3f}" if ratio is not None else "-"
        print(f"{label:<48} {jobs:>6} {took:>8.2f} {ratio_text:>7}  {target} {note}".rstrip())


if __name__ == "__main__":
    main()
