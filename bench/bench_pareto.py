"""Pareto benchmark: 200,000 trial outcomes of one study -> ``sweepledger pareto --study S``
(the projection update + pareto.json, pareto.csv, trials.jsonl), the whole CLI process, beside
Optuna loading the same trials from a ``JournalFileBackend`` journal (``load_study`` +
``best_trials``, in a fresh process); the ratio from one run.

Usage: .venv/bin/python bench/bench_pareto.py [--trials 200000] [--repeat 3] [--root DIR]
       [--no-optuna] [--profile]

Steps: build the ledger (intent + outcome per trial, three objectives; kept under `--root` and
reused by the next run with that root); catch the base tables
up once (``rebuild gaps``: the events table and its derived tables, which every projection
shares, not the target); then, ``--repeat`` times on a fresh copy of that state, time the CLI
``pareto --study`` whole (process start, the pareto projection built from its base tables,
its files written, the frontier printed) and report the median. Info rows: the same command
again once current (read only), after 1,000 more trials were appended, and on a root with no
projection database at all (base tables included).

The ratio is taken like for like, two ways: Optuna's ``load_study`` + ``best_trials`` call
(timed inside its process, imports done) against the command's work (timed the same way:
``main`` called in a process whose imports are done), and each process whole (start, imports,
work, exit). A third, stricter row sets our whole process against their call alone: it
charges us ~0.3 s of interpreter start, imports and exit that their figure does not carry.

Optuna (a dev-only dependency): the journal is written directly in Optuna's log format (one
``CREATE_STUDY`` then one ``CREATE_TRIAL`` per complete trial, as ``study.add_trials`` writes
them; building it through the API takes ~15 min for 200k), after checking once that a small
journal written that way loads into the same trials as one written by ``add_trials``. It is
cached in the temp directory by size and Optuna version.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ledger import Ledger  # noqa: E402

CHUNK = 10_000
STUDY = "bench-study"
TARGET_S = 3.0
TARGET_RATIO = 20.0
MORE_TRIALS = 1_000
CHECK_TRIALS = 50
DIRECTIONS = ["maximize", "minimize", "minimize"]
OBJECTIVES = ("mean_pnl", "kill_prob_ci_upper", "drawdown_cvar")
# Optuna's ``FloatDistribution`` of each param, as ``distribution_to_json`` writes it.
DISTRIBUTIONS = {
    "hedge_band_base": (0.0, 1.0),
    "mm_size_eta": (0.2, 3.2),
}


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


def params_of(i: int) -> dict[str, float]:
    return {"hedge_band_base": (i % 97) / 97, "mm_size_eta": (i % 89) / 30 + 0.2}


def build(root: Path, trials: int, first: int = 0) -> None:
    """Append trials ``first`` .. ``first + trials - 1`` (and the batch start when first)."""
    led = Ledger.open(root, create=True)
    events: list[dict[str, Any]] = []
    if first == 0:
        started = {
            "name": STUDY,
            "manifest": {"name": STUDY},
            "manifest_sha256": "0" * 64,
            "jobs": trials,
            "executor": "process",
            "workers": 2,
        }
        events.append({"type": "batch.started", "batch": STUDY, "data": started})
    seq = led.head().seq + len(events) + 1
    for i in range(first, first + trials):
        jid = f"{i:016x}"
        intent = {
            "job_id": jid,
            "index": i,
            "name": f"c_{jid}",
            "callable": "b:t",
            "params": params_of(i),
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


def built_already(raw: Path, trials: int) -> bool:
    """Whether ``raw`` holds the ledger ``build(raw, trials)`` makes (kept from an earlier run
    with the same ``--root``).

    Raises:
        SystemExit: ``raw`` holds some other ledger (building again would append to it).
    """
    if not (raw / "ledger.jsonl").exists():
        return False
    seq = Ledger.open(raw).head().seq
    if seq != 1 + 2 * trials:
        raise SystemExit(f"{raw} holds {seq} events, not the {1 + 2 * trials} of {trials} trials")
    print(f"reusing the {trials} trials of {raw}", file=sys.stderr)
    return True


def timed_build(raw: Path, trials: int) -> bool:
    t0 = time.perf_counter()
    build(raw, trials)
    print(f"built {trials} trials in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return True


def cli(root: Path, *args: str) -> tuple[float, str]:
    """Wall time and stdout of the ``sweepledger`` CLI run whole in a fresh process (this
    checkout's code first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    code = "import sys; from commands.program import run; sys.exit(run())"  # the console script
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, "--root", str(root), *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    return time.perf_counter() - start, done.stdout


def fresh_copy(source: Path, target: Path) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    return target


def profile(root: Path) -> None:
    """cProfile of the ``pareto`` command in this process (cumulative, top 25) to stderr."""
    import cProfile
    import io
    import pstats

    from commands.cli import main

    profiler = cProfile.Profile()
    profiler.enable()
    main(["--root", str(root), "pareto", "--study", STUDY])
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
    print(text.getvalue(), file=sys.stderr)


# --- Optuna ----------------------------------------------------------------------------------


def _distribution_json(low: float, high: float) -> str:
    attributes = {"step": None, "low": low, "high": high, "log": False}
    return json.dumps({"name": "FloatDistribution", "attributes": attributes})


def write_journal(path: Path, trials: int, worker_id: str) -> None:
    """The journal ``study.add_trials`` writes for ``trials`` complete trials of the study
    ``bench`` (its log lines: ``json.dumps(log, separators=(",", ":"))``), written directly."""
    distributions = {k: _distribution_json(lo, hi) for k, (lo, hi) in DISTRIBUTIONS.items()}
    moment = "2026-01-01T00:00:00.000000+00:00"
    with path.open("w", encoding="utf-8") as f:
        # StudyDirection: MAXIMIZE = 2, MINIMIZE = 1
        create = {
            "op_code": 0,
            "worker_id": worker_id,
            "study_name": "bench",
            "directions": [2, 1, 1],
        }
        f.write(json.dumps(create, separators=(",", ":")) + "\n")
        lines = []
        for i in range(trials):
            m = metrics_of(i)
            log = {
                "op_code": 4,  # CREATE_TRIAL
                "worker_id": worker_id,
                "study_id": 0,
                "datetime_start": moment,
                "state": 1,  # COMPLETE
                "value": None,
                "values": [m[name] for name in OBJECTIVES],
                "datetime_complete": moment,
                "distributions": distributions,
                "params": params_of(i),
                "user_attrs": {},
                "system_attrs": {},
                "intermediate_values": {},
            }
            lines.append(json.dumps(log, separators=(",", ":")))
            if len(lines) == CHUNK:
                f.write("\n".join(lines) + "\n")
                lines = []
        if lines:
            f.write("\n".join(lines) + "\n")


def journal_through_api(path: Path, trials: int) -> None:
    """The same trials added through Optuna's API (slow: for the format check only)."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name="bench",
        storage=JournalStorage(JournalFileBackend(str(path))),
        directions=DIRECTIONS,
    )
    dist = {
        k: optuna.distributions.FloatDistribution(lo, hi) for k, (lo, hi) in DISTRIBUTIONS.items()
    }
    study.add_trials(
        [
            optuna.trial.create_trial(
                params=params_of(i),
                distributions=dist,
                values=[metrics_of(i)[name] for name in OBJECTIVES],
            )
            for i in range(trials)
        ]
    )


def _loaded(path: Path) -> tuple[list[Any], list[int]]:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(
        study_name="bench", storage=JournalStorage(JournalFileBackend(str(path)))
    )
    trials = [
        (t.number, t.state, t.values, t.params, t.distributions, t.user_attrs, t.system_attrs)
        for t in study.trials
    ]
    return trials, sorted(t.number for t in study.best_trials)


def check_journal_format(scratch: Path) -> None:
    """A small journal written directly loads into the same trials (and best trials) as one
    written by ``study.add_trials``.

    Raises:
        SystemExit: they differ (Optuna changed its journal format).
    """
    api, direct = scratch / "api.journal", scratch / "direct.journal"
    journal_through_api(api, CHECK_TRIALS)
    first = json.loads(api.read_text().splitlines()[0])
    write_journal(direct, CHECK_TRIALS, first["worker_id"])
    if _loaded(api) != _loaded(direct):
        raise SystemExit("the directly written journal does not load like Optuna's own")


def cached_journal(trials: int, scratch: Path) -> Path:
    import optuna

    path = (
        Path(tempfile.gettempdir()) / f"bench-pareto-optuna-{optuna.__version__}-{trials}.journal"
    )
    if not path.exists():
        check_journal_format(scratch)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        write_journal(partial, trials, f"{uuid.uuid4()}-{threading.get_ident()}")
        partial.replace(path)
    return path


OPTUNA_LOAD = """
import sys, time, optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
optuna.logging.set_verbosity(optuna.logging.WARNING)
t = time.perf_counter()
study = optuna.load_study(study_name="bench",
                          storage=JournalStorage(JournalFileBackend(sys.argv[1])))
best = study.best_trials
print(time.perf_counter() - t, *sorted(trial.number for trial in best))
"""


# Ours timed as Optuna's is: in a process whose imports are done, from the call to its return.
OURS_LOAD = """
import sys, time
import duckdb, numpy, pyarrow, pyarrow.compute
import commands.cli.pareto, projections.pareto, projections.pareto_render, projections.pareto_sql
from commands.cli import main
t = time.perf_counter()
try:
    main(["--root", sys.argv[1], "pareto", "--study", sys.argv[2]])
except SystemExit as e:
    assert not e.code, e.code
print(time.perf_counter() - t, file=sys.stderr)
"""


def time_ours_in_process(root: Path) -> float:
    """Seconds of the ``pareto`` command's work in a process that has imported it already."""
    done = subprocess.run(
        [sys.executable, "-c", OURS_LOAD, str(root), STUDY],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=REPO,
    )
    return float(done.stderr.split()[-1])


def time_optuna(journal: Path) -> tuple[float, float, list[int]]:
    """Seconds of ``load_study`` + ``best_trials`` in a fresh process, seconds of that whole
    process (start, ``import optuna``, the load, exit), and the best trials' numbers (trial
    ``i`` of the journal is job ``i`` of the ledger)."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", OPTUNA_LOAD, str(journal)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    whole = time.perf_counter() - start
    return float(out[0]), whole, [int(n) for n in out[1:]]


# --- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--root", type=Path, default=None, help="work here (kept afterwards)")
    parser.add_argument("--no-optuna", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile one cold pareto run")
    args = parser.parse_args()
    base = args.root or Path(tempfile.mkdtemp(prefix="bench-pareto-"))
    base.mkdir(parents=True, exist_ok=True)
    raw, ready, work = base / "raw", base / "ready", base / "work"
    try:
        built_already(raw, args.trials) or timed_build(raw, args.trials)
        fresh_copy(raw, ready)
        cli(ready, "rebuild", "gaps")  # the shared base tables, caught up once
        cold = []
        for _ in range(args.repeat):
            seconds, _ = cli(fresh_copy(ready, work), "pareto", "--study", STUDY)
            cold.append(seconds)
        front = json.loads((work / "studies" / STUDY / "pareto.json").read_text())["frontier"]
        current, _ = cli(work, "pareto", "--study", STUDY)
        build(work, MORE_TRIALS, first=args.trials)
        more, _ = cli(work, "pareto", "--study", STUDY)
        scratch, _ = cli(fresh_copy(raw, work), "pareto", "--study", STUDY)
        ours = statistics.median(cold)
        warm = statistics.median(
            time_ours_in_process(fresh_copy(ready, work)) for _ in range(args.repeat)
        )
        rows = [
            (
                "pareto --study (CLI, projection built)",
                f"{ours:.2f} s",
                f"<= {TARGET_S:.0f} s",
                f"median of {len(cold)}: {', '.join(f'{s:.2f}' for s in cold)}; "
                f"{len(front)} on the frontier",
            ),
            (
                "pareto --study, its work only",
                f"{warm:.2f} s",
                "",
                f"median of {args.repeat}, imports done first (as Optuna's figure)",
            ),
            ("pareto --study, already current", f"{current:.2f} s", "", "read only"),
            (f"pareto --study after +{MORE_TRIALS:,} trials", f"{more:.2f} s", "", ""),
            ("pareto --study, no database yet", f"{scratch:.2f} s", "", "base tables too"),
        ]
        if args.profile:
            profile(fresh_copy(ready, work))
        if not args.no_optuna:
            try:
                import optuna  # noqa: F401
            except ImportError:
                print("optuna not installed: pip install optuna", file=sys.stderr)
            else:
                t0 = time.perf_counter()
                journal = cached_journal(args.trials, base)
                took = time.perf_counter() - t0
                print(f"optuna journal ready in {took:.1f} s: {journal}", file=sys.stderr)
                theirs, theirs_whole, best = time_optuna(journal)
                same = best == sorted(int(row["job_id"], 16) for row in front)
                note = f"{len(best)} best, {'the same' if same else 'NOT the same'} trials"
                rows.append(("optuna load_study + best_trials", f"{theirs:.2f} s", "", note))
                rows.append(("optuna, whole process", f"{theirs_whole:.2f} s", "", "import too"))
                rows.append(
                    (
                        "ratio optuna / ours, both work only",
                        f"{theirs / warm:.1f}x",
                        f">= {TARGET_RATIO:.0f}x",
                        "like for like: their load call, our command's work",
                    )
                )
                rows.append(
                    (
                        "ratio optuna / ours, both whole process",
                        f"{theirs_whole / ours:.1f}x",
                        f">= {TARGET_RATIO:.0f}x",
                        "like for like: each process whole",
                    )
                )
                rows.append(
                    (
                        "ratio optuna load / ours whole",
                        f"{theirs / ours:.1f}x",
                        "",
                        "stricter: our process whole against their load call only",
                    )
                )
        width = max(len(r[0]) for r in rows)
        print(f"{'step':<{width}}  {'time':>8}  {'target':>7}  note")
        for name, secs, target, note in rows:
            print(f"{name:<{width}}  {secs:>8}  {target:>7}  {note}")
    finally:
        if args.root is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
