"""A large JSONL file prepared in worker processes and chained as they go stores what the
sequential reader stores; anything not clean, and a head that moved meanwhile, is left to the
sequential reader, exactly as without workers."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

import ledger.jsonl_input as jsonl_input
import ledger.jsonl_parallel as jsonl_parallel
import ledger.store as ledger_store
from ledger import InvalidEvent, InvalidInput, Ledger, read_jsonl

REPO = Path(__file__).resolve().parents[2]
_CHAIN_FIELDS = re.compile(rb'"ts":"[^"]*"|"prev":"[0-9a-f]*"|"hash":"[0-9a-f]*"')


def _event(n: int) -> dict[str, Any]:
    if n % 3 == 0:
        return {"type": "x.scan", "batch": "b", "key": f"k{n}", "data": {"n": n, "m": [0.5, n]}}
    if n % 3 == 1:
        data = {"job_id": f"{n:016x}", "index": n, "name": f"j{n}", "callable": "m:f", "seed": n}
        return {"type": "trial.intent", "batch": "b", "data": data}
    return {"type": "x.note", "data": {"text": "é" * (n % 5)}}


def _source(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def _append(root: Path, source: Path) -> tuple[list[bytes], list[int]]:
    """The stored lines without their chain fields, and the line numbers recorded."""
    numbers: list[int] = []
    with open(source, "rb") as f:
        Ledger.open(root, create=True).append(read_jsonl(f, source.name, numbers))
    lines = (root / "ledger.jsonl").read_bytes().splitlines()
    return [_CHAIN_FIELDS.sub(b"", line) for line in lines], numbers


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Workers for any file, with small blocks; counts the blocks prepared by workers."""
    monkeypatch.setattr(jsonl_parallel, "MIN_PARALLEL_BYTES", 1)
    monkeypatch.setattr(jsonl_parallel, "workers", lambda: 2)
    monkeypatch.setattr(jsonl_parallel, "JSONL_BLOCK", 4096)
    monkeypatch.setattr(jsonl_input, "JSONL_BLOCK", 4096)
    prepared: list[int] = []
    real = jsonl_parallel.encode_file

    def counting(stream: Any, numbers: list[int], *head: Any) -> Any:
        result = real(stream, numbers, *head)
        prepared.append(-1 if result is None else len(result.digests))
        return result

    monkeypatch.setattr("ledger.store.encode_file", counting)
    return prepared


def test_workers_store_what_the_sequential_reader_stores(
    tmp_path: Path, small_blocks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [orjson.dumps(_event(n)) for n in range(2000)]
    source = _source(tmp_path / "in.jsonl", lines)
    parallel = _append(tmp_path / "parallel", source)
    assert small_blocks == [2000]
    monkeypatch.setattr(jsonl_parallel, "MIN_PARALLEL_BYTES", 1 << 40)
    sequential = _append(tmp_path / "sequential", source)
    assert parallel == sequential and parallel[1] == list(range(1, 2001))
    assert Ledger.open(tmp_path / "parallel").verify().ok


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (b'{"type":"x.a","data":{"a":1,"a":2}}', "line 1500: key 'a' appears twice"),
        (b"", None),  # a blank line is skipped, as always
        (b'{"type":"trial.intent","data":{}}', "line 1500: .*job_id"),
        (b'{"type":"x.a","data":{"n":NaN}}', "line 1500: NaN is not JSON"),
    ],
    ids=["duplicate", "blank", "invalid-event", "nan"],
)
def test_a_block_that_is_not_clean_is_read_the_sequential_way(
    tmp_path: Path, small_blocks: list[int], bad: bytes, message: str | None
) -> None:
    lines = [orjson.dumps(_event(n)) for n in range(2000)]
    lines[1499] = bad
    source = _source(tmp_path / "in.jsonl", lines)
    root = tmp_path / "root"
    if message is None:
        stored, numbers = _append(root, source)
        assert len(stored) == 1999 and 1500 not in numbers and numbers[-1] == 2000
    else:
        numbers: list[int] = []
        with open(source, "rb") as f, pytest.raises((InvalidInput, InvalidEvent)) as raised:
            Ledger.open(root, create=True).append(read_jsonl(f, "in", numbers))
        shown = str(raised.value)
        if isinstance(raised.value, InvalidEvent):
            assert raised.value.index is not None
            shown = f"line {numbers[raised.value.index]}: {shown}"
        assert re.search(message, shown), shown
        assert not (root / "ledger.jsonl").exists() or not (root / "ledger.jsonl").stat().st_size
    assert small_blocks == [-1]


