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
from projections.engine import BASE_CURSOR, connect, get_cursor
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


def test_a_read_that_does_not_add_up_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    led = _ledger(tmp_path)
    rebuild(tmp_path)
    con = connect(tmp_path, read_only=True)
    before = get_cursor(con, BASE_CURSOR)
    con.close()
    intent(led, "b1", 9, "late")
    intent(led, "b1", 10, "later")

    import ledger.relations as relations

    real = relations.event_relations

    def short_read(ledger, con, since=0):  # type: ignore[no-untyped-def]
        parts = real(ledger, con, since)
        return relations.EventParts(
            parts.since,
            parts.last_seq,
            [r.filter(f"seq < {parts.last_seq}") for r in parts.relations],
        )

    monkeypatch.setattr(relations, "event_relations", short_read)
    with pytest.raises(LedgerMoved, match="changed while it was read"):
        rebuild(tmp_path)
    con = connect(tmp_path, read_only=True)
    try:
        assert get_cursor(con, BASE_CURSOR) == before
        assert con.execute("SELECT max(seq) FROM events").fetchone() == (before.seq,)
    finally:
        con.close()


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
