"""``MerkleStore``: a file of every complete subtree hash of the ledger's Merkle tree.

The tree is the one of ``ledger.merkle`` (RFC 9162 2.1). The store keeps the hash of every
aligned perfect subtree of the leaves appended so far -- level 0 the leaf hashes, level ``k``
the blocks of ``2**k`` leaves starting at a multiple of ``2**k`` -- so the hash of any range a
proof asks for is a handful of 32-byte reads, and opening the store reads only its header.

Layout of ``merkle.bin`` (integers little-endian)::

    offset  0  magic b"SLMERKLE"
    offset  8  u32 format version (1), u32 hash length (32)
    offset 16  header slot 0: u64 leaf count, then the first 8 bytes of SHA-256 of those 8 bytes
    offset 32  header slot 1: the same
    offset 48  zeros up to DATA_OFFSET (64)
    offset 64  the nodes, 32 bytes each, in post-order

Post-order is the order in which appending creates nodes: each leaf hash, then the nodes it
completes, bottom up. The store of ``n`` leaves therefore holds ``2n - popcount(n)`` nodes and
grows only at its end; the node at level ``k``, index ``j`` (last leaf ``L = (j + 1) * 2**k - 1``)
sits at position ``2L - popcount(L) + k``.

Crash safety. The leaf count of the valid header slot with the larger count is the committed
size; bytes past that size's nodes are not part of the store. An append

1. truncates the file to the committed nodes (dropping what a torn append left behind),
2. writes the new nodes after them and fsyncs,
3. writes the new count into the slot *not* holding the committed one and fsyncs.

A crash before step 3 completes leaves the old count in force (a torn slot fails its check and
is ignored), so the append is simply done again. The bytes step 1 cuts were never committed and
are derived data, so nothing is kept of them.

The store is derived from the ledger: the owner appends leaves only after the ledger committed
their events, so ``size`` never runs ahead of the ledger's head and, after a crash, tells where
to resume. Appends are serialized by the caller (one writer, e.g. under the ledger's lock);
readers may open the store at any time and see the size committed when they opened it.
"""

from __future__ import annotations

import functools
import hashlib
import io
import operator
import os
import struct
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

from ledger.errors import LedgerCorrupt
from ledger.files import file_opener, fsync_dir
from ledger.merkle import EMPTY_ROOT, HASH_LEN, NODE_PREFIX, node_hash, split_point
from ledger.merkle import consistency_proof as tree_consistency_proof
from ledger.merkle import inclusion_proof as tree_inclusion_proof

STORE_FILE = "merkle.bin"
MAGIC = b"SLMERKLE"
FORMAT_VERSION = 1
PREAMBLE = struct.Struct("<8sII")  # magic, version, hash length
SLOT = struct.Struct("<Q8s")  # leaf count, check
SLOT_OFFSETS = (PREAMBLE.size, PREAMBLE.size + SLOT.size)
DATA_OFFSET = 64
# Nodes gathered in memory before one write, so that a big append stays in bounded memory.
WRITE_BATCH = 1 << 16
# Appends hash aligned blocks of up to 2**BLOCK_LEVEL leaves level by level (a list
# comprehension per level) instead of walking up from each leaf in Python.
BLOCK_LEVEL = 12


def stored_nodes(size: int) -> int:
    """How many nodes the store of ``size`` leaves holds."""
    return 2 * size - size.bit_count()


def node_position(level: int, index: int) -> int:
    """Post-order position of node ``index`` of ``level`` (its first leaf: ``index << level``)."""
    last_leaf = ((index + 1) << level) - 1
    return stored_nodes(last_leaf) + level


@functools.cache
def _postorder(level: int) -> Callable[[Sequence[bytes]], tuple[bytes, ...]]:
    """A getter taking a perfect block's nodes listed level by level (leaves first, root last)
    to the same nodes in post-order."""
    base = [(1 << (level + 1)) - (1 << (level + 1 - k)) for k in range(level + 1)]
    order = [0] * stored_nodes(1 << level)
    for k in range(level + 1):
        for j in range(1 << (level - k)):
            order[node_position(k, j)] = base[k] + j
    return operator.itemgetter(*order)


