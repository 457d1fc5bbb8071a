"""``study --sampler optuna:...``: candidates asked from Optuna's NSGA-II and TPE samplers,
recorded like the built-in sampler's; deterministic across roots, worker counts and an
extension; equal to Optuna asked by hand from the ledger's trials; resumed after kill -9 in
the middle of a generation; unknown names and a missing optuna refused with exit 2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
import yaml
from runner_fixtures import cli

from commands.runner.study import StudyRequest, run_study
from ledger import Ledger
from projections import study_trials
from schemas import Budgets, CandidateProposed, PayloadInvalid, Tier, validate_payloads

REPO = Path(__file__).resolve().parents[2]
LOOSE = Budgets(tiers={"loose": Tier(max_kill_prob=1.0, max_drawdown_cvar=1e9, min_mean_pnl=-1e9)})
SAMPLERS = ("optuna:NSGAIISampler", "optuna:TPESampler")
TRIALS, GENERATIONS, SEED = 3, 3, 11
OBJECTIVES = {"gain": "max", "cost": "min"}
# Job 1 fails (told FAIL), job 2 has unverified evidence (told PRUNED); the second job of each
# generation pauses, so with two workers its outcome arrives after the third's.
JOBS = """\
import time


def trial(params, ctx):
    if ctx.index % 3 == 1:
        time.sleep(params["pause"])
    if ctx.index == 1:
        raise ValueError("the evaluator failed")
    x, y = params["x"], params["y"]
    return {
        "metrics": {"gain": x * (1.0 - y), "cost": (x - 0.6) ** 2 + y},
        "result": {"evidence_verified": ctx.index != 2},
    }
"""


def study_manifest(folder: Path, pause: float) -> Path:
    """A two-objective study of ``sampler_jobs:trial`` over x, y in [0, 1]."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sampler_jobs.py").write_text(JOBS, encoding="utf-8")
    manifest = {
        "name": "opt",
        "callable": "sampler_jobs:trial",
        "kind": "trial",
        "params": {"pause": pause},
        "study": {"space": {"x": [0.0, 1.0], "y": [0.0, 1.0]}, "objectives": OBJECTIVES},
    }
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    return path


def study_in(root: Path, manifest: Path, sampler: str, generations: int, workers: int) -> int:
    request = StudyRequest(
        root=root,
        manifest=manifest,
        example=None,
        study_id="s",
        trials=TRIALS,
        generations=generations,
        seed=SEED,
        sampler=sampler,
        budgets=LOOSE,
        cli_settings={"workers": workers},
    )
    return run_study(request).exit_code


def candidates(root: Path, study: str) -> list[CandidateProposed]:
    led = Ledger.open(root)
    return [
        CandidateProposed.model_validate(e.data)
        for e in led.read(types=["candidate.proposed"], batch=study)
    ]


