"""``run_study``: seeded candidate search over a manifest's ``study.space``, every step recorded.

A study is one batch (batch id = study id). Each generation:

1. **Propose.** Unless the ledger already holds the generation's ``candidate.proposed`` events
   (a resumed or extended study), ``trials`` new candidates are drawn with numpy's PCG64 seeded
   by ``(seed, generation)``: generation 0 uniformly in the space's boxes; a later one by
   Gaussian mutation (sigma = ``MUTATION_SCALE`` of each box, clipped to it) of the current
   Pareto frontier read from the ``pareto`` projection, parents taken in candidate_id order
   round-robin (uniform again when the frontier is empty). Values are rounded to
   ``DIGITS`` decimals. A candidate's id is its trial's job id: the hash of its params with
   what runs them (``manifest.job_id_of``); an id already proposed is drawn again. The
   generation's events are appended in one commit.
2. **Evaluate.** Every proposed candidate is a job of the study's batch (job name
   ``c_<candidate_id>``, params = the manifest's params + the candidate's), run by the runner:
   the first generation starts the batch, later ones (and a re-run after Ctrl-C or kill -9)
   resume it with the grown job set, so only candidates without a final outcome run.
3. The ``pareto`` projection is brought up to date.

The study ends with ``promote``. Same seed and inputs give the same candidates and metrics,
whatever the root, the worker count or the executor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from commands.runner.batch import RunRequest, RunSummary, execute, plan_run
from commands.runner.errors import RunRefused
from commands.runner.manifest import (
    LoadedManifest,
    job_id_of,
    job_target,
    load_parsed,
    manifest_from_data,
    parse_manifest,
)
from commands.runner.promote import PromoteSummary, promote
from ledger import Ledger
from projections import StudyNotFound, pareto_document
from schemas import DEFAULT_BUDGETS, Budgets, CandidateProposed, Manifest, NewEvent

MUTATION_SCALE = 0.1
DIGITS = 6
MAX_DRAWS = 100  # per candidate, before a space too small to hold new candidates is refused
SMOKE = {"trials": 3, "mc_runs": 10, "mc_ticks": 100}
DEFAULT_TRIALS = 10
EXAMPLE_MC = "mc"


def example_manifest(mc_runs: int, mc_ticks: int) -> dict[str, Any]:
    """The built-in Monte Carlo study: the ``montecarlo`` workload over its ``PARAM_SPACE``."""
    from commands.workloads.market import PARAM_SPACE, RUNS_PARAM, TICKS_PARAM

    return {
        "name": "mc-study",
        "callable": "commands.workloads.montecarlo:trial",
        "kind": "trial",
        "params": {RUNS_PARAM: mc_runs, TICKS_PARAM: mc_ticks},
        "study": {"space": {k: [lo, hi] for k, (lo, hi) in PARAM_SPACE.items()}},
        "jobs": [],
    }


@dataclass(frozen=True)
class StudyRequest:
    """What ``sweepledger study`` was asked to do."""

    root: Path
    example: str | None = EXAMPLE_MC
    manifest: Path | None = None
    study_id: str | None = None
    trials: int = DEFAULT_TRIALS
    generations: int = 1
    seed: int = 42
    mc_runs: int = 50
    mc_ticks: int = 600
    budgets: Budgets = DEFAULT_BUDGETS
    cli_settings: dict[str, Any] = field(default_factory=dict)
    argv: tuple[str, ...] = ()


@dataclass
class StudySummary:
    """What a study run did: its id, candidates per generation, the last run, the promotion."""

    study: str
    proposed: list[int] = field(default_factory=list)
    runs: list[RunSummary] = field(default_factory=list)
    frontier: int = 0
    promotion: PromoteSummary | None = None
    exit_code: int = 0


def _base_manifest(request: StudyRequest) -> tuple[Manifest, Path]:
    if request.manifest is not None:
        path = Path(request.manifest)
        manifest = parse_manifest(path)
    else:
        if request.example != EXAMPLE_MC:
            raise RunRefused(f"unknown example {request.example!r} (choose from: {EXAMPLE_MC})")
        path = Path.cwd() / f"<example {EXAMPLE_MC}>"
        manifest = manifest_from_data(example_manifest(request.mc_runs, request.mc_ticks), path)
    if manifest.study is None or not manifest.study.space:
        raise RunRefused(f"manifest {path}: a study needs study.space (param: [low, high])")
    if manifest.jobs or manifest.matrix is not None or manifest.users_file is not None:
        raise RunRefused(f"manifest {path}: a study's jobs are its candidates (no jobs/matrix)")
    return manifest, path


def _proposed(ledger: Ledger, study: str) -> list[CandidateProposed]:
    if not ledger.exists():
        return []
    return [
        CandidateProposed.model_validate(e.data)
        for e in ledger.read(types=["candidate.proposed"], batch=study)
    ]


def _frontier(root: Path, study: str) -> list[dict[str, Any]]:
    try:
        return list(pareto_document(root, study)["frontier"])
    except StudyNotFound:
        return []


def propose(
    manifest: Manifest,
    study: str,
    seed: int,
    generation: int,
    count: int,
    parents: list[dict[str, Any]],
    taken: set[str],
) -> list[CandidateProposed]:
    """``count`` new candidates of ``generation`` (see the module docstring)."""
    assert manifest.study is not None
    space = manifest.study.space
    names = list(space)
    low = np.array([space[n][0] for n in names])
    high = np.array([space[n][1] for n in names])
    rng = np.random.Generator(np.random.PCG64([seed, generation]))
    target = job_target(manifest)
    out: list[CandidateProposed] = []
    for i in range(count):
        parent = parents[i % len(parents)] if generation and parents else None
        for _ in range(MAX_DRAWS):
            if parent is None:
                values = rng.uniform(low, high)
            else:
                start = np.array([float(parent["params"][n]) for n in names])
                values = np.clip(start + rng.normal(0.0, MUTATION_SCALE * (high - low)), low, high)
            chosen = {n: round(float(v), DIGITS) for n, v in zip(names, values, strict=True)}
            params = {**manifest.params, **chosen}
            candidate_id = job_id_of(target, params)
            if candidate_id not in taken:
                break
        else:
            raise RunRefused(f"study {study!r}: no new candidate after {MAX_DRAWS} draws")
        taken.add(candidate_id)
        out.append(
            CandidateProposed(
                candidate_id=candidate_id,
                study=study,
                params=chosen,
                origin="random" if parent is None else "mutation",
                parents=[] if parent is None else [parent["candidate_id"]],
                generation=generation,
                seed=seed,
                reason="uniform in study.space"
                if parent is None
                else f"gaussian mutation, sigma {MUTATION_SCALE} of each box",
            )
        )
    return out


def _loaded(manifest: Manifest, path: Path, candidates: list[CandidateProposed]) -> LoadedManifest:
    body = manifest.model_dump(exclude_unset=True)
    body["jobs"] = [{"name": f"c_{c.candidate_id}", "params": c.params} for c in candidates]
    loaded = load_parsed(manifest_from_data(body, path), path)
    ids = [job.job_id for job in loaded.jobs]
    assert ids == [c.candidate_id for c in candidates], "candidate ids are their job ids"
    return loaded


def _evaluate(request: StudyRequest, study: str, loaded: LoadedManifest) -> RunSummary | None:
    """Run the candidates without a final outcome; None when there is none (nothing written)."""
    ledger = Ledger(request.root)
    started = ledger.exists() and any(
        True for _ in ledger.read(types=["batch.started"], batch=study)
    )
    settings = {"seed": request.seed, **request.cli_settings}
    run = RunRequest(
        manifest=loaded.path,
        root=request.root,
        cli_settings=settings,
        batch_id=None if started else study,
        resume=study if started else None,
        force=started,
        argv=request.argv,
        loaded=loaded,
    )
    plan = plan_run(run)
    if plan.history is not None and not plan.to_run:
        return None
    return execute(plan)


def run_study(request: StudyRequest) -> StudySummary:
    """Propose, evaluate and rank every generation of a study, then promote.

    Raises:
        ManifestInvalid, RunRefused: a bad manifest or option (nothing written).
    """
    manifest, path = _base_manifest(request)
    study = request.study_id or f"{manifest.name}-{request.seed}"
    summary = StudySummary(study=study)
    for generation in range(request.generations):
        ledger = Ledger.open(request.root, create=True)
        candidates = _proposed(ledger, study)
        have = sum(1 for c in candidates if c.generation == generation)
        if have == 0:
            parents = _frontier(request.root, study) if generation else []
            taken = {c.candidate_id for c in candidates}
            new = propose(manifest, study, request.seed, generation, request.trials, parents, taken)
            ledger.append(
                [
                    NewEvent(
                        type="candidate.proposed",
                        data=c,
                        batch=study,
                        key=f"candidate/{c.candidate_id}",
                    )
                    for c in new
                ]
            )
            candidates += new
        summary.proposed.append(sum(1 for c in candidates if c.generation == generation))
        current = [c for c in candidates if c.generation <= generation]
        run = _evaluate(request, study, _loaded(manifest, path, current))
        if run is None:
            continue
        summary.runs.append(run)
        if run.interrupted:
            summary.exit_code = run.exit_code
            return summary
    summary.frontier = len(_frontier(request.root, study))
    summary.promotion = promote(request.root, study, request.budgets)
    summary.exit_code = max(r.exit_code for r in summary.runs) if summary.runs else 0
    return summary
