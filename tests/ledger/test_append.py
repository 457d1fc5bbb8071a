"""`Ledger.append`: all-or-nothing calls, receipts, envelope checks, and reading back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import LedgerFactory
from ledger_helpers import COMMITS, LIVE, example_events, snapshot

from ledger import MAX_EVENT_BYTES, EventTooLarge, InvalidEvent, Ledger, LedgerNotFound
from schemas import NewEvent


def test_call_of_10000_with_invalid_last_event_appends_nothing(ledger: LedgerFactory) -> None:
    opened = ledger(3)
    before = snapshot(opened.root)
    events: list[dict[str, Any]] = example_events(9_999, start=100)
    events.append({"type": "trial.outcome", "data": {"job_id": "j", "status": "bogus"}})
    with pytest.raises(InvalidEvent) as caught:
        opened.append(events)
    assert caught.value.index == 9_999
    assert str(caught.value).startswith("event 10000:")
    assert "status" in str(caught.value)
    assert snapshot(opened.root) == before


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ({"type": "no.such.type", "data": {}}, ["no.such.type"]),
        ({"type": "", "data": {}}, ["type"]),
        ({"type": "x.a", "data": {}, "extra": 1}, ["extra"]),
        ({"type": "x.a", "data": {}, "batch": 5}, ["batch"]),
        ({"type": "x.a", "data": {}, "cause": 0}, ["cause"]),
        ({"type": "x.a", "data": [1, 2]}, ["data"]),
        ({"type": "x.a", "data": {"f": {1, 2}}}, ["data"]),
        ({"type": "trial.intent", "data": {"job_id": "j"}}, ["index"]),
        ("not an object", ["object"]),
    ],
)
def test_invalid_event_in_the_middle_appends_nothing(
    ledger: LedgerFactory, bad: Any, words: list[str]
) -> None:
    opened = ledger(2)
    before = snapshot(opened.root)
    with pytest.raises(InvalidEvent) as caught:
        opened.append([*example_events(4), bad, *example_events(4)])
    assert str(caught.value).startswith("event 5:")
    for word in words:
        assert word in str(caught.value)
    assert snapshot(opened.root) == before


def test_cause_must_name_an_earlier_event(ledger: LedgerFactory) -> None:
    opened = ledger(2)
    before = snapshot(opened.root)
    with pytest.raises(InvalidEvent, match="cause 4"):
        opened.append([{"type": "x.a", "data": {}, "cause": 4}])  # would itself be seq 3
    assert snapshot(opened.root) == before
    (receipt,) = opened.append([{"type": "x.a", "data": {}, "cause": 2}])
    assert next(opened.read(since=2)).cause == 2 and receipt.seq == 3


def test_event_too_large_is_refused_whole(ledger: LedgerFactory) -> None:
    opened = ledger(1)
    before = snapshot(opened.root)
    huge = {"type": "x.big", "data": {"blob": "a" * MAX_EVENT_BYTES}}
    with pytest.raises(EventTooLarge, match="limit"):
        opened.append([*example_events(2), huge])
    assert snapshot(opened.root) == before


@pytest.mark.parametrize("at", [0, 9_999, 10_000, 24_999])
def test_call_written_in_chunks_checks_causes_and_sizes_before_writing(
    ledger: LedgerFactory, at: int
) -> None:
    """Calls above one chunk are written a chunk at a time: a bad cause or a too large event in
    any chunk must still leave the ledger untouched and name its own index."""
    opened = ledger(2)
    before = snapshot(opened.root)
    events: list[dict[str, Any]] = [{"type": "x.n", "data": {"n": n}} for n in range(25_000)]
    events[at] = {"type": "x.n", "data": {}, "cause": 3 + at}  # would itself be seq 3 + at
    with pytest.raises(InvalidEvent, match=f"^event {at + 1}: cause {3 + at} "):
        opened.append(events)
    assert snapshot(opened.root) == before
    events[at] = {"type": "x.big", "data": {"blob": "a" * MAX_EVENT_BYTES}}
    with pytest.raises(EventTooLarge, match=f"^event {at + 1}: "):
        opened.append(events)
    assert snapshot(opened.root) == before
    events[at] = {"type": "x.n", "data": {}, "cause": 2 + at}
    receipts = opened.append(events)
    assert [r.seq for r in receipts] == list(range(3, 25_003))
    assert opened.verify().ok


def test_size_limit_is_exact_in_a_call_of_many_chunks(tmp_path: Path) -> None:
    """The largest event that fits is accepted, one byte more is refused, also where its seq
    has fewer digits than the call's last one (seq 9,999 in a call ending at 20,000)."""
    opened = Ledger.open(tmp_path / "r", create=True)
    events: list[dict[str, Any]] = [{"type": "x.n", "data": {}} for _ in range(20_000)]
    fixed = len(b'{"seq":9999,"ts":"2026-01-01T00:00:00.000000Z","type":"x.big","v":1,')
    fixed += len(b'"batch":null,"key":null,"cause":null,"data":{"blob":""},"prev":"')
    fixed += 64 + len(b'","hash":"') + 64 + len(b'"}\n')
    events[9_998] = {"type": "x.big", "data": {"blob": "a" * (MAX_EVENT_BYTES - fixed + 1)}}
    with pytest.raises(EventTooLarge, match=r"^event 9999: "):
        opened.append(events)
    events[9_998] = {"type": "x.big", "data": {"blob": "a" * (MAX_EVENT_BYTES - fixed)}}
    assert len(opened.append(events)) == 20_000
    (line,) = opened.read_raw(since=9_998, types=["x.big"])
    assert len(line) + 1 == MAX_EVENT_BYTES