def fingerprint(root: Path, study: str) -> list[tuple[Any, ...]]:
    """Every candidate (all its fields) and its trial's status and metrics."""
    trials = {t["job_id"]: t for t in study_trials(root, study)}
    return [
        (
            json.dumps(c.model_dump(), sort_keys=True),
            trials[c.candidate_id]["status"],
            json.dumps(trials[c.candidate_id]["metrics"], sort_keys=True),
        )
        for c in candidates(root, study)
    ]


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Per sampler, the same study in two roots: one run with 1 worker; the other with 2
    workers, run for one generation and then extended to all of them."""
    base = tmp_path_factory.mktemp("samplers")
    manifest = study_manifest(base / "m", pause=0.3)
    out: dict[str, tuple[Path, Path]] = {}
    for sampler in SAMPLERS:
        a, b = base / sampler.replace(":", "_") / "a", base / sampler.replace(":", "_") / "b"
        assert study_in(a, manifest, sampler, GENERATIONS, workers=1) == 1  # job 1 failed
        assert study_in(b, manifest, sampler, 1, workers=2) == 1
        assert study_in(b, manifest, sampler, GENERATIONS, workers=2) == 1
        out[sampler] = (a, b)
    return out


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_same_seed_same_candidates_across_roots_workers_and_an_extension(
    studies: dict[str, tuple[Path, Path]], sampler: str
) -> None:
    a, b = studies[sampler]
    outcomes = [e.data["job_id"] for e in Ledger.open(b).read(types=["trial.outcome"])]
    intents = [e.data["job_id"] for e in Ledger.open(b).read(types=["trial.intent"])]
    assert outcomes != intents, "two workers: outcomes arrived out of job order"
    assert fingerprint(a, "s") == fingerprint(b, "s")
    assert (a / "studies/s/pareto.json").read_bytes() == (b / "studies/s/pareto.json").read_bytes()
    statuses = [t["status"] for t in study_trials(a, "s")]
    valid = [t["valid"] for t in study_trials(a, "s")]
    assert statuses[1] == "error" and statuses[2] == "ok" and not valid[2]  # FAIL and PRUNED
    assert len(statuses) == TRIALS * GENERATIONS


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_candidates_are_recorded_like_the_builtin_samplers(
    studies: dict[str, tuple[Path, Path]], sampler: str
) -> None:
    root = studies[sampler][0]
    led = Ledger.open(root)
    proposed = list(led.read(types=["candidate.proposed"]))
    intents = {e.data["job_id"]: e for e in led.read(types=["trial.intent"])}
    outcomes = {e.cause: e for e in led.read(types=["trial.outcome"])}
    seen: set[str] = set()
    for generation in range(GENERATIONS):
        events = [e for e in proposed if e.data["generation"] == generation]
        assert len(events) == TRIALS
        seqs = [e.seq for e in events]
        assert seqs == list(range(seqs[0], seqs[0] + TRIALS))  # one commit per generation
        for e in events:
            c = CandidateProposed.model_validate(e.data)
            assert (e.batch, e.key) == ("s", f"candidate/{c.candidate_id}")
            assert (c.study, c.origin, c.seed) == ("s", sampler, SEED)
            assert set(c.parents) <= seen and c.reason and "optuna" in c.reason
            assert set(c.params) == {"x", "y"}
            intent = intents[c.candidate_id]  # a candidate's id is its trial's job id
            assert (intent.batch, intent.data["name"]) == ("s", f"c_{c.candidate_id}")
            assert intent.data["params"] == {"pause": 0.3, **c.params}
            assert outcomes[intent.seq].batch == "s"
        seen |= {e.data["candidate_id"] for e in events}
    parents = [len(e.data["parents"]) for e in proposed]
    # Generation 0 is random; with one complete trial there is no NSGA-II crossover yet and
    # TPE still counts startup trials (1 complete + 1 pruned < 3) in generation 1.
    assert parents[: 2 * TRIALS] == [0] * (2 * TRIALS)
    assert min(parents[2 * TRIALS :]) > 0, "generation 2 is bred from / modelled on the ledger"


def _by_hand(root: Path, sampler: str, generation: int) -> list[dict[str, float]]:
    """What stock Optuna asks, told the ledger's earlier trials as the docs say."""
    trials = {t["job_id"]: t for t in study_trials(root, "s")}
    seed = int(np.random.SeedSequence([SEED, generation]).generate_state(1)[0])
    chosen: optuna.samplers.BaseSampler = (
        optuna.samplers.NSGAIISampler(population_size=TRIALS, seed=seed)
        if sampler.endswith("NSGAIISampler")
        else optuna.samplers.TPESampler(n_startup_trials=TRIALS, seed=seed)
    )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=chosen)
    space: dict[str, optuna.distributions.BaseDistribution] = {
        "x": optuna.distributions.FloatDistribution(0.0, 1.0),
        "y": optuna.distributions.FloatDistribution(0.0, 1.0),
    }
    for c in candidates(root, "s"):
        if c.generation >= generation:
            break
        t = trials[c.candidate_id]
        state, values = optuna.trial.TrialState.FAIL, None
        if t["status"] == "ok" and not t["valid"]:
            state = optuna.trial.TrialState.PRUNED
        elif t["valid"]:
            state = optuna.trial.TrialState.COMPLETE
            values = [t["metrics"]["gain"], t["metrics"]["cost"]]
        study.add_trial(
            optuna.trial.create_trial(
                state=state,
                values=values,
                params=c.params,
                distributions=space,
                system_attrs={"NSGAIISampler:generation": c.generation},
            )
        )
    if isinstance(chosen, optuna.samplers.NSGAIISampler):
        for earlier in range(1, generation):  # as a running loop cached them
            chosen.get_parent_population(study, earlier)
    asks = [study.ask(fixed_distributions=space).params for _ in range(TRIALS)]
    return [{n: round(v, 6) for n, v in p.items()} for p in asks]


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_candidates_equal_stock_optuna_told_the_ledgers_trials_in_job_order(
    studies: dict[str, tuple[Path, Path]], sampler: str
) -> None:
    root = studies[sampler][0]
    for generation in range(GENERATIONS):
        recorded = [c.params for c in candidates(root, "s") if c.generation == generation]
        assert recorded == _by_hand(root, sampler, generation), generation


def _cli_study(root: Path, manifest: Path, sampler: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from commands.cli import main; main()",
        "--root",
        str(root),
        "study",
        "--manifest",
        str(manifest),
        "--study-id",
        "k",
        "--trials",
        str(TRIALS),
        "--generations",
        str(GENERATIONS),
        "--seed",
        str(SEED),
        "--sampler",
        sampler,
        "--workers",
        "1",
    ]