def test_stdin_and_small_files_keep_the_sequential_reader(tmp_path: Path) -> None:
    data = b"".join(orjson.dumps(_event(n)) + b"\n" for n in range(100))
    head = Ledger.open(tmp_path / "root", create=True).head
    assert jsonl_parallel.encode_file(io.BytesIO(data), [], head) is None
    source = _source(tmp_path / "in.jsonl", data.splitlines())
    with open(source, "rb") as f:
        assert jsonl_parallel.encode_file(f, [], head) is None


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if entry.name.isdigit() and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.add(int(entry.name))
    return found


def test_workers_die_with_a_killed_append(tmp_path: Path) -> None:
    """kill -9 of an append whose workers are busy: no worker survives, nothing is
    acknowledged, and the ledger verifies."""
    source = tmp_path / "in.jsonl"
    with open(source, "wb") as f:
        for start in range(0, 200_000, 10_000):
            f.write(b"".join(orjson.dumps(_event(n)) + b"\n" for n in range(start, start + 10_000)))
    script = (
        "import ledger.jsonl_parallel as p, ledger.store as s, sys\n"
        "p.MIN_PARALLEL_BYTES = 1\np.workers = lambda: 2\n"
        "from ledger import Ledger, read_jsonl\n"
        "source = open(sys.argv[2], 'rb')\n"
        "Ledger.open(sys.argv[1], create=True).append(read_jsonl(source, 'in', []))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    root = tmp_path / "root"
    driver = subprocess.Popen([sys.executable, "-c", script, str(root), str(source)], env=env)
    workers: set[int] = set()
    deadline = time.monotonic() + 30
    while len(workers) < 2 and time.monotonic() < deadline and driver.poll() is None:
        workers = _children(driver.pid)
        time.sleep(0.02)
    assert len(workers) >= 2, "the workers never started"
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = [pid for pid in workers if Path(f"/proc/{pid}/stat").exists()]
    states = [Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] for pid in alive]
    assert all(state == "Z" for state in states), f"workers alive: {alive} {states}"
    assert Ledger.open(root, create=True).verify().ok


