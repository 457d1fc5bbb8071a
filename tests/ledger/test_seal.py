"""Sealing into Parquet segments: readers see one sequence, every crash point of a seal is
recoverable, and the same read contract holds for JSONL and Parquet storage."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import CliRunner
from ledger_helpers import (
    COMMITS,
    LIVE,
    commit_record,
    event_table,
    example_events,
    live_lines,
    stored_hash,
)

from ledger import Ledger, Receipt


def snapshot_reads(opened: Ledger, upto: int) -> dict[str, Any]:
    """What readers see of seqs 1..upto."""
    events = [e for e in opened.read() if e.seq <= upto]
    raw = [line for line in opened.read_raw() if json.loads(line)["seq"] <= upto]
    table = event_table(opened).slice(0, upto)
    return {
        "events": [e.model_dump() for e in events],
        "raw": raw,
        "arrow": table.to_pylist(),
        "schema": table.schema,
        "since": [e.seq for e in opened.read(since=upto - 3)][:3],
        "hash_at": [opened.hash_at(s) for s in (1, upto // 2, upto)],
    }


def test_reads_identical_before_and_after_seal(tmp_path: Path, cli: CliRunner) -> None:
    opened = Ledger.open(tmp_path / "root", create=True)
    for start in range(0, 40, 10):
        opened.append(example_events(10, start=start, batch=f"b{start % 20}"))
    before = snapshot_reads(opened, 40)
    log_before = cli("log", "--json", root=opened.root).stdout
    report = opened.seal()
    assert report is not None and (report.first_seq, report.last_seq, report.sealed_event) == (
        1,
        40,
        41,
    )
    assert [json.loads(x)["type"] for x in live_lines(opened.root)] == ["ledger.sealed"]
    assert snapshot_reads(opened, 40) == before
    log_after = cli("log", "--json", root=opened.root).stdout
    assert log_after.startswith(log_before) and log_after.count(b"\n") == 41
    opened.append(example_events(5, start=100))
    assert snapshot_reads(opened, 40) == before
    assert [e.seq for e in opened.read(since=38)] == [39, 40, 41, 42, 43, 44, 45, 46]
    assert opened.verify().ok and opened.verify(deep=True).ok


def test_second_seal_lists_every_segment(tmp_path: Path) -> None:
    opened = Ledger.open(tmp_path / "root", create=True)
    opened.append(example_events(10))
    first = opened.seal()
    opened.append(example_events(10, start=10))
    second = opened.seal()
    assert first is not None and second is not None
    assert (second.first_seq, second.last_seq) == (11, 21)
    sealed = json.loads(live_lines(opened.root)[0])
    assert sealed["type"] == "ledger.sealed"
    assert [s["segment"] for s in sealed["data"]["segments"]] == [first.segment, second.segment]
    assert [e.seq for e in opened.read()] == list(range(1, 23))
    report = opened.verify(deep=True)
    assert report.ok and report.events_checked == 22 and report.warnings == []
    assert opened.seal() is not None  # only the ledger.sealed event is left live: sealable
    assert opened.verify().ok


def test_seal_on_empty_ledger_does_nothing(tmp_path: Path) -> None:
    opened = Ledger.open(tmp_path / "root", create=True)
    assert opened.seal() is None
    assert not list((opened.root / "segments").glob("*.parquet"))


# -- crash at each step of sealing -------------------------------------------------------------


def _sealed_copy(root: Path) -> tuple[bytes, bytes, bytes, Path]:
    """Seal a copy of ``root``: returns the pre-seal live bytes, the pre-seal commit log, the
    ledger.sealed line and the copy's segment file."""
    copy = root.parent / "sealed-copy"
    shutil.copytree(root, copy)
    sealed = Ledger.open(copy).seal()
    assert sealed is not None
    sealed_line = live_lines(copy)[0]
    return (
        (root / LIVE).read_bytes(),
        (root / COMMITS).read_bytes(),
        sealed_line,
        copy / "segments" / sealed.segment,
    )


def stray_tmp(root: Path) -> None:
    """Crash after step 1: a written segment, no ledger.sealed event."""
    _, _, _, segment = _sealed_copy(root)
    (root / "segments").mkdir()
    shutil.copy(segment, root / "segments" / (segment.name + ".tmp"))
    (root / "segments" / "sealing.tmp").write_bytes(b"PAR1 half written")


def _after_sealed_event(root: Path, install: bool, new_live: bool) -> None:
    live, log, sealed_line, segment = _sealed_copy(root)
    (root / LIVE).write_bytes(live + sealed_line)
    (root / COMMITS).write_bytes(log + commit_record(21, stored_hash(sealed_line)))
    (root / "segments").mkdir()
    target = segment.name if install else segment.name + ".tmp"
    shutil.copy(segment, root / "segments" / target)
    if new_live:
        (root / (LIVE + ".new")).write_bytes(sealed_line)


STATES: dict[str, Callable[[Path], None]] = {
    "stray tmp, no sealed event": stray_tmp,
    "tmp with committed sealed event": lambda r: _after_sealed_event(r, False, False),
    "tmp, sealed event, half-made new live": lambda r: _after_sealed_event(r, False, True),
    "segment installed, live uncut": lambda r: _after_sealed_event(r, True, False),
    "segment installed, new live written": lambda r: _after_sealed_event(r, True, True),
}