def test_receipts_are_in_order_and_head_moves(ledger: LedgerFactory) -> None:
    opened = ledger(0)
    assert str(opened.head()) == "0:" + "0" * 64
    first = opened.append(example_events(3))
    second = opened.append(example_events(2, start=3))
    assert [r.seq for r in first + second] == [1, 2, 3, 4, 5]
    assert opened.head() == (5, second[-1].hash)
    assert opened.append([]) == []
    assert opened.head().seq == 5


def test_accepts_new_event_models_and_generators(tmp_path: Path) -> None:
    opened = Ledger.open(tmp_path / "r", create=True)

    def generate() -> Iterator[NewEvent]:
        for n in range(25_000):
            yield NewEvent(type="x.gen", data={"n": n}, batch="b")

    receipts = opened.append(generate())
    assert len(receipts) == 25_000 and receipts[-1].seq == 25_000
    assert (opened.root / COMMITS).stat().st_size == 97  # one call, one commit
    assert [e.data["n"] for e in opened.read(since=24_998)] == [24_998, 24_999]


def test_one_commit_record_per_call(ledger: LedgerFactory) -> None:
    opened = ledger(12, per_call=4)
    assert (opened.root / COMMITS).stat().st_size == 3 * 97


def test_open_missing_raises_and_create_writes_no_event(tmp_path: Path) -> None:
    with pytest.raises(LedgerNotFound, match="no ledger"):
        Ledger.open(tmp_path / "missing")
    assert not (tmp_path / "missing").exists()
    opened = Ledger.open(tmp_path / "new" / "nested", create=True)
    assert (opened.root / LIVE).read_bytes() == b""
    assert list(opened.read()) == []
    opened.init()  # idempotent
    assert (opened.root / LIVE).read_bytes() == b""


def test_read_filters_by_since_type_and_batch(tmp_path: Path) -> None:
    opened = Ledger.open(tmp_path / "r", create=True)
    opened.append(
        [
            {"type": "x.a", "data": {"n": 1}, "batch": "b1"},
            {"type": "x.b", "data": {"n": 2}, "batch": "b2"},
            {"type": "x.a", "data": {"n": 3}, "batch": "b2", "key": "k"},
            {"type": "x.c", "data": {"n": 4}},
        ]
    )
    assert [e.seq for e in opened.read(since=2)] == [3, 4]
    assert [e.seq for e in opened.read(types=["x.a"])] == [1, 3]
    assert [e.seq for e in opened.read(batch="b2")] == [2, 3]
    assert [e.seq for e in opened.read(types=["x.a", "x.c"], batch="b2")] == [3]
    assert [e.data["n"] for e in opened.read(since=4)] == []
    event = next(opened.read(since=2))
    assert (event.type, event.batch, event.key, event.v) == ("x.a", "b2", "k", 1)
    raw = list(opened.read_raw())
    assert b"\n".join(raw) + b"\n" == (opened.root / LIVE).read_bytes()
    assert opened.hash_at(3) == event.hash and opened.hash_at(5) is None
