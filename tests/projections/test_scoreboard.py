"""The scoreboard SQL against the reference rules (``scoreboard_rules.evaluate``)."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from scoreboard_fixtures import (
    append_batch,
    random_gates,
    random_grid,
    reference_csv_texts,
    reference_names,
)

from projections import rebuild
from projections.engine import connect
from projections.scoreboard import Cell, Scoreboard, judge, judged_cells
from projections.scoreboard_files import csv_texts, header
from projections.scoreboard_rules import ScoreboardResult, evaluate
from schemas import Gates, load_gates


def _reference_cells(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: c[k] for k in ("job_id", "name", "params", "metrics")}
        for c in cells
        if c.get("status", "ok") == "ok"
    ]


def _judge_both_ways(
    root: Path, cells: list[dict[str, Any]], gates: Gates, allow_missing: bool
) -> tuple[Scoreboard, tuple[Cell, ...], tuple[str, str], ScoreboardResult]:
    """Record ``cells`` as batch ``b``, rebuild, and judge them in SQL (the board, its cells,
    its CSV texts) and with the reference rules."""
    append_batch(root, "b", cells)
    rebuild(root)
    con = connect(root, read_only=True)
    try:
        board = judge(con, "b", gates, allow_missing)
        judged = judged_cells(con, board)
        texts = csv_texts(con, board)
    finally:
        con.close()
    return board, judged, texts, evaluate(_reference_cells(cells), gates, allow_missing)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("allow_missing", [False, True], ids=["strict", "allow-missing"])
def test_sql_matches_the_reference_rules(tmp_path: Path, seed: int, allow_missing: bool) -> None:
    rng = random.Random(seed)
    cells = random_grid(rng)
    gates = load_gates(random_gates(rng))
    board, judged, _, expected = _judge_both_ways(tmp_path, cells, gates, allow_missing)
    got = [(c.job_id, c.baseline, c.candidate, c.checks) for c in judged]
    want = [(r.job_id, r.baseline, r.candidate, r.checks) for r in expected.rows]
    assert got == want
    assert board.missing == expected.missing
    assert [c.params for c in judged] == [r.params for r in expected.rows]
    assert any(c.candidate for c in judged) or not any(r.candidate for r in expected.rows)
    assert board.cell_count == len(expected.rows)
    assert board.candidate_names == tuple(r.name for r in expected.candidates)
    assert board.baseline_count == sum(r.baseline for r in expected.rows)


AWKWARD_NAMES = ("a,b", 'q"uote', "new\nline", "é|x", " sp", "", "tab\tx", "plain")


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("allow_missing", [False, True], ids=["strict", "allow-missing"])
def test_csv_is_byte_identical_to_the_csv_module_over_the_reference_rows(
    tmp_path: Path, seed: int, allow_missing: bool
) -> None:
    """The SQL-rendered CSV files equal ``csv_text`` (Python's ``csv`` module) over the rows
    that ``scoreboard_rules.evaluate`` judges, byte for byte."""
    rng = random.Random(100 + seed)
    cells = random_grid(rng)
    for cell, name in zip(cells, AWKWARD_NAMES, strict=False):
        cell["name"] = name
    gates = load_gates(random_gates(rng))
    board, _, got, expected = _judge_both_ways(tmp_path, cells, gates, allow_missing)
    index = [{c["job_id"]: i for i, c in enumerate(cells)}[r.job_id] for r in expected.rows]
    assert (board.coordinates, board.metric_names) == reference_names(expected)
    assert got == reference_csv_texts(header(board), board.specs, expected, index)
    assert len(list(csv.reader(io.StringIO(got[1])))) == len(expected.candidates) + 1


def test_a_carriage_return_in_a_field_is_quoted_so_the_row_reads_back(tmp_path: Path) -> None:
    cells = random_grid(random.Random(5))
    cells[0]["name"], cells[1]["name"] = "cr\ronly", "crlf\r\nx"
    gates = load_gates({"gates": {"sharpe": {"min": 0.2}}})
    text = _judge_both_ways(tmp_path, cells, gates, True)[2][0]
    assert '"cr\ronly"' in text and '"crlf\r\nx"' in text
    names = [row[1] for row in csv.reader(io.StringIO(text))][1:]
    assert sorted(names) == sorted(c["name"] for c in cells if c.get("status", "ok") == "ok")


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


def test_coordinate_names_with_json_path_characters(tmp_path: Path) -> None:
    """Coordinates are extracted by JSON pointer: '/', '~', '.', quotes and '$' are names."""
    rng = random.Random(11)
    cells = random_grid(rng)
    for cell in cells:
        params = cell["params"]
        params["sel/ect~ion.x"] = params.pop("selection")
        if "lookback" in params:
            params['$look"back'] = params.pop("lookback")
    gates = load_gates(random_gates(rng))
    board, judged, got, expected = _judge_both_ways(tmp_path, cells, gates, True)
    assert [(c.job_id, c.checks) for c in judged] == [(r.job_id, r.checks) for r in expected.rows]
    assert '$look"back' in board.coordinates and "sel/ect~ion.x" in board.coordinates
    index = [{c["job_id"]: i for i, c in enumerate(cells)}[r.job_id] for r in expected.rows]
    assert got == reference_csv_texts(header(board), board.specs, expected, index)


def test_cells_without_coordinates(tmp_path: Path) -> None:
    """Cells without params (one job id for them all): one parity group, ordered by index;
    the one cell with a coordinate, a baseline, comes last."""
    cells: list[dict[str, Any]] = [
        {"name": f"c{i}", "params": {}, "metrics": {"sharpe": 0.1 * i, "cvar": 0.02}}
        for i in range(4)
    ]
    cells[0]["params"] = {"profile": "market"}
    gates = load_gates(random_gates(random.Random(1)))
    board, judged, got, expected = _judge_both_ways(tmp_path, cells, gates, True)
    assert [(c.job_id, c.checks) for c in judged] == [(r.job_id, r.checks) for r in expected.rows]
    assert [c.index for c in judged] == [1, 2, 3, 0]
    by_name = {c["name"]: i for i, c in enumerate(cells)}
    index = [by_name[r.name] for r in expected.rows]
    assert got == reference_csv_texts(header(board), board.specs, expected, index)


def test_rebuild_check_covers_the_scoreboard_and_rebuild_restores_it(
    board_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The scoreboard's files are recorded outputs: an edit is named by ``rebuild --check``
    (with the database current, and behind the ledger: the reference then judges with the
    stored gates), and ``rebuild`` puts the file back byte for byte."""
    gates = str(board_root.parent / "gates.yaml")
    base = ["--root", str(board_root)]
    board = ["scoreboard", "--batch", "t", "--gates", gates, "--allow-missing"]
    assert _cli([*base, *board], capsys)[0] == 0
    first = _files(board_root)
    assert _cli([*base, "rebuild", "--check"], capsys)[0] == 0
    path = board_root / "scoreboard" / "t" / "tournament_scoreboard.csv"
    path.write_bytes(path.read_bytes().replace(b"pass", b"fail", 1))
    code, out, _ = _cli([*base, "rebuild", "--check"], capsys)
    assert (code, out) == (1, "changed\tscoreboard/t/tournament_scoreboard.csv\n")
    code, out, err = _cli([*base, "rebuild"], capsys)
    assert code == 0 and "1 restored" in err and out == f"{path}\n"
    assert _files(board_root) == first
    # a new event elsewhere: the database is behind and the check builds its own reference
    append_batch(board_root, "other", random_grid(random.Random(5)))
    (board_root / "scoreboard" / "t" / "tournament_candidates.csv").write_text("edited\n")
    code, out, _ = _cli([*base, "rebuild", "--check"], capsys)
    named = [line for line in out.splitlines() if "scoreboard/" in line]
    assert code == 1 and named == ["changed\tscoreboard/t/tournament_candidates.csv"]
    assert _cli([*base, "rebuild"], capsys)[0] == 0
    assert _files(board_root) == first
    assert _cli([*base, "rebuild", "--check"], capsys)[0] == 0


def test_rebuild_renders_the_scoreboard_of_new_cells_with_the_stored_gates(
    board_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A batch judged in strict mode gets more cells: ``rebuild`` renders its scoreboard
    again, as ``scoreboard`` with the same gates would."""
    gates = str(board_root.parent / "gates.yaml")
    argv = ["--root", str(board_root), "scoreboard", "--batch", "t", "--gates", gates]
    assert _cli(argv, capsys)[0] == 1  # strict: cells lack gated metrics
    append_batch(board_root, "t", random_grid(random.Random(8)))
    assert _cli(["--root", str(board_root), "rebuild"], capsys)[0] == 0
    rebuilt = _files(board_root)
    assert _cli(argv, capsys)[0] == 1
    assert _files(board_root) == rebuilt
