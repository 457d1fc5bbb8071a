"""A batch whose job list does not fit in one event: ``batch.started`` records the list's
SHA-256 instead (``commands.runner.job_list``), and resume, gaps and the report still work."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from runner_fixtures import cli, events, manifest_of, no_runner_env, write_manifest

import commands.runner.job_list as job_list
from commands.runner.batch import RunRequest, _started_event, plan_run
from ledger import MAX_EVENT_BYTES, Ledger

__all__ = ["no_runner_env"]

PAD = "p" * 2000  # ~2 KB of params per job: 9,000 jobs list ~19 MB, past the 16 MiB limit
BIG_JOBS = 9000


def _digest_of_intents(root: Path, batch: str) -> str:
    """The SHA-256 of the job list rebuilt from the batch's intents (each lists its job)."""
    entries = [
        {k: e.data[k] for k in ("index", "name", "job_id", "params")}
        for e in events(root, batch)
        if e.type.endswith(".intent")
    ]
    entries.sort(key=lambda entry: entry["index"])
    text = json.dumps(entries, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_a_job_list_past_the_event_limit_is_recorded_as_its_digest(tmp_path: Path) -> None:
    matrix = {"base_params": {"pad": PAD}, "axes": {"i": list(range(BIG_JOBS))}}
    path = write_manifest(tmp_path / "m", manifest_of(matrix=matrix))
    root = tmp_path / "root"
    plan = plan_run(RunRequest(manifest=path, root=root, batch_id="big"))
    listed = plan.loaded.expanded(plan.jobs)["jobs"]
    assert len(json.dumps(listed)) > MAX_EVENT_BYTES  # what batch.started used to hold
    started = _started_event(plan)
    Ledger.open(root, create=True).append([started])  # refused (too large) before
    (event,) = events(root, "big")
    manifest = event.data["manifest"]
    assert "jobs" not in manifest and event.data["jobs"] == BIG_JOBS
    assert manifest["jobs_sha256"] == job_list.jobs_digest(listed)
    assert len(Path(root, "ledger.jsonl").read_bytes()) < job_list.JOBS_INLINE_MAX_BYTES


def test_a_digest_recorded_batch_runs_resumes_and_projects(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    no_runner_env: None,
) -> None:
    """End to end with a small threshold: the digest matches the intents' job list, resume
    accepts the same manifest and refuses a changed one, gaps and the report see every job."""
    monkeypatch.setattr(job_list, "JOBS_INLINE_MAX_BYTES", 200)
    jobs = [{"name": "bad", "params": {"do": "error"}}]
    matrix = {"base_params": {"do": "ok"}, "axes": {"x": list(range(30))}}
    path = write_manifest(tmp_path / "m", manifest_of(jobs, matrix=matrix))
    root = tmp_path / "root"
    base = ["--root", str(root)]
    run = [*base, "run", str(path), "--executor", "thread", "--workers", "2"]
    code, _, err = cli([*run, "--batch-id", "b"], capsys)
    assert code == 1, err
    started = next(e for e in events(root, "b") if e.type == "batch.started")
    assert "jobs" not in started.data["manifest"] and started.data["jobs"] == 31
    assert started.data["manifest"]["jobs_sha256"] == _digest_of_intents(root, "b")

    code, _, err = cli([*run, "--resume", "b", "--retry-failed"], capsys)
    assert code == 1, err  # ran again: the same job fails the same way
    resumed = [e for e in events(root, "b") if e.type == "batch.resumed"]
    assert [(e.data["skipped"], e.data["remaining"]) for e in resumed] == [(30, 1)]
    assert cli([*base, "gaps", "--fail"], capsys)[0] == 0
    assert cli([*base, "rebuild"], capsys)[0] == 0
    summary = (root / "batches" / "b" / "summary.csv").read_text().splitlines()
    assert len(summary) == 32

    write_manifest(tmp_path / "m", manifest_of(jobs, matrix={**matrix, "axes": {"x": [0, 1]}}))
    code, _, err = cli([*run, "--resume", "b"], capsys)
    assert code == 2 and "the manifest's 3 jobs are not the batch's 31" in err
