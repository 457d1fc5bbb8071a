"""``MerkleIndex``: the ledger's Merkle tree (``ledger.merkle``) kept in a derived store.

The leaves are the committed event lines in seq order (seq ``s`` is leaf ``s - 1``). The
index lives under ``<root>/merkle/``:

- ``merkle.bin``: a ``ledger.merkle_store.MerkleStore`` of the first ``size`` events;
- ``checkpoints.jsonl``: the stored lines of the ``ledger.checkpoint`` events among them, so
  that ``prove`` finds the latest checkpoint without reading the ledger;
- ``merkle.lock``: held (flock) by whoever catches the index up.

It is derived data, never a source of truth: anything wrong with it is repaired by building it
again from the ledger, and ``verify --pubkey`` does not read it at all. ``MerkleIndex.open``
catches it up under its own lock (not the ledger's, so appenders never wait for it):

1. open the store; if it cannot be read, rebuild;
2. if it holds more leaves than the ledger has events, or its last leaf is not the hash of the
   ledger's event at that seq (the ledger was replaced), rebuild -- the last event's line
   names the hash of the one before it, so matching it matches the whole prefix;
3. read the events after its size (``Ledger.raw_blocks``), record the checkpoint lines among
   them, then append their leaf hashes to the store (a durable commit of the store's own).

When ``<root>/merkle/`` cannot be created or written (EACCES, EPERM, EROFS: someone else's
root, a read-only mount), the tree is built from the events in a private temporary file and
nothing is written under the root.

A crash between the two writes of step 3 leaves checkpoint lines beyond the store's size;
readers ignore lines after the size and duplicates, and check each kept line against its leaf.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from ledger.chain import line_seq
from ledger.encoding import decode_fields
from ledger.errors import LedgerCorrupt, ReadRaced
from ledger.files import fsync_dir, make_dirs
from ledger.lock import FileLock
from ledger.merkle import LEAF_PREFIX, leaf_hash
from ledger.merkle_store import STORE_FILE, MerkleStore
from ledger.store import Ledger

MERKLE_DIR = "merkle"
CHECKPOINTS_FILE = "checkpoints.jsonl"
LOCK_FILE = "merkle.lock"
CHECKPOINT_TYPE = "ledger.checkpoint"
_CHECKPOINT_MARK = b'"type":"ledger.checkpoint"'
# A seal racing a catch-up makes one read fail; reading again finds the events in the segment.
READ_TRIES = 3
# Leaf hashes gathered before one durable store append (4 MiB of hashes).
APPEND_LEAVES = 1 << 17
# What creating or writing the derived files fails with when the root is not ours to write.
NOT_WRITABLE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


def leaf_hashes(lines: list[bytes]) -> list[bytes]:
    """The Merkle leaf hash of each stored line (given without its newline)."""
    prefix, sha256 = LEAF_PREFIX, hashlib.sha256
    return [sha256(prefix + line).digest() for line in lines]


def is_checkpoint(line: bytes) -> bool:
    """Whether a stored line is a ``ledger.checkpoint`` event (its envelope type, not data)."""
    return _CHECKPOINT_MARK in line and decode_fields(line).get("type") == CHECKPOINT_TYPE


class MerkleIndex:
    """A caught-up, read-only view of the ledger's Merkle store; see the module docstring."""

    def __init__(self, store: MerkleStore, checkpoint_lines: list[bytes]) -> None:
        """Use ``MerkleIndex.open``."""
        self.store = store
        self.checkpoint_lines = checkpoint_lines

    @classmethod
    def open(cls, ledger: Ledger, until: int | None = None) -> MerkleIndex:
        """Catch the index of ``ledger`` up to seq ``until`` (default: the head) and open it.

        The index may then hold more events than ``until`` (another process caught it up
        further); ask for sizes explicitly.

        Raises:
            ValueError: ``until`` is beyond the head.
            ReadRaced: events kept moving while they were read (``READ_TRIES`` times).
        """
        head = ledger.head().seq
        until = head if until is None else until
        if not 0 <= until <= head:
            raise ValueError(f"no tree of size {until}: the ledger's head is {head}")
        try:
            return cls._open_shared(ledger, until)
        except OSError as e:
            if e.errno not in NOT_WRITABLE:
                raise
            return cls._open_private(ledger, until)

    @classmethod
    def _open_private(cls, ledger: Ledger, until: int) -> MerkleIndex:
        """A tree built from the ledger alone in a private temporary file, for a root this
        process may read but not write (someone else's ledger, a read-only mount). The file is
        unlinked at once; the open store keeps its data until it is closed."""
        with tempfile.TemporaryDirectory(prefix="sweepledger-merkle-") as scratch:
            store, lines = fresh_tree(ledger, Path(scratch) / STORE_FILE, until)
        return cls(store, lines)

    @classmethod
    def _open_shared(cls, ledger: Ledger, until: int) -> MerkleIndex:
        """Open the index under ``<root>/merkle/``, caught up to ``until`` first."""
        directory = ledger.root / MERKLE_DIR
        path = directory / STORE_FILE
        try:
            with MerkleStore.open(path) as store:
                caught_up = until <= store.size and _matches(ledger, store)
        except (FileNotFoundError, LedgerCorrupt):
            caught_up = False
        if not caught_up:
            make_dirs(directory)
            with FileLock(directory / LOCK_FILE).held():
                _catch_up(ledger, directory, until)
        store = MerkleStore.open(path)
        lines = _read_checkpoint_lines(directory / CHECKPOINTS_FILE, store)
        if lines is None:  # the sidecar disagrees with the store: start over
            store.close()
            with FileLock(directory / LOCK_FILE).held():
                _reset(directory)
                _catch_up(ledger, directory, until)
            store = MerkleStore.open(path)
            lines = _read_checkpoint_lines(directory / CHECKPOINTS_FILE, store) or []
        return cls(store, lines)

    @property
    def size(self) -> int:
        """The number of events (leaves) the index holds."""
        return self.store.size

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> MerkleIndex:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def root(self, size: int) -> bytes:
        """The tree hash of events ``1..size``."""
        return self.store.root(size)

    def leaf(self, seq: int) -> bytes:
        """The leaf hash of the event at ``seq``."""
        return self.store.subtree(seq - 1, seq)


