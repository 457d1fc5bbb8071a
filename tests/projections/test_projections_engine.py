"""The projection engine's base catch-up: payload upgrades on read, reads that do not add up,
and a read side that does not load the payload models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from projection_fixtures import finish_batch, intent, start_batch

from ledger import Ledger
from projections import rebuild
from projections.engine import BASE_CURSOR, Cursor, connect, get_cursor
from projections.errors import LedgerMoved


def _ledger(root: Path, jobs: int = 3) -> Ledger:
    led = Ledger.open(root, create=True)
    start_batch(led, "b1", jobs)
    for i in range(jobs):
        intent(led, "b1", i, f"job{i}", lr=i / 10)
    finish_batch(led, "b1", jobs, jobs)
    return led


def test_older_payload_versions_are_upgraded_in_derived_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ledger(tmp_path)
    monkeypatch.setitem(sys.modules["schemas.versions"].VERSIONS, "trial.intent", 2)
    from schemas import registry

    monkeypatch.setitem(
        registry.UPGRADERS, ("trial.intent", 1), lambda d: {**d, "name": d["name"].upper()}
    )
    rebuild(tmp_path)
    con = connect(tmp_path, read_only=True)
    try:
        names = [r[0] for r in con.execute('SELECT name FROM intents ORDER BY "index"').fetchall()]
        stored = con.execute(
            "SELECT DISTINCT data->>'name' LIKE 'job%' FROM events WHERE type = 'trial.intent'"
        ).fetchall()
    finally:
        con.close()
    assert names == ["JOB0", "JOB1", "JOB2"]
    assert stored == [(True,)]  # events keep the bytes as stored


def _short_reads(monkeypatch: pytest.MonkeyPatch, times: int) -> None:
    """The next ``times`` ledger reads miss their last event (as if sealed away meanwhile)."""
    import ledger.relations as relations

    real = relations.event_relations
    left = [times]

    def read(ledger, con, since=0, upto=None):  # type: ignore[no-untyped-def]
        parts = real(ledger, con, since, upto)
        if left[0] <= 0:
            return parts
        left[0] -= 1
        short = [r.filter(f"seq < {parts.last_seq}") for r in parts.relations]
        return relations.EventParts(parts.since, parts.last_seq, short)

    monkeypatch.setattr(relations, "event_relations", read)


def _base_cursor(root: Path) -> Cursor | None:
    con = connect(root, read_only=True)
    try:
        return get_cursor(con, BASE_CURSOR)
    finally:
        con.close()


def test_a_read_that_does_not_add_up_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    led = _ledger(tmp_path)
    rebuild(tmp_path)
    before = _base_cursor(tmp_path)
    intent(led, "b1", 9, "late")
    _short_reads(monkeypatch, times=2)
    with pytest.raises(LedgerMoved, match="changed while it was read"):
        rebuild(tmp_path)
    assert _base_cursor(tmp_path) == before


def test_one_read_that_does_not_add_up_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    led = _ledger(tmp_path)
    rebuild(tmp_path)
    intent(led, "b1", 9, "late")
    _short_reads(monkeypatch, times=1)
    assert rebuild(tmp_path).events == 1
    assert _base_cursor(tmp_path) == Cursor(led.head().seq, led.head().hash)


def test_incremental_read_side_does_not_import_the_payload_models(tmp_path: Path) -> None:
    led = _ledger(tmp_path)
    rebuild(tmp_path)
    intent(led, "b1", 3, "job3", lr=0.5)
    code = (
        "import sys; from pathlib import Path; from projections import rebuild; "
        "r = rebuild(Path(sys.argv[1])); assert r.events == 1, r; "
        "print(sorted(m for m in ('pydantic', 'pyarrow') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


_WRITER = """
import sys
from pathlib import Path
from ledger import Ledger

led = Ledger.open(Path(sys.argv[1]))
for round_ in range(6):
    led.append([{"type": "x.tick", "data": {"r": round_, "i": i}} for i in range(400)])
    led.seal()
