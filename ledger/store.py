"""``Ledger``: the hash-chained event store of one root directory.

The contract, for the rest of the project and users' own code:

- ``append(events)`` validates every event, then under the OS file lock assigns seqs, chains
  hashes, writes all lines, fsyncs once and durably records the commit boundary. It returns one
  ``Receipt`` per event only after that. All or nothing: an invalid event appends nothing.
- ``read(since=)`` streams committed events with seq > ``since`` (segments, then the live file).
- ``head()`` is the last committed event; ``verify()`` checks everything; ``repair()`` cuts an
  uncommitted tail; ``seal()`` moves the live prefix into a Parquet segment.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ledger.blobs import BlobStore
from ledger.chain import GENESIS_HASH, check_line, line_hash, line_seq, sha256_hex
from ledger.commits import Commit, CommitLog, last_commit, read_commit_log, rewrite_commits
from ledger.encoding import Prepared, decode_fields, decode_line
from ledger.errors import LedgerDamaged, LedgerNotFound, ReadRaced
from ledger.files import BulkSource, LedgerFiles, fsync_dir, make_dirs, os_errors
from ledger.jsonl_input import ParsedEvents
from ledger.jsonl_parallel import encode_file
from ledger.live import (
    LiveState,
    find_boundary,
    first_seq,
    iter_line_blocks,
    iter_lines,
    offset_of_seq,
    seek_seq,
)
from ledger.lock import FileLock
from ledger.logs import get_logger
from ledger.prepare import prepare
from ledger.recovered import keep
from ledger.sealing import SealReport, finish_pending_seal, seal_live
from ledger.segments import hash_at, iter_raw, iter_raw_blocks, list_segments, raw_at
from ledger.verify import VerifyReport, verify_ledger
from ledger.writer import Head, Receipt, commit, commit_encoded, ensure_commit_log

if TYPE_CHECKING:
    from schemas import Event, NewEvent

    EventsAfter = Callable[[Head], Iterable[NewEvent | Mapping[str, Any]]]

PREPARE_CHUNK = 10_000


@dataclass(frozen=True)
class RepairReport:
    """What ``repair`` did: bytes cut from the live file, where they were kept, whether the
    commit log was rebuilt from the chain, and the event recording it."""

    truncated_bytes: int
    truncated_sha256: str | None
    recorded: Receipt | None
    kept: str | None = None
    rebuilt: bool = False
    kept_commit_log: str | None = None  # a torn commit-log end, kept before it was cut
    finished_seal: list[str] = field(default_factory=list)  # steps of an interrupted seal


class Ledger:
    """One ledger root: live JSONL file, commit log, lock, sealed segments and blobs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = LedgerFiles(root)
        self.live_path = self.files.live_path
        self.commits_path = self.files.commits_path
        self.blobs = BlobStore(root / "blobs")
        self._lock = FileLock(self.files.lock_path)

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, root: Path | str, create: bool = False) -> Ledger:
        """Open the ledger at ``root``; with ``create`` make an empty one when missing.

        Raises:
            LedgerNotFound: no ledger at ``root`` and ``create`` is false.
        """
        ledger = cls(Path(root))
        if not ledger.exists():
            if not create:
                raise LedgerNotFound(
                    f"no ledger at {ledger.root} (run `sweepledger init` or append an event)"
                )
            ledger.init()
        return ledger

    def exists(self) -> bool:
        return self.live_path.is_file()

    def init(self) -> None:
        """Create the root and an empty ledger; writes no event. Idempotent."""
        with os_errors(self.root):
            make_dirs(self.root)
        with os_errors(self.root), self._lock.held():
            if not self.live_path.exists():
                ensure_commit_log(self.files)
                fd = os.open(self.live_path, os.O_WRONLY | os.O_CREAT, 0o644)
                os.fsync(fd)
                os.close(fd)
                fsync_dir(self.root)

    # -- state -----------------------------------------------------------------------------

    def head(self) -> Head:
        """The last committed event (``0`` and 64 zeros for an empty ledger)."""
        commit = last_commit(self.commits_path)
        return Head(commit.seq, commit.hash) if commit else Head(0, GENESIS_HASH)

    def state(self) -> LiveState:
        """The live file's size, commit boundary, and where unsealed lines start (as a reader
        sees them: a damaged last commit record is passed over)."""
        return self._state(last_commit(self.commits_path))

    def _state(self, commit: Commit | None) -> LiveState:
        size, boundary = find_boundary(self.live_path, commit)
        start = 0
        segments = list_segments(self.root)
        if segments and boundary:
            first = first_seq(self.live_path, 0, boundary)
            if first is not None and first <= segments[-1].last_seq:
                found = offset_of_seq(self.live_path, 0, boundary, segments[-1].last_seq + 1)
                start = boundary if found is None else found
        return LiveState(size=size, boundary=boundary, commit=commit, start=start)

    # -- writing ---------------------------------------------------------------------------

    def append(self, events: Iterable[NewEvent | Mapping[str, Any]]) -> list[Receipt]:
        """Append ``events`` as one durable commit and return their receipts, in order.

        ``events`` may be any iterable (a generator keeps memory small for huge calls). Events
        from ``read_jsonl`` (``ParsedEvents``) hold no NaN or infinite float, so their payloads
        are not searched for one, and a free-form payload is stored as the reader encoded it.

        Raises:
            InvalidEvent: an event is refused (its index is in the message); nothing written.
            LedgerDamaged: the ledger is damaged (the commit log, or committed bytes); nothing
                written.
            LockTimeout: another writer held the lock too long.
            StorageRefused: the OS refused a write (read-only root, file size limit, disk full).
        """
        parsed = events if isinstance(events, ParsedEvents) else None
        with _gc_paused():
            source = None if parsed is None else parsed.unread_source()
            if source is not None and (receipts := self._append_file(*source)) is not None:
                return receipts
            prepared: list[Prepared] = []
            remaining = iter(events)
            while chunk := list(islice(remaining, PREPARE_CHUNK)):
                texts = None if parsed is None else parsed.take_data_texts(len(chunk))
                prepared += prepare(chunk, len(prepared), parsed is not None, texts)
            if not prepared:
                return []
            with os_errors(self.root), self._lock.held():
                state = self._writable_state()
                return commit(self.files, prepared, state.head_seq, state.head_hash)

    def _append_file(self, stream: IO[bytes], numbers: list[int]) -> list[Receipt] | None:
        """Append a large JSONL file prepared on several cores (``jsonl_parallel``) and
        chained after the head as read when that began, committed if that is still the head
        once the lock is held; None when that path is not taken or another commit landed
        meanwhile (the caller appends the sequential way; ``stream`` and ``numbers`` are as
        they were)."""
        encoded = encode_file(stream, numbers, self.head)
        if encoded is None:
            return None
        with os_errors(self.root), self._lock.held():
            state = self._writable_state()
            if (state.head_seq, state.head_hash) == (encoded.seq, encoded.prev):
                return commit_encoded(self.files, encoded.blocks, encoded.seq, encoded.digests)
        del numbers[:]
        return None

    def append_with(self, build: EventsAfter) -> list[Receipt]:
        """Append the events ``build(head)`` returns, as one commit right after ``head``.

        ``build`` runs under the lock, so no other commit lands between the head it is given
        and its events (e.g. a checkpoint signing the ledger's state at that head). It must not
        append itself. Raises what ``append`` raises, and whatever ``build`` raises (nothing is
        written then).
        """
        with _gc_paused(), self._lock.held():
            state = self._writable_state()
            events = list(build(Head(state.head_seq, state.head_hash)))
            if not events:
                return []
            return commit(self.files, prepare(events), state.head_seq, state.head_hash)

    def repair(self, trust_chain: bool = False) -> RepairReport:
        """Finish an interrupted seal and cut an uncommitted tail now (keeping its bytes under
        ``recovered/`` and recording ``ledger.recovered``).

        With ``trust_chain``, a damaged or missing commit log is rebuilt from the live file's
        complete, hash-chained lines: the operator vouches for them.

        Raises:
            LedgerDamaged: the commit log is damaged and ``trust_chain`` is false.
        """
        with os_errors(self.root), self._lock.held():
            finished = self._finish_pending_seal()
            log = read_commit_log(self.commits_path)
            if trust_chain and self._damage(log) is not None:
                report = self._rebuild_commit_log()
            else:
                state = self._checked_state(log)
                if not state.uncommitted and not log.torn:
                    report = RepairReport(0, None, None)
                else:
                    report = self._recover(state, log)
            return replace(report, finished_seal=finished)

    def seal(self) -> SealReport | None:
        """Move the committed live prefix into a Parquet segment (None when nothing is live).
        See ``ledger.sealing``."""
        with os_errors(self.root), self._lock.held():
            state = self._writable_state()
            return seal_live(self.files, state)

    def _writable_state(self) -> LiveState:
        self._finish_pending_seal()
        log = read_commit_log(self.commits_path)
        state = self._checked_state(log)
        if state.uncommitted or log.torn:
            self._recover(state, log)
            state = self._checked_state(read_commit_log(self.commits_path))
        return state

    def _damage(self, log: CommitLog) -> str | None:
        """What makes the ledger unsafe to write, or None: writers must not guess."""
        hint = (
            "; writers refuse until it is resolved (`sweepledger verify` names the damage; "
            "`sweepledger repair --trust-chain` rebuilds the commit log from the live file's "
            "hash chain if you vouch for it)"
        )
        if log.damage is not None:
            return log.damage + hint
        if not log.exists and self.live_path.is_file() and self.live_path.stat().st_size:
            return f"commit log {self.commits_path.name} is missing beside a non-empty " + (
                f"{self.live_path.name}" + hint
            )
        state = self._state(log.commit)
        if state.boundary is None:
            seq = state.commit.seq if state.commit else 0
            return (
                f"committed event seq {seq} is missing from {self.live_path}: committed bytes "
                "were truncated or altered, or the commit log does not belong to this file" + hint
            )
        return None

    def _checked_state(self, log: CommitLog) -> LiveState:
        damage = self._damage(log)
        if damage is not None:
            raise LedgerDamaged(damage)
        return self._state(log.commit)

    def _recover(
        self, state: LiveState, log: CommitLog, kept_log: str | None = None, trusted: bool = False
    ) -> RepairReport:
        """Keep, then cut, the uncommitted live tail and a torn commit-log end; record it.

        ``kept_log`` names an old commit log already kept (``trusted``: one replaced by a log
        rebuilt from the hash chain); the event records both.
        """
        assert state.boundary is not None
        first = state.head_seq + 1
        with open(self.live_path, "rb") as f:
            f.seek(state.boundary)
            tail = f.read()
        kept = keep(self.root, first, tail, ".jsonl") if tail else None
        if log.torn:
            with open(self.commits_path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(size - log.torn)
                kept_log = keep(self.root, first, f.read(), ".commits")
            _truncate(self.commits_path, size - log.torn)
        if tail:
            _truncate(self.live_path, state.boundary)
        digest = sha256_hex(tail)
        get_logger("sweepledger.ledger").warning(
            "uncommitted tail cut and kept",
            truncated_bytes=len(tail),
            truncated_sha256=digest,
            kept=kept,
            commit_log_kept=kept_log,
        )
        data: dict[str, Any] = {"truncated_bytes": len(tail), "truncated_sha256": digest}
        if trusted:
            data["trusted_chain"] = True
        if kept is not None:
            data["file"] = kept
        if kept_log is not None:
            data["commit_log_file"] = kept_log
        event = {"type": "ledger.recovered", "data": data}
        (receipt,) = commit(self.files, prepare([event]), state.head_seq, state.head_hash)
        return RepairReport(
            len(tail), digest, receipt, kept, rebuilt=trusted, kept_commit_log=kept_log
        )

    def _rebuild_commit_log(self) -> RepairReport:
        """Rebuild the commit log from the live file's complete, hash-chained lines (lock held).

        The old log is kept under ``recovered/``; lines after the chain's end are an uncommitted
        tail (kept, cut) like any other.
        """
        seq, prev = 0, GENESIS_HASH
        segments = list_segments(self.root)
        if segments:
            seq = segments[-1].last_seq
            prev = hash_at(segments[-1].path, seq) or GENESIS_HASH
        size = self.live_path.stat().st_size if self.live_path.is_file() else 0
        for _, line in iter_lines(self.live_path, 0, size):
            found = line_seq(line)
            if found is not None and found <= seq:
                continue  # a sealed line an interrupted seal left behind
            if check_line(line, seq + 1, prev) is not None:
                break
            seq, prev = seq + 1, line_hash(line)
        old = self.commits_path.read_bytes() if self.commits_path.is_file() else b""
        kept_log = keep(self.root, seq + 1, old, ".commits") if old else None
        if seq:
            rewrite_commits(self.commits_path, seq, prev)
        else:
            _truncate(self.commits_path, 0) if old else ensure_commit_log(self.files)
        fsync_dir(self.root)
        log = read_commit_log(self.commits_path)
        return self._recover(self._checked_state(log), log, kept_log, trusted=True)

    def _finish_pending_seal(self) -> list[str]:
        return finish_pending_seal(self.files)

    # -- reading ---------------------------------------------------------------------------

    def read_raw(
        self, since: int = 0, types: Iterable[str] | None = None, batch: str | None = None
    ) -> Iterator[bytes]:
        """Stored lines (newline stripped) of committed events with seq > ``since``, optionally
        only of ``types`` and ``batch``, exactly as stored."""
        wanted = set(types) if types is not None else None
        for line in self._lines(since):
            if wanted is not None or batch is not None:
                fields = decode_fields(line)
                if wanted is not None and fields["type"] not in wanted:
                    continue
                if batch is not None and fields["batch"] != batch:
                    continue
            yield line

    def _lines(self, since: int) -> Iterator[bytes]:
        last_sealed = 0
        for segment in list_segments(self.root):
            last_sealed = segment.last_seq
            if segment.last_seq > since:
                yield from iter_raw(segment.path, since)
        state = self.state()
        if not state.boundary:
            return
        floor = max(since, last_sealed)
        begin = seek_seq(self.live_path, state.start, state.boundary, floor + 1)
        for _, line in iter_lines(self.live_path, begin, state.boundary):
            seq = line_seq(line)
            if seq is not None and seq > floor:
                yield line

    def raw_blocks(self, since: int = 0, until: int | None = None) -> Iterator[list[bytes]]:
        """Stored lines of the committed events ``since < seq <= until`` (default: the head
        when the call starts), in lists of consecutive events, for bulk readers.

        Raises:
            ReadRaced: a seal moved events into a segment while they were being read (read
                again), or fewer committed events than ``until`` were found.
        """
        until = self.head().seq if until is None else until
        expected = since + 1
        for first, lines in self._blocks(since):
            if expected > until:
                break
            if first != expected or line_seq(lines[-1]) != first + len(lines) - 1:
                raise ReadRaced(
                    f"expected seq {expected} in {self.root}, found {first}: a seal moved "
                    "events while they were read"
                )
            lines = lines[: until - first + 1]
            expected += len(lines)
            yield lines
        if expected <= until:
            raise ReadRaced(f"events {expected}..{until} of {self.root} were not found")

    def _blocks(self, since: int) -> Iterator[tuple[int, list[bytes]]]:
        last_sealed = 0
        for segment in list_segments(self.root):
            last_sealed = segment.last_seq
            if segment.last_seq > since:
                yield from iter_raw_blocks(segment.path, since)
        state = self.state()
        if not state.boundary:
            return
        begin = seek_seq(self.live_path, state.start, state.boundary, max(since, last_sealed) + 1)
        for lines in iter_line_blocks(self.live_path, begin, state.boundary):
            yield line_seq(lines[0]) or 0, lines

    def raw_at(self, seq: int) -> bytes | None:
        """The stored line (no newline) of the committed event at ``seq``, or None."""
        if seq < 1 or seq > self.head().seq:
            return None
        for segment in list_segments(self.root):
            if segment.first_seq <= seq <= segment.last_seq:
                return raw_at(segment.path, seq)
        return self._live_line(seq)

    def _live_line(self, seq: int) -> bytes | None:
        """The committed line of ``seq`` in the live file, or None when it is not there."""
        state = self.state()
        if not state.boundary:
            return None
        offset = offset_of_seq(self.live_path, state.start, state.boundary, seq)
        if offset is None:
            return None
        for _, line in iter_lines(self.live_path, offset, state.boundary):
            return line
        return None

    def read(
        self, since: int = 0, types: Iterable[str] | None = None, batch: str | None = None
    ) -> Iterator[Event]:
        """Stream committed events with seq > ``since``, optionally of ``types`` / ``batch``."""
        for line in self.read_raw(since, types, batch):
            yield decode_line(line)

    def bulk_source(self, since: int = 0, upto: int | None = None) -> BulkSource:
        """Where the committed events ``since < seq <= upto`` (default: up to the head) are
        stored, for bulk readers: the sealed segments holding any of them, then a byte range
        of the live file (``ledger.relations`` turns this into DuckDB relations).

        With ``upto``, segments starting after it are left out and the live range ends with
        ``upto``'s line, so a reader sees the ledger exactly as it was when it ended at
        ``upto``. ``upto`` beyond the head is the head.
        """
        segments = [
            s
            for s in list_segments(self.root)
            if s.last_seq > since and (upto is None or s.first_seq <= upto)
        ]
        last = max([since, *(s.last_seq for s in segments)])
        if upto is not None:
            last = max(since, min(last, upto))
        floor, begin, end, clean = last, 0, 0, True
        state = self.state() if self.exists() else None
        if state is not None and state.boundary and state.commit and state.commit.seq > last:
            stop = state.commit.seq if upto is None else min(state.commit.seq, upto)
            if stop > last:
                last = stop
                begin = seek_seq(self.live_path, state.start, state.boundary, floor + 1)
                end = state.boundary
                if stop < state.commit.seq:  # the range ends where the line after ``upto`` starts
                    end = seek_seq(self.live_path, begin, state.boundary, stop + 1)
                clean = state.boundary == state.size
        return BulkSource(
            since, last, tuple(s.path for s in segments), self.live_path, floor, begin, end, clean
        )

    def hash_at(self, seq: int) -> str | None:
        """The hash of the committed event at ``seq``, or None when there is none."""
        if seq < 1 or seq > self.head().seq:
            return None
        for segment in list_segments(self.root):
            if segment.first_seq <= seq <= segment.last_seq:
                return hash_at(segment.path, seq)
        line = self._live_line(seq)
        return None if line is None else line_hash(line)

    def verify(self, anchor: str | Head | None = None, deep: bool = False) -> VerifyReport:
        """Check every committed byte; see ``ledger.verify.verify_ledger``."""
        return verify_ledger(self.files, anchor=anchor, deep=deep)

    def last_commit(self) -> Commit | None:
        """The last valid record of the commit log, or None."""
        return last_commit(self.commits_path)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector during a bulk append.

    An append allocates many short-lived, acyclic objects; letting the collector rescan the
    heap for each generation it fills costs more than the append itself. Reference counting
    still frees everything; the collector runs again as soon as the call returns.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _truncate(path: Path, size: int) -> None:
    """Cut ``path`` to ``size`` bytes, durably (its bytes past ``size`` are already kept)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    finally:
        os.close(fd)
