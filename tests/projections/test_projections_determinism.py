"""Byte-identical projection files: repeated, threads 1 vs 8, JSONL vs sealed, incremental vs
full, and any completion order of the jobs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from projection_fixtures import (
    finish_batch,
    intent,
    job_id_of,
    open_ledger,
    outcome,
    run_batch,
    scan_jobs,
    snapshot,
    start_batch,
)

from ledger import Ledger
from projections import rebuild


def _entries(i: int) -> list[dict[str, Any]]:
    return [
        {
            "segment_key": f"seg{(i * 7 + k) % 5}",
            "weighting": "notional" if (i + k) % 2 else "count",
            "denominators": {"weight_used": 0.1 * (i + 1) + k / 3, "count_used": (i + k) % 4},
            "metrics": {"avg_clv_pct": ((i * 13 + k) % 17) / 7 - 1, "beat_close_rate": 0.3 + k / 9},
            "examples": [f"ex{i}.{k}"],
        }
        for k in range(3)
    ]


def _stage(led: Ledger, n: int) -> None:
    trial = [
        {
            "name": f"t{n}_{i}",
            "params": {"i": i},
            "status": ["ok", "error", "ok", "timeout"][i % 4],
            "metrics": {"loss": i / 3 + 0.1, "acc": 1 / (i + 1), "nan": None},
            "duration_s": (i % 5) / 7,
            "error": ("ValueError", f"bad {i}") if i % 4 else None,
        }
        for i in range(40)
    ]
    run_batch(led, f"trial{n}", trial)
    users = [(f"user{i}", "ok" if i % 9 else "error", _entries(i + n)) for i in range(30)]
    run_batch(led, f"scan{n}", scan_jobs(users), kind="scan")


def test_rebuild_bytes_same_across_threads_sealing_and_incremental(tmp_path: Path) -> None:
    led = open_ledger(tmp_path)
    _stage(led, 1)
    rebuild(tmp_path, threads=1)
    _stage(led, 2)
    start_batch(led, "open", 2)
    intent(led, "open", 0, "pending")
    rebuild(tmp_path, threads=1)  # incremental
    incremental = snapshot(tmp_path)
    assert "batches/scan2/hypothesis_leaderboard.json" in incremental
    assert "batches/trial1/summary.csv" in incremental
    rebuild(tmp_path, threads=8, full=True)
    assert snapshot(tmp_path) == incremental
    rebuild(tmp_path, threads=1, full=True)
    assert snapshot(tmp_path) == incremental
    led.seal()  # appends ledger.sealed, so only the gaps' "as of" moves
    (tmp_path / "ledger.duckdb").unlink()
    rebuild(tmp_path, threads=8)
    sealed = snapshot(tmp_path)
    assert {k: v for k, v in sealed.items() if not k.startswith("gaps/")} == {
        k: v for k, v in incremental.items() if not k.startswith("gaps/")
    }
    gaps = json.loads((tmp_path / "gaps/gaps.json").read_text())
    assert [g["state"] for g in gaps["gaps"]] == ["open"]


def test_cursor_mismatch_forces_full_rebuild(tmp_path: Path) -> None:
    led = open_ledger(tmp_path / "a")
    _stage(led, 1)
    rebuild(tmp_path / "a")
    other = open_ledger(tmp_path / "b")
    _stage(other, 3)
    (tmp_path / "b" / "ledger.duckdb").write_bytes((tmp_path / "a" / "ledger.duckdb").read_bytes())
    result = rebuild(tmp_path / "b")
    assert result.full
    files = snapshot(tmp_path / "b")
    assert "batches/scan3/hypothesis_leaderboard.json" in files
    (tmp_path / "b" / "ledger.duckdb").unlink()
    rebuild(tmp_path / "b")
    assert snapshot(tmp_path / "b") == files


def test_completion_order_does_not_change_results(tmp_path: Path) -> None:
    outputs = []
    for name, order in (("fwd", range(12)), ("rev", reversed(range(12)))):
        root = tmp_path / name
        led = open_ledger(root)
        start_batch(led, "b", 12)
        seqs = [intent(led, "b", i, f"u{i}", "scan", user=f"u{i}") for i in range(12)]
        for i in order:
            result = {"user": f"u{i}", "hypothesis_candidates": _entries(i)}
            outcome(
                led,
                seqs[i],
                "b",
                job_id_of(f"u{i}", {"user": f"u{i}"}),
                "ok",
                kind="scan",
                metrics={"m": i / 3},
                result=result,
            )
        finish_batch(led, "b", 12, 12)
        rebuild(root)
        doc = json.loads((root / "batches/b/hypothesis_leaderboard.json").read_text())
        del doc["created_at"]
        outputs.append((doc, (root / "batches/b/summary.csv").read_bytes()))
    assert outputs[0] == outputs[1]
