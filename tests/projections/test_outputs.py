"""Output files are recorded in ledger.duckdb: ``rebuild`` puts back deleted or edited ones,
``rebuild --check`` names every file that is not what the ledger implies and writes nothing."""

from __future__ import annotations

import shutil
import types
from pathlib import Path
from typing import Any

import pytest
from projection_fixtures import open_ledger, run_batch, run_main, scan_jobs, snapshot

from projections import PROJECTIONS, check_outputs, rebuild
from projections.writers import write_atomic

ENTRY = {
    "segment_key": "seg-a",
    "weighting": "count",
    "denominators": {"count_used": 3, "weight_used": 1.5},
    "metrics": {"avg_clv_pct": 0.25, "beat_close_rate": 0.5},
}
LEDGER_FILES = ("ledger.jsonl", "ledger.commits")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "root"
    led = open_ledger(path)
    jobs = [
        {"name": f"j{i}", "params": {"i": i}, "status": "ok", "metrics": {"loss": i / 3}}
        for i in range(6)
    ]
    run_batch(led, "trials", jobs)
    run_batch(led, "scans", scan_jobs([("u1", "ok", [ENTRY]), ("u2", "ok", [ENTRY])]), "scan")
    return path


def fresh_full_rebuild(root: Path, tmp_path: Path) -> dict[str, bytes]:
    """The outputs of a full rebuild of the same ledger in another root."""
    other = tmp_path / "fresh"
    other.mkdir()
    for name in LEDGER_FILES:
        shutil.copy2(root / name, other / name)
    rebuild(other, full=True)
    return snapshot(other)