def test_kill_9_mid_generation_then_resume_asks_what_an_uninterrupted_run_asks(
    tmp_path: Path,
) -> None:
    sampler = "optuna:NSGAIISampler"
    manifest = study_manifest(tmp_path / "m", pause=1.0)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    victim = tmp_path / "victim"
    proc = subprocess.Popen(
        _cli_study(victim, manifest, sampler),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    # Generation 1's first trial is done and its second pauses: kill the study there.
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and done < TRIALS + 1 and proc.poll() is None:
        time.sleep(0.02)
        if Ledger(victim).exists():
            done = sum(1 for _ in Ledger.open(victim).read(types=["trial.outcome"]))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert done == TRIALS + 1, "killed in the middle of generation 1"
    before = candidates(victim, "k")
    assert {c.generation for c in before} == {0, 1}
    for root in (victim, tmp_path / "clean"):
        subprocess.run(_cli_study(root, manifest, sampler), env=env, capture_output=True)
    assert fingerprint(victim, "k") == fingerprint(tmp_path / "clean", "k")
    assert [c.generation for c in candidates(victim, "k")] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert candidates(victim, "k")[: 2 * TRIALS] == before


def test_an_unknown_sampler_is_refused_listing_the_accepted_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "r"
    code, out, err = cli(
        ["--root", str(root), "study", "--smoke", "--sampler", "optuna:CMA"], capsys
    )
    assert code == 2 and out == ""
    assert err == (
        "error: unknown sampler 'optuna:CMA' (choose from: builtin, optuna:NSGAIISampler, "
        "optuna:TPESampler)\n"
    )
    code, _, err = cli(
        ["--root", str(root), "study", "--trials", "1", "--sampler", "optuna:NSGAIISampler"],
        capsys,
    )
    assert code == 2 and err.count("\n") == 1 and "--trials >= 2" in err
    assert not root.exists()  # nothing written


def test_without_optuna_an_optuna_sampler_names_the_package_and_the_extra(
    tmp_path: Path,
) -> None:
    root = tmp_path / "r"
    blocked = "import sys; sys.modules['optuna'] = None; from commands.cli import main; main()"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            blocked,
            "--root",
            str(root),
            "study",
            "--smoke",
            "--sampler",
            "optuna:TPESampler",
        ],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        "error: --sampler optuna:TPESampler needs the optuna package, not installed here: "
        "pip install 'sweepledger[optuna]'\n"
    )
    assert not root.exists()
    # The built-in sampler needs no optuna.
    done = subprocess.run(
        [sys.executable, "-c", blocked, "study", "--help"],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "optuna:NSGAIISampler" in done.stdout


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        ("optuna:NSGAIISampler", True),
        ("optuna:TPESampler", True),
        ("mutation", True),
        ("optuna:", False),
        ("Optuna:TPESampler", False),
        ("optuna TPESampler", False),
        ("bogus", False),
    ],
)
def test_a_candidate_origin_is_builtin_or_library_colon_sampler(
    origin: str, accepted: bool
) -> None:
    data = {"candidate_id": "c", "study": "s", "origin": origin}
    if accepted:
        assert validate_payloads("candidate.proposed", [data])[0]["origin"] == origin
    else:
        with pytest.raises(PayloadInvalid, match="origin"):
            validate_payloads("candidate.proposed", [data])


def test_a_long_nsga2_study_is_rebuilt_without_recursing_per_generation() -> None:
    from commands.runner.manifest import manifest_from_data
    from commands.runner.study_optuna import Told, propose_optuna

    body = {
        "name": "long",
        "callable": "sampler_jobs:trial",
        "study": {"space": {"x": [0.0, 1.0], "y": [0.0, 1.0]}, "objectives": OBJECTIVES},
    }
    manifest = manifest_from_data(body, Path("long.yaml"))
    generations, per = 600, 2  # one recursion per generation would pass Python's limit
    told = []
    for i in range(generations * per):
        x, y = (i * 0.618034) % 1, (i * 0.754878) % 1
        c = CandidateProposed(
            candidate_id=f"c{i}",
            study="long",
            params={"x": x, "y": y},
            origin="random",
            generation=i // per,
        )
        row = {"status": "ok", "valid": True, "metrics": {"gain": x, "cost": y}}
        told.append(Told(c, row))
    new = propose_optuna(
        "optuna:NSGAIISampler",
        manifest,
        "long",
        1,
        generations,
        per,
        told,
        list(OBJECTIVES.items()),
        {t.candidate.candidate_id for t in told},
    )
    assert len(new) == per and all(len(c.parents) == per for c in new)
