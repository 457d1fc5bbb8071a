"""The Merkle tree of RFC 9162 section 2.1 over the ledger's events. Pure functions, no I/O.

Leaves are the stored event lines in seq order; the event with seq ``s`` is the leaf with
0-based index ``s - 1``, and the tree of a ledger whose head is seq ``N`` has ``N`` leaves.

- leaf hash: ``SHA-256(0x00 || line)``, ``line`` being the stored bytes without the newline;
- node hash: ``SHA-256(0x01 || left || right)``;
- the hash of ``n > 1`` leaves splits them at ``k``, the largest power of two smaller than
  ``n``: ``node_hash(MTH(leaves[:k]), MTH(leaves[k:]))``; the empty tree hashes to
  ``SHA-256(b"")`` (``EMPTY_ROOT``).

Proofs come out in RFC 9162's order (2.1.3.1 audit path: the leaf's sibling first; 2.1.4.1
consistency proof) and are checked with the algorithms of 2.1.3.2 and 2.1.4.2. The provers
take ``subtree(start, end)``, any function returning the hash of leaves ``[start, end)``, so
the same code proves from a list of leaf hashes (``leaf_subtrees``) or from a store of
precomputed nodes (``ledger.merkle_store``).

Arguments versus evidence: arguments that ask no answerable question (a negative size, a leaf
index outside the tree, an old size of 0 or above the new size) raise ``ValueError``. Anything
that comes from the prover -- proof hashes, roots, leaf hashes, however malformed -- never
raises: the verifiers return False.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_LEN = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

SubtreeHash = Callable[[int, int], bytes]
"""``subtree(start, end)``: the Merkle tree hash of the leaves with indices ``[start, end)``."""


def leaf_hash(line: bytes) -> bytes:
    """The leaf hash of one stored event line (given without its trailing newline)."""
    return hashlib.sha256(LEAF_PREFIX + line).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node from its two children's hashes."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n >= 2``): the size of the left subtree."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of ``leaves`` (leaf hashes, in order); ``EMPTY_ROOT`` when empty.

    Pairs neighbours level by level, carrying an odd last node up unchanged: with RFC 9162's
    split at the largest power of two every left subtree is perfect, so the lone last node of
    a level is exactly the right subtree the RFC pairs one level higher.
    """
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        paired = [
            hashlib.sha256(NODE_PREFIX + left + right).digest()
            for left, right in zip(level[0::2], level[1::2], strict=False)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def leaf_subtrees(leaves: Sequence[bytes]) -> SubtreeHash:
    """A ``subtree(start, end)`` over a list of leaf hashes, for the provers below.

    Each call hashes its range afresh, so one proof costs O(len(leaves)); fine for tests and
    small trees, use ``ledger.merkle_store.MerkleStore`` for big ones.
    """

    def subtree(start: int, end: int) -> bytes:
        if not 0 <= start < end <= len(leaves):
            raise ValueError(f"no leaves [{start}, {end}) in a tree of {len(leaves)}")
        return root(leaves[start:end])

    return subtree


def inclusion_proof(index: int, size: int, subtree: SubtreeHash) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of the first ``size`` leaves (RFC 9162 2.1.3.1).

    Args:
        index: 0-based leaf index (the event with seq ``s`` is leaf ``s - 1``).
        size: the number of leaves of the tree the proof is against.
        subtree: the hash of any leaf range ``[start, end)`` with ``end <= size``.

    Returns:
        The sibling hashes from the leaf's sibling up to the root's child (empty for size 1).

    Raises:
        ValueError: unless ``0 <= index < size``.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        mid = start + split_point(end - start)
        if index < mid:
            path.append(subtree(mid, end))
            end = mid
        else:
            path.append(subtree(start, mid))
            start = mid
    path.reverse()  # collected top-down; the RFC lists the leaf's sibling first
    return path


def consistency_proof(old: int, new: int, subtree: SubtreeHash) -> list[bytes]:
    """The proof that the first ``old`` leaves are a prefix of the first ``new`` (RFC 9162 2.1.4.1).

    Args:
        old: size of the earlier tree, ``0 < old <= new`` (RFC 9162 defines no proof from the
            empty tree: every tree extends it).
        new: size of the later tree.
        subtree: the hash of any leaf range ``[start, end)`` with ``end <= new``.

    Returns:
        The RFC's ``PROOF(old, D[new])``; empty when ``old == new``.

    Raises:
        ValueError: unless ``0 < old <= new``.
    """
    if not 0 < old <= new:
        raise ValueError(f"no consistency proof from size {old} to size {new}")
    proof: list[bytes] = []
    start, end = 0, new
    old_is_whole_subtree = True  # SUBPROOF's flag b: [start, old) is a subtree of the old tree
    while old < end:
        mid = start + split_point(end - start)
        if old <= mid:
            proof.append(subtree(mid, end))
            end = mid
        else:
            proof.append(subtree(start, mid))
            start = mid
            old_is_whole_subtree = False
    if not old_is_whole_subtree:
        proof.append(subtree(start, end))
    proof.reverse()  # collected top-down; the RFC lists the innermost hash first
    return proof


def _is_hash(value: bytes) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_LEN


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``path`` proves ``leaf`` (a leaf hash) at ``index`` in the tree ``(size, root)``.

    RFC 9162 2.1.3.2. A leaf or path hash that is not 32 bytes makes the proof fail.

    Raises:
        ValueError: unless ``0 <= index < size``.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    if not _is_hash(leaf) or not all(_is_hash(p) for p in path):
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree ``(old_size, old_root)`` is a prefix of the new one.

    RFC 9162 2.1.4.2. Equal sizes are consistent when the proof is empty and the roots are
    equal. A proof hash that is not 32 bytes makes the proof fail.

    Raises:
        ValueError: unless ``0 < old_size <= new_size``.
    """
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof or not all(_is_hash(p) for p in proof):
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # The old tree is perfect, hence a node of the new one; the proof leaves it out.
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