def _catch_up(ledger: Ledger, directory: Path, until: int) -> None:
    """Bring the store to at least ``until`` events (lock held); rebuild it when it is wrong."""
    path = directory / STORE_FILE
    for attempt in range(READ_TRIES):
        try:
            store = MerkleStore.open(path, create=True)
        except LedgerCorrupt:
            _reset(directory)
            store = MerkleStore.open(path, create=True)
        try:
            if not _matches(ledger, store):
                store.close()
                _reset(directory)
                store = MerkleStore.open(path, create=True)
            if store.size >= until:
                return
            _append(ledger, directory, store, until)
            return
        except ReadRaced:
            if attempt == READ_TRIES - 1:
                raise
        finally:
            store.close()


def _matches(ledger: Ledger, store: MerkleStore) -> bool:
    """Whether the store's leaves are a prefix of the ledger (checked at its last leaf)."""
    if store.size == 0:
        return True
    if store.size > ledger.head().seq:
        return False
    line = ledger.raw_at(store.size)
    return line is not None and store.subtree(store.size - 1, store.size) == leaf_hash(line)


def _append(ledger: Ledger, directory: Path, store: MerkleStore, until: int) -> None:
    sidecar = directory / CHECKPOINTS_FILE
    append_events(ledger, store, until, lambda lines: _append_lines(sidecar, lines))


def append_events(
    ledger: Ledger, store: MerkleStore, until: int, checkpoints: Callable[[list[bytes]], None]
) -> None:
    """Append the leaves of events ``store.size + 1 .. until`` to ``store``, handing the lines
    of the checkpoint events among them to ``checkpoints`` before the store commits them.

    Raises:
        ReadRaced: a seal moved events while they were read.
    """
    found: list[bytes] = []
    leaves: list[bytes] = []
    for lines in ledger.raw_blocks(store.size, until):
        if _CHECKPOINT_MARK in b"".join(lines):
            found += [line for line in lines if is_checkpoint(line)]
        leaves += leaf_hashes(lines)
        if len(leaves) >= APPEND_LEAVES:
            _commit(store, found, leaves, checkpoints)
    _commit(store, found, leaves, checkpoints)


def _commit(
    store: MerkleStore,
    found: list[bytes],
    leaves: list[bytes],
    checkpoints: Callable[[list[bytes]], None],
) -> None:
    """Hand over the checkpoint lines, then commit the leaves to the store; empties both."""
    if found:
        checkpoints(list(found))
    store.append(leaves)
    found.clear()
    leaves.clear()


def fresh_tree(ledger: Ledger, path: Path, until: int) -> tuple[MerkleStore, list[bytes]]:
    """A new store at ``path`` built from the ledger's events ``1..until`` alone (no derived
    file is read), and the lines of the checkpoint events among them, oldest first.

    Raises:
        ReadRaced: events kept moving while they were read (``READ_TRIES`` times).
    """
    for attempt in range(READ_TRIES):
        path.unlink(missing_ok=True)
        store = MerkleStore.open(path, create=True)
        found: list[bytes] = []
        try:
            append_events(ledger, store, until, found.extend)
            return store, found
        except ReadRaced:
            store.close()
            if attempt == READ_TRIES - 1:
                raise
        except BaseException:
            store.close()
            raise
    raise AssertionError("unreachable")


def _append_lines(path: Path, lines: list[bytes]) -> None:
    """Append lines durably, first cutting a torn last line a crash may have left."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size:
            tail = os.pread(fd, min(size, 1 << 20), max(0, size - (1 << 20)))
            os.ftruncate(fd, size - len(tail) + tail.rfind(b"\n") + 1)
        os.lseek(fd, 0, os.SEEK_END)
        os.write(fd, b"".join(line + b"\n" for line in lines))
        os.fsync(fd)
    finally:
        os.close(fd)


def _reset(directory: Path) -> None:
    """Remove the derived files so that the next catch-up builds them from scratch."""
    for name in (STORE_FILE, CHECKPOINTS_FILE):
        (directory / name).unlink(missing_ok=True)
    fsync_dir(directory)


def _read_checkpoint_lines(path: Path, store: MerkleStore) -> list[bytes] | None:
    """The checkpoint lines of the store's events, oldest first; None when one of them is not
    the event the store holds at its seq."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    kept: dict[int, bytes] = {}
    for line in data.split(b"\n")[:-1]:
        seq = line_seq(line)
        if seq is None or seq > store.size or seq in kept:
            continue
        if store.subtree(seq - 1, seq) != leaf_hash(line):
            return None
        kept[seq] = line
    return [kept[seq] for seq in sorted(kept)]