def mtimes(root: Path) -> dict[str, int]:
    return {
        p.relative_to(root).as_posix(): p.stat().st_mtime_ns
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_rebuild_restores_deleted_and_edited_outputs(
    root: Path, tmp_path: Path, capsys: Any
) -> None:
    rebuild(root)
    code, out, _ = run_main(capsys, "--root", str(root), "rebuild", "--check")
    assert (code, out) == (0, "")
    (root / "batches/trials/summary.csv").unlink()
    edited = root / "batches/scans/hypothesis_leaderboard.md"
    edited.write_text(edited.read_text() + "a hand edit\n")

    before = mtimes(root)
    code, out, err = run_main(capsys, "--root", str(root), "rebuild", "--check")
    assert code == 1 and "2 output files differ" in err
    assert out.splitlines() == [
        "changed\tbatches/scans/hypothesis_leaderboard.md",
        "missing\tbatches/trials/summary.csv",
    ]
    assert mtimes(root) == before  # --check wrote nothing, not even ledger.duckdb

    code, out, err = run_main(capsys, "--root", str(root), "rebuild")
    assert code == 0 and "0 new events, 2 files written, 2 restored" in err
    assert sorted(out.splitlines()) == [str(edited), str(root / "batches/trials/summary.csv")]
    assert snapshot(root) == fresh_full_rebuild(root, tmp_path)
    code, out, _ = run_main(capsys, "--root", str(root), "rebuild", "--check")
    assert (code, out) == (0, "")
    # once restored, a rebuild with nothing new writes nothing
    code, out, err = run_main(capsys, "--root", str(root), "rebuild")
    assert (code, out) == (0, "") and "0 files written" in err


def test_an_edit_that_keeps_size_and_mtime_is_caught_by_check(root: Path) -> None:
    rebuild(root)
    target = root / "gaps/gaps.json"
    stat = target.stat()
    text = target.read_text()
    target.write_text(text.replace("{", "[", 1))
    import os

    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    found = check_outputs(root)
    assert [(m.state, m.path) for m in found] == [("changed", "gaps/gaps.json")]


def test_extra_files_under_output_folders_are_reported_not_deleted(root: Path, capsys: Any) -> None:
    rebuild(root)
    (root / "batches/trials/notes.txt").write_text("mine\n")
    (root / "elsewhere.txt").write_text("not an output folder\n")
    code, out, _ = run_main(capsys, "--root", str(root), "rebuild", "--check")
    assert code == 1 and out == "extra\tbatches/trials/notes.txt\n"
    rebuild(root)
    assert (root / "batches/trials/notes.txt").read_text() == "mine\n"


def test_check_without_a_projection_database_builds_the_reference_elsewhere(
    root: Path, tmp_path: Path
) -> None:
    rebuild(root)
    for name in ("ledger.duckdb", "ledger.duckdb.wal"):
        (root / name).unlink(missing_ok=True)
    assert check_outputs(root) == []
    (root / "batches/trials/report.md").write_text("rewritten by hand\n")
    (root / "gaps/gaps.md").unlink()
    before = mtimes(root)
    found = check_outputs(root)
    assert [(m.state, m.path) for m in found] == [
        ("changed", "batches/trials/report.md"),
        ("missing", "gaps/gaps.md"),
    ]
    assert mtimes(root) == before and not (root / "ledger.duckdb").exists()


def test_check_of_a_database_behind_the_ledger_uses_the_ledger(root: Path) -> None:
    rebuild(root)
    run_batch(open_ledger(root), "late", [{"name": "x", "status": "ok"}])
    found = check_outputs(root)
    assert {(m.state, m.path) for m in found} >= {
        ("missing", "batches/late/summary.csv"),
        ("changed", "gaps/gaps.json"),
    }


def _plain_projection(name: str, folder: str, use_write_atomic: bool) -> types.ModuleType:
    """A projection as another developer might add one: one file per batch."""
    module = types.ModuleType(name)
    module.NAME = name  # type: ignore[attr-defined]
    module.DDL = ()  # type: ignore[attr-defined]
    module.TABLES = ()  # type: ignore[attr-defined]

    def update(con: Any, root: Path, batches: list[str] | None) -> list[Path]:
        rows = con.execute("SELECT batch, jobs FROM batches ORDER BY batch").fetchall()
        written = []
        for batch, jobs in rows:
            if batches is not None and batch not in batches:
                continue
            path = root / folder / batch / "count.txt"
            if use_write_atomic:
                write_atomic(path, f"{batch}: {jobs} jobs\n")
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(f"{batch}: {jobs} jobs\n")
            written.append(path)
        return written

    module.update = update  # type: ignore[attr-defined]
    return module


@pytest.mark.parametrize("use_write_atomic", [True, False])
def test_a_new_projection_gets_check_and_restore_for_free(
    root: Path, monkeypatch: pytest.MonkeyPatch, use_write_atomic: bool
) -> None:
    extra = _plain_projection("counts", "counts", use_write_atomic)
    monkeypatch.setitem(PROJECTIONS, "counts", extra)
    rebuild(root)
    target = root / "counts/scans/count.txt"
    assert target.read_text() == "scans: 2 jobs\n"
    target.write_text("scans: 3 jobs\n")
    (root / "counts/trials/count.txt").unlink()
    assert [(m.state, m.path, m.projection) for m in check_outputs(root, ["counts"])] == [
        ("changed", "counts/scans/count.txt", "counts"),
        ("missing", "counts/trials/count.txt", "counts"),
    ]
    result = rebuild(root, ["counts"])
    assert sorted(result.restored) == [target, root / "counts/trials/count.txt"]
    assert target.read_text() == "scans: 2 jobs\n"
    assert check_outputs(root) == []


def test_study_outputs_are_restored_too(tmp_path: Path) -> None:
    """The pareto projection (added beside this mechanism) is covered without code of its own."""
    from test_pareto import record

    point = {"mean_pnl": 5.0, "kill_prob_ci_upper": 0.1, "drawdown_cvar": 3.0}
    record(tmp_path, "st", [{"metrics": point}, {"metrics": {**point, "mean_pnl": 4.0}}])
    rebuild(tmp_path)
    frontier = tmp_path / "studies/st/pareto.json"
    before = frontier.read_bytes()
    frontier.write_text("{}\n")
    (tmp_path / "studies/st/trials.jsonl").unlink()
    assert [(m.state, m.path, m.projection) for m in check_outputs(tmp_path)] == [
        ("changed", "studies/st/pareto.json", "pareto"),
        ("missing", "studies/st/trials.jsonl", "pareto"),
    ]
    assert len(rebuild(tmp_path).restored) == 2
    assert frontier.read_bytes() == before and check_outputs(tmp_path) == []