def _block_nodes(leaves: Sequence[bytes], level: int) -> list[bytes]:
    """Every node of the perfect tree over ``2**level`` leaf hashes, in post-order."""
    if level == 0:
        return [leaves[0]]
    nodes = list(leaves)
    width, start = len(nodes), 0
    while width > 1:
        below = nodes[start : start + width]
        nodes += [
            hashlib.sha256(NODE_PREFIX + left + right).digest()
            for left, right in zip(below[0::2], below[1::2], strict=True)
        ]
        start, width = start + width, width // 2
    return list(_postorder(level)(nodes))


def _well_formed(leaf_hashes: Sequence[bytes]) -> bool:
    """Whether every item is ``bytes`` of ``HASH_LEN``: C-level passes (map, set), no Python
    loop, since a catch-up hands over a million leaves at a time."""
    return set(map(type, leaf_hashes)) <= {bytes} and set(map(len, leaf_hashes)) <= {HASH_LEN}


def _slot_bytes(size: int) -> bytes:
    count = size.to_bytes(8, "little")
    return SLOT.pack(size, hashlib.sha256(count).digest()[:8])


def _slot_size(raw: bytes) -> int | None:
    """The leaf count in a header slot, or None when the slot is torn or damaged."""
    size, check = SLOT.unpack(raw)
    return size if hashlib.sha256(raw[:8]).digest()[:8] == check else None


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


