"""``query``: formats, freshness, the read-only sandbox, timeouts and SQL errors."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from projection_fixtures import open_ledger, run_batch, run_main

from projections import QueryTimeout, rebuild, run_query


@pytest.fixture
def root(tmp_path: Path) -> Path:
    led = open_ledger(tmp_path)
    jobs = [
        {
            "name": f"j{i}",
            "params": {"i": i},
            "status": "ok" if i % 3 else "error",
            "metrics": {"loss": i / 4},
        }
        for i in range(9)
    ]
    run_batch(led, "b", jobs)
    return tmp_path


def test_formats(root: Path, capsys: Any) -> None:
    sql = "SELECT name, status, metrics['loss'] AS loss FROM outcomes ORDER BY seq"
    code, out, _ = run_main(capsys, "--root", str(root), "query", "--format", "json", sql)
    assert code == 0
    rows = json.loads(out)
    assert rows[0] == {"name": "j0", "status": "error", "loss": 0.0} and len(rows) == 9
    code, out, _ = run_main(capsys, "--root", str(root), "query", "--format", "csv", sql)
    assert list(csv.reader(io.StringIO(out)))[:2] == [
        ["name", "status", "loss"],
        ["j0", "error", "0.0"],
    ]
    code, out, err = run_main(capsys, "--root", str(root), "query", "--limit", "2", sql)
    assert code == 0 and len(out.splitlines()) == 4 and "first 2 rows" in err
    code, out, _ = run_main(
        capsys,
        "--root",
        str(root),
        "query",
        "--format",
        "json",
        "SELECT data FROM events WHERE type = 'batch.started'",
    )
    assert json.loads(out)[0]["data"]["jobs"] == 9


def test_query_catches_up_with_new_events(root: Path, capsys: Any) -> None:
    sql = "SELECT count(*) AS n FROM outcomes WHERE status = 'ok'"
    _, out, _ = run_main(capsys, "--root", str(root), "query", "--format", "json", sql)
    assert json.loads(out) == [{"n": 6}]
    run_batch(open_ledger(root), "c", [{"name": "x", "status": "ok"}])
    _, out, _ = run_main(capsys, "--root", str(root), "query", "--format", "json", sql)
    assert json.loads(out) == [{"n": 7}]


@pytest.mark.parametrize(
    ("sql", "word"),
    [
        ("COPY outcomes TO '/tmp/sweepledger_copy.csv'", "COPY"),
        ("ATTACH '/tmp/sweepledger_other.duckdb' AS o", "ATTACH"),
        ("SELECT * FROM read_csv('/etc/passwd')", "sandbox"),
        ("SELECT * FROM read_text('/etc/hostname')", "sandbox"),
        ("SELECT * FROM 'ledger.jsonl'", "sandbox"),
        ("INSTALL httpfs", "INSTALL"),
        ("LOAD httpfs", "LOAD"),
        ("SET enable_external_access = true", "SET"),
        ("CREATE TABLE t AS SELECT 1", "CREATE"),
        ("DELETE FROM events", "DELETE"),
        ("SELECT 1; SELECT 2", "one SQL statement"),
    ],
)
def test_sandbox_refusals(root: Path, capsys: Any, sql: str, word: str) -> None:
    before = (root / "ledger.jsonl").read_bytes()
    code, out, err = run_main(capsys, "--root", str(root), "query", sql)
    assert code == 2, err
    assert out == "" and err.count("\n") == 1 and word in err and "Traceback" not in err
    assert (root / "ledger.jsonl").read_bytes() == before
    assert not Path("/tmp/sweepledger_copy.csv").exists()


def test_sql_error_is_one_line(root: Path, capsys: Any) -> None:
    code, _, err = run_main(capsys, "--root", str(root), "query", "SELEC 1")
    assert code == 2 and err.startswith("error: Parser Error") and err.count("\n") == 1
    code, _, err = run_main(capsys, "--root", str(root), "query", "SELECT * FROM nope")
    assert code == 2 and "nope" in err and err.count("\n") == 1


def test_timeout(root: Path) -> None:
    rebuild(root)
    with pytest.raises(QueryTimeout, match="timed out"):
        run_query(root, "SELECT count(*) FROM range(3000000000) a, range(100) b", timeout_s=0.3)


def test_query_as_real_process(root: Path) -> None:
    done = subprocess.run(
        [
            "sweepledger",
            "--root",
            str(root),
            "query",
            "--format",
            "csv",
            "SELECT count(*) AS n FROM outcomes WHERE status='ok'",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": str(Path(sys.executable).parent)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "n\n6\n"
