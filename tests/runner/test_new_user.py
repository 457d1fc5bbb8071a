"""What a new user ran into (issue 13): finding and resuming a batch, counts after a resume,
seed 003's own manifest, by-name work dirs, progress outside a terminal, ranked reports."""

from __future__ import annotations

import io
import json
import os
import signal
import textwrap
from pathlib import Path

import pytest
from runner_fixtures import (
    cli,
    manifest_of,
    no_runner_env,
    start_run,
    wait_for_outcomes,
    write_manifest,
)

from commands.runner.progress import PLAIN_EVERY_S, PlainProgress
from ledger import Ledger

__all__ = ["no_runner_env"]

SLOW = {"base_params": {"do": "ok", "sleep": 0.1}, "axes": {"x": list(range(30))}}


def _batches(root: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, object]]:
    code, out, err = cli(["--root", str(root), "batches", "--json"], capsys)
    assert code == 0, err
    return {row["batch"]: row for row in json.loads(out)}


def _adds_up(row: dict[str, object]) -> bool:
    parts = ("ok", "failed", "interrupted", "unanswered")
    return row["planned"] == sum(int(row[p]) for p in parts)  # type: ignore[call-overload]


def test_a_killed_batch_is_found_listed_and_resumed_with_latest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    path = write_manifest(tmp_path / "m", manifest_of(matrix=SLOW, name="sweep"))
    root = tmp_path / "root"
    proc = start_run(root, path, "--workers", "2")
    try:
        wait_for_outcomes(root, 4)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=30)
    # The batch id was on stderr from the start, with the command that resumes it.
    first = err.decode().splitlines()[0]
    assert first.startswith("batch sweep-") and first.endswith(": starting 30 of 30 jobs")
    batch = first.split()[1].rstrip(":")
    assert f"resume it with: sweepledger --root {root} run {path} --resume {batch}" in err.decode()

    (row,) = _batches(root, capsys).values()
    assert row["batch"] == batch and row["name"] == "sweep"
    assert row["state"] == "interrupted" and row["resumable"] is True  # its driver is gone
    assert row["planned"] == 30 and int(row["unanswered"]) > 0 and _adds_up(row)  # type: ignore[call-overload]
    started = next(iter(Ledger.open(root).read(types=["batch.started"])))
    assert row["started"] == started.ts

    code, _, err = cli(["--root", str(root), "run", str(path), "--resume", batch[:-1]], capsys)
    assert code == 2 and f"closest: {batch}" in err  # a typo names the closest ids

    code, out, err = cli(["--root", str(root), "run", str(path), "--resume", "latest"], capsys)
    assert code == 0, err
    assert f"batch {batch}: resuming" in err
    (row,) = _batches(root, capsys).values()
    assert row == {**row, "state": "finished", "resumable": False, "ok": 30, "unanswered": 0}
    assert row["interrupted"] == 0 and _adds_up(row)
    # outcomes keep the history; final_outcomes one row per job
    code, out, _ = cli(
        [
            "--root",
            str(root),
            "query",
            "--format",
            "csv",
            "SELECT (SELECT count(*) FROM outcomes) > 30, (SELECT count(*) FROM final_outcomes)",
        ],
        capsys,
    )
    assert out.splitlines()[-1] == "true,30"


def test_ctrl_c_says_how_to_resume_and_counts_add_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    jobs = [{"name": "bad", "params": {"do": "error"}}]
    path = write_manifest(tmp_path / "m", manifest_of(jobs, matrix=SLOW))
    root = tmp_path / "root"
    proc = start_run(root, path, "--workers", "2", "--batch-id", "cc")
    try:
        wait_for_outcomes(root, 4)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130
    command = f"sweepledger --root {root} run {path} --resume cc"
    assert f"batch cc was interrupted; resume it with: {command}" in err.decode()
    row = _batches(root, capsys)["cc"]
    assert row["state"] == "interrupted" and row["resumable"] is True
    assert row["failed"] == 1 and int(row["interrupted"]) > 0 and _adds_up(row)  # type: ignore[call-overload]
    # the progress line never counted the interrupted jobs as failed
    progress = [line for line in err.decode().splitlines() if line.startswith("progress:")]
    assert progress and " 1 failed, " in progress[-1] and " interrupted, " in progress[-1]

    code, _, _ = cli(["--root", str(root), "run", str(path), "--resume", "cc"], capsys)
    assert code == 1  # the failed job is kept
    row = _batches(root, capsys)["cc"]
    assert (row["state"], row["ok"], row["failed"], row["interrupted"]) == ("finished", 30, 1, 0)
    assert row["resumable"] is False and _adds_up(row)


def test_plain_progress_counts_stopped_jobs_apart() -> None:
    stream = io.StringIO()
    progress = PlainProgress(total=5, stream=stream, every_s=0.0)
    for status in ("ok", "error", "interrupted", "skipped", "timeout"):
        progress.advance(status)
        progress.refresh()
    progress.close()
    last = stream.getvalue().splitlines()[-1]
    assert last.startswith("progress: 5/5 done, 1 ok, 2 failed, 2 interrupted, ")
    assert "jobs/s, eta " in last
    assert PLAIN_EVERY_S <= 5.0


