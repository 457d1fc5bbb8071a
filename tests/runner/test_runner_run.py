"""``sweepledger run`` in-process: statuses, setup per worker, determinism, group commit."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from runner_fixtures import (
    SWEEPLEDGER,
    assert_every_intent_answered,
    by_name,
    cli,
    events,
    manifest_of,
    no_runner_env,
    outcome_set,
    write_manifest,
)

from commands.runner.progress import PlainProgress
from ledger import Ledger

__all__ = ["no_runner_env"]

EVERY_KIND = [
    {"name": "ok", "params": {"do": "ok", "x": 3}},
    {"name": "empty", "params": {"do": "empty"}},
    {"name": "bare", "params": {"do": "bare"}},
    {"name": "error", "params": {"do": "error", "x": 7}},
    {"name": "bad_return", "params": {"do": "bad_return"}},
    {"name": "sys_exit", "params": {"do": "sys_exit"}},
    {"name": "exit", "params": {"do": "exit"}},
    {"name": "segv", "params": {"do": "segv"}},
    {"name": "hang", "params": {"do": "hang"}},
    {"name": "nan", "params": {"do": "nan"}},
    {"name": "after", "params": {"do": "ok", "x": 4}},
]


def _run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: dict[str, Any], *args: str
) -> tuple[int, dict[str, Any], str, Path]:
    path = write_manifest(tmp_path / "m", body)
    root = tmp_path / "root"
    code, out, err = cli(["--root", str(root), "run", str(path), "--json", *args], capsys)
    summary = json.loads(out) if out.strip().startswith("{") else {}
    return code, summary, err, root


def test_every_failure_kind_is_recorded_as_its_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    body = manifest_of(EVERY_KIND, kind="trial", config={"workers": 2, "timeout_s": 1.0})
    code, summary, _, root = _run(tmp_path, capsys, body, "--batch-id", "kinds")
    assert code == 1
    jobs = by_name(root, "kinds")
    assert {name: data["status"] for name, data in jobs.items()} == {
        "ok": "ok",
        "empty": "empty",
        "bare": "ok",
        "error": "error",
        "bad_return": "error",
        "sys_exit": "error",
        "exit": "crashed",
        "segv": "crashed",
        "hang": "timeout",
        "nan": "ok",
        "after": "ok",
    }
    assert jobs["ok"]["metrics"]["score"] == 6.0 and jobs["ok"]["result"] == {"x": 3.0}
    assert jobs["bare"]["metrics"] == {"a": 1.0, "b": 2.5}
    assert jobs["error"]["error"]["type"] == "ValueError"
    assert jobs["error"]["error"]["message"] == "bad value 7"
    traceback = jobs["error"]["error"]["traceback"]
    assert "runner_jobs.py" in traceback and "jobctx.py" not in traceback
    assert jobs["sys_exit"]["error"]["type"] == "SystemExit"
    assert "exited with code 3" in jobs["exit"]["error"]["message"]
    assert "SIGSEGV" in jobs["segv"]["error"]["message"]
    assert jobs["hang"]["duration_s"] >= 1.0
    assert jobs["nan"]["metrics"] == {"good": 1.0, "bad": None, "inf": None}
    assert jobs["nan"]["non_finite"] == ["metrics.bad", "metrics.inf"]
    assert summary["statuses"] == {"crashed": 2, "empty": 1, "error": 3, "ok": 4, "timeout": 1}
    assert_every_intent_answered(root, "kinds")
    types = [e.type for e in events(root, "kinds")]
    assert types[0] == "batch.started" and types[-1] == "batch.finished"
    assert set(types[1:-1]) == {"trial.intent", "trial.outcome"}
    finished = events(root, "kinds")[-1].data
    assert (finished["attempted"], finished["succeeded"], finished["failed"]) == (11, 4, 7)
    assert finished["interrupted"] is False


def test_all_ok_exits_0_and_intent_precedes_outcome(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    body = manifest_of(matrix={"axes": {"x": [1, 2, 3]}})
    code, summary, _, root = _run(tmp_path, capsys, body, "--batch-id", "b", "--workers", "2")
    assert code == 0 and summary["statuses"] == {"ok": 3}
    batch = events(root, "b")
    seqs = {e.seq: e for e in batch}
    for event in batch:
        if event.type == "job.outcome":
            assert event.cause is not None
            intent = seqs[event.cause]
            assert intent.type == "job.intent" and intent.key == event.key
            assert intent.data["job_id"] == event.data["job_id"]


@pytest.mark.parametrize("executor", ["process", "thread"])
def test_setup_runs_once_per_worker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None, executor: str
) -> None:
    body = manifest_of(
        setup="runner_jobs:setup",
        matrix={"base_params": {"do": "state"}, "axes": {"i": list(range(12))}},
    )
    args = ("--batch-id", "s", "--workers", "2", "--executor", executor)
    code, _, _, root = _run(tmp_path, capsys, body, *args)
    assert code == 0
    results = [data["result"] for data in by_name(root, "s").values()]
    assert len(results) == 12
    tokens = {r["token"] for r in results}
    pids = {r["pid"] for r in results}
    assert 1 <= len(tokens) <= 2
    assert len(pids) == (len(tokens) if executor == "process" else 1)


def test_failing_setup_is_an_error_for_each_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    body = manifest_of(setup="runner_jobs:failing_setup", matrix={"axes": {"x": [1, 2]}})
    code, _, _, root = _run(tmp_path, capsys, body, "--batch-id", "fs")
    assert code == 1
    for data in by_name(root, "fs").values():
        assert data["status"] == "error"
        assert "setup runner_jobs:failing_setup failed: no model file" in data["error"]["message"]


@pytest.mark.parametrize("executor", ["process", "thread"])
def test_worker_count_does_not_change_outcomes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None, executor: str
) -> None:
    body = manifest_of(
        [
            {"name": "err", "params": {"do": "error", "x": 1}},
            {"name": "nan", "params": {"do": "nan"}},
        ],
        matrix={"axes": {"x": list(range(10)), "sleep": [0, 0.01]}},
    )
    path = write_manifest(tmp_path / "m", body)
    root = tmp_path / "root"
    for workers, batch in (("1", "w1"), ("4", "w4")):
        code, _, _ = cli(
            ["--root", str(root), "run", str(path), "--workers", workers, "--batch-id", batch,
             "--executor", executor],
            capsys,
        )  # fmt: skip
        assert code == 1
    one, four = outcome_set(root, "w1"), outcome_set(root, "w4")
    assert len(one) == 22 and one == four
    started = [e.data for e in events(root) if e.type == "batch.started"]
    assert started[0]["manifest_sha256"] == started[1]["manifest_sha256"]


def test_thread_executor_records_timeout_and_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    body = manifest_of(
        [
            {"name": "slow", "params": {"do": "ok", "sleep": 1.5}},
            {"name": "err", "params": {"do": "error"}},
            {"name": "ok", "params": {"do": "ok"}},
        ],
        setup="runner_jobs:setup",
    )
    args = ("--executor", "thread", "--workers", "2", "--timeout-s", "0.3", "--batch-id", "t")
    code, _, _, root = _run(tmp_path, capsys, body, *args)
    assert code == 1
    got = {name: data["status"] for name, data in by_name(root, "t").items()}
    assert got == {"slow": "timeout", "err": "error", "ok": "ok"}


def test_fail_fast_stops_and_answers_every_intent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    jobs = [{"name": "boom", "params": {"do": "error"}}]
    jobs += [{"name": f"j{i}", "params": {"do": "ok", "x": i, "sleep": 0.05}} for i in range(30)]
    code, summary, _, root = _run(
        tmp_path, capsys, manifest_of(jobs), "--fail-fast", "--batch-id", "ff"
    )
    assert code == 1
    assert summary["ran"] < 31
    assert "skipped" in summary["statuses"]
    assert_every_intent_answered(root, "ff")


def test_emitted_events_and_artifacts_are_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    body = manifest_of(
        [
            {"name": "emit", "params": {"do": "emit", "x": 5}},
            {"name": "art", "params": {"do": "artifact"}},
        ]
    )
    code, _, _, root = _run(tmp_path, capsys, body, "--batch-id", "ea", "--workers", "2")
    assert code == 0
    batch = events(root, "ea")
    (proposed,) = [e for e in batch if e.type == "candidate.proposed"]
    assert proposed.data["candidate_id"] == "c5" and proposed.cause is not None
    (recorded,) = [e for e in batch if e.type == "artifact.recorded"]
    outcome = by_name(root, "ea")["art"]
    assert outcome["artifacts"] == [recorded.data["sha256"]]
    assert recorded.data["name"] == "out.txt" and recorded.data["media_type"] == "text/plain"
    blob = Ledger.open(root).blobs.read(recorded.data["sha256"])
    assert blob == b"hello 0\n" and recorded.data["size"] == len(blob)


def test_outcomes_are_group_committed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    body = manifest_of(matrix={"base_params": {"do": "ok"}, "axes": {"x": list(range(300))}})
    code, _, _, root = _run(tmp_path, capsys, body, "--batch-id", "g", "--workers", "2")
    assert code == 0
    batch = events(root, "g")
    assert len(batch) == 602
    commits = {e.ts for e in batch}  # one timestamp per append call
    assert len(commits) < 60, len(commits)


def test_existing_batch_id_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    body = manifest_of([{"name": "a"}])
    code, _, _, root = _run(tmp_path, capsys, body, "--batch-id", "same")
    assert code == 0
    head = Ledger.open(root).head()
    path = tmp_path / "m" / "manifest.yaml"
    code, _, err = cli(["--root", str(root), "run", str(path), "--batch-id", "same"], capsys)
    assert code == 2 and "already exists" in err and len(err.strip().splitlines()) == 1
    assert Ledger.open(root).head() == head


def test_max_jobs_and_users_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    users = tmp_path / "users.txt"
    users.write_text("ann\nben\ncat\n", encoding="utf-8")
    code, summary, _, root = _run(
        tmp_path, capsys, manifest_of(), "--users", str(users), "--max-jobs", "2", "--batch-id", "u"
    )
    assert code == 0 and summary["jobs"] == 2
    assert sorted(by_name(root, "u")) == ["ann", "ben"]
    assert {e.type for e in events(root, "u")} >= {"scan.intent", "scan.outcome"}


def test_big_params_and_results_flow_through_the_pool(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    pad = "p" * 150_000  # tasks and results far larger than a pipe's buffer
    body = manifest_of(
        matrix={"base_params": {"do": "echo", "pad": pad}, "axes": {"i": list(range(40))}}
    )
    code, _, _, root = _run(tmp_path, capsys, body, "--batch-id", "big", "--workers", "2")
    assert code == 0
    assert all(data["result"]["pad"] == pad for data in by_name(root, "big").values())


def test_result_the_ledger_refuses_becomes_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    jobs = [{"name": "huge", "params": {"do": "huge"}}, {"name": "fine", "params": {"x": 1}}]
    code, _, _, root = _run(tmp_path, capsys, manifest_of(jobs), "--batch-id", "huge")
    assert code == 1
    got = by_name(root, "huge")
    assert got["fine"]["status"] == "ok"
    assert got["huge"]["status"] == "error"
    assert "refused by the ledger" in got["huge"]["error"]["message"]
    assert_every_intent_answered(root, "huge")


def test_ray_executor_without_ray_is_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    no_runner_env: None,
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    path = write_manifest(tmp_path / "m", manifest_of([{"name": "a"}]))
    root = tmp_path / "root"
    code, _, err = cli(["--root", str(root), "run", str(path), "--executor", "ray"], capsys)
    assert code == 2 and "sweepledger[ray]" in err
    assert events(root) == []


def test_plain_progress_reports_counts_rate_and_eta() -> None:
    stream = io.StringIO()
    progress = PlainProgress(total=3, stream=stream, every_s=0.0)
    for status in ("ok", "error"):
        progress.advance(status)
        progress.refresh()
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[-1].startswith("progress: 2/3 done, 1 ok, 1 failed, ")
    assert "jobs/s, eta " in lines[-1]


def test_example_manifest_runs_as_a_new_user_would(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "sweep.yaml"
    root = tmp_path / "artifacts"
    done = subprocess.run(
        [str(SWEEPLEDGER), "--root", str(root), "run", str(example), "--batch-id", "ex"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("batch ex: 7 jobs, ran 7 (ok 7)")
    recorded = by_name(root, "ex")
    assert set(recorded) >= {"baseline", "matrix_window10_threshold0.5"}
    assert all(data["status"] == "ok" for data in recorded.values())
    assert len(recorded["baseline"]["artifacts"]) == 1
    assert Ledger.open(root).verify().ok
