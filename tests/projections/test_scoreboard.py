"""The scoreboard SQL against the reference rules (``scoreboard_rules.evaluate``)."""

from __future__ import annotations

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