@pytest.mark.parametrize("finish", ["append", "repair"])
@pytest.mark.parametrize("state", list(STATES), ids=list(STATES))
def test_crash_during_seal_is_verifiable_and_finished(
    tmp_path: Path, state: str, finish: str
) -> None:
    opened = Ledger.open(tmp_path / "root", create=True)
    opened.append(example_events(10))
    opened.append(example_events(10, start=10))
    before = snapshot_reads(opened, 20)
    STATES[state](opened.root)
    report = opened.verify()
    assert report.ok, report
    assert report.warnings, report
    assert snapshot_reads(opened, 20) == before
    has_sealed_event = state != "stray tmp, no sealed event"
    assert opened.head().seq == (21 if has_sealed_event else 20)
    if finish == "append":
        opened.append([{"type": "x.after", "data": {}}])
    else:
        opened.repair()
    assert snapshot_reads(opened, 20) == before
    assert not list((opened.root / "segments").glob("*.tmp"))
    segments = sorted(p.name for p in (opened.root / "segments").glob("seg-*.parquet"))
    if has_sealed_event:
        assert segments == ["seg-000000000001-000000000020.parquet"]
        assert json.loads(live_lines(opened.root)[0])["seq"] == 21
    else:
        assert segments == []
    final = opened.verify(deep=True)
    assert final.ok and final.warnings == [], final
    assert [e.seq for e in opened.read()] == list(range(1, opened.head().seq + 1))


# -- contract: the same read assertions for every storage mode --------------------------------

STORAGE_MODES = ["jsonl", "parquet", "parquet+jsonl"]


@pytest.fixture(params=STORAGE_MODES)
def stored(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Ledger, list[Receipt]]:
    """A ledger holding 24 x.item events (batches b0/b1), stored as the mode says."""
    opened = Ledger.open(tmp_path / "root", create=True)
    events = [{**e, "batch": f"b{i % 2}"} for i, e in enumerate(example_events(24))]
    receipts = opened.append(events[:16])
    if request.param != "jsonl":
        opened.seal()
    receipts += opened.append(events[16:])
    if request.param == "parquet":
        opened.seal()
    return opened, receipts


def test_contract_read_all_items(stored: tuple[Ledger, list[Receipt]]) -> None:
    opened, receipts = stored
    items = list(opened.read(types=["x.item"]))
    assert [(e.seq, e.hash) for e in items] == [(r.seq, r.hash) for r in receipts]
    assert [e.data["i"] for e in items] == list(range(24))
    assert [e.seq for e in opened.read()] == list(range(1, opened.head().seq + 1))


def test_contract_read_since_and_batch(stored: tuple[Ledger, list[Receipt]]) -> None:
    opened, receipts = stored
    middle = receipts[10].seq
    assert [e.seq for e in opened.read(since=middle, types=["x.item"])] == [
        r.seq for r in receipts[11:]
    ]
    assert [e.data["i"] for e in opened.read(batch="b1")] == list(range(1, 24, 2))


def test_contract_raw_lines_chain(stored: tuple[Ledger, list[Receipt]]) -> None:
    opened, _ = stored
    prev = "0" * 64
    for line in opened.read_raw():
        event = json.loads(line)
        assert event["prev"] == prev and stored_hash(line) == event["hash"]
        prev = event["hash"]
    assert prev == opened.head().hash


def test_contract_bulk_source_and_hash_at(stored: tuple[Ledger, list[Receipt]]) -> None:
    opened, receipts = stored
    table = event_table(opened)
    assert table.column_names == [
        "seq",
        "ts",
        "type",
        "v",
        "batch",
        "key",
        "cause",
        "data",
        "prev",
        "hash",
    ]
    rows = table.to_pylist()
    assert [r["seq"] for r in rows] == list(range(1, opened.head().seq + 1))
    by_seq = {r["seq"]: r for r in rows}
    for receipt in receipts[::5]:
        assert by_seq[receipt.seq]["hash"] == receipt.hash
        assert opened.hash_at(receipt.seq) == receipt.hash
        assert json.loads(by_seq[receipt.seq]["data"])["i"] == receipts.index(receipt)
    assert [r["seq"] for r in event_table(opened, since=receipts[-3].seq).to_pylist()][:2] == [
        receipts[-2].seq,
        receipts[-1].seq,
    ]


@pytest.mark.parametrize("bulk", [False, True], ids=["python-lines", "duckdb-csv"])
def test_contract_bulk_source_upto(
    stored: tuple[Ledger, list[Receipt]], monkeypatch: pytest.MonkeyPatch, bulk: bool
) -> None:
    """``upto`` stops every reader at that seq: inside a segment, at its end, in the live file."""
    opened, _ = stored
    if bulk:
        monkeypatch.setattr("ledger.relations.BULK_MIN_BYTES", 0)
    head = opened.head().seq
    hashes = {e.seq: e.hash for e in opened.read()}
    for since, upto in [(0, 5), (0, 16), (3, 17), (0, 20), (10, head), (0, head + 9), (7, 7)]:
        want = list(range(since + 1, min(upto, head) + 1))
        source = opened.bulk_source(since, upto)
        assert source.last_seq == (want[-1] if want else since)
        rows = event_table(opened, since, upto).to_pylist()
        assert [r["seq"] for r in rows] == want, (since, upto)
        assert all(r["hash"] == hashes[r["seq"]] for r in rows)


def test_contract_verify_and_anchor(stored: tuple[Ledger, list[Receipt]]) -> None:
    opened, receipts = stored
    report = opened.verify(anchor=f"{receipts[3].seq}:{receipts[3].hash}")
    assert report.ok and report.events_checked == opened.head().seq
    assert opened.verify(deep=True).ok
    bad = opened.verify(anchor=f"{receipts[3].seq}:{'0' * 64}")
    assert not bad.ok and bad.first_bad_seq == receipts[3].seq
