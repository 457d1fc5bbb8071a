"""The built-in hypothesis scan: deterministic per user, in the shape the leaderboard reads,
with weights that follow the documented rule, and end to end through `run` + `leaderboard`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from commands.workloads.hypotheses import MIN_BETS, candidates, scan, user_bets
from schemas import HypothesisEntry

REPO = Path(__file__).resolve().parents[2]


def test_same_user_same_candidates_different_users_differ() -> None:
    assert candidates("alice") == candidates("alice")
    assert candidates("alice") != candidates("bob")


def test_candidates_have_the_leaderboard_shape_and_honest_numbers() -> None:
    bets = user_bets("carol")
    found = candidates("carol")
    assert found and [c["segment_key"] for c in found] == sorted(
        {c["segment_key"] for c in found}, key=[c["segment_key"] for c in found].index
    )
    for entry in found:
        HypothesisEntry.model_validate(entry)
        assert entry["denominators"]["count_used"] >= MIN_BETS
        if entry["weighting"] == "count":
            assert entry["denominators"]["weight_used"] == 0.0
    total = sum(c["denominators"]["count_used"] for c in found)
    assert total <= len(bets["segment"])
    first = found[0]
    sport = first["segment_key"]
    assert sport.startswith("sport=")
    assert 0.0 <= first["metrics"]["beat_close_rate"] <= 1.0
    assert np.isfinite(first["metrics"]["avg_clv_pct"])


def test_scan_job_returns_candidates_for_the_user() -> None:
    done = scan({"user": "dave"}, None)
    assert done["result"]["user"] == "dave"
    assert done["metrics"]["candidates"] == len(done["result"]["hypothesis_candidates"])


def test_example_manifest_feeds_the_leaderboard(tmp_path: Path) -> None:
    exe = [sys.executable, "-c", "from commands.cli import main; main()"]
    root = str(tmp_path / "root")
    ran = subprocess.run(
        [*exe, "--root", root, "run", str(REPO / "examples" / "scan.yaml"), "--batch-id", "s1"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    board = subprocess.run(
        [*exe, "--root", root, "leaderboard", "--batch", "s1", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert board.returncode == 0, board.stderr
    doc = json.loads(board.stdout)
    assert (doc["attempted"], doc["succeeded"], doc["failed"]) == (8, 8, 0)
    keys = {s["segment_key"] for s in doc["segments"]}
    expected = {c["segment_key"] for user in ("alice", "bob", "heidi") for c in candidates(user)}
    assert expected <= keys
