"""``ingest run-roots``: a directory of run roots, a list file, and broken run roots."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from projection_fixtures import run_main

from ledger import Ledger


def _entry(key: str, w: float, clv: float) -> dict[str, Any]:
    return {
        "segment_key": key,
        "weighting": "notional",
        "denominators": {"weight_used": w, "count_used": 2},
        "metrics": {"avg_clv_pct": clv, "beat_close_rate": 0.5},
    }


def _run_root(path: Path, user: str | None, entries: list[dict[str, Any]]) -> Path:
    path.mkdir(parents=True)
    doc: dict[str, Any] = {"candidates": entries}
    if user:
        doc["user"] = user
    (path / "hypothesis_candidates.json").write_text(json.dumps(doc))
    return path


def test_ingest_directory_with_a_broken_run_root(tmp_path: Path, capsys: Any) -> None:
    runs = tmp_path / "runs"
    _run_root(runs / "r1", "alice", [_entry("s", 2.0, 0.1)])
    _run_root(runs / "r2", None, [_entry("s", 1.0, 0.4), _entry("t", 1.0, 0.2)])
    (runs / "r2" / "run_manifest.json").write_text(json.dumps({"scan": "v2"}))
    (runs / "r3").mkdir()  # no hypothesis_candidates.json
    _run_root(runs / "r4", "dave", [])
    (runs / "r4" / "hypothesis_candidates.json").write_text("{not json")
    root = tmp_path / "ledger"
    code, out, err = run_main(
        capsys, "--root", str(root), "ingest", "run-roots", str(runs), "--batch-id", "feb20"
    )
    assert code == 0, err
    assert out.strip() == "feb20" and "2 ok, 2 failed" in err
    events = list(Ledger.open(root).read(batch="feb20"))
    types = [e.type for e in events]
    assert types == ["batch.started", *["scan.intent"] * 4, *["scan.outcome"] * 4, "batch.finished"]
    sources = events[0].data["sources"]
    first = runs / "r1" / "hypothesis_candidates.json"
    assert {
        "path": str(first),
        "sha256": hashlib.sha256(first.read_bytes()).hexdigest(),
        "size": first.stat().st_size,
    } in sources
    outcomes = {e.data["result"]["user"]: e for e in events if e.type == "scan.outcome"}
    assert outcomes["r2"].data["result"]["run_manifest"] == {"scan": "v2"}
    assert all(o.cause == events[i + 1].seq for i, o in enumerate(events[5:9]))
    assert outcomes["r3"].data["status"] == "error"
    assert "r3/hypothesis_candidates.json" in outcomes["r3"].data["error"]["message"]
    assert "invalid" in outcomes["r4"].data["error"]["message"]

    code, out, _ = run_main(
        capsys, "--root", str(root), "leaderboard", "--batch", "feb20", "--json"
    )
    doc = json.loads(out)
    assert [u["user"] for u in doc["per_user"]] == ["alice", "r2", "r3", "r4"]
    assert [u["status"] for u in doc["per_user"]] == ["ok", "ok", "error", "error"]
    seg = doc["segments"][0]
    assert seg["segment_key"] == "s" and seg["users_with_segment"] == 2
    assert seg["notional_weighted_avg_clv_pct"] == (0.1 * 2.0 + 0.4 * 1.0) / 3.0
    assert doc["per_user"][0]["run_root"] == str(runs / "r1")

    code, _, err = run_main(
        capsys, "--root", str(root), "ingest", "run-roots", str(runs), "--batch-id", "feb20"
    )
    assert code == 2 and "already exists" in err


def test_ingest_list_file(tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    _run_root(tmp_path / "a", "ann", [_entry("k", 1.0, 0.3)])
    _run_root(tmp_path / "deep" / "b", "ben", [_entry("k", 3.0, 0.1)])
    listing = tmp_path / "roots.txt"
    listing.write_text("# run roots\n\na\n  deep/b  \n# end\n")
    root = tmp_path / "ledger"
    code, out, err = run_main(capsys, "--root", str(root), "ingest", "run-roots", str(listing))
    assert code == 0, err
    batch = out.strip()
    started = next(Ledger.open(root).read(types=["batch.started"], batch=batch))
    assert started.data["manifest"]["run_roots"] == ["a", "deep/b"]
    assert started.data["sources"][0]["path"] == str(listing)
    code, out, _ = run_main(capsys, "--root", str(root), "leaderboard", "--json")
    doc = json.loads(out)
    assert doc["batch_id"] == batch and [u["user"] for u in doc["per_user"]] == ["ann", "ben"]


def test_ingest_bad_sources(tmp_path: Path, capsys: Any) -> None:
    root = tmp_path / "ledger"
    code, _, err = run_main(capsys, "--root", str(root), "ingest", "run-roots", str(tmp_path / "x"))
    assert code == 2 and "does not exist" in err
    (tmp_path / "empty").mkdir()
    code, _, err = run_main(
        capsys, "--root", str(root), "ingest", "run-roots", str(tmp_path / "empty")
    )
    assert code == 2 and "no run roots" in err and err.count("\n") == 1
    assert not (root / "ledger.jsonl").exists() or Ledger.open(root).head().seq == 0


def test_nan_in_a_run_root_becomes_null_and_non_finite(tmp_path: Path, capsys: Any) -> None:
    runs = tmp_path / "runs"
    bad = {
        "segment_key": "s",
        "weighting": "notional",
        "denominators": {"weight_used": float("inf"), "count_used": 2},
        "metrics": {"avg_clv_pct": float("nan"), "beat_close_rate": 0.5},
    }
    _run_root(runs / "r1", "alice", [_entry("t", 1.0, 0.1), bad])  # json.dumps writes NaN
    assert "NaN" in (runs / "r1" / "hypothesis_candidates.json").read_text()
    (runs / "r1" / "run_manifest.json").write_text('{"threshold": -Infinity, "n": 3}')
    root = tmp_path / "ledger"
    code, _, err = run_main(capsys, "--root", str(root), "ingest", "run-roots", str(runs))
    assert code == 0 and "1 ok, 0 failed" in err, err
    (outcome,) = [e for e in Ledger.open(root).read() if e.type == "scan.outcome"]
    assert outcome.data["status"] == "ok"
    assert outcome.data["non_finite"] == [
        "result.hypothesis_candidates.1.denominators.weight_used",
        "result.hypothesis_candidates.1.metrics.avg_clv_pct",
        "result.run_manifest.threshold",
    ]
    entry = outcome.data["result"]["hypothesis_candidates"][1]
    assert entry["metrics"] == {"avg_clv_pct": None, "beat_close_rate": 0.5}
    assert entry["denominators"] == {"weight_used": None, "count_used": 2}
    assert outcome.data["result"]["run_manifest"] == {"threshold": None, "n": 3}
    assert Ledger.open(root).verify().ok
    code, out, _ = run_main(capsys, "--root", str(root), "leaderboard", "--json")
    doc = json.loads(out)
    assert code == 0 and [s["segment_key"] for s in doc["segments"]] == ["s", "t"], doc.keys()
