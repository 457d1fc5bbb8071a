"""The gaps audit: unanswered intents (open / orphaned), dangling outcomes, --json, --fail."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from projection_fixtures import (
    finish_batch,
    intent,
    open_ledger,
    outcome,
    run_main,
    start_batch,
)


def _gaps(capsys: Any, root: Path, *extra: str) -> tuple[int, list[dict[str, Any]]]:
    code, out, _ = run_main(capsys, "--root", str(root), "gaps", "--json", *extra)
    return code, json.loads(out)


def _dead_pid() -> int:
    """The pid of a process that has already exited."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_gaps_before_and_after_answering(tmp_path: Path, capsys: Any) -> None:
    led = open_ledger(tmp_path)
    start_batch(led, "b", 2, host=socket.gethostname(), pid=os.getpid())
    first = intent(led, "b", 0, "a")
    second = intent(led, "b", 1, "b")
    code, found = _gaps(capsys, tmp_path, "--fail")
    assert code == 1
    assert [(g["seq"], g["state"], g["type"], g["batch"]) for g in found] == [
        (first, "open", "trial.intent", "b"),
        (second, "open", "trial.intent", "b"),
    ]
    assert all(g["job_id"] and g["age_s"] is not None for g in found)
    outcome(led, first, "b", found[0]["job_id"])
    code, found = _gaps(capsys, tmp_path)
    assert code == 0 and [g["seq"] for g in found] == [second]
    finish_batch(led, "b", 2, 1)
    code, found = _gaps(capsys, tmp_path, "--fail")
    assert code == 1 and found[0]["state"] == "orphaned"
    assert "finished" in found[0]["reason"]
    outcome(led, second, "b", found[0]["job_id"])
    code, found = _gaps(capsys, tmp_path, "--fail")
    assert code == 0 and found == []
    assert json.loads((tmp_path / "gaps/gaps.json").read_text())["gaps"] == []


def test_dead_driver_is_orphaned_without_waiting(tmp_path: Path, capsys: Any) -> None:
    dead_pid = _dead_pid()
    led = open_ledger(tmp_path)
    start_batch(led, "killed", 1, host=socket.gethostname(), pid=dead_pid)
    intent(led, "killed", 0, "a")
    start_batch(led, "elsewhere", 1, host="another-host.invalid", pid=dead_pid)
    intent(led, "elsewhere", 0, "a")
    _, found = _gaps(capsys, tmp_path)
    assert {g["batch"]: g["state"] for g in found} == {"killed": "orphaned", "elsewhere": "open"}
    _, only = _gaps(capsys, tmp_path, "--batch", "killed")
    assert [g["batch"] for g in only] == ["killed"]
    code, _, err = run_main(capsys, "--root", str(tmp_path), "gaps", "--batch", "nope")
    assert code == 2 and "nope" in err


def test_dangling_outcome_and_resumed_batch(tmp_path: Path, capsys: Any) -> None:
    led = open_ledger(tmp_path)
    start = start_batch(led, "b", 1)
    lost = intent(led, "b", 0, "a")
    outcome(led, start, "b", "feedbeef")  # its cause is not an intent
    led.append(
        [
            {
                "type": "batch.resumed",
                "batch": "b",
                "data": {"resumed_from": start, "skipped": 0, "remaining": 1},
            }
        ]
    )
    code, found = _gaps(capsys, tmp_path, "--fail")
    assert code == 1
    states = {g["seq"]: (g["state"], g["reason"]) for g in found}
    assert states[lost][0] == "orphaned" and "resumed" in states[lost][1]
    dangling = [g for g in found if g["state"] == "dangling"]
    assert len(dangling) == 1 and dangling[0]["type"] == "trial.outcome"
    code, out, err = run_main(capsys, "--root", str(tmp_path), "gaps")
    assert code == 0 and "dangling" in out and "1 orphaned" in err


def test_killed_resuming_driver_is_orphaned(tmp_path: Path, capsys: Any) -> None:
    led = open_ledger(tmp_path)
    started = start_batch(led, "b", 2, host=socket.gethostname(), pid=os.getpid())
    intent(led, "b", 0, "a")
    resumed = {"resumed_from": started, "skipped": 0, "remaining": 2, "host": socket.gethostname()}
    led.append([{"type": "batch.resumed", "batch": "b", "data": {**resumed, "pid": os.getpid()}}])
    retried = intent(led, "b", 1, "b")
    _, found = _gaps(capsys, tmp_path)
    assert {g["seq"]: g["state"] for g in found}[retried] == "open"  # the resuming driver lives
    led.append([{"type": "batch.resumed", "batch": "b", "data": {**resumed, "pid": _dead_pid()}}])
    again = intent(led, "b", 1, "b")
    _, found = _gaps(capsys, tmp_path)
    assert {g["seq"]: g["state"] for g in found}[again] == "orphaned"