class MerkleStore:
    """The subtree hashes of a growing Merkle tree in one file; see the module docstring."""

    def __init__(self, path: Path, fd: int, size: int, slot: int, writable: bool) -> None:
        """Use ``MerkleStore.open``."""
        self.path = path
        self._fd = fd
        self._size = size
        self._slot = slot  # the header slot holding the committed size
        self._writable = writable

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], *, create: bool = False, writable: bool = False
    ) -> MerkleStore:
        """Open the store file at ``path`` (conventionally ``<ledger root>/merkle.bin``).

        Args:
            path: the store file.
            create: make an empty store when the file does not exist; implies ``writable``.
            writable: open for ``append`` as well as reading.

        Raises:
            FileNotFoundError: no file at ``path`` and not ``create``.
            LedgerCorrupt: the file is not a store, or is shorter than its header says.
        """
        path = Path(path)
        writable = writable or create
        if create and not path.exists():
            _create(path)
        fd = os.open(path, os.O_RDWR if writable else os.O_RDONLY)
        try:
            size, slot = _read_header(path, fd)
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, size, slot, writable)

    @property
    def size(self) -> int:
        """The number of leaves committed to the store."""
        return self._size

    def close(self) -> None:
        """Close the file; the store is unusable afterwards."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> MerkleStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def append(self, leaf_hashes: Sequence[bytes]) -> None:
        """Add leaves (their 32-byte leaf hashes) after the committed ones, durably.

        Computes only the nodes the new leaves complete. Returns after the new size is
        committed (see the module docstring); nothing is added if any hash is malformed.

        Raises:
            ValueError: a leaf hash is not 32 bytes.
            io.UnsupportedOperation: the store was not opened writable.
        """
        if not self._writable:
            raise io.UnsupportedOperation(f"{self.path} was opened read-only")
        if not _well_formed(leaf_hashes):
            bad = next(
                i
                for i, leaf in enumerate(leaf_hashes)
                if not isinstance(leaf, bytes) or len(leaf) != HASH_LEN
            )
            raise ValueError(f"leaf hash {bad} is not {HASH_LEN} bytes")
        if not leaf_hashes:
            return
        offset = DATA_OFFSET + HASH_LEN * stored_nodes(self._size)
        os.ftruncate(self._fd, offset)
        frontier = self._frontier()
        size, done = self._size, 0
        pending: list[bytes] = []
        while done < len(leaf_hashes):
            # The largest perfect block that starts here, is aligned to its own size and fits.
            level = min(BLOCK_LEVEL, (len(leaf_hashes) - done).bit_length() - 1)
            if size:
                level = min(level, (size & -size).bit_length() - 1)
            count = 1 << level
            nodes = _block_nodes(leaf_hashes[done : done + count], level)
            pending += nodes
            # The block completes one node per trailing 1 bit of `size >> level`; their left
            # halves are the smallest perfect subtrees on the frontier.
            node, carry = nodes[-1], size >> level
            while carry & 1:
                node = node_hash(frontier.pop(), node)
                pending.append(node)
                carry >>= 1
            frontier.append(node)
            size += count
            done += count
            if len(pending) >= WRITE_BATCH:
                _pwrite_all(self._fd, b"".join(pending), offset)
                offset += HASH_LEN * len(pending)
                pending.clear()
        _pwrite_all(self._fd, b"".join(pending), offset)
        os.fsync(self._fd)
        slot = 1 - self._slot
        _pwrite_all(self._fd, _slot_bytes(size), SLOT_OFFSETS[slot])
        os.fsync(self._fd)
        self._size, self._slot = size, slot

    def subtree(self, start: int, end: int) -> bytes:
        """The Merkle tree hash of leaves ``[start, end)``, ``0 <= start < end <= size``.

        One read per perfect block of the range's tree: ``popcount(end - start)`` reads when
        ``start`` is a multiple of the smallest power of two >= ``end - start``, which holds for
        every range a proof asks for. Other ranges are correct but cost up to one read per leaf.
        """
        if not 0 <= start < end <= self._size:
            raise ValueError(f"no leaves [{start}, {end}) in a store of {self._size}")
        return self._range_hash(start, end)

    def root(self, size: int | None = None) -> bytes:
        """The tree hash of the first ``size`` leaves (default: all); ``EMPTY_ROOT`` for 0."""
        size = self._size if size is None else size
        if not 0 <= size <= self._size:
            raise ValueError(f"no tree of size {size} in a store of {self._size}")
        return self.subtree(0, size) if size else EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """``tree_inclusion_proof`` of leaf ``index`` in the tree of ``size`` (default: all)."""
        size = self._size if size is None else size
        if size > self._size:
            raise ValueError(f"no tree of size {size} in a store of {self._size}")
        return tree_inclusion_proof(index, size, self.subtree)

    def consistency_proof(self, old: int, new: int | None = None) -> list[bytes]:
        """``tree_consistency_proof`` from size ``old`` to ``new`` (default: all)."""
        new = self._size if new is None else new
        if new > self._size:
            raise ValueError(f"no tree of size {new} in a store of {self._size}")
        return tree_consistency_proof(old, new, self.subtree)

    def _range_hash(self, start: int, end: int) -> bytes:
        n = end - start
        if n & (n - 1) == 0 and start % n == 0:
            return self._node(n.bit_length() - 1, start // n)
        mid = start + split_point(n)
        return node_hash(self._range_hash(start, mid), self._range_hash(mid, end))

    def _node(self, level: int, index: int) -> bytes:
        offset = DATA_OFFSET + HASH_LEN * node_position(level, index)
        data = os.pread(self._fd, HASH_LEN, offset)
        if len(data) != HASH_LEN:
            raise LedgerCorrupt(f"{self.path}: node at byte {offset} is missing")
        return data

    def _frontier(self) -> list[bytes]:
        """The perfect subtrees of the committed leaves, largest (leftmost) first."""
        hashes, start = [], 0
        for level in reversed(range(self._size.bit_length())):
            if self._size >> level & 1:
                hashes.append(self._node(level, start >> level))
                start += 1 << level
        return hashes


def _create(path: Path) -> None:
    """Write an empty store: temp file, fsync, rename, fsync the directory."""
    header = PREAMBLE.pack(MAGIC, FORMAT_VERSION, HASH_LEN) + _slot_bytes(0) * 2
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb", opener=file_opener) as f:
        f.write(header.ljust(DATA_OFFSET, b"\0"))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def _read_header(path: Path, fd: int) -> tuple[int, int]:
    """The committed leaf count and the slot holding it; checks the file is long enough."""
    header = os.pread(fd, DATA_OFFSET, 0)
    if len(header) < DATA_OFFSET:
        raise LedgerCorrupt(f"{path}: not a Merkle store (short header)")
    magic, version, hash_len = PREAMBLE.unpack_from(header)
    if magic != MAGIC or version != FORMAT_VERSION or hash_len != HASH_LEN:
        raise LedgerCorrupt(f"{path}: not a version {FORMAT_VERSION} Merkle store")
    sizes = [_slot_size(header[o : o + SLOT.size]) for o in SLOT_OFFSETS]
    valid = [(size, slot) for slot, size in enumerate(sizes) if size is not None]
    if not valid:
        raise LedgerCorrupt(f"{path}: both header slots are damaged")
    size, slot = max(valid)
    needed = DATA_OFFSET + HASH_LEN * stored_nodes(size)
    if os.fstat(fd).st_size < needed:
        raise LedgerCorrupt(f"{path}: {size} leaves need {needed} bytes, the file is shorter")
    return size, slot