"""


def test_rebuild_during_appends_and_seals_in_another_process(tmp_path: Path) -> None:
    """Every rebuild that returns has applied a contiguous prefix of the ledger, exactly."""
    led = _ledger(tmp_path)
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path)])
    rebuilt = 0
    try:
        while writer.poll() is None or rebuilt == 0:
            try:
                result = rebuild(tmp_path)
            except LedgerMoved:
                continue
            rebuilt += 1
            con = connect(tmp_path, read_only=True)
            try:
                count, first, last = con.execute(
                    "SELECT count(*), min(seq), max(seq) FROM events"
                ).fetchone() or (0, 0, 0)
                hashes = con.execute(
                    "SELECT count(*) FROM events AS a JOIN events AS b ON b.seq = a.seq + 1 "
                    "WHERE b.prev <> a.hash"
                ).fetchone()
            finally:
                con.close()
            assert (count, first, last) == (result.cursor.seq, 1, result.cursor.seq)
            assert hashes == (0,)
    finally:
        assert writer.wait(timeout=120) == 0
    final = rebuild(tmp_path)
    assert final.cursor.seq == led.head().seq == 3 + 2 + 6 * (400 + 1)  # + ledger.sealed


def test_a_failing_projection_rolls_back_alone_and_catches_up_next_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from projection_fixtures import run_batch, scan_jobs

    from projections import leaderboard

    led = Ledger.open(tmp_path, create=True)
    entry = {
        "segment_key": "s",
        "weighting": "count",
        "denominators": {"weight_used": 1.0, "count_used": 2},
        "metrics": {"avg_clv_pct": 0.5, "beat_close_rate": 0.25},
    }
    run_batch(led, "scan1", scan_jobs([("u1", "ok", [entry])]), kind="scan")
    rebuild(tmp_path)
    before = Cursor(led.head().seq, led.head().hash)
    run_batch(led, "trial2", [{"name": "j", "params": {"x": 1}, "status": "ok"}])
    run_batch(led, "scan2", scan_jobs([("u2", "ok", [entry])]), kind="scan")
    head = Cursor(led.head().seq, led.head().hash)
    real_update = leaderboard.update

    def update_then_fail(*args: object) -> object:
        real_update(*args)  # tables filled and files written, then the failure
        raise RuntimeError("leaderboard broke")

    monkeypatch.setattr(leaderboard, "update", update_then_fail)
    with pytest.raises(RuntimeError, match="leaderboard broke"):
        rebuild(tmp_path)

    def state() -> tuple[dict[str, Cursor | None], list[str]]:
        con = connect(tmp_path, read_only=True)
        try:
            cursors = {n: get_cursor(con, n) for n in ("report", "leaderboard", "gaps")}
            rows = con.execute("SELECT DISTINCT batch FROM leaderboard_users ORDER BY 1")
            return cursors, [str(r[0]) for r in rows.fetchall()]
        finally:
            con.close()

    cursors, users = state()
    assert cursors == {"report": head, "leaderboard": before, "gaps": head}
    assert users == ["scan1"]  # the failed update's rows were rolled back
    assert (tmp_path / "batches/trial2/summary.csv").exists()
    monkeypatch.setattr(leaderboard, "update", real_update)
    rebuild(tmp_path)
    cursors, users = state()
    assert cursors == {"report": head, "leaderboard": head, "gaps": head}
    assert users == ["scan1", "scan2"]


def test_a_schema_that_fails_midway_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    import duckdb

    from projections.engine import ensure_schema

    con = duckdb.connect(str(tmp_path / "p.duckdb"))
    try:
        broken = ("CREATE TABLE IF NOT EXISTS extra_one (x INTEGER)", "CREATE TABLE broken (")
        with pytest.raises(duckdb.ParserException):
            ensure_schema(con, broken)
        left = con.execute("SELECT count(*) FROM duckdb_tables()").fetchall()
        assert left == [(0,)]  # no base table, no _meta, not extra_one: nothing half made
        assert ensure_schema(con) is True  # then made whole, and a full rebuild is due
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert {"_meta", "events", "outcomes"} <= tables
        comment = con.execute(
            "SELECT comment FROM duckdb_tables() WHERE table_name = 'events'"
        ).fetchall()
        assert comment[0][0]  # the comments commit with the tables
    finally:
        con.close()
