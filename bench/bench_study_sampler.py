"""Optuna sampler benchmark: one generation of ``study --sampler optuna:...`` asked from an
Optuna study rebuilt from the ledger, beside the same asks on a study Optuna already holds in
memory (its usual ask/tell loop); the ratio from one run.

Usage: .venv/bin/python bench/bench_study_sampler.py [--sizes 200,1000,5000] [--trials 20]

Per size N: a ledger with N earlier candidates of a 2-parameter, 3-objective study (generation
= position // --trials, every trial valid) and its projection database brought up to date (not
timed: the study's previous generation did that). Timed, best of 3: ours = reading the trials
and objectives from the projection (``study_trials`` + ``pareto_document``) + rebuilding the
Optuna study (``add_trial`` in job order) + ``--trials`` asks (``propose_optuna``); baseline =
the ``--trials`` asks alone on a study already told the same N trials (for NSGA-II with every
earlier generation's parents already selected, as a running loop has them).
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, FloatDistribution
from optuna.trial import create_trial

from commands.runner.manifest import manifest_from_data
from commands.runner.study_optuna import (
    LedgerPacedNSGAII,
    Told,
    propose_optuna,
    sampler_seed,
)
from ledger import Ledger
from projections import ensure_current, pareto_document, study_trials
from schemas import CandidateProposed

STUDY = "bench-sampler"
SEED = 42
CALLABLE = "bench:trial"
SPACE = {"x": [0.0, 1.0], "y": [0.0, 1.0]}
OBJECTIVES = {"mean_pnl": "max", "kill_prob_ci_upper": "min", "drawdown_cvar": "min"}
REPEATS = 3


def manifest_body() -> dict[str, Any]:
    return {
        "name": STUDY,
        "callable": CALLABLE,
        "kind": "trial",
        "study": {"space": SPACE, "objectives": OBJECTIVES},
        "jobs": [],
    }


def metrics_of(i: int) -> dict[str, float]:
    a = (i * 7919) % 100_003 / 100_003
    b = (i * 104_729) % 99_991 / 99_991
    return {
        "mean_pnl": round(100 * a + 10 * math.sin(i), 6),
        "kill_prob_ci_upper": round(b / 2, 6),
        "drawdown_cvar": round(1000 * (1 - a) * b, 6),
    }


def build(root: Path, n: int, per_generation: int) -> list[CandidateProposed]:
    """Append N candidates with their intents and valid outcomes; return the candidates."""
    from commands.runner.manifest import job_id_of

    led = Ledger.open(root, create=True)
    started = {
        "name": STUDY,
        "manifest": manifest_body(),
        "manifest_sha256": "0" * 64,
        "jobs": n,
        "executor": "process",
        "workers": 1,
    }
    events: list[dict[str, Any]] = [{"type": "batch.started", "batch": STUDY, "data": started}]
    found: list[CandidateProposed] = []
    for i in range(n):
        params = {"x": round((i * 0.6180339887) % 1, 6), "y": round((i * 0.7548776662) % 1, 6)}
        cid = job_id_of(CALLABLE, params)
        candidate = CandidateProposed(
            candidate_id=cid,
            study=STUDY,
            params=params,
            origin="random",
            generation=i // per_generation,
            seed=SEED,
        )
        found.append(candidate)
        events.append(
            {"type": "candidate.proposed", "batch": STUDY, "data": candidate.model_dump()}
        )
    seq = led.head().seq + len(events) + 1
    for i, c in enumerate(found):
        intent = {
            "job_id": c.candidate_id,
            "index": i,
            "name": f"c_{c.candidate_id}",
            "callable": CALLABLE,
            "params": c.params,
            "seed": i,
        }
        outcome = {
            "job_id": c.candidate_id,
            "status": "ok",
            "duration_s": 0.1,
            "metrics": metrics_of(i),
            "result": {"evidence_verified": True},
        }
        events.append({"type": "trial.intent", "batch": STUDY, "data": intent})
        events.append({"type": "trial.outcome", "batch": STUDY, "cause": seq, "data": outcome})
        seq += 2
    led.append(events)
    ensure_current(root)
    return found


def ours(root: Path, sampler: str, told: list[CandidateProposed], trials: int) -> float:
    manifest = manifest_from_data(manifest_body(), root / "m.yaml")
    generation = told[-1].generation + 1
    start = time.perf_counter()
    rows = {t["job_id"]: t for t in study_trials(root, STUDY)}
    objectives = [(o["name"], o["direction"]) for o in pareto_document(root, STUDY)["objectives"]]
    propose_optuna(
        sampler,
        manifest,
        STUDY,
        SEED,
        generation,
        trials,
        [Told(c, rows[c.candidate_id]) for c in told],
        objectives,
        {c.candidate_id for c in told},
    )
    return time.perf_counter() - start


def baseline(sampler: str, told: list[CandidateProposed], trials: int) -> float:
    generation = told[-1].generation + 1
    seed = sampler_seed(SEED, generation)
    chosen: optuna.samplers.BaseSampler
    if sampler.endswith("NSGAIISampler"):
        generations = {i: c.generation for i, c in enumerate(told)}
        chosen = LedgerPacedNSGAII(generations, generation, population_size=trials, seed=seed)
    else:
        chosen = optuna.samplers.TPESampler(n_startup_trials=trials, seed=seed)
    study = optuna.create_study(directions=["maximize", "minimize", "minimize"], sampler=chosen)
    space: dict[str, BaseDistribution] = {n: FloatDistribution(*box) for n, box in SPACE.items()}
    for i, c in enumerate(told):
        values = list(metrics_of(i).values())
        study.add_trial(create_trial(values=values, params=c.params, distributions=space))
    if isinstance(chosen, LedgerPacedNSGAII):
        chosen.settle(study)  # a running loop selected every earlier generation's parents
    start = time.perf_counter()
    for _ in range(trials):
        study.ask(fixed_distributions=space)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,1000,5000")
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    base = Path(tempfile.mkdtemp(prefix="bench-sampler-"))
    rows: list[tuple[str, int, float, float]] = []
    try:
        for n in (int(s) for s in args.sizes.split(",")):
            root = base / str(n)
            told = build(root, n, args.trials)
            for sampler in ("optuna:NSGAIISampler", "optuna:TPESampler"):
                mine = min(ours(root, sampler, told, args.trials) for _ in range(REPEATS))
                theirs = min(baseline(sampler, told, args.trials) for _ in range(REPEATS))
                rows.append((sampler, n, mine, theirs))
                print(f"{sampler} {n} done", file=sys.stderr)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"asks per generation: {args.trials}; best of {REPEATS}")
    print(
        f"{'sampler':<22} {'told':>6}  {'rebuilt from ledger':>19}  {'held in memory':>14}  ratio"
    )
    for sampler, n, mine, theirs in rows:
        print(f"{sampler:<22} {n:>6}  {mine:>17.3f} s  {theirs:>12.3f} s  {mine / theirs:.2f}x")


if __name__ == "__main__":
    main()
