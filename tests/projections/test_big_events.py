"""Every event the ledger accepts is projectable, however long its line, and a failed catch-up
reports its own cause."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from projection_fixtures import run_main

from ledger import MAX_EVENT_BYTES, Ledger


def test_events_near_the_size_limit_are_projected(tmp_path: Path, capsys: Any) -> None:
    root = tmp_path / "root"
    ledger = Ledger.open(root, create=True)
    big = "x" * (MAX_EVENT_BYTES - 4096)
    ledger.append([{"type": "x.big", "data": {"s": big}}, {"type": "x.small", "data": {}}])
    ledger.append([{"type": "x.mid", "data": {"s": "y" * 3_000_000}}])
    sql = "SELECT type, length(data::VARCHAR) FROM events ORDER BY seq"
    code, out, err = run_main(capsys, "--root", str(root), "query", sql, "--format", "csv")
    assert code == 0, err
    rows = out.strip().splitlines()[1:]
    assert rows == [f"x.big,{len(big) + 8}", "x.small,2", "x.mid,3000008"]


def test_a_failed_catch_up_reports_its_real_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    root = tmp_path / "root"
    ledger = Ledger.open(root, create=True)
    ledger.append([{"type": "x.a", "data": {"i": i}} for i in range(10)])
    import projections.tables as tables

    broken = dict(tables.FILLS)
    broken["events"] = "SELECT no_such_column FROM _raw"
    monkeypatch.setattr(tables, "FILLS", broken)
    code, _out, err = run_main(capsys, "--root", str(root), "rebuild")
    assert code != 0
    assert "no_such_column" in err and "transaction is aborted" not in err
