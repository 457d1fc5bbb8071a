"""``run_study``: seeded candidate search over a manifest's ``study.space``, every step recorded.

A study is one batch (batch id = study id). Each generation:

1. **Propose.** Unless the ledger already holds the generation's ``candidate.proposed`` events
   (a resumed or extended study), ``trials`` new candidates are drawn by the request's sampler
   (``study_sampling``): the built-in one mutates the current Pareto frontier read from the
   ``pareto`` projection; an Optuna one is told every earlier candidate's trial read from the
   ledger, in job order (``study_optuna``). A candidate's id is its trial's job id: the hash of
   its params with what runs them (``manifest.job_id_of``). The generation's events are
   appended in one commit.
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

from commands.runner.batch import RunRequest, RunSummary, execute, plan_run
from commands.runner.errors import RunRefused
from commands.runner.manifest import (
    LoadedManifest,
    load_parsed,
    manifest_from_data,
    parse_manifest,
)
from commands.runner.promote import PromoteSummary, promote
from commands.runner.study_sampling import BUILTIN_SAMPLER, check_sampler, propose
from ledger import Ledger
from projections import DEFAULT_OBJECTIVES, StudyNotFound, pareto_document, study_trials
from schemas import DEFAULT_BUDGETS, Budgets, CandidateProposed, Manifest, NewEvent

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
    sampler: str = BUILTIN_SAMPLER
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


def _objectives(root: Path, study: str, manifest: Manifest) -> list[tuple[str, str]]:
    """The objectives ``pareto`` ranks the study by (the manifest's, or the defaults, before
    any trial)."""
    try:
        named = pareto_document(root, study)["objectives"]
        return [(str(o["name"]), str(o["direction"])) for o in named]
    except StudyNotFound:
        assert manifest.study is not None
        named = manifest.study.objectives
        return list(named.items()) if named else list(DEFAULT_OBJECTIVES)


def _propose(
    request: StudyRequest,
    manifest: Manifest,
    study: str,
    generation: int,
    candidates: list[CandidateProposed],
) -> list[CandidateProposed]:
    """The generation's new candidates from the request's sampler, given those proposed before."""
    taken = {c.candidate_id for c in candidates}
    if request.sampler == BUILTIN_SAMPLER:
        parents = _frontier(request.root, study) if generation else []
        return propose(manifest, study, request.seed, generation, request.trials, parents, taken)
    from commands.runner.study_optuna import Told, propose_optuna  # imports optuna (optional)

    try:
        trials = {t["job_id"]: t for t in study_trials(request.root, study)}
    except StudyNotFound:
        trials = {}
    told = [Told(c, trials.get(c.candidate_id)) for c in candidates]
    objectives = _objectives(request.root, study, manifest)
    return propose_optuna(
        request.sampler,
        manifest,
        study,
        request.seed,
        generation,
        request.trials,
        told,
        objectives,
        taken,
    )


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
    check_sampler(request.sampler, request.trials)
    manifest, path = _base_manifest(request)
    study = request.study_id or f"{manifest.name}-{request.seed}"
    summary = StudySummary(study=study)
    for generation in range(request.generations):
        ledger = Ledger.open(request.root, create=True)
        candidates = _proposed(ledger, study)
        have = sum(1 for c in candidates if c.generation == generation)
        if have == 0:
            new = _propose(request, manifest, study, generation, candidates)
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
