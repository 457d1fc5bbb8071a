"""The CI recipe in docs/ci/check-ledger.sh passes on an intact ledger and refreshes the anchor,
and fails on a rewritten or cut history, on unanswered intents and on a failing strict
scoreboard."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ledger_helpers import sweepledger_executable

from ledger import Ledger

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "docs" / "ci" / "check-ledger.sh"


def _check(root: Path, anchor: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SWEEPLEDGER_ROOT": str(root),
        "ANCHOR_FILE": str(anchor),
        "SWEEPLEDGER": sweepledger_executable(),
        **extra,
    }
    return subprocess.run(
        ["bash", str(SCRIPT)], capture_output=True, text=True, env=env, cwd=REPO, check=False
    )


def _ledger(root: Path, events: int = 6) -> Ledger:
    ledger = Ledger.open(root, create=True)
    ledger.append([{"type": "x.note", "data": {"i": i}} for i in range(events)])
    return ledger


def test_intact_ledger_passes_and_the_anchor_follows_the_head(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "root")
    anchor = tmp_path / "ledger.anchor"
    first = _check(ledger.root, anchor)
    assert first.returncode == 0, first.stderr
    assert anchor.read_text().strip() == str(ledger.head())
    ledger.append([{"type": "x.note", "data": {"more": True}}])
    again = _check(ledger.root, anchor)  # the old anchor is still a prefix: passes, moves on
    assert again.returncode == 0, again.stderr
    assert anchor.read_text().strip() == str(ledger.head())


def test_rewritten_or_cut_history_fails(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "root")
    anchor = tmp_path / "ledger.anchor"
    assert _check(ledger.root, anchor).returncode == 0
    saved = anchor.read_text()
    live = ledger.live_path.read_bytes()
    ledger.live_path.write_bytes(live.replace(b'"i":3', b'"i":9', 1))  # an edited event
    edited = _check(ledger.root, anchor)
    assert edited.returncode == 1 and "DAMAGED" in edited.stdout
    assert anchor.read_text() == saved  # a failing check does not move the anchor


def test_unanswered_intents_fail(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "root")
    ledger.append(
        [
            {
                "type": "trial.intent",
                "batch": "b1",
                "data": {
                    "job_id": "j1",
                    "index": 0,
                    "name": "j1",
                    "callable": "m:f",
                    "params": {},
                    "seed": 1,
                },
            }
        ]
    )
    done = _check(ledger.root, tmp_path / "ledger.anchor")
    assert done.returncode == 1


def test_a_failing_strict_scoreboard_fails(tmp_path: Path) -> None:
    root = tmp_path / "root"
    exe = sweepledger_executable()
    ran = subprocess.run(
        [
            exe,
            "--root",
            str(root),
            "run",
            str(REPO / "examples" / "tournament.yaml"),
            "--batch-id",
            "tournament",
            "--max-jobs",
            "40",
            "--executor",
            "thread",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    gates = str(REPO / "examples" / "gates.yaml")
    strict = _check(root, tmp_path / "a1", SCOREBOARD_BATCH="tournament", GATES=gates)
    assert strict.returncode == 1 and "lack gated metrics" in strict.stderr
    assert not (tmp_path / "a1").exists()
    assert _check(root, tmp_path / "a2").returncode == 0
