"""Declared sub-steps (``steps: [optimize]``): their own intents and outcomes, audited by gaps."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import yaml
from runner_fixtures import (
    assert_every_intent_answered,
    cli,
    events,
    manifest_of,
    no_runner_env,
    start_run,
    wait_for_outcomes,
    write_manifest,
)

__all__ = ["no_runner_env"]

GRID = {
    "axes": {
        "selection": ["momentum_top"],
        "rebalance": ["monthly"],
        "engine": ["equal_weight", "min_variance"],
        "profile": ["market", "balanced"],
        "simulator": ["ideal", "slippage"],
    }
}
STEP_STATUS = {"success": "ok", "empty": "empty", "error": "error"}


def _tournament(folder: Path) -> Path:
    manifest = {
        "name": "tourn",
        "callable": "commands.workloads.tournament:cell",
        "kind": "trial",
        "steps": ["optimize"],
        "matrix": GRID,
    }
    folder.mkdir(parents=True)
    path = folder / "tournament.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    return path


def test_tournament_records_each_optimize_step_and_gaps_finds_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    path = _tournament(tmp_path / "m")
    root = str(tmp_path / "root")
    code, out, err = cli(
        ["--root", root, "run", str(path), "--executor", "thread", "--batch-id", "t"], capsys
    )
    assert code == 0, err
    batch = events(tmp_path / "root", "t")
    trials = {e.seq: e for e in batch if e.type == "trial.intent"}
    steps = {e.seq: e for e in batch if e.type == "optimize.intent"}
    assert len(trials) == len(steps) == 8
    for seq, step in steps.items():  # each step intent follows its job's, same payload
        assert trials[seq - 1].data == step.data
        assert step.key == f"optimize/{step.data['job_id']}" and step.cause is None
    results = {e.data["job_id"]: e.data["result"] for e in batch if e.type == "trial.outcome"}
    step_outcomes = [e for e in batch if e.type == "optimize.outcome"]
    assert sorted(e.cause for e in step_outcomes) == sorted(steps)
    for event in step_outcomes:
        optimize = results[event.data["job_id"]]["optimize"]
        assert event.data["status"] == STEP_STATUS[optimize["status"]]
        if optimize["status"] == "error":
            assert event.data["error"]["message"] == optimize["detail"]
        else:
            assert event.data["result"] == {"detail": optimize["detail"]}
    assert {e.data["status"] for e in step_outcomes} >= {"ok"}
    assert_every_intent_answered(tmp_path / "root", "t")
    code, out, _ = cli(["--root", root, "gaps", "--fail", "--json"], capsys)
    assert code == 0 and json.loads(out) == []
    # the report's rows are the cells, not their optimize steps
    code, out, _ = cli(["--root", root, "report", "--batch", "t", "--csv"], capsys)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 9
    assert all(",ok," in line or ",empty," in line for line in lines[1:])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"do": "step", "step": "empty", "detail": "no weights"}, ("empty", "ok")),
        ({"do": "step", "step": "error", "detail": "solver failed"}, ("error", "ok")),
        ({"do": "step", "then": "error"}, ("ok", "error")),  # kept though the job failed
        ({"do": "ok"}, ("error", "ok")),  # the job never recorded it
        ({"do": "error"}, ("error", "error")),
    ],
)
def test_step_outcome_follows_what_the_job_recorded(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    no_runner_env: None,
    params: dict[str, str],
    expected: tuple[str, str],
) -> None:
    manifest = manifest_of([{"name": "a", "params": params}], kind="trial", steps=["optimize"])
    path = write_manifest(tmp_path / "m", manifest)
    root = str(tmp_path / "root")
    cli(["--root", root, "run", str(path), "--executor", "thread", "--batch-id", "b"], capsys)
    batch = events(tmp_path / "root", "b")
    (step,) = [e for e in batch if e.type == "optimize.outcome"]
    (job,) = [e for e in batch if e.type == "trial.outcome"]
    assert (step.data["status"], job.data["status"]) == expected
    assert batch.index(step) < batch.index(job)  # the job's own outcome is its last
    if params.get("detail") and expected[0] == "error":
        assert step.data["error"]["message"] == params["detail"]
    assert_every_intent_answered(tmp_path / "root", "b")


def test_undeclared_step_fails_the_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    manifest = manifest_of([{"name": "a", "params": {"do": "step"}}], kind="trial")
    path = write_manifest(tmp_path / "m", manifest)
    root = str(tmp_path / "root")
    cli(["--root", root, "run", str(path), "--executor", "thread", "--batch-id", "b"], capsys)
    batch = events(tmp_path / "root", "b")
    (job,) = [e for e in batch if e.type == "trial.outcome"]
    assert job.data["status"] == "error" and "not declared" in job.data["error"]["message"]
    assert not [e for e in batch if e.type.startswith("optimize.")]


@pytest.mark.parametrize("steps", [["trial"], ["optimize", "optimize"]])
def test_bad_steps_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None, steps: list[str]
) -> None:
    path = write_manifest(tmp_path / "m", manifest_of([{"name": "a"}], kind="trial", steps=steps))
    code, _, err = cli(["--root", str(tmp_path / "root"), "run", str(path)], capsys)
    assert code == 2 and "steps" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "root" / "ledger").exists() or not events(tmp_path / "root")


def test_killed_run_leaves_optimize_intents_that_gaps_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    matrix = {"base_params": {"do": "step", "sleep": 0.1}, "axes": {"x": list(range(40))}}
    path = write_manifest(
        tmp_path / "m", manifest_of(matrix=matrix, kind="trial", steps=["optimize"])
    )
    root = tmp_path / "root"
    proc = start_run(root, path, "--workers", "2", "--batch-id", "k9")
    try:
        wait_for_outcomes(root, 6)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    batch = events(root, "k9")
    answered = {e.cause for e in batch if e.type == "optimize.outcome"}
    open_steps = {e.seq for e in batch if e.type == "optimize.intent"} - answered
    assert open_steps, "the kill should leave optimize intents without outcomes"
    code, out, _ = cli(["--root", str(root), "gaps", "--batch", "k9", "--json", "--fail"], capsys)
    assert code == 1
    gaps = json.loads(out)
    assert {g["seq"] for g in gaps if g["type"] == "optimize.intent"} == open_steps
    # resume answers them (interrupted) and runs the jobs again, steps included
    code, out, _ = cli(["--root", str(root), "run", str(path), "--resume", "k9"], capsys)
    assert code == 0, out
    assert_every_intent_answered(root, "k9")
    code, out, _ = cli(["--root", str(root), "gaps", "--fail", "--json"], capsys)
    assert code == 0


def test_scoreboard_of_a_real_tournament_is_identical_at_1_and_3_workers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    path = _tournament(tmp_path / "m")
    gates = Path(__file__).parents[2] / "examples" / "gates.yaml"
    files = []
    for workers in ("1", "3"):
        root = str(tmp_path / f"root{workers}")
        run = ["--root", root, "run", str(path), "--executor", "thread", "--workers", workers]
        assert cli([*run, "--batch-id", "t"], capsys)[0] == 0
        code, _, err = cli(
            ["--root", root, "scoreboard", "--batch", "t", "--gates", str(gates)], capsys
        )
        assert code == 1 and "stress_alpha" in err  # strict: only slippage cells have it
        folder = tmp_path / f"root{workers}" / "scoreboard" / "t"
        files.append({p.name: p.read_bytes() for p in sorted(folder.iterdir())})
    assert files[0] == files[1] and len(files[0]) == 3