# Seed 003's own manifest (docs: shared/seeds/003, "Manifest Format (YAML)"), copied as written;
# only the `callable:` line is added, naming a stand-in for its generator.
SEED_003 = """
# experiments.yaml
config:
  # Global defaults for all jobs
  output_dir: "experiments/2026-02-01_tuning"
  dataset: "tencent"
  analyze: true  # Run analysis report after generation?
  save_stats: true

# Option A: Explicit Job List
jobs:
  - name: "baseline"
    params:
      smart: true
      min_leaf_size: 20
      semantic_threshold: 0.1

  - name: "strict_clustering"
    params:
      smart: true
      min_leaf_size: 50
      semantic_threshold: 0.2

# Option B: Matrix (Grid Search)
# This generates jobs named "matrix_leaf50_thresh0.1", etc.
matrix:
  base_params:
    smart: true
  axes:
    min_leaf_size: [20, 50, 100]
    semantic_threshold: [0.1, 0.2, 0.3]
"""

STAND_IN = '''
def generate(params, ctx):
    """Stands in for the seed's dataset generator: writes its stats file, returns metrics."""
    (ctx.work_dir / "stats.json").write_text(str(sorted(params.items())))
    nodes = params["min_leaf_size"] * 10 + int(params["semantic_threshold"] * 100)
    return {"metrics": {"nodes": nodes, "outliers": params["semantic_threshold"] * 7}}
'''


def test_seed_003_manifest_runs_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "stand_in.py").write_text(textwrap.dedent(STAND_IN))
    path = folder / "experiments.yaml"
    path.write_text("callable: stand_in:generate\n" + SEED_003)
    root = tmp_path / "root"
    code, out, err = cli(["--root", str(root), "run", str(path)], capsys)
    assert code == 0, err
    assert "9 jobs" in out  # 2 explicit + 9 grid points - the 2 the explicit jobs cover
    assert (
        "matrix point matrix_min_leaf_size20_semantic_threshold0.1 is explicit job "
        "'baseline': run once" in err
    )
    assert "strict_clustering" in err
    assert "config keys output_dir, dataset, analyze, save_stats are not settings" in err
    events = list(Ledger.open(root).read())
    started = events[0]
    assert started.data["name"] == "experiments" and started.batch.startswith("experiments-")
    intents = [e for e in events if e.type.endswith(".intent")]
    assert [e.data["name"] for e in intents][:2] == ["baseline", "strict_clustering"]
    assert all(e.data["params"]["dataset"] == "tencent" for e in intents)
    # Work dirs: by job id as recorded, and browsable by name.
    work = root / "work" / started.batch
    for event in intents:
        by_id = work / event.data["job_id"]
        link = work / "by-name" / event.data["name"]
        assert (by_id / "stats.json").is_file()
        assert link.is_symlink() and link.resolve() == by_id.resolve()
        assert (link / "stats.json").read_text() == (by_id / "stats.json").read_text()


def test_report_ranks_by_the_objective_and_marks_nulls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    jobs = [
        {"name": "nanny", "params": {"do": "nan"}},
        {"name": "broken", "params": {"do": "error"}},
    ]
    body = manifest_of(jobs, matrix={"axes": {"x": [3, 1, 2]}}, name="rank")
    body["objective"] = {"metric": "score", "direction": "min"}
    path = write_manifest(tmp_path / "m", body)
    root = tmp_path / "root"
    code, _, err = cli(["--root", str(root), "run", str(path), "--batch-id", "r"], capsys)
    assert code == 1, err
    started = next(iter(Ledger.open(root).read(types=["batch.started"])))
    assert started.data["manifest"]["objective"] == {"metric": "score", "direction": "min"}
    code, md, _ = cli(["--root", str(root), "report", "--batch", "r"], capsys)
    assert code == 0
    assert "## Ranking by score (min: lower is better)" in md
    ranked = [
        line.split(" | ")[2]
        for line in md.splitlines()
        if line.startswith("| ") and line.split(" | ")[0] in ("| 1", "| 2", "| 3")
    ]
    assert ranked[:3] == ["matrix_x1", "matrix_x2", "matrix_x3"]
    assert "2 jobs without score are not ranked." in md
    code, md, _ = cli(["--root", str(root), "report", "--batch", "r", "--sort-by", "bad"], capsys)
    assert "| 1 | 0 | nanny | null* | do=nan |" in md  # NaN recorded as null: marked
    assert "\\* `null`: the value was not finite" in md
    code, md, _ = cli(
        ["--root", str(root), "report", "--batch", "r", "--sort-by", "x:desc"], capsys
    )
    assert "No job reported x." in md
    code, csv_text, _ = cli(["--root", str(root), "report", "--batch", "r", "--csv"], capsys)
    header, nanny = csv_text.splitlines()[:2]
    assert (
        header == "index,name,job_id,status,duration_s,do,x,bad,good,inf,score,seed_mod,error_type"
    )
    assert nanny.split(",")[5:11] == ["nan", "", "null", "1.0", "null", ""]
