"""Sealing: moving the committed live prefix into an immutable Parquet segment, crash-safely.

Under the ledger lock:

1. stream the committed live lines, checking their chain, into ``segments/<name>.tmp``; fsync;
2. append ``ledger.sealed`` naming the segment, its seq range, sha256 and size, and the full
   list of segments (a normal durable commit);
3. write the new live file (from the ``ledger.sealed`` line on) to ``ledger.jsonl.new``; fsync;
4. rename the segment into place; fsync the directory;
5. rename the new live file into place; fsync the directory; compact the commit log.

A crash before 2 leaves a stray ``.tmp`` (deleted by the next writer); after 2 the next writer
finishes 3-5 (``finish_pending_seal``); readers skip live lines already in a segment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ledger.chain import check_line, line_hash, line_prev, line_seq
from ledger.commits import rewrite_commits
from ledger.errors import LedgerCorrupt
from ledger.files import SEALED_MODE, LedgerFiles, file_opener, fsync_dir, make_dirs, os_errors
from ledger.live import LiveState, find_boundary, iter_lines, offset_of_seq
from ledger.prepare import prepare
from ledger.segments import (
    ROW_GROUP_ROWS,
    SEGMENT_DIR,
    SEGMENT_NAME,
    TMP_SUFFIX,
    arrow_schema,
    events_table,
    file_sha256,
    list_segments,
    segment_name,
)
from ledger.writer import commit

SEALED_TYPE = b'"type":"ledger.sealed"'


@dataclass(frozen=True)
class SealReport:
    """A segment written by ``seal``."""

    segment: str
    first_seq: int
    last_seq: int
    sha256: str
    size: int
    sealed_event: int


def _previous_segments(ledger: LedgerFiles, state: LiveState) -> list[dict[str, Any]]:
    """The segment list recorded by the ``ledger.sealed`` event opening the live file."""
    assert state.boundary is not None
    for _, line in iter_lines(ledger.live_path, state.start, state.boundary):
        if SEALED_TYPE in line:
            segments: list[dict[str, Any]] = orjson.loads(line)["data"]["segments"]
            return segments
        return []
    return []


def _write_checked(path: Path, ledger: LedgerFiles, state: LiveState) -> tuple[int, int]:
    """Stream the committed live lines into a segment, checking the chain; return seq range."""
    import pyarrow.parquet as pq

    assert state.boundary is not None
    schema = arrow_schema()
    first = last = 0
    prev: str | None = None
    with open(path, "wb", opener=file_opener) as f:
        writer = pq.ParquetWriter(f, schema, compression="zstd", write_statistics=True)
        pending: list[bytes] = []

        def flush() -> None:
            if pending:
                writer.write_table(events_table(pending, with_raw=True))
                pending.clear()

        for offset, line in iter_lines(ledger.live_path, state.start, state.boundary):
            expected = last + 1 if first else (line_seq(line) or 0)
            problem = check_line(line, expected, line_prev(line) if prev is None else prev)
            if problem is not None:
                writer.close()
                raise LedgerCorrupt(
                    f"cannot seal: seq {expected} at {ledger.live_path.name} byte {offset}: "
                    f"{problem} (run `sweepledger verify`)"
                )
            first = first or expected
            last = expected
            prev = line_hash(line)
            pending.append(line)
            if len(pending) >= ROW_GROUP_ROWS:
                flush()
        flush()
        writer.close()
        f.flush()
        os.fsync(f.fileno())
    return first, last


def seal_live(ledger: LedgerFiles, state: LiveState) -> SealReport | None:
    """Seal every committed live event (lock held, tail recovered). None if nothing to seal."""
    assert state.boundary is not None
    if state.boundary <= state.start:
        return None
    directory = ledger.root / SEGMENT_DIR
    make_dirs(directory)
    previous = _previous_segments(ledger, state)
    staging = directory / f"sealing{TMP_SUFFIX}"
    with os_errors(staging):
        first, last = _write_checked(staging, ledger, state)
    name = segment_name(first, last)
    tmp = directory / (name + TMP_SUFFIX)
    os.replace(staging, tmp)
    digest, size = file_sha256(tmp)
    info = {"segment": name, "first_seq": first, "last_seq": last, "sha256": digest, "size": size}
    event = {"type": "ledger.sealed", "data": {**info, "segments": [*previous, info]}}
    (receipt,) = commit(ledger, prepare([event]), state.head_seq, state.head_hash)
    _cut_live(ledger, last)
    fsync_dir(directory)
    return SealReport(name, first, last, digest, size, receipt.seq)


def _cut_live(ledger: LedgerFiles, last_sealed: int) -> None:
    """Steps 3-5: install pending segment files and drop sealed lines from the live file."""
    directory = ledger.root / SEGMENT_DIR
    for entry in sorted(directory.glob(f"seg-*.parquet{TMP_SUFFIX}")):
        os.chmod(entry, SEALED_MODE)  # complete and recorded: read-only from now on
        os.replace(entry, entry.with_name(entry.name[: -len(TMP_SUFFIX)]))
    fsync_dir(directory)
    size = ledger.live_path.stat().st_size
    offset = offset_of_seq(ledger.live_path, 0, size, last_sealed + 1)
    if offset is None:
        raise LedgerCorrupt(f"sealed event after seq {last_sealed} is missing from the live file")
    new = ledger.live_path.with_name(ledger.live_path.name + ".new")
    with (
        os_errors(new),
        open(ledger.live_path, "rb") as src,
        open(new, "wb", opener=file_opener) as dst,
    ):
        src.seek(offset)
        while block := src.read(1 << 20):
            dst.write(block)
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(new, ledger.live_path)
    fsync_dir(ledger.root)
    commit = ledger.last_commit()
    if commit is not None:
        rewrite_commits(ledger.commits_path, commit.seq, commit.hash)
        fsync_dir(ledger.root)


def finish_pending_seal(ledger: LedgerFiles) -> None:
    """Complete a seal interrupted by a crash, or drop its stray temporary file (lock held)."""
    directory = ledger.root / SEGMENT_DIR
    if not directory.is_dir():
        return
    staging = directory / f"sealing{TMP_SUFFIX}"
    if staging.exists():
        staging.unlink()
    pending = sorted(directory.glob(f"seg-*.parquet{TMP_SUFFIX}"))
    recorded = _recorded_segments(ledger) if pending else {}
    for tmp in pending:
        name = tmp.name[: -len(TMP_SUFFIX)]
        if SEGMENT_NAME.match(name) and recorded.get(name) == file_sha256(tmp)[0]:
            continue  # its ledger.sealed event is committed: install it below
        tmp.unlink()
    pending = sorted(directory.glob(f"seg-*.parquet{TMP_SUFFIX}"))
    segments = list_segments(ledger.root)
    last_sealed = max(
        [s.last_seq for s in segments]
        + [int(SEGMENT_NAME.match(p.name[: -len(TMP_SUFFIX)])[2]) for p in pending]  # type: ignore[index]
        or [0]
    )
    if not last_sealed:
        return
    size = ledger.live_path.stat().st_size
    first_line = next(iter_lines(ledger.live_path, 0, size), None)
    if pending or (first_line is not None and (line_seq(first_line[1]) or 0) <= last_sealed):
        _cut_live(ledger, last_sealed)


def _recorded_segments(ledger: LedgerFiles) -> dict[str, str]:
    """Segment name -> sha256 for every committed ``ledger.sealed`` event in the live file."""
    _size, boundary = find_boundary(ledger.live_path, ledger.last_commit())
    found: dict[str, str] = {}
    for _, line in iter_lines(ledger.live_path, 0, boundary or 0):
        if SEALED_TYPE in line:
            try:
                data = orjson.loads(line)["data"]
                found[data["segment"]] = data["sha256"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue
    return found
