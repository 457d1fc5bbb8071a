"""Daily-use commands (issue 13): log status and --tail, verify-evidence of a missing path,
leaderboard of an unknown batch, repair saying what it finished."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from projection_fixtures import intent, job_id_of, open_ledger, outcome, run_main, start_batch

import ledger.sealing as sealing
from ledger import Ledger


def test_log_shows_outcome_status_and_tail(tmp_path: Path, capsys: Any) -> None:
    root = tmp_path / "root"
    led = open_ledger(root)
    start_batch(led, "b", 2)
    seq = intent(led, "b", 0, "a", x=1)
    outcome(led, seq, "b", job_id_of("a", {"x": 1}), "error", error=("ValueError", "no"))
    seq = intent(led, "b", 1, "c", x=2)
    outcome(led, seq, "b", job_id_of("c", {"x": 2}), "ok")
    code, out, _ = run_main(capsys, "--root", str(root), "log")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 5
    assert lines[2].endswith(f"<- {seq - 2} error (ValueError)")
    assert lines[4].endswith(f"<- {seq} ok")
    assert not lines[1].endswith(" ok")  # an intent has no status
    code, out, _ = run_main(capsys, "--root", str(root), "log", "--tail", "2")
    assert out.splitlines() == lines[-2:]
    code, out, _ = run_main(capsys, "--root", str(root), "log", "--tail", "1", "--json")
    assert out.encode() == (root / "ledger.jsonl").read_bytes().splitlines(keepends=True)[-1]


def test_verify_evidence_of_a_missing_path_is_exit_2(tmp_path: Path, capsys: Any) -> None:
    code, out, err = run_main(capsys, "verify-evidence", str(tmp_path / "nope"))
    assert code == 2 and out == "" and "does not exist" in err
    (tmp_path / "empty").mkdir()
    code, out, _ = run_main(capsys, "verify-evidence", str(tmp_path / "empty"))
    assert code == 1 and "SHA256SUMS is missing" in out  # a pack that fails is still 1


def test_leaderboard_of_an_unknown_batch_says_so(tmp_path: Path, capsys: Any) -> None:
    root = tmp_path / "root"
    led = open_ledger(root)
    start_batch(led, "trials-7", 1)
    code, _, err = run_main(capsys, "--root", str(root), "leaderboard", "--batch", "trials-8")
    assert code == 2 and "no batch 'trials-8' in the ledger; closest: trials-7" in err
    code, _, err = run_main(capsys, "--root", str(root), "leaderboard", "--batch", "trials-7")
    assert code == 2 and "batch 'trials-7' has no scan outcomes" in err


def test_repair_says_it_finished_an_interrupted_seal(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    led = Ledger.open(root, create=True)
    led.append([{"type": "x.note", "data": {"i": i}} for i in range(5)])

    def crash(*_args: object) -> None:
        raise KeyboardInterrupt("killed after ledger.sealed was committed")

    monkeypatch.setattr(sealing, "_cut_live", crash)
    with pytest.raises(KeyboardInterrupt):
        led.seal()
    monkeypatch.undo()
    assert list((root / "segments").glob("*.tmp"))
    code, out, _ = run_main(capsys, "--root", str(root), "repair")
    assert code == 0
    assert out.splitlines() == [
        "finished an interrupted seal: installed segment seg-000000000001-000000000005.parquet"
        " (its ledger.sealed event was committed)",
        "finished an interrupted seal: cut the sealed events up to seq 5 from ledger.jsonl",
    ]
    assert Ledger.open(root).verify(deep=True).ok
    code, out, _ = run_main(capsys, "--root", str(root), "repair")
    assert out == "nothing to repair\n"


def test_repair_says_it_cut_an_uncommitted_tail(tmp_path: Path, capsys: Any) -> None:
    root = tmp_path / "root"
    Ledger.open(root, create=True).append([{"type": "x.note", "data": {}}])
    with open(root / "ledger.jsonl", "ab") as f:
        f.write(b'{"seq":2,"torn')
    code, out, _ = run_main(capsys, "--root", str(root), "repair")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("cut 14 uncommitted bytes from the live file (sha256 ")
    assert lines[-1] == "recorded as seq 2 (ledger.recovered)"
