"""``verify``: prove that every committed byte is intact, optionally against an anchor.

Sealed segments are checked by the digest recorded for them in the chain (the ``segments``
list of the ``ledger.sealed`` event that opens the live file); ``deep`` also re-checks each row.
The live file is checked line by line (``ledger.scan``), split across processes when large.
Memory use does not depend on the ledger's size.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ledger.chain import GENESIS_HASH, check_line, line_prev, line_seq
from ledger.commits import RECORD_LEN, damaged_records, last_commit, read_commit_log
from ledger.errors import BadAnchor, LedgerNotFound
from ledger.files import LedgerFiles
from ledger.live import find_boundary, iter_lines
from ledger.lock import lock_is_held
from ledger.scan import VECTOR_MIN_BYTES, RangeResult, scan_range
from ledger.segments import TMP_SUFFIX, deep_check, file_sha256, hash_at, list_segments
from ledger.writer import Head

ANCHOR = re.compile(r"^\s*(\d+):([0-9a-f]{64})\s*$")
PARALLEL_MIN_BYTES = 32 << 20
MAX_WORKERS = 4
IN_PROGRESS = (
    "a seal/append is in progress (another process holds the ledger lock): "
    "its bytes are not committed yet; verify again when it is done"
)


@dataclass
class VerifyReport:
    """The result of ``verify``: ``ok`` unless committed bytes are damaged or the anchor fails.

    ``key_id`` and ``checkpoints_checked`` are set by ``verify --pubkey``
    (``ledger.checkpoints.verify_checkpoints``): the key's id and how many checkpoints it signed.
    """

    ok: bool = True
    events_checked: int = 0
    head: str = f"0:{GENESIS_HASH}"
    first_bad_seq: int | None = None
    problem: str | None = None
    location: str | None = None
    warnings: list[str] = field(default_factory=list)
    anchor: str | None = None
    key_id: str | None = None
    checkpoints_checked: int | None = None
    in_progress: bool = False
    # What a crashed writer leaves behind, which a writer at work also shows: warned of as
    # such only when no writer holds the lock (``settle``).
    traces: list[str] = field(default_factory=list, repr=False)

    def fail(self, seq: int | None, problem: str, location: str | None) -> VerifyReport:
        if self.ok:
            self.ok, self.first_bad_seq, self.problem, self.location = False, seq, problem, location
        return self

    def trace(self, message: str) -> None:
        """Note an uncommitted tail, a torn commit record or a seal left half done."""
        self.traces.append(message)

    def settle(self, lock_path: Path) -> VerifyReport:
        """Turn the traces into warnings: one "in progress" line while a writer holds the lock
        (checked before verifying and again now), else each as a crash's leftover."""
        if self.traces and not self.in_progress:
            self.in_progress = lock_is_held(lock_path)
        if self.traces and self.in_progress:
            self.warnings.append(IN_PROGRESS)
        else:
            self.warnings.extend(self.traces)
        self.traces = []
        return self

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        del body["traces"]
        return body


def parse_anchor(text: str) -> tuple[int, str]:
    """``SEQ:HASH`` -> (seq, hash).

    Raises:
        BadAnchor: not of that form.
    """
    match = ANCHOR.match(text)
    if not match:
        raise BadAnchor(f"anchor {text.strip()[:80]!r} is not SEQ:HASH (64 lowercase hex digits)")
    return int(match[1]), match[2]


def _split_points(path: Path, start: int, stop: int, parts: int) -> list[int]:
    """Line-aligned offsets cutting ``[start, stop)`` into ``parts`` ranges."""
    points = [start]
    with open(path, "rb") as f:
        for k in range(1, parts):
            guess = start + (stop - start) * k // parts
            f.seek(guess)
            block = f.read(1 << 25)
            newline = block.find(b"\n")
            if newline < 0:
                break
            point = guess + newline + 1
            if point < stop and point > points[-1]:
                points.append(point)
    return [*points, stop]


def _scan_live(
    path: Path, start: int, stop: int, first_seq: int | None, anchor_seq: int | None
) -> list[RangeResult]:
    size = stop - start
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    # fork is only safe while this process runs a single thread.
    if size < PARALLEL_MIN_BYTES or workers < 2 or threading.active_count() > 1:
        return [scan_range(path, start, stop, first_seq, anchor_seq)]
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    points = _split_points(path, start, stop, workers)
    if size // (len(points) - 1) >= VECTOR_MIN_BYTES:
        import numpy  # noqa: F401  (imported once here, inherited by every forked worker)

    with ProcessPoolExecutor(len(points) - 1, mp_context=get_context("fork")) as pool:
        futures = [
            pool.submit(scan_range, path, a, b, first_seq if i == 0 else None, anchor_seq)
            for i, (a, b) in enumerate(itertools.pairwise(points))
        ]
        return [future.result() for future in futures]


