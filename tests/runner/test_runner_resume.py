"""Real processes: kill -9 of a running batch then ``--resume``; Ctrl-C; resume refusals."""

from __future__ import annotations

import os
import signal
from collections import Counter
from pathlib import Path

import pytest
from runner_fixtures import (
    assert_every_intent_answered,
    by_name,
    cli,
    events,
    manifest_of,
    no_runner_env,
    outcomes,
    start_run,
    statuses,
    wait_for_outcomes,
    write_manifest,
)

from ledger import Ledger

__all__ = ["no_runner_env"]

SLOW = {"base_params": {"do": "ok", "sleep": 0.1}, "axes": {"x": list(range(40))}}


def test_kill_9_then_resume_gives_every_job_one_ok(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    path = write_manifest(tmp_path / "m", manifest_of(matrix=SLOW, kind="trial"))
    root = tmp_path / "root"
    proc = start_run(root, path, "--workers", "2", "--batch-id", "k9")
    try:
        wait_for_outcomes(root, 6)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    before = events(root, "k9")
    assert not any(e.type == "batch.finished" for e in before)
    open_intents = {e.seq for e in before if e.type == "trial.intent"} - {
        e.cause for e in before if e.type == "trial.outcome"
    }
    assert open_intents, "the kill should leave intents without outcomes"

    code, out, _ = cli(["--root", str(root), "run", str(path), "--resume", "k9"], capsys)
    assert code == 0, out
    assert Ledger.open(root).verify().ok
    after = events(root, "k9")
    ok_per_job = Counter(
        e.data["job_id"] for e in after if e.type == "trial.outcome" and e.data["status"] == "ok"
    )
    assert len(ok_per_job) == 40 and set(ok_per_job.values()) == {1}
    assert_every_intent_answered(root, "k9")
    interrupted = [e for e in after if e.data.get("status") == "interrupted"]
    assert {e.cause for e in interrupted} == open_intents
    (resumed,) = [e for e in after if e.type == "batch.resumed"]
    assert resumed.data["resumed_from"] == before[0].seq
    assert resumed.data["skipped"] + resumed.data["remaining"] == 40
    assert resumed.data["host"] == before[0].data["host"]  # the resuming driver, for `gaps`
    assert resumed.data["pid"] not in (None, before[0].data["pid"])
    assert after[-1].type == "batch.finished"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_sigint_records_interrupted_then_resume_completes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None, sig: signal.Signals
) -> None:
    path = write_manifest(tmp_path / "m", manifest_of(matrix=SLOW))
    root = tmp_path / "root"
    proc = start_run(root, path, "--workers", "2", "--batch-id", "ctrl-c")
    try:
        wait_for_outcomes(root, 4)
        os.killpg(proc.pid, sig)  # SIGINT to the group is what a terminal's Ctrl-C does
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    batch = events(root, "ctrl-c")
    finished = batch[-1]
    assert finished.type == "batch.finished" and finished.data["interrupted"] is True
    counts = Counter(statuses(root, "ctrl-c"))
    assert counts["ok"] >= 4 and counts["interrupted"] >= 1
    assert set(counts) <= {"ok", "interrupted"}
    assert_every_intent_answered(root, "ctrl-c")
    assert b"Traceback" not in err

    resume = ["--resume", "ctrl-c", "--workers", "2"]
    code, _, _ = cli(["--root", str(root), "run", str(path), *resume], capsys)
    assert code == 0
    ok_per_job = Counter(
        e.data["job_id"] for e in outcomes(root, "ctrl-c") if e.data["status"] == "ok"
    )
    assert len(ok_per_job) == 40 and set(ok_per_job.values()) == {1}


def _killed_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    jobs = [{"name": "bad", "params": {"do": "error"}}, {"name": "good", "params": {"x": 1}}]
    path = write_manifest(tmp_path / "m", manifest_of(jobs))
    root = tmp_path / "root"
    code, _, _ = cli(["--root", str(root), "run", str(path), "--batch-id", "r"], capsys)
    assert code == 1
    return path, root


def test_resume_keeps_failed_jobs_unless_retry_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    path, root = _killed_batch(tmp_path, capsys)
    code, _, _ = cli(["--root", str(root), "run", str(path), "--resume", "r"], capsys)
    assert code == 1
    assert len(outcomes(root, "r")) == 2  # nothing re-ran
    code, _, _ = cli(
        ["--root", str(root), "run", str(path), "--resume", "r", "--retry-failed"], capsys
    )
    assert code == 1
    assert [e.data["status"] for e in outcomes(root, "r")] == ["error", "ok", "error"]
    assert by_name(root, "r")["bad"]["status"] == "error"


def test_resume_mismatch_exits_2_naming_the_job_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    _, root = _killed_batch(tmp_path, capsys)
    changed = write_manifest(
        tmp_path / "m2",
        manifest_of(
            [{"name": "bad", "params": {"do": "error"}}, {"name": "new", "params": {"x": 2}}]
        ),
    )
    head = Ledger.open(root).head()
    code, _, err = cli(["--root", str(root), "run", str(changed), "--resume", "r"], capsys)
    assert code == 2 and "'new'" in err and "--force" in err
    assert len(err.strip().splitlines()) == 1
    assert Ledger.open(root).head() == head
    code, _, _ = cli(["--root", str(root), "run", str(changed), "--resume", "r", "--force"], capsys)
    assert code == 1  # 'bad' is kept as error; 'new' ran ok
    assert by_name(root, "r")["new"]["status"] == "ok"


def test_resume_of_a_running_batch_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    path = write_manifest(tmp_path / "m", manifest_of(matrix=SLOW))
    root = tmp_path / "root"
    proc = start_run(root, path, "--batch-id", "live")
    try:
        wait_for_outcomes(root, 1)
        head = Ledger.open(root).head()
        code, _, err = cli(["--root", str(root), "run", str(path), "--resume", "live"], capsys)
        assert code == 2 and "still running" in err and str(proc.pid) in err
        assert Ledger.open(root).head().seq >= head.seq  # the live run goes on
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)


def test_resume_with_another_seed_is_a_mismatch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    path, root = _killed_batch(tmp_path, capsys)
    head = Ledger.open(root).head()
    code, _, err = cli(
        ["--root", str(root), "run", str(path), "--resume", "r", "--seed", "9"], capsys
    )
    assert code == 2 and "seed 9" in err
    assert Ledger.open(root).head() == head


def test_job_prints_go_to_stderr_not_stdout(tmp_path: Path, no_runner_env: None) -> None:
    path = write_manifest(tmp_path / "m", manifest_of([{"name": "p", "params": {"do": "print"}}]))
    proc = start_run(tmp_path / "root", path, "--batch-id", "p")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out == b"batch p: 1 jobs, ran 1 (ok 1)\n"
    assert b"JOB-SAYS-HI" in err


def test_resume_unknown_batch_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    path, root = _killed_batch(tmp_path, capsys)
    head = Ledger.open(root).head()
    code, _, err = cli(["--root", str(root), "run", str(path), "--resume", "nope"], capsys)
    assert code == 2 and "nope" in err
    assert Ledger.open(root).head() == head
