"""Pareto benchmark: 200,000 trial outcomes of one study -> the ``pareto`` projection and its
files, beside Optuna loading the same trials from a ``JournalFileBackend`` (``load_study`` +
``best_trials``), the ratio from one run.

Usage: .venv/bin/python bench/bench_pareto.py [--trials 200000] [--root DIR]

Steps: build the ledger (intent + outcome per trial, three objectives); catch the base tables
up (``rebuild gaps``, not timed against the target); time ``rebuild pareto`` from scratch
(the projection update: SQL for the trial rows, the dominance sweep, pareto.json/.csv and
trials.jsonl written); time the whole ``pareto --study`` path on a cold projection database
too. Optuna (``pip install optuna``, a dev-only dependency): the same metrics written as
complete trials of a 3-objective study through the journal backend (not timed), then
``optuna.load_study`` + ``study.best_trials`` timed in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ledger import Ledger

CHUNK = 10_000
STUDY = "bench-study"
TARGET_S = 3.0


def metrics_of(i: int) -> dict[str, float]:
    """Deterministic, spread-out objective values (a frontier of a few hundred points)."""
    a = (i * 7919) % 100_003 / 100_003
    b = (i * 104_729) % 99_991 / 99_991
    c = (i * 1_299_709) % 99_989 / 99_989
    return {
        "mean_pnl": round(100 * a + 10 * math.sin(i), 6),
        "kill_prob_ci_upper": round(b / 2, 6),
        "drawdown_cvar": round(1000 * c, 6),
        "kills": float(i % 5),
        "total_runs": 50.0,
    }


def build(root: Path, trials: int) -> None:
    led = Ledger.open(root, create=True)
    started = {
        "name": STUDY,
        "manifest": {"name": STUDY},
        "manifest_sha256": "0" * 64,
        "jobs": trials,
        "executor": "process",
        "workers": 2,
    }
    events: list[dict[str, Any]] = [{"type": "batch.started", "batch": STUDY, "data": started}]
    seq = led.head().seq + 2
    for i in range(trials):
        jid = f"{i:016x}"
        params = {"hedge_band_base": (i % 97) / 97, "mm_size_eta": (i % 89) / 30 + 0.2}
        intent = {
            "job_id": jid,
            "index": i,
            "name": f"c_{jid}",
            "callable": "b:t",
            "params": params,
            "seed": i,
        }
        result = {
            "evidence_verified": True,
            "suites_passed": {"research": True, "adversarial": i % 3 > 0},
        }
        outcome = {
            "job_id": jid,
            "status": "ok",
            "duration_s": 0.1,
            "metrics": metrics_of(i),
            "result": result,
        }
        events.append({"type": "trial.intent", "batch": STUDY, "data": intent})
        events.append({"type": "trial.outcome", "batch": STUDY, "cause": seq, "data": outcome})
        seq += 2
    for start in range(0, len(events), CHUNK):
        led.append(events[start : start + CHUNK])


def timed(code: str, *args: str) -> float:
    """Wall time of ``python -c code args`` in a fresh process."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], check=True)
    return time.perf_counter() - start


OURS = """
import sys, time
from pathlib import Path
from projections import rebuild
t = time.perf_counter()
rebuild(Path(sys.argv[1]), ["pareto"])
print(time.perf_counter() - t)
"""

OPTUNA_LOAD = """
import sys, time, optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
optuna.logging.set_verbosity(optuna.logging.WARNING)
t = time.perf_counter()
study = optuna.load_study(study_name="bench",
                          storage=JournalStorage(JournalFileBackend(sys.argv[1])))
best = study.best_trials
print(time.perf_counter() - t, len(best))
"""


def optuna_journal(path: Path, trials: int) -> None:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name="bench",
        storage=JournalStorage(JournalFileBackend(str(path))),
        directions=["maximize", "minimize", "minimize"],
    )
    dist = {
        "hedge_band_base": optuna.distributions.FloatDistribution(0.0, 1.0),
        "mm_size_eta": optuna.distributions.FloatDistribution(0.2, 3.2),
    }
    batch = []
    for i in range(trials):
        m = metrics_of(i)
        batch.append(
            optuna.trial.create_trial(
                params={"hedge_band_base": (i % 97) / 97, "mm_size_eta": (i % 89) / 30 + 0.2},
                distributions=dist,
                values=[m["mean_pnl"], m["kill_prob_ci_upper"], m["drawdown_cvar"]],
            )
        )
        if len(batch) == CHUNK:
            study.add_trials(batch)
            batch = []
    study.add_trials(batch)


def run_ours(root: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", OURS, str(root)], check=True, capture_output=True, text=True
    ).stdout
    return float(out.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200_000)
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument("--no-optuna", action="store_true")
    args = parser.parse_args()
    base = args.root or Path(tempfile.mkdtemp(prefix="bench-pareto-"))
    root = base / "root"
    try:
        t0 = time.perf_counter()
        build(root, args.trials)
        print(f"built {args.trials} trials in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        timed(
            "from pathlib import Path; import sys; from projections import rebuild; "
            "rebuild(Path(sys.argv[1]), ['gaps'])",
            str(root),
        )
        ours = run_ours(root)
        front = json.loads((root / "studies" / STUDY / "pareto.json").read_text())["frontier"]
        rows = [
            (
                "pareto update + files",
                f"{ours:.2f} s",
                f"<= {TARGET_S:.0f} s",
                f"{len(front)} on the frontier",
            )
        ]
        if not args.no_optuna:
            try:
                import optuna  # noqa: F401
            except ImportError:
                print("optuna not installed: pip install optuna", file=sys.stderr)
            else:
                journal = base / "optuna.journal"
                t0 = time.perf_counter()
                optuna_journal(journal, args.trials)
                print(
                    f"optuna journal written in {time.perf_counter() - t0:.1f} s", file=sys.stderr
                )
                out = subprocess.run(
                    [sys.executable, "-c", OPTUNA_LOAD, str(journal)],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout.split()
                theirs, best = float(out[0]), int(out[1])
                rows.append(
                    (
                        "optuna load_study + best_trials",
                        f"{theirs:.2f} s",
                        "",
                        f"{best} best trials",
                    )
                )
                rows.append(("ratio optuna / ours", f"{theirs / ours:.1f}x", ">= 20x", ""))
        width = max(len(r[0]) for r in rows)
        print(f"{'step':<{width}}  {'time':>8}  {'target':>7}  note")
        for name, secs, target, note in rows:
            print(f"{name:<{width}}  {secs:>8}  {target:>7}  {note}")
    finally:
        if args.root is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