def _stitch(
    report: VerifyReport,
    ranges: list[RangeResult],
    expect_seq: int,
    expect_prev: str | None,
    name: str,
) -> tuple[int, str | None, str | None]:
    """Fold range results in order; returns (last seq, last hash, anchor hash seen)."""
    last_seq, last_hash, anchor_hash = expect_seq - 1, expect_prev, None
    for result in ranges:
        if result.first_seq is None and result.bad is None:
            continue
        link_problem = None
        if result.first_seq is not None and result.first_seq != last_seq + 1:
            link_problem = f"expected seq {last_seq + 1}, found {result.first_seq}"
        elif result.first_seq is not None and last_hash not in (None, result.first_prev):
            link_problem = "prev does not match the hash of the event before it"
        if link_problem is not None:
            report.fail(last_seq + 1, link_problem, f"{name} byte {result.start}")
            return last_seq, last_hash, anchor_hash
        report.events_checked += result.count
        anchor_hash = anchor_hash or result.anchor_hash
        if result.bad is not None:
            seq = result.bad.seq if result.bad.seq is not None else last_seq + 1
            report.fail(seq, result.bad.problem, f"{name} byte {result.bad.offset}")
            return last_seq, last_hash, anchor_hash
        last_seq, last_hash = result.last_seq, result.last_hash
    return last_seq, last_hash, anchor_hash


