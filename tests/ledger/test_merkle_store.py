"""``MerkleStore`` gives the same hashes and proofs as the plain functions over a list of leaves,
however it was appended to, and survives torn appends."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import LedgerCorrupt
from ledger.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    leaf_subtrees,
    root,
    verify_consistency,
    verify_inclusion,
)
from ledger.merkle_store import (
    DATA_OFFSET,
    SLOT_OFFSETS,
    STORE_FILE,
    MerkleStore,
    node_position,
    stored_nodes,
)

CONSTANTS = Path(__file__).resolve().parent.parent / "data" / "merkle" / "constants.json"
REPO = Path(__file__).resolve().parents[2]


@cache
def leaves_of(n: int) -> tuple[bytes, ...]:
    return tuple(leaf_hash(b'{"seq":%d}' % (i + 1)) for i in range(n))


def build(path: Path, leaves: tuple[bytes, ...], chunks: list[int] | None = None) -> MerkleStore:
    """A writable store at ``path`` holding ``leaves``, appended in calls of ``chunks`` sizes."""
    store = MerkleStore.open(path, create=True)
    start = 0
    for chunk in chunks or [len(leaves)]:
        store.append(leaves[start : start + chunk])
        start += chunk
    store.append(leaves[start:])
    assert store.size == len(leaves)
    return store


def assert_same_as_list(store: MerkleStore, leaves: tuple[bytes, ...]) -> None:
    """Every root, inclusion proof and consistency proof the store gives equals the list's."""
    size = len(leaves)
    subtree = cache(leaf_subtrees(leaves))
    assert store.root() == root(leaves)
    for n in range(size + 1):
        assert store.root(n) == root(leaves[:n])
    for index in range(size):
        assert store.inclusion_proof(index, size) == inclusion_proof(index, size, subtree)
    for old in range(1, size + 1):
        assert store.consistency_proof(old, size) == consistency_proof(old, size, subtree)


def test_layout_positions_follow_post_order() -> None:
    # The first 8 leaves: l0 l1 n(0,2) l2 l3 n(2,4) n(0,4) l4 l5 n(4,6) l6 l7 n(6,8) n(4,8) n(0,8)
    order = [(0, 0), (0, 1), (1, 0), (0, 2), (0, 3), (1, 1), (2, 0), (0, 4), (0, 5), (1, 2)]
    order += [(0, 6), (0, 7), (1, 3), (2, 1), (3, 0)]
    assert [node_position(level, index) for level, index in order] == list(range(15))
    assert [stored_nodes(n) for n in range(9)] == [0, 1, 3, 4, 7, 8, 10, 11, 15]


def test_stored_nodes_are_the_reference_subtree_hashes(tmp_path: Path) -> None:
    constants = json.loads(CONSTANTS.read_text())
    leaves = tuple(leaf_hash(bytes.fromhex(x)) for x in constants["leaf_inputs"])
    with build(tmp_path / STORE_FILE, leaves, [3, 1, 2]) as store:
        for level, hashes in enumerate(constants["node_hashes"]):
            width = 1 << level
            for index, want in enumerate(hashes):
                assert store.subtree(index * width, (index + 1) * width).hex() == want
        for size, want in enumerate(constants["root_hashes"]):
            assert store.root(size).hex() == want
    data = (tmp_path / STORE_FILE).read_bytes()
    assert len(data) == DATA_OFFSET + 32 * stored_nodes(8)


@pytest.mark.parametrize("size", range(0, 34))
def test_store_proofs_equal_list_proofs(tmp_path: Path, size: int) -> None:
    with build(tmp_path / STORE_FILE, leaves_of(size)) as store:
        assert_same_as_list(store, leaves_of(size))
    with MerkleStore.open(tmp_path / STORE_FILE) as reopened:
        assert reopened.size == size
        assert reopened.root() == root(leaves_of(size))


