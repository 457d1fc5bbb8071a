"""``reads.current_connection``: one connection to read a current database, whatever it took
to make it current."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pareto_fixtures import AWKWARD_STUDIES, record_awkward, record_more

import projections.engine as engine
import projections.reads as reads
from ledger import Ledger
from projections import pareto_document, rebuild
from projections.engine import BASE_CURSOR, connect, get_cursor

STUDY = AWKWARD_STUDIES[0]
# ``projections.rebuild`` is also the name of the function the package exports
rebuild_module = importlib.import_module("projections.rebuild")


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every projection database connection opened from now on: its ``read_only``."""
    seen: list[bool] = []

    def counting(real: Callable[..., duckdb.DuckDBPyConnection]) -> Callable[..., Any]:
        def wrapper(root: Path, read_only: bool = False, **kwargs: Any) -> Any:
            seen.append(read_only)
            return real(root, read_only=read_only, **kwargs)

        return wrapper

    monkeypatch.setattr(engine, "connect", counting(engine.connect))
    monkeypatch.setattr(rebuild_module, "connect", counting(rebuild_module.connect))
    return seen


def _head(root: Path) -> tuple[int, str]:
    head = Ledger.open(root).head()
    return head.seq, head.hash


def test_current_database_is_read_on_the_connection_that_checked_it(
    tmp_path: Path, opened: list[bool]
) -> None:
    record_awkward(tmp_path)
    rebuild(tmp_path)
    opened.clear()
    with reads.current_connection(tmp_path, ["pareto"]) as con:
        cursor = get_cursor(con, "pareto")
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("DELETE FROM study_frontier")
    assert opened == [True]  # one read-only connection, no rebuild
    assert cursor is not None and (cursor.seq, cursor.hash) == _head(tmp_path)


def test_behind_database_is_read_on_the_rebuilds_own_connection(
    tmp_path: Path, opened: list[bool]
) -> None:
    record_awkward(tmp_path)
    rebuild(tmp_path)
    record_more(tmp_path, STUDY)
    opened.clear()
    with reads.current_connection(tmp_path, ["pareto"]) as con:
        cursors = [get_cursor(con, name) for name in (BASE_CURSOR, "pareto")]
        # insertion order is kept again for readers (the rebuild turns it off for itself)
        [(kept,)] = con.execute(
            "SELECT value FROM duckdb_settings() WHERE name = 'preserve_insertion_order'"
        ).fetchall()
    assert opened == [True, False]  # the check, then the rebuild's; no third to read
    assert all(c is not None and (c.seq, c.hash) == _head(tmp_path) for c in cursors)
    assert kept == "true"
    # let go on leaving: another process-like writer opens it at once
    connect(tmp_path, wait_s=0).close()


def test_missing_database_is_built_and_read_on_one_connection(
    tmp_path: Path, opened: list[bool]
) -> None:
    record_awkward(tmp_path)
    doc = pareto_document(tmp_path, STUDY)
    assert opened == [False]
    assert doc["study"] == STUDY
    # the document read on the rebuild's connection is the one a later, current read gives
    opened.clear()
    assert pareto_document(tmp_path, STUDY) == doc
    assert opened == [True]


def test_a_failing_read_still_lets_the_database_go(tmp_path: Path) -> None:
    record_awkward(tmp_path)
    with (
        pytest.raises(RuntimeError, match="reader failed"),
        reads.current_connection(tmp_path, ["pareto"]),
    ):
        raise RuntimeError("reader failed")
    connect(tmp_path, wait_s=0).close()
    with reads.current_connection(tmp_path, ["pareto"]) as con:
        cursor = get_cursor(con, "pareto")
    assert cursor is not None and (cursor.seq, cursor.hash) == _head(tmp_path)