def _manifest(path: Path, stop: int, report: VerifyReport) -> list[dict[str, Any]]:
    """The segment list in the ``ledger.sealed`` event opening the live file.

    That event is checked against its own hash first: the digests it records are trusted
    only if its bytes are intact.
    """
    for _, line in iter_lines(path, 0, stop):
        if b'"type":"ledger.sealed"' not in line:
            return []
        seq = line_seq(line) or 0
        problem = check_line(line, seq, line_prev(line))
        if problem is not None:
            report.fail(seq, f"ledger.sealed event: {problem}", f"{path.name} byte 0")
            return []
        try:
            return list(orjson.loads(line)["data"]["segments"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            report.fail(seq, "ledger.sealed event has no segment list", f"{path.name} byte 0")
            return []
    return []


def _verify_segments(
    ledger: LedgerFiles, report: VerifyReport, manifest: list[dict[str, Any]], deep: bool
) -> tuple[int, str | None]:
    """Check sealed segments against the manifest; returns (last sealed seq, last hash|None)."""
    on_disk = {s.name: s for s in list_segments(ledger.root)}
    last_seq, last_hash = 0, GENESIS_HASH
    for entry in manifest:
        name = str(entry.get("segment"))
        first, last = int(entry["first_seq"]), int(entry["last_seq"])
        location = f"segments/{name}"
        segment = on_disk.pop(name, None)
        if first != last_seq + 1:
            report.fail(
                last_seq + 1, f"segment list skips from seq {last_seq} to {first}", location
            )
            return last_seq, None
        if segment is None:
            report.fail(first, "sealed segment file is missing", location)
            return last_seq, None
        digest, size = file_sha256(segment.path)
        if digest != entry["sha256"] or size != entry["size"] or deep:
            problem, tail_hash = deep_check(segment.path, first, last_hash or None)
            if problem is not None:
                report.fail(problem.seq, problem.problem, f"{location} row {problem.row}")
                return last_seq, None
            if digest != entry["sha256"] or size != entry["size"]:
                report.fail(
                    first,
                    "segment file bytes differ from the digest recorded when sealed",
                    location,
                )
                return last_seq, None
            last_hash = tail_hash
        else:
            last_hash = ""  # trusted through the recorded digest; not read
        report.events_checked += last - first + 1
        last_seq = last
    for name, segment in sorted(on_disk.items()):
        if segment.first_seq > last_seq:
            report.trace(f"segment {name} is from an interrupted seal; `repair` installs it")
        else:
            report.fail(
                segment.first_seq,
                "segment file not recorded by any ledger.sealed event",
                f"segments/{name}",
            )
    return last_seq, (last_hash or None)


def verify_ledger(
    ledger: LedgerFiles, anchor: str | Head | None = None, deep: bool = False
) -> VerifyReport:
    """Verify ``ledger``; see the module docstring."""
    anchor_seq, anchor_digest = parse_anchor(str(anchor)) if anchor is not None else (None, None)
    if not ledger.exists():
        raise LedgerNotFound(f"no ledger at {ledger.root}")
    report = VerifyReport(anchor=None if anchor is None else str(anchor))
    report.in_progress = lock_is_held(ledger.lock_path)
    return _verify(ledger, report, anchor_seq, anchor_digest, deep).settle(ledger.lock_path)


def _verify(
    ledger: LedgerFiles,
    report: VerifyReport,
    anchor_seq: int | None,
    anchor_digest: str | None,
    deep: bool,
) -> VerifyReport:
    if not _check_commit_log(ledger, report):
        return report
    commit = last_commit(ledger.commits_path)
    size, boundary = find_boundary(ledger.live_path, commit)
    stop = size if boundary is None else boundary
    if (
        list((ledger.root / "segments").glob(f"*{TMP_SUFFIX}"))
        if (ledger.root / "segments").is_dir()
        else []
    ):
        report.trace("an interrupted seal left a temporary segment; `repair` cleans it up")
    manifest = _manifest(ledger.live_path, stop, report)
    if not report.ok:
        return report
    sealed_seq, sealed_hash = _verify_segments(ledger, report, manifest, deep)
    if not report.ok:
        return report
    first_live = next(iter_lines(ledger.live_path, 0, stop), None)
    name = ledger.live_path.name
    live_first_seq = sealed_seq + 1
    if first_live is not None and sealed_seq and first_live[1].startswith(b'{"seq":'):
        found = line_seq(first_live[1])
        if found is not None and found <= sealed_seq:
            live_first_seq = found  # interrupted seal: sealed lines are still in the live file
            report.trace(
                "an interrupted seal left sealed lines in the live file; `repair` finishes it"
            )
            report.events_checked -= sealed_seq - found + 1
    expect_prev = GENESIS_HASH if live_first_seq == 1 else sealed_hash
    ranges = _scan_live(ledger.live_path, 0, stop, live_first_seq, anchor_seq)
    last_seq, last_hash, live_anchor = _stitch(report, ranges, live_first_seq, expect_prev, name)
    if not report.ok:
        return report
    if last_hash is None:
        last_hash = GENESIS_HASH
    report.head = f"{last_seq}:{last_hash}"
    _check_commit(report, commit, boundary, size, last_seq, name)
    if report.ok and anchor_seq is not None:
        _check_anchor(ledger, report, anchor_seq, anchor_digest or "", last_seq, live_anchor)
    return report


def _check_commit_log(ledger: LedgerFiles, report: VerifyReport) -> bool:
    """Fail on a missing commit log beside committed-looking lines, or on any full-length
    record failing its check; warn of a torn end. False when verification cannot go on."""
    name = ledger.commits_path.name
    log = read_commit_log(ledger.commits_path)
    if not log.exists:
        if ledger.live_path.stat().st_size:
            report.fail(
                None,
                f"commit log {name} is missing beside a non-empty {ledger.live_path.name}: "
                "committed events cannot be told from uncommitted bytes",
                name,
            )
            return False
        return True
    damaged = damaged_records(ledger.commits_path)
    if damaged:
        offset = damaged[0]
        report.fail(
            None,
            f"commit record {offset // RECORD_LEN + 1} fails its check "
            f"({len(damaged)} damaged record{'s' if len(damaged) > 1 else ''})",
            f"{name} byte {offset}",
        )
        return False
    if log.torn:
        report.trace(
            f"{log.torn} bytes of a torn commit record end {name} (never acknowledged; "
            "the next append or `repair` keeps and cuts them)"
        )
    return True


def _check_commit(
    report: VerifyReport, commit: Any, boundary: int | None, size: int, last_seq: int, name: str
) -> None:
    if commit is None:
        if size:
            report.trace(
                f"{size} uncommitted bytes in {name} (never acknowledged; `repair` cuts them)"
            )
        return
    if boundary is None:
        if commit.seq > last_seq:
            report.fail(
                last_seq + 1,
                f"committed events {last_seq + 1}..{commit.seq} are missing (truncated)",
                f"{name} byte {size}",
            )
        else:
            report.fail(commit.seq, "event differs from its commit record", name)
        return
    if commit.seq != last_seq:
        report.fail(
            min(commit.seq, last_seq) + 1,
            f"commit record names seq {commit.seq} but the chain ends at {last_seq}",
            name,
        )
        return
    if size > boundary:
        report.trace(
            f"{size - boundary} uncommitted bytes after seq {commit.seq} in {name} "
            "(never acknowledged; the next append or `repair` cuts them)"
        )


def _check_anchor(
    ledger: LedgerFiles,
    report: VerifyReport,
    seq: int,
    digest: str,
    last_seq: int,
    live_hash: str | None,
) -> None:
    if seq > last_seq:
        report.fail(
            last_seq + 1,
            f"anchor seq {seq} is beyond the ledger's last event {last_seq} (events were removed)",
            None,
        )
        return
    found = live_hash
    if found is None and seq >= 1:
        for segment in list_segments(ledger.root):
            if segment.first_seq <= seq <= segment.last_seq:
                found = hash_at(segment.path, seq)
    if seq == 0:
        found = GENESIS_HASH
    if found != digest:
        report.fail(
            seq, f"event at seq {seq} does not match the anchor (history was rewritten)", None
        )