@pytest.mark.parametrize("size", [255, 256, 257, 1000, 1025])
def test_store_proofs_equal_list_proofs_for_bigger_trees(tmp_path: Path, size: int) -> None:
    leaves = leaves_of(size)
    subtree = cache(leaf_subtrees(leaves))
    with build(tmp_path / STORE_FILE, leaves, [size // 3, 1, 7]) as store:
        assert store.root() == root(leaves)
        for index in range(0, size, 7):
            path = store.inclusion_proof(index, size)
            assert path == inclusion_proof(index, size, subtree)
            assert verify_inclusion(leaves[index], index, size, path, root(leaves))
        for old in range(1, size + 1, 13):
            proof = store.consistency_proof(old)
            assert proof == consistency_proof(old, size, subtree)
            assert verify_consistency(old, size, root(leaves[:old]), root(leaves), proof)


@settings(max_examples=60, deadline=None)
@given(chunks=st.lists(st.integers(0, 40), min_size=1, max_size=6))
def test_appending_in_chunks_writes_the_same_file(
    tmp_path_factory: pytest.TempPathFactory, chunks: list[int]
) -> None:
    tmp = tmp_path_factory.mktemp("chunks")  # tmp_path would be shared by every example
    leaves = leaves_of(sum(chunks))
    build(tmp / "one.bin", leaves).close()
    with build(tmp / "many.bin", leaves, chunks) as store:
        assert_same_as_list(store, leaves)
    # The nodes are the same bytes; the header slots differ by how many commits there were.
    one, many = (tmp / "one.bin").read_bytes(), (tmp / "many.bin").read_bytes()
    assert one[DATA_OFFSET:] == many[DATA_OFFSET:]


def test_subtree_of_any_range_is_its_tree_hash(tmp_path: Path) -> None:
    leaves = leaves_of(45)
    with build(tmp_path / STORE_FILE, leaves) as store:
        for start in range(45):
            for end in range(start + 1, 46):
                assert store.subtree(start, end) == root(leaves[start:end])


def test_bad_arguments_are_value_errors(tmp_path: Path) -> None:
    with build(tmp_path / STORE_FILE, leaves_of(5)) as store:
        for start, end in [(0, 0), (3, 2), (-1, 2), (0, 6)]:
            with pytest.raises(ValueError):
                store.subtree(start, end)
        for call in (
            lambda: store.root(6),
            lambda: store.root(-1),
            lambda: store.inclusion_proof(5),
            lambda: store.inclusion_proof(0, 6),
            lambda: store.consistency_proof(0),
            lambda: store.consistency_proof(3, 6),
            lambda: store.append([b"short"]),
        ):
            with pytest.raises(ValueError):
                call()
        assert store.size == 5
        assert store.root(0) == EMPTY_ROOT


def test_a_read_only_store_refuses_appends(tmp_path: Path) -> None:
    build(tmp_path / STORE_FILE, leaves_of(3)).close()
    with MerkleStore.open(tmp_path / STORE_FILE) as store, pytest.raises(io.UnsupportedOperation):
        store.append(leaves_of(4)[3:])
    with pytest.raises(FileNotFoundError):
        MerkleStore.open(tmp_path / "missing.bin")


def test_garbage_after_the_committed_nodes_is_ignored_and_overwritten(tmp_path: Path) -> None:
    path = tmp_path / STORE_FILE
    leaves = leaves_of(100)
    build(path, leaves[:37]).close()
    with open(path, "ab") as f:  # a torn append: some of its nodes, no header update
        f.write(os.urandom(32 * 5 + 7))
    with MerkleStore.open(path, writable=True) as store:
        assert store.size == 37
        assert_same_as_list(store, leaves[:37])
        store.append(leaves[37:])
        assert_same_as_list(store, leaves)
    build(tmp_path / "clean.bin", leaves).close()
    assert path.read_bytes()[DATA_OFFSET:] == (tmp_path / "clean.bin").read_bytes()[DATA_OFFSET:]


def test_a_torn_header_slot_falls_back_to_the_previous_size(tmp_path: Path) -> None:
    path = tmp_path / STORE_FILE
    leaves = leaves_of(50)
    store = build(path, leaves, [20])  # sizes committed: 20, then 50
    store.close()
    data = bytearray(path.read_bytes())
    newest = max(SLOT_OFFSETS, key=lambda o: struct.unpack_from("<Q", data, o)[0])
    data[newest + 3] ^= 0xFF
    path.write_bytes(bytes(data))
    with MerkleStore.open(path, writable=True) as reopened:
        assert reopened.size == 20
        assert_same_as_list(reopened, leaves[:20])
        reopened.append(leaves[20:])
    with MerkleStore.open(path) as again:
        assert again.size == 50
        assert_same_as_list(again, leaves)


@pytest.mark.parametrize(
    "damage",
    ["truncated nodes", "both slots", "magic", "empty file"],
)
def test_a_damaged_store_is_ledger_corrupt(tmp_path: Path, damage: str) -> None:
    path = tmp_path / STORE_FILE
    build(path, leaves_of(9), [4]).close()
    data = bytearray(path.read_bytes())
    if damage == "truncated nodes":
        data = data[:-1]
    elif damage == "both slots":
        for offset in SLOT_OFFSETS:
            data[offset + 8] ^= 1
    elif damage == "magic":
        data[0:8] = b"NOTMERKL"
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    with pytest.raises(LedgerCorrupt):
        MerkleStore.open(path)


def test_killed_appender_leaves_a_committed_prefix(tmp_path: Path) -> None:
    """kill -9 an appender mid-stream; the store reopens at a size it committed and carries on."""
    path = tmp_path / STORE_FILE
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from ledger.merkle import leaf_hash
        from ledger.merkle_store import MerkleStore
        store = MerkleStore.open({str(path)!r}, create=True)
        i = 0
        while True:
            store.append([leaf_hash(b'{{"seq":%d}}' % (i + j + 1)) for j in range(997)])
            i += 997
            print(i, flush=True)
        """
    )
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        acknowledged = [int(proc.stdout.readline()) for _ in range(3)]
        proc.kill()
    with MerkleStore.open(path, writable=True) as store:
        assert store.size % 997 == 0 and store.size >= acknowledged[-1]
        leaves = leaves_of(store.size + 10)
        assert store.root() == root(leaves[: store.size])
        store.append(leaves[store.size :])
        assert store.root() == root(leaves)
        index = len(leaves) // 2
        path_hashes = store.inclusion_proof(index)
        assert verify_inclusion(leaves[index], index, len(leaves), path_hashes, root(leaves))
