"""``ingest run-roots`` never leaves a half-written batch: a run root that cannot be used (too
large, a FIFO or device, unreadable, too deep) becomes that root's ``error`` outcome with the
reason, every other root is recorded, and the batch is finished. Reads are bounded."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from projection_fixtures import run_main

from commands.runner import ingest as ingest_module
from ledger import MAX_EVENT_BYTES, Ledger

CANDIDATES = "hypothesis_candidates.json"


def _good(path: Path) -> None:
    path.mkdir(parents=True)
    entry = {
        "segment_key": "s",
        "weighting": "notional",
        "denominators": {"weight_used": 1.0, "count_used": 1},
        "metrics": {"avg_clv_pct": 0.1},
    }
    (path / CANDIDATES).write_text(json.dumps({"candidates": [entry]}))


def _ingest(capsys: Any, tmp_path: Path, runs: Path) -> tuple[int, list[Any], str]:
    root = tmp_path / "ledger"
    code, _, err = run_main(
        capsys, "--root", str(root), "ingest", "run-roots", str(runs), "--batch-id", "b1"
    )
    events = list(Ledger.open(root).read(batch="b1")) if (root / "ledger.jsonl").exists() else []
    return code, events, err


def _outcome_of(events: list[Any], user: str) -> dict[str, Any]:
    outcomes = [e.data for e in events if e.type == "scan.outcome"]
    found = [data for data in outcomes if data["result"]["user"] == user]
    assert len(found) == 1, events
    outcome: dict[str, Any] = found[0]
    return outcome


def _assert_complete(events: list[Any], roots: int) -> None:
    types = [e.type for e in events]
    assert types == [
        "batch.started",
        *["scan.intent"] * roots,
        *["scan.outcome"] * roots,
        "batch.finished",
    ]


def _bad_root(tmp_path: Path, kind: str) -> Path:
    runs = tmp_path / "runs"
    _good(runs / "a_ok")
    bad = runs / "b_bad"
    bad.mkdir(parents=True)
    target = bad / CANDIDATES
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "device":
        target.symlink_to("/dev/zero")
    elif kind == "too_large_file":
        with open(target, "wb") as f:
            f.write(b'{"candidates": [], "pad": "')
            f.write(b"x" * (MAX_EVENT_BYTES + 10))
            f.write(b'"}')
    elif kind == "encodes_too_large":
        # Each file is under the limit, but the outcome holding both is not.
        half = MAX_EVENT_BYTES // 2 + 1000
        entry = {"segment_key": "s", "weighting": "count", "pad": "x" * half}
        target.write_text(json.dumps({"candidates": [entry]}))
        (bad / "run_manifest.json").write_text(json.dumps({"pad": "y" * half}))
    elif kind == "deep":
        target.write_text('{"candidates": [], "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    elif kind == "directory":
        target.mkdir()
    return runs


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("fifo", "not a regular file"),
        ("device", "not a regular file"),
        ("directory", "not a regular file"),
        ("too_large_file", f"larger than {MAX_EVENT_BYTES} bytes"),
        ("encodes_too_large", "the limit is"),
        ("deep", "nested too deeply"),
    ],
)
def test_a_bad_run_root_is_an_error_outcome_and_the_batch_completes(
    tmp_path: Path, capsys: Any, kind: str, reason: str
) -> None:
    runs = _bad_root(tmp_path, kind)
    code, events, err = _ingest(capsys, tmp_path, runs)
    assert code == 0, err
    _assert_complete(events, 2)
    assert _outcome_of(events, "a_ok")["status"] == "ok"
    bad = _outcome_of(events, "b_bad")
    assert bad["status"] == "error" and reason in bad["error"]["message"], bad["error"]
    assert events[-1].data["failed"] == 1 and events[-1].data["succeeded"] == 1


def test_reads_are_bounded(tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A huge run-root file is never read past the event limit + 1 byte."""
    runs = _bad_root(tmp_path, "too_large_file")
    read_sizes: list[int] = []
    real_read = os.read

    def counting_read(fd: int, n: int) -> bytes:
        data = real_read(fd, n)
        read_sizes.append(len(data))
        return data

    monkeypatch.setattr(os, "read", counting_read)
    code, _, err = _ingest(capsys, tmp_path, runs)
    monkeypatch.undo()
    assert code == 0, err
    assert max(read_sizes) <= MAX_EVENT_BYTES + 1
    assert sum(read_sizes) < 2 * (MAX_EVENT_BYTES + 1) + 10_000


def test_unreadable_file_is_an_error_outcome(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EACCES on a run-root file (simulated where files are opened: root reads any mode)."""
    runs = tmp_path / "runs"
    _good(runs / "a_ok")
    _good(runs / "b_bad")
    real_open = os.open
    denied = str(runs / "b_bad" / CANDIDATES)

    def refusing_open(path: Any, flags: int, *args: Any) -> int:
        if str(path) == denied:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refusing_open)
    code, events, err = _ingest(capsys, tmp_path, runs)
    monkeypatch.undo()
    assert code == 0, err
    _assert_complete(events, 2)
    assert "Permission denied" in _outcome_of(events, "b_bad")["error"]["message"]


def test_a_refused_batch_writes_nothing(tmp_path: Path, capsys: Any) -> None:
    """A batch id that is not UTF-8 text is refused before the first write."""
    runs = tmp_path / "runs"
    _good(runs / "a_ok")
    root = tmp_path / "ledger"
    code, _, err = run_main(
        capsys, "--root", str(root), "ingest", "run-roots", str(runs), "--batch-id", "b\udcff"
    )
    assert code == 2 and "nothing was written" in err and "Traceback" not in err
    assert Ledger.open(root).head().seq == 0


def test_module_states_its_bound() -> None:
    assert ingest_module.MAX_EVENT_BYTES == MAX_EVENT_BYTES
