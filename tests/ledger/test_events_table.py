"""Arrow tables built by the C++ JSON reader match the per-line reference decoding."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_helpers import event_table

from ledger import Ledger
from ledger.segments import arrow_schema, events_table, rows_from_lines

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    events=st.lists(
        st.fixed_dictionaries(
            {
                "batch": st.none() | TEXT,
                "key": st.none() | TEXT,
                "data": st.dictionaries(
                    TEXT, st.integers() | TEXT | st.floats(allow_nan=False), max_size=4
                ),
            }
        ),
        min_size=1,
        max_size=20,
    )
)
def test_fast_table_matches_reference(tmp_path_factory, events) -> None:
    root: Path = tmp_path_factory.mktemp("ledger")
    ledger = Ledger.open(root, create=True)
    ledger.append([{"type": "x.prop", **event} for event in events])
    lines = list(ledger.read_raw())
    reference = pa.table(rows_from_lines(lines), schema=arrow_schema())
    assert events_table(lines, with_raw=True).equals(reference)
    table = event_table(ledger)
    assert table.to_pylist() == reference.drop_columns(["raw"]).to_pylist()


@pytest.mark.parametrize("since", [0, 7, 39])
def test_bulk_reader_matches_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, since: int
) -> None:
    monkeypatch.setattr("ledger.relations.BULK_MIN_BYTES", 0)
    ledger = Ledger.open(tmp_path / "bulk", create=True)
    ledger.append(
        [
            {
                "type": "x.bulk",
                "batch": 'b\u00e9\u2713,"data":',
                "key": None if i % 3 else f"k/{i}",
                "data": {"i": i, "s": '\u00e9\n\t"x"', "f": i / 7},
            }
            for i in range(40)
        ]
    )
    lines = list(ledger.read_raw(since))
    reference = pa.table(rows_from_lines(lines), schema=arrow_schema()).drop_columns(["raw"])
    assert event_table(ledger, since).to_pylist() == reference.to_pylist()


def _tricky_events(n: int) -> list[dict[str, object]]:
    """Events whose text holds the envelope's own markers inside strings and nested keys."""
    return [
        {
            "type": "x.bulk",
            "batch": 'b\u00e9\u2713,"data":' if i % 2 else None,
            "key": None if i % 3 else f'k/{i},"prev":"',
            "data": {
                "i": i,
                "data": {"prev": "0" * 64, "hash": ',"hash":"' + "f" * 64 + '"}'},
                "s": '\u00e9\n\t"x",\u2028',
                "f": i / 7,
            },
        }
        for i in range(n)
    ]


def _relation_rows(ledger: Ledger, since: int) -> tuple[int, list[tuple[object, ...]]]:
    import duckdb

    from ledger.relations import event_relations

    con = duckdb.connect()
    parts = event_relations(ledger, con, since)
    rows = [row for rel in parts.relations for row in rel.fetchall()]
    return parts.last_seq, sorted(rows, key=lambda r: int(str(r[0])))


@pytest.mark.parametrize("bulk", [True, False])
@pytest.mark.parametrize("since", [0, 7, 39])
def test_relations_match_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, since: int, bulk: bool
) -> None:
    monkeypatch.setattr("ledger.relations.BULK_MIN_BYTES", 0 if bulk else 1 << 40)
    ledger = Ledger.open(tmp_path / "rel", create=True)
    ledger.append(_tricky_events(40))
    reference = pa.table(rows_from_lines(list(ledger.read_raw(since))), schema=arrow_schema())
    last, rows = _relation_rows(ledger, since)
    assert last == 40
    assert rows == [tuple(r.values()) for r in reference.drop_columns(["raw"]).to_pylist()]


def test_relations_read_segments_and_live_tail(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path / "sealed", create=True)
    ledger.append(_tricky_events(30))
    ledger.seal()
    ledger.append(_tricky_events(5))
    for since in (0, 12, ledger.head().seq - 2):
        reference = rows_from_lines(list(ledger.read_raw(since)))
        del reference["raw"]
        last, rows = _relation_rows(ledger, since)
        assert last == ledger.head().seq
        assert rows == list(zip(*reference.values(), strict=True))


def test_live_relation_skips_a_line_being_written(tmp_path: Path) -> None:
    """A torn line past the range (an appender mid-write) is neither read nor an error."""
    import duckdb

    from ledger.live_arrow import live_relation

    ledger = Ledger.open(tmp_path / "torn", create=True)
    ledger.append(_tricky_events(10))
    with open(ledger.live_path, "ab") as f:
        f.write(b'{"seq":11,"ts":"2026-01-01T00:00:00Z","type":"x.bulk","v":1,"ba')
    rows = live_relation(duckdb.connect(), ledger.live_path, 0, 10).fetchall()
    assert sorted(int(r[0]) for r in rows) == list(range(1, 11))
    assert {r[9] for r in rows} == {ledger.hash_at(s) for s in range(1, 11)}
