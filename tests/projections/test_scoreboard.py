"""The scoreboard SQL against the reference rules (``scoreboard_rules.evaluate``)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from scoreboard_fixtures import append_batch, random_gates, random_grid

from projections import rebuild
from projections.engine import connect
from projections.scoreboard import judge
from projections.scoreboard_rules import evaluate
from schemas import load_gates


def _reference_cells(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: c[k] for k in ("job_id", "name", "params", "metrics")}
        for c in cells
        if c.get("status", "ok") == "ok"
    ]


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("allow_missing", [False, True], ids=["strict", "allow-missing"])
def test_sql_matches_the_reference_rules(tmp_path: Path, seed: int, allow_missing: bool) -> None:
    rng = random.Random(seed)
    cells = random_grid(rng)
    gates = load_gates(random_gates(rng))
    append_batch(tmp_path, "b", cells)
    rebuild(tmp_path)
    con = connect(tmp_path, read_only=True)
    try:
        board = judge(con, "b", gates, allow_missing)
    finally:
        con.close()
    expected = evaluate(_reference_cells(cells), gates, allow_missing)
    got = [(c.job_id, c.baseline, c.candidate, c.checks) for c in board.cells]
    want = [(r.job_id, r.baseline, r.candidate, r.checks) for r in expected.rows]
    assert got == want
    assert board.missing == expected.missing
    assert [c.params for c in board.cells] == [r.params for r in expected.rows]
    assert any(c.candidate for c in board.cells) or not any(r.candidate for r in expected.rows)


GATES = """
gates:
  sharpe: {min: 0.2}
  af_dist: {min: -0.1}
parity: {metric: sharpe, across: simulator, max_abs_diff: 0.15}
baselines:
  profile_values: [market, benchmark]
  beat: {metric: sharpe, margin: 0.05}
"""
FILES = ("tournament_scoreboard.csv", "tournament_candidates.csv", "tournament_scoreboard.md")


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from commands.cli import main

    try:
        code: Any = main(argv)
    except SystemExit as exited:
        code = exited.code
    out, err = capsys.readouterr()
    return (code if isinstance(code, int) else 0), out, err


@pytest.fixture
def board_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    append_batch(root, "t", random_grid(random.Random(3)))
    (tmp_path / "gates.yaml").write_text(GATES, encoding="utf-8")
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {name: (root / "scoreboard" / "t" / name).read_bytes() for name in FILES}


def test_strict_missing_writes_files_and_exits_1_naming_metrics(
    board_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gates = str(board_root.parent / "gates.yaml")
    code, out, err = _cli(
        ["--root", str(board_root), "scoreboard", "--batch", "t", "--gates", gates], capsys
    )
    assert code == 1
    assert "af_dist (" in err and "sharpe (" in err and "cells)" in err
    assert len(err.strip().splitlines()) <= 2
    files = _files(board_root)
    assert out.startswith("# Tournament scoreboard: t")
    assert files["tournament_scoreboard.md"].decode() == out
    code, out, err = _cli(
        [
            "--root",
            str(board_root),
            "scoreboard",
            "--batch",
            "t",
            "--gates",
            gates,
            "--allow-missing",
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["mode"] == "allow-missing" and summary["candidates"]
    assert summary["missing"]["af_dist"] > 0
    text = (board_root / "scoreboard" / "t" / "tournament_scoreboard.csv").read_text()
    head = text.splitlines()[0].split(",")
    assert head[:3] == ["index", "name", "job_id"] and "gate:sharpe" in head
    assert "parity:sharpe:simulator.spread" in head and "beat:sharpe.best" in head
    assert ",skipped" in text
    candidates = (board_root / "scoreboard" / "t" / "tournament_candidates.csv").read_text()
    assert len(candidates.splitlines()) == len(summary["candidates"]) + 1


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("gates:\n  sharpe: {min: 0.2, maxx: 1}\n", "unknown key"),
        ("gates:\n  sharpe: {min: 2, max: 1}\n", "greater than max"),
        ("gates:\n  sharpe: [min: 2\n", "gates"),
        ("gates:\n  shrape: {min: 0.1}\n", "'shrape'"),
        (None, "gates"),
    ],
    ids=["unknown-key", "min-over-max", "bad-yaml", "no-such-metric", "unreadable"],
)
def test_bad_gates_exit_2_in_one_line(
    board_root: Path, capsys: pytest.CaptureFixture[str], content: str | None, fragment: str
) -> None:
    path = board_root.parent / "bad.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    code, _out, err = _cli(
        ["--root", str(board_root), "scoreboard", "--batch", "t", "--gates", str(path)], capsys
    )
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1
    assert not (board_root / "scoreboard").exists()


def test_unknown_batch_exits_2(board_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gates = str(board_root.parent / "gates.yaml")
    code, _, err = _cli(
        ["--root", str(board_root), "scoreboard", "--batch", "nope", "--gates", gates], capsys
    )
    assert code == 2 and "nope" in err


def test_files_are_byte_identical_across_rebuilds_and_threads(
    board_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gates = str(board_root.parent / "gates.yaml")
    argv = [
        "--root",
        str(board_root),
        "scoreboard",
        "--batch",
        "t",
        "--gates",
        gates,
        "--allow-missing",
    ]
    assert _cli(argv, capsys)[0] == 0
    first = _files(board_root)
    for threads in (1, 4):
        (board_root / "ledger.duckdb").unlink()
        rebuild(board_root, threads=threads, full=True)
        assert _cli(argv, capsys)[0] == 0
        assert _files(board_root) == first
