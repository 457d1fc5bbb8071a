"""Readers do not block readers: two real ``query`` processes against one projection database.

A long query holds the database read-only; a second query must answer promptly, catching up
when it can, else reading the database as it stands and saying by how many events it is
behind. Waiting for a writer stays within ``--timeout-s``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from ledger_helpers import sweepledger_executable
from projection_fixtures import open_ledger, run_batch

from projections import rebuild

REPO = Path(__file__).resolve().parents[2]
# Minutes of work for DuckDB, nothing to sleep on: it holds the database while it runs.
SLOW_SQL = "SELECT sum(hash(i)) FROM range(100000000000) AS t(i)"
PROMPT_S = 20.0  # the old code waited 30 s for the lock, then failed "busy"
COUNT_SQL = "SELECT count(*) AS n FROM outcomes"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SWEEPLEDGER_ROOT"}
    env["PYTHONPATH"] = str(REPO)
    return env


def _query(root: Path, sql: str, timeout_s: float = 60.0) -> tuple[int, str, str, float]:
    args = ["--root", str(root), "query", "--format", "csv", "--timeout-s", str(timeout_s)]
    start = time.monotonic()
    done = subprocess.run(
        [sweepledger_executable(), *args, sql],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    return done.returncode, done.stdout, done.stderr, time.monotonic() - start


def _held_by_another_process(root: Path) -> bool:
    try:
        duckdb.connect(str(root / "ledger.duckdb")).close()
    except duckdb.IOException as e:
        assert "lock" in str(e).lower(), e
        return True
    return False


def _wait_until_held(root: Path, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not _held_by_another_process(root):
        assert child.poll() is None, "the holding process ended early"
        assert time.monotonic() < deadline, "the database was never opened by the child"
        time.sleep(0.1)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    run_batch(open_ledger(tmp_path), "b", [{"name": f"j{i}", "status": "ok"} for i in range(3)])
    rebuild(tmp_path)
    return tmp_path


@pytest.fixture
def slow_query(root: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``query`` process running a statement for minutes (killed at the end)."""
    child = subprocess.Popen(
        [sweepledger_executable(), "--root", str(root), "query", "--timeout-s", "600", SLOW_SQL],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(),
    )
    try:
        _wait_until_held(root, child)
        yield child
    finally:
        child.kill()
        child.wait()


def test_a_second_query_answers_while_a_long_one_runs(
    root: Path, slow_query: subprocess.Popen[bytes]
) -> None:
    code, out, err, took = _query(root, COUNT_SQL)
    assert (code, out, err) == (0, "n\n3\n", "") and took < PROMPT_S

    # New events: a catch-up would need the database for writing, which the long query
    # prevents. The answer comes at once, from the database as it stands, and says so.
    run_batch(open_ledger(root), "late", [{"name": "x", "status": "ok"}])
    code, out, err, took = _query(root, COUNT_SQL)
    assert code == 0 and out == "n\n3\n" and took < PROMPT_S, err
    assert "4 events behind the ledger (results as of seq 8 of 12)" in err
    assert slow_query.poll() is None

    slow_query.kill()
    slow_query.wait()
    code, out, err, _ = _query(root, COUNT_SQL)
    assert (code, out, err) == (0, "n\n4\n", "")


@contextmanager
def held_for_writing(root: Path, seconds: float) -> Iterator[None]:
    """Another process holding the database read-write (as a rebuild does) for ``seconds``."""
    code = (
        "import sys, time, duckdb; con = duckdb.connect(sys.argv[1]); "
        "print('held', flush=True); time.sleep(float(sys.argv[2]))"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code, str(root / "ledger.duckdb"), str(seconds)],
        stdout=subprocess.PIPE,
    ) as child:
        try:
            assert child.stdout is not None and child.stdout.readline() == b"held\n"
            yield
        finally:
            child.kill()


def test_waiting_for_a_writer_stays_within_the_timeout(root: Path) -> None:
    with held_for_writing(root, 120):
        code, out, err, took = _query(root, COUNT_SQL, timeout_s=1)
    assert code == 2 and out == "" and took < PROMPT_S
    assert err.startswith("error: projection database") and "being written" in err
    assert "waited 1 s" in err and err.count("\n") == 1


def test_a_writer_that_finishes_within_the_timeout_is_waited_for(root: Path) -> None:
    with held_for_writing(root, 2):
        code, out, err, _ = _query(root, COUNT_SQL, timeout_s=60)
    assert (code, out, err) == (0, "n\n3\n", "")
