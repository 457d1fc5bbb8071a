"""``query --format csv/json`` stream rows in batches: a large result stays under a memory
bound; ``--limit`` applies to every format; small results are byte for byte what they were."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ledger_helpers import sweepledger_executable
from projection_fixtures import open_ledger, run_batch, run_main

from projections import rebuild, rows_as_json, run_query
from projections.query import BATCH_ROWS
from projections.writers import csv_text

REPO = Path(__file__).resolve().parents[2]
BEFORE = REPO / "tests/data/query_before"
BIG_ROWS = 2_000_000
BIG_SQL = f"SELECT i, i * 2 AS j, 'row ' || i::VARCHAR AS s FROM range({BIG_ROWS}) AS t(i)"
# Peak RSS of the whole child: Python + DuckDB alone take ~80-100 MB; holding these 2M rows
# took 560 MB (csv) and 1 GB (json) before rows were streamed.
RSS_BOUND_MB = 300


@pytest.fixture
def root(tmp_path: Path) -> Path:
    run_batch(open_ledger(tmp_path), "b", [{"name": "j0", "status": "ok"}])
    rebuild(tmp_path)
    return tmp_path


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_small_results_are_written_as_before(root: Path, capsys: Any, fmt: str) -> None:
    sql = (BEFORE / "tricky.sql").read_text()
    code, out, err = run_main(capsys, "--root", str(root), "query", "--format", fmt, sql)
    assert (code, err) == (0, "")
    assert out == (BEFORE / f"tricky.{fmt}").read_text(encoding="utf-8")


@pytest.mark.parametrize("rows", [0, BATCH_ROWS, 2 * BATCH_ROWS + 7])
def test_batches_join_into_the_whole_result(root: Path, capsys: Any, rows: int) -> None:
    sql = f"SELECT i, i / 3 AS third, 'x,' || i::VARCHAR AS s FROM range({rows}) AS t(i)"
    whole = run_query(root, sql)
    assert len(whole.rows) == rows and not whole.truncated
    _, out, _ = run_main(capsys, "--root", str(root), "query", "--format", "json", sql)
    assert out == rows_as_json(whole)
    _, out, _ = run_main(capsys, "--root", str(root), "query", "--format", "csv", sql)
    assert out == csv_text(whole.columns, whole.rows)


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_limit_applies_to_every_format(root: Path, capsys: Any, fmt: str) -> None:
    sql = "SELECT i FROM range(50) AS t(i) ORDER BY i"
    code, out, err = run_main(
        capsys, "--root", str(root), "query", "--format", fmt, "--limit", "3", sql
    )
    assert code == 0 and "only the first 3 rows" in err
    if fmt == "csv":
        assert list(csv.reader(io.StringIO(out))) == [["i"], ["0"], ["1"], ["2"]]
    elif fmt == "json":
        assert json.loads(out) == [{"i": 0}, {"i": 1}, {"i": 2}]
    else:
        assert out.splitlines()[2:] == ["0", "1", "2"]
    # exactly at the limit: nothing left out, nothing said
    code, out, err = run_main(
        capsys, "--root", str(root), "query", "--format", fmt, "--limit", "50", sql
    )
    assert code == 0 and err == ""


def test_csv_and_json_default_to_every_row(root: Path, capsys: Any) -> None:
    sql = "SELECT i FROM range(1500) AS t(i)"
    _, out, err = run_main(capsys, "--root", str(root), "query", "--format", "json", sql)
    assert len(json.loads(out)) == 1500 and err == ""
    _, out, err = run_main(capsys, "--root", str(root), "query", sql)
    assert len(out.splitlines()) == 2 + 1000 and "only the first 1000 rows shown" in err


# Started from this small launcher, not from pytest: a child's peak RSS includes its parent's
# RSS at fork (Linux keeps it across exec), and pytest is hundreds of MB late in a full run.
LAUNCHER = """
import os, subprocess, sys
with open(sys.argv[1], "wb") as out:
    child = subprocess.Popen(sys.argv[2:], stdout=out, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
print(child.returncode, usage.ru_maxrss // 1024)
"""


def _peak_rss_mb(args: list[str], stdout: Path) -> tuple[int, int]:
    """Exit code and peak RSS (MB) of a child process, from ``wait4`` in a launcher."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("SWEEPLEDGER_ROOT", None)
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, str(stdout), *args],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=600,
    )
    code, peak_mb = done.stdout.split()
    return int(code), int(peak_mb)


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_large_result_stays_under_a_memory_bound(root: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"out.{fmt}"
    args = [sweepledger_executable(), "--root", str(root), "query", "--format", fmt, BIG_SQL]
    code, peak_mb = _peak_rss_mb(args, out)
    assert code == 0
    assert peak_mb < RSS_BOUND_MB, f"peak RSS {peak_mb} MB holding {BIG_ROWS:,} rows"
    with out.open("rb") as f:
        lines = sum(1 for _ in f)
    if fmt == "csv":
        assert lines == BIG_ROWS + 1
        assert out.read_bytes().endswith(
            f"{BIG_ROWS - 1},{2 * BIG_ROWS - 2},row {BIG_ROWS - 1}\n".encode()
        )
    else:
        tail = out.read_bytes()[-80:].decode()
        assert tail.endswith(f'"s": "row {BIG_ROWS - 1}"}}]\n') and lines == 1


def test_a_statement_failing_midway_is_one_line(root: Path, capsys: Any) -> None:
    sql = (
        "SELECT CASE WHEN i < 30000 THEN i ELSE error('bad row') END AS i FROM range(40000) AS t(i)"
    )
    code, _, err = run_main(capsys, "--root", str(root), "query", "--format", "csv", sql)
    assert code == 2 and "bad row" in err and err.count("\n") == 1