def test_causes_long_lines_and_a_last_line_without_newline_store_as_sequential(
    tmp_path: Path, small_blocks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events naming a cause, lines longer than a block (blocks left empty) and a file not
    ending in a newline: the same lines and numbers either way."""
    lines = [orjson.dumps(_event(n)) for n in range(1500)]
    for n in range(10, 1500, 97):
        lines[n] = orjson.dumps({"type": "x.answer", "cause": n - 3, "data": {"n": n}})
    lines[700] = orjson.dumps({"type": "x.big", "data": {"text": "z" * 20_000}})
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join(lines))
    parallel = _append(tmp_path / "parallel", source)
    assert small_blocks == [1500]
    monkeypatch.setattr(jsonl_parallel, "MIN_PARALLEL_BYTES", 1 << 40)
    assert parallel == _append(tmp_path / "sequential", source)
    assert Ledger.open(tmp_path / "parallel").verify().ok


def test_a_cause_refused_when_chained_is_reported_as_sequential(
    tmp_path: Path, small_blocks: list[int]
) -> None:
    lines = [orjson.dumps(_event(n)) for n in range(2000)]
    lines[1499] = orjson.dumps({"type": "x.answer", "cause": 1500, "data": {}})
    source = _source(tmp_path / "in.jsonl", lines)
    numbers: list[int] = []
    with open(source, "rb") as f, pytest.raises(InvalidEvent) as raised:
        Ledger.open(tmp_path / "root", create=True).append(read_jsonl(f, "in", numbers))
    assert raised.value.index is not None and numbers[raised.value.index] == 1500
    assert "does not name an earlier event" in str(raised.value)
    assert small_blocks == [-1]
    assert not (tmp_path / "root" / "ledger.jsonl").read_bytes()


def test_a_commit_landing_during_preparation_sends_the_file_the_sequential_way(
    tmp_path: Path, small_blocks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer commits after the head was read: the lines chained after the old head
    are dropped and the file is appended after the new one."""
    root = tmp_path / "root"
    counting = ledger_store.encode_file  # the fixture's

    def another_writer_meanwhile(stream: Any, numbers: list[int], *head: Any) -> Any:
        result = counting(stream, numbers, *head)
        Ledger.open(root).append([{"type": "x.other", "data": {}}])
        return result

    monkeypatch.setattr("ledger.store.encode_file", another_writer_meanwhile)
    lines = [orjson.dumps(_event(n)) for n in range(2000)]
    source = _source(tmp_path / "in.jsonl", lines)
    Ledger.open(root, create=True)
    stored, numbers = _append(root, source)
    assert small_blocks == [2000]
    assert b'"type":"x.other"' in stored[0] and len(stored) == 2001
    assert numbers == list(range(1, 2001))
    ledger = Ledger.open(root)
    assert ledger.verify().ok and ledger.head().seq == 2001
    assert [e.seq for e in ledger.read(since=1)][:1] == [2]


@pytest.mark.parametrize("slot_bytes", [1 << 20, 1000], ids=["slots-reused", "inline"])
def test_blocks_through_reused_slots_or_inline_store_as_sequential(
    tmp_path: Path, small_blocks: list[int], monkeypatch: pytest.MonkeyPatch, slot_bytes: int
) -> None:
    """Many more blocks than slots (each slot rewritten many times while the parent reads the
    others), or blocks too large for a slot (sent in the result itself): the same lines."""
    monkeypatch.setattr(jsonl_parallel, "SLOTS_PER_WORKER", 1)
    monkeypatch.setattr(jsonl_parallel, "SLOT_BYTES", slot_bytes)
    lines = [orjson.dumps(_event(n)) for n in range(3000)]
    source = _source(tmp_path / "in.jsonl", lines)
    parallel = _append(tmp_path / "parallel", source)
    assert small_blocks == [3000]
    assert source.stat().st_size // 4096 > 50  # blocks, against 2 slots
    monkeypatch.setattr(jsonl_parallel, "MIN_PARALLEL_BYTES", 1 << 40)
    assert parallel == _append(tmp_path / "sequential", source)


@pytest.mark.parametrize("refused", ["fork", "proc"])
def test_workers_that_cannot_start_or_be_read_leave_the_file_to_the_sequential_reader(
    tmp_path: Path, small_blocks: list[int], monkeypatch: pytest.MonkeyPatch, refused: str
) -> None:
    """The OS refuses a worker (EAGAIN from fork) or the parent's read of a worker's memory
    file (/proc restricted): the file is appended the sequential way, nothing is lost."""
    real_open = os.open

    def refuse_proc(path: Any, *args: Any, **kwargs: Any) -> int:
        if str(path).startswith("/proc/"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    def refuse_fork(self: Any) -> None:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    if refused == "proc":
        monkeypatch.setattr(jsonl_parallel.os, "open", refuse_proc)
    else:
        monkeypatch.setattr("multiprocessing.process.BaseProcess.start", refuse_fork)
    lines = [orjson.dumps(_event(n)) for n in range(2000)]
    source = _source(tmp_path / "in.jsonl", lines)
    stored, numbers = _append(tmp_path / "root", source)
    assert small_blocks == [-1]
    assert len(stored) == 2000 and numbers == list(range(1, 2001))
    assert Ledger.open(tmp_path / "root").verify().ok
