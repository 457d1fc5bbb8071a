"""Crash safety: uncommitted tails (torn or whole lines) are cut by recovery, a killed
`append --jsonl` leaves all or none of its events, and nothing acknowledged is ever lost."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import random
import signal
import subprocess
import time
from pathlib import Path

from conftest import CliRunner
from ledger_helpers import (
    COMMITS,
    LIVE,
    commit_record,
    example_events,
    live_lines,
    relink,
    stored_hash,
    sweepledger_executable,
)

from ledger import Ledger


def uncommitted_lines(root: Path, count: int) -> bytes:
    """``count`` whole, correctly chained event lines after the head, with no commit record."""
    lines = live_lines(root)
    prev, seq = stored_hash(lines[-1]), len(lines)
    out = []
    for n in range(count):
        line = relink(lines[-1].replace(b'"text":"item', b'"text":"ghost'), prev, seq=seq + n + 1)
        out.append(line)
        prev = stored_hash(line)
    return b"".join(out)


def test_uncommitted_whole_lines_warn_in_verify_and_are_cut_by_append(
    tmp_path: Path, cli: CliRunner
) -> None:
    opened = Ledger.open(tmp_path / "root", create=True)
    opened.append(example_events(10))
    before = (opened.root / LIVE).read_bytes()
    tail = uncommitted_lines(opened.root, 3)
    with open(opened.root / LIVE, "ab") as f:
        f.write(tail)
    done = cli("verify", "--json", root=opened.root)
    report = json.loads(done.stdout)
    assert (done.returncode, report["ok"], report["head"].split(":")[0]) == (0, True, "10")
    assert report["warnings"] and str(len(tail)) in report["warnings"][0]
    assert [e.seq for e in opened.read()] == list(range(1, 11))  # readers never see them
    receipts = opened.append([{"type": "x.after", "data": {}}])
    assert receipts[0].seq == 12
    raw = (opened.root / LIVE).read_bytes()
    assert raw.startswith(before) and b"ghost" not in raw
    recovered = list(opened.read(types=["ledger.recovered"]))
    assert [e.seq for e in recovered] == [11]
    assert recovered[0].data == {
        "truncated_bytes": len(tail),
        "truncated_sha256": hashlib.sha256(tail).hexdigest(),
        "file": f"recovered/11-{hashlib.sha256(tail).hexdigest()[:16]}.jsonl",
        "commit_log_file": None,
        "trusted_chain": None,
    }
    assert (opened.root / recovered[0].data["file"]).read_bytes() == tail  # kept, not lost
    assert opened.verify().ok and opened.verify().warnings == []


def test_repair_command_cuts_uncommitted_lines(tmp_path: Path, cli: CliRunner) -> None:
    opened = Ledger.open(tmp_path / "root", create=True)
    opened.append(example_events(4))
    tail = uncommitted_lines(opened.root, 2)
    with open(opened.root / LIVE, "ab") as f:
        f.write(tail)
    done = cli("repair", root=opened.root)
    assert done.returncode == 0 and str(len(tail)).encode() in done.stdout
    assert [e.type for e in opened.read()][-1] == "ledger.recovered"
    assert [e.seq for e in opened.read()] == [1, 2, 3, 4, 5]
    assert cli("repair", root=opened.root).stdout == b"nothing to repair\n"
    assert cli("verify", root=opened.root).returncode == 0


def test_torn_last_line_at_every_byte_offset(tmp_path: Path) -> None:
    opened = Ledger.open(tmp_path / "root", create=True)
    acked = opened.append(example_events(5))
    live, commits = opened.root / LIVE, opened.root / COMMITS
    committed_live, committed_log = live.read_bytes(), commits.read_bytes()
    opened.append([{"type": "x.last", "data": {"payload": "the torn one ✓"}}])
    last_line = live.read_bytes()[len(committed_live) :]
    for cut in range(len(last_line) + 1):
        piece = last_line[:cut]
        live.write_bytes(committed_live + piece)
        commits.write_bytes(committed_log)  # the call never committed
        report = opened.repair()
        assert report.truncated_bytes == cut, cut
        if cut:
            assert report.truncated_sha256 == hashlib.sha256(piece).hexdigest()
            assert report.recorded is not None and report.recorded.seq == 6
        verified = opened.verify()
        assert verified.ok and verified.warnings == [], (cut, verified)
        assert [(e.seq, e.hash) for e in opened.read()][:5] == [(r.seq, r.hash) for r in acked]
        assert b"the torn one" not in live.read_bytes()


def test_torn_commit_record_is_ignored(tmp_path: Path) -> None:
    opened = Ledger.open(tmp_path / "root", create=True)
    opened.append(example_events(3))
    log = (opened.root / COMMITS).read_bytes()
    opened.append(example_events(2, start=3))
    record = commit_record(5, stored_hash(live_lines(opened.root)[-1]))
    assert (opened.root / COMMITS).read_bytes() == log + record
    for cut in (1, 50, 96):
        (opened.root / COMMITS).write_bytes(log + record[:cut])
        assert opened.head().seq == 3
        report = opened.verify()
        assert report.ok and report.warnings, cut
    opened.append([{"type": "x.next", "data": {}}])
    assert [e.type for e in opened.read()][3:] == ["ledger.recovered", "x.next"]
    assert opened.verify().ok


def test_killed_jsonl_append_leaves_all_or_nothing(tmp_path: Path) -> None:
    count = 20_000
    source = tmp_path / "events.jsonl"
    source.write_text(
        "".join(json.dumps({"type": "x.bulk", "data": {"id": i}}) + "\n" for i in range(count))
    )
    rng = random.Random(20_000)
    calibration = tmp_path / "calibration"
    started = time.monotonic()
    argv = [sweepledger_executable(), "--root", str(calibration), "append", "--jsonl", str(source)]
    assert subprocess.run(argv, capture_output=True).returncode == 0
    full = time.monotonic() - started  # kills below land from mid-parse to just after commit
    assert len(list(Ledger.open(calibration).read())) == count
    for round_ in range(6):
        root = tmp_path / f"r{round_}"
        base = Ledger.open(root, create=True)
        base.append(example_events(3))
        argv[2] = str(root)
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 1.05) * full)
        process.send_signal(signal.SIGKILL)
        assert process.wait() in (0, -signal.SIGKILL)
        base.repair()
        assert base.verify().ok
        ids = [e.data["id"] for e in base.read(types=["x.bulk"])]
        assert ids in ([], list(range(count))), (round_, len(ids))
        assert [e.seq for e in base.read()] == list(range(1, len(list(base.read())) + 1))


def _appender(root: str, out_fd: int, seed: int) -> None:
    """Child: append small calls forever, writing each receipt only after append returns."""
    rng = random.Random(seed)
    opened = Ledger.open(root, create=True)
    n = 0
    while True:
        size = rng.randint(1, 4)
        batch = [{"type": "x.kill", "data": {"seed": seed, "n": n + k}} for k in range(size)]
        n += size
        receipts = opened.append(batch)
        os.write(out_fd, "".join(f"{r.seq}:{r.hash}\n" for r in receipts).encode())


def test_kill_9_appender_never_loses_acknowledged_events(tmp_path: Path) -> None:
    root = tmp_path / "root"
    Ledger.open(root, create=True)
    context = multiprocessing.get_context("fork")
    rng = random.Random(9)
    acknowledged: dict[int, str] = {}
    for round_ in range(20):
        read_fd, write_fd = os.pipe()
        child = context.Process(target=_appender, args=(str(root), write_fd, round_))
        child.start()
        os.close(write_fd)
        time.sleep(rng.uniform(0.0, 0.08))
        os.kill(child.pid or 0, signal.SIGKILL)
        child.join()
        output = b""
        while chunk := os.read(read_fd, 1 << 16):
            output += chunk
        os.close(read_fd)
        for line in output.split(b"\n")[:-1]:  # a partial last line was never printed whole
            seq, digest = line.decode().split(":")
            acknowledged[int(seq)] = digest
        opened = Ledger.open(root)
        opened.repair()
        report = opened.verify()
        assert report.ok and report.warnings == [], (round_, report)
        stored = {e.seq: e.hash for e in opened.read()}
        assert all(stored.get(seq) == digest for seq, digest in acknowledged.items()), round_
    assert acknowledged, "no append was acknowledged in 20 rounds"
