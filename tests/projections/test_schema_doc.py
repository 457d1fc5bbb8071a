"""``ledger.duckdb`` for other clients: a comment on every table, view and column; BIGINT
counts; TIMESTAMP columns beside the text timestamps; docs/SCHEMA.md lists every table."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
from projection_fixtures import finish_batch, intent, job_id_of, open_ledger, outcome, start_batch

from projections import rebuild

DOC = Path(__file__).resolve().parents[2] / "docs" / "SCHEMA.md"


def _database(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    led = open_ledger(root)
    start_batch(led, "b", 2)
    first = intent(led, "b", 0, "a", x=1)
    outcome(led, first, "b", job_id_of("a", {"x": 1}), "error", metrics={"loss": 2.0})
    again = intent(led, "b", 0, "a", x=1)
    outcome(led, again, "b", job_id_of("a", {"x": 1}), "ok", metrics={"loss": 1.0})
    finish_batch(led, "b", 2, 1)
    rebuild(root)
    rebuild(root, full=True)  # tables made again keep their comments
    return root / "ledger.duckdb"


def _objects(con: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    tables = con.execute(
        "SELECT table_name, comment FROM duckdb_tables() WHERE NOT temporary"
    ).fetchall()
    views = con.execute(
        "SELECT view_name, comment FROM duckdb_views() WHERE NOT internal AND NOT temporary"
    ).fetchall()
    return dict(tables + views)


def test_every_table_view_and_column_has_a_comment(tmp_path: Path) -> None:
    con = duckdb.connect(str(_database(tmp_path)), read_only=True)
    objects = _objects(con)
    assert {"events", "outcomes", "final_outcomes", "batches", "gaps"} <= set(objects)
    assert [name for name, comment in objects.items() if not comment] == []
    columns = con.execute(
        "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE NOT internal"
    ).fetchall()
    missing = [f"{t}.{c}" for t, c, comment in columns if t in objects and not comment]
    assert missing == []
    assert {t for t, _, _ in columns} >= set(objects)  # view columns are listed too


def test_counts_are_bigint_and_timestamps_typed(tmp_path: Path) -> None:
    con = duckdb.connect(str(_database(tmp_path)), read_only=True)
    objects = _objects(con)
    types = con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE NOT internal"
    ).fetchall()
    integers = {(t, c, d) for t, c, d in types if t in objects and "INT" in d}
    assert {d for _, _, d in integers} == {"BIGINT"}
    assert ("batches", "jobs", "BIGINT") in integers
    for table in ("events", "intents", "outcomes", "final_outcomes", "artifacts", "gaps"):
        assert (table, "ts_utc", "TIMESTAMP") in set(types)
    ts, ts_utc = con.execute("SELECT ts, ts_utc FROM events ORDER BY seq LIMIT 1").fetchone()
    assert ts_utc == datetime.fromisoformat(ts.replace("Z", "")) and isinstance(ts, str)
    created, created_utc = con.execute(
        "SELECT created_at, created_utc FROM batches WHERE batch = 'b'"
    ).fetchone()
    assert created_utc == datetime.fromisoformat(created.replace("Z", ""))


def test_final_outcomes_keeps_each_jobs_last_outcome(tmp_path: Path) -> None:
    con = duckdb.connect(str(_database(tmp_path)), read_only=True)
    assert con.execute("SELECT count(*) FROM outcomes").fetchone() == (2,)
    rows = con.execute("SELECT job_id, status, metrics['loss'] FROM final_outcomes").fetchall()
    assert rows == [(job_id_of("a", {"x": 1}), "ok", 1.0)]


def test_schema_doc_lists_every_table_and_view(tmp_path: Path) -> None:
    con = duckdb.connect(str(_database(tmp_path)), read_only=True)
    text = DOC.read_text(encoding="utf-8")
    missing = [name for name in _objects(con) if f"`{name}`" not in text]
    assert missing == []
