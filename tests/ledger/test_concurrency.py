"""Appends from several processes are serialized by the lock: one gap-free chain, every
event exactly once, each call's events contiguous."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from ledger_helpers import sweepledger_executable

from ledger import Ledger

WORKERS = 4
CALLS = 40
PER_CALL = 5


def _worker(root: str, worker: int) -> list[tuple[int, str]]:
    opened = Ledger.open(root, create=True)
    receipts = []
    for call in range(CALLS):
        events = [
            {"type": "x.conc", "data": {"id": f"w{worker}-c{call}-e{k}"}, "key": f"w{worker}"}
            for k in range(PER_CALL)
        ]
        receipts += [(r.seq, r.hash) for r in opened.append(events)]
    return receipts


def test_four_processes_append_without_gaps_or_duplicates(tmp_path: Path) -> None:
    root = tmp_path / "root"
    Ledger.open(root, create=True)
    with ProcessPoolExecutor(WORKERS, mp_context=get_context("spawn")) as pool:
        results = list(pool.map(_worker, [str(root)] * WORKERS, range(WORKERS)))
    opened = Ledger.open(root)
    events = list(opened.read())
    total = WORKERS * CALLS * PER_CALL
    assert [e.seq for e in events] == list(range(1, total + 1))
    ids = [e.data["id"] for e in events]
    assert len(set(ids)) == total
    expected = {
        f"w{w}-c{c}-e{k}" for w in range(WORKERS) for c in range(CALLS) for k in range(PER_CALL)
    }
    assert set(ids) == expected
    stored = {e.seq: e.hash for e in events}
    for receipts in results:
        assert all(stored[seq] == digest for seq, digest in receipts)
    for start in range(0, total, PER_CALL):  # each call is one contiguous commit
        assert len({i.rsplit("-", 1)[0] for i in ids[start : start + PER_CALL]}) == 1
    assert opened.verify().ok


def test_concurrent_cli_jsonl_calls_stay_contiguous(tmp_path: Path) -> None:
    root = tmp_path / "root"
    per_file = 300
    processes = []
    for worker in range(WORKERS):
        source = tmp_path / f"w{worker}.jsonl"
        source.write_text(
            "".join(
                json.dumps({"type": "x.cli", "data": {"w": worker, "n": n}}) + "\n"
                for n in range(per_file)
            )
        )
        argv = [sweepledger_executable(), "--root", str(root), "append", "--jsonl", str(source)]
        processes.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert (process.returncode, err) == (0, b"")
        assert len(out.splitlines()) == per_file
    events = list(Ledger.open(root).read())
    assert [e.seq for e in events] == list(range(1, WORKERS * per_file + 1))
    for start in range(0, len(events), per_file):
        chunk = events[start : start + per_file]
        assert {e.data["w"] for e in chunk} == {chunk[0].data["w"]}
        assert [e.data["n"] for e in chunk] == list(range(per_file))
    assert Ledger.open(root).verify().ok
