"""Helpers for the runner tests: manifests next to a copy of ``runner_jobs``, CLI calls, reads."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from commands.cli import main
from ledger import Ledger
from schemas import Event

JOBS_MODULE = Path(__file__).with_name("runner_jobs.py")
REPO = Path(__file__).resolve().parents[2]
SWEEPLEDGER = Path(sys.executable).with_name("sweepledger")


def write_manifest(folder: Path, manifest: dict[str, Any], name: str = "manifest.yaml") -> Path:
    """Write ``manifest`` as YAML in ``folder``, with ``runner_jobs.py`` beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(JOBS_MODULE, folder / JOBS_MODULE.name)
    path = folder / name
    path.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    return path


def manifest_of(jobs: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    """A manifest calling ``runner_jobs:work`` with the given jobs and extra keys."""
    body: dict[str, Any] = {"name": "t", "callable": "runner_jobs:work"}
    if jobs is not None:
        body["jobs"] = jobs
    body.update(extra)
    return body


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the real console entry point in-process; returns (exit code, stdout, stderr)."""
    try:
        code: Any = main(argv)  # the console script does sys.exit(main())
    except SystemExit as exited:
        code = exited.code
    out, err = capsys.readouterr()
    return (code if isinstance(code, int) else 0), out, err


def events(root: Path, batch: str | None = None) -> list[Event]:
    """Every committed event (of ``batch``)."""
    if not Ledger(root).exists():
        return []
    return list(Ledger.open(root).read(batch=batch))


def outcomes(root: Path, batch: str | None = None) -> list[Event]:
    """Every committed outcome event (of ``batch``)."""
    return [e for e in events(root, batch) if e.type.endswith(".outcome")]


def outcome_set(root: Path, batch: str) -> set[tuple[Any, ...]]:
    """What a batch's outcomes say, without timings: comparable across runs and executors."""
    rows = set()
    for event in outcomes(root, batch):
        data = event.data
        error = data["error"] or {}
        rows.add(
            (
                event.type,
                data["job_id"],
                data["status"],
                repr(sorted(data["metrics"].items())),
                repr(data["result"]),
                tuple(data["non_finite"]),
                error.get("type"),
                # How a worker died is told differently by each executor; all else must match.
                None if data["status"] == "crashed" else error.get("message"),
            )
        )
    return rows


def by_name(root: Path, batch: str) -> dict[str, dict[str, Any]]:
    """The last outcome payload of each job, keyed by job name (via its intent)."""
    batch_events = events(root, batch)
    names = {e.seq: e.data["name"] for e in batch_events if e.type.endswith(".intent")}
    return {names[e.cause]: e.data for e in batch_events if e.type.endswith(".outcome") and e.cause}


def assert_every_intent_answered(root: Path, batch: str) -> None:
    """Each intent of ``batch`` has exactly one outcome whose cause is its seq."""
    batch_events = events(root, batch)
    intents = {e.seq for e in batch_events if e.type.endswith(".intent")}
    causes = [e.cause for e in batch_events if e.type.endswith(".outcome")]
    assert sorted(c for c in causes if c is not None) == sorted(intents)


def start_run(root: Path, manifest: Path, *args: str) -> subprocess.Popen[bytes]:
    """``sweepledger run`` as a real process in its own process group."""
    # This checkout's code, not whichever one the ``sweepledger`` script was installed from.
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)}
    env.pop("SWEEPLEDGER_ROOT", None)
    return subprocess.Popen(
        [str(SWEEPLEDGER), "--root", str(root), "run", str(manifest), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=env,
        cwd=manifest.parent,
    )


def wait_for_outcomes(root: Path, count: int, timeout_s: float = 60.0) -> None:
    """Block until the ledger holds at least ``count`` outcomes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if len(outcomes(root)) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} outcomes after {timeout_s}s")


def statuses(root: Path, batch: str) -> list[str]:
    """Outcome statuses of a batch, in ledger order."""
    return [e.data["status"] for e in outcomes(root, batch)]


@pytest.fixture
def no_runner_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Clear ``SWEEPLEDGER_*`` settings so the environment cannot leak into a test."""
    for name in list(os.environ):
        if name.startswith("SWEEPLEDGER_"):
            monkeypatch.delenv(name)
    yield
