"""The RFC 9162 Merkle tree functions against the transparency-dev/merkle vectors and against
recursive references written straight from the RFC's definitions."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    leaf_subtrees,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "merkle"
TESTDATA = DATA / "testdata"


# --- references: RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1 as written, recursion and all ------------


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def largest_power_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes."""
    n = len(leaves)
    if n == 0:
        return sha(b"")
    if n == 1:
        return leaves[0]
    k = largest_power_below(n)
    return sha(b"\x01" + ref_mth(leaves[:k]) + ref_mth(leaves[k:]))


def ref_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = largest_power_below(n)
    if m < k:
        return [*ref_path(m, leaves[:k]), ref_mth(leaves[k:])]
    return [*ref_path(m - k, leaves[k:]), ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [ref_mth(leaves)]
    k = largest_power_below(n)
    if m <= k:
        return [*ref_subproof(m, leaves[:k], b), ref_mth(leaves[k:])]
    return [*ref_subproof(m - k, leaves[k:], False), ref_mth(leaves[:k])]


@cache
def leaves_of(n: int) -> tuple[bytes, ...]:
    """Leaf hashes of ``n`` distinct event-like lines."""
    return tuple(leaf_hash(b'{"seq":%d,"data":"%s"}' % (i + 1, b"x" * (i % 7))) for i in range(n))


def flip(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# --- the published vectors -------------------------------------------------------------------


def read_cases(kind: str) -> dict[str, dict[str, Any]]:
    """Every case file under ``testdata/<kind>``, by its path there."""
    files = sorted((TESTDATA / kind).rglob("*.json"))
    return {str(f.relative_to(TESTDATA / kind)): json.loads(f.read_text()) for f in files}


INCLUSION = read_cases("inclusion")
CONSISTENCY = read_cases("consistency")
CONSTANTS = json.loads((DATA / "constants.json").read_text())
CONSTANT_LEAVES = [leaf_hash(bytes.fromhex(x)) for x in CONSTANTS["leaf_inputs"]]
# The happy path of each numbered folder is a tree built from the constants' leaf inputs.
BUILT_FROM_CONSTANTS = [f"{n}/happy-path.json" for n in range(5)]


def b64(value: str) -> bytes:
    return base64.b64decode(value)


def test_vector_files_are_all_there() -> None:
    assert len(INCLUSION) == 98
    assert len(CONSISTENCY) == 98


def test_reference_roots_of_sizes_0_to_8() -> None:
    assert [leaf.hex() for leaf in CONSTANT_LEAVES] == CONSTANTS["node_hashes"][0]
    for size, want in enumerate(CONSTANTS["root_hashes"]):
        assert root(CONSTANT_LEAVES[:size]).hex() == want
    assert EMPTY_ROOT.hex() == CONSTANTS["root_hashes"][0]


@pytest.mark.parametrize("name", INCLUSION)
def test_inclusion_vectors(name: str) -> None:
    case = INCLUSION[name]
    index, size = case["leafIdx"], case["treeSize"]
    args = (b64(case["leafHash"]), index, size, [b64(p) for p in case["proof"] or []])
    if not 0 <= index < size:
        assert case["wantErr"]
        with pytest.raises(ValueError):
            verify_inclusion(*args, b64(case["root"]))
    else:
        assert verify_inclusion(*args, b64(case["root"])) is not case["wantErr"]


@pytest.mark.parametrize("name", CONSISTENCY)
def test_consistency_vectors(name: str) -> None:
    case = CONSISTENCY[name]
    old, new = case["size1"], case["size2"]
    args = (old, new, b64(case["root1"]), b64(case["root2"]), [b64(p) for p in case["proof"] or []])
    if not 0 < old <= new:
        assert case["wantErr"]
        with pytest.raises(ValueError):
            verify_consistency(*args)
    else:
        assert verify_consistency(*args) is not case["wantErr"]


@pytest.mark.parametrize("name", BUILT_FROM_CONSTANTS)
def test_the_vectors_happy_proofs_are_the_ones_we_make(name: str) -> None:
    case = INCLUSION[name]
    leaves = CONSTANT_LEAVES[: case["treeSize"]]
    assert root(leaves) == b64(case["root"])
    proof = inclusion_proof(case["leafIdx"], case["treeSize"], leaf_subtrees(leaves))
    assert proof == [b64(p) for p in case["proof"] or []]

    case = CONSISTENCY[name]
    leaves = CONSTANT_LEAVES[: case["size2"]]
    assert (root(leaves[: case["size1"]]), root(leaves)) == (b64(case["root1"]), b64(case["root2"]))
    proof = consistency_proof(case["size1"], case["size2"], leaf_subtrees(leaves))
    assert proof == [b64(p) for p in case["proof"] or []]


# --- properties against the references --------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 300))
def test_root_equals_recursive_reference(n: int) -> None:
    assert root(leaves_of(n)) == ref_mth(leaves_of(n))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 300))
def test_every_inclusion_proof_of_a_tree_verifies(size: int) -> None:
    leaves = leaves_of(size)
    tree_root = root(leaves)
    subtree = cache(leaf_subtrees(leaves))
    for index in range(size):
        path = inclusion_proof(index, size, subtree)
        assert verify_inclusion(leaves[index], index, size, path, tree_root)
        if index in (0, size // 2, size - 1):
            assert path == ref_path(index, leaves)
            assert not verify_inclusion(leaves[index], index, size, path, leaf_hash(b"other"))
            if size > 1:
                other = (index + 1) % size
                assert not verify_inclusion(leaves[other], index, size, path, tree_root)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_consistency_proof_between_two_sizes_verifies(data: st.DataObject) -> None:
    new = data.draw(st.integers(1, 300), label="new")
    old = data.draw(st.integers(1, new), label="old")
    leaves = leaves_of(new)
    proof = consistency_proof(old, new, leaf_subtrees(leaves))
    assert proof == ref_subproof(old, leaves, True)
    assert verify_consistency(old, new, root(leaves[:old]), root(leaves), proof)


@pytest.mark.parametrize("new", range(1, 40))
def test_every_consistency_proof_up_to_40_leaves_verifies(new: int) -> None:
    leaves = leaves_of(new)
    subtree = cache(leaf_subtrees(leaves))
    for old in range(1, new + 1):
        proof = consistency_proof(old, new, subtree)
        assert proof == ref_subproof(old, leaves, True)
        assert verify_consistency(old, new, root(leaves[:old]), root(leaves), proof)
        if old < new:
            # The same proof says nothing about a neighbouring old size or a different tree.
            if old > 1:
                assert not verify_consistency(old - 1, new, root(leaves[:old]), root(leaves), proof)
            assert not verify_consistency(old, new, root(leaves[:old]), root(leaves[1:]), proof)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_flipped_bit_in_an_inclusion_proof_or_root_fails(data: st.DataObject) -> None:
    size = data.draw(st.integers(2, 300), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    leaves = leaves_of(size)
    tree_root = root(leaves)
    path = inclusion_proof(index, size, leaf_subtrees(leaves))
    bit = data.draw(st.integers(0, 255), label="bit")
    at = data.draw(st.integers(0, len(path) - 1), label="element")
    bent = [*path[:at], flip(path[at], bit), *path[at + 1 :]]
    assert not verify_inclusion(leaves[index], index, size, bent, tree_root)
    assert not verify_inclusion(leaves[index], index, size, path, flip(tree_root, bit))
    assert not verify_inclusion(flip(leaves[index], bit), index, size, path, tree_root)
    assert not verify_inclusion(leaves[index], index, size, path[:-1], tree_root)
    assert not verify_inclusion(leaves[index], index, size, [*path, path[-1]], tree_root)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_flipped_bit_in_a_consistency_proof_or_root_fails(data: st.DataObject) -> None:
    new = data.draw(st.integers(2, 300), label="new")
    old = data.draw(st.integers(1, new - 1), label="old")
    leaves = leaves_of(new)
    old_root, new_root = root(leaves[:old]), root(leaves)
    proof = consistency_proof(old, new, leaf_subtrees(leaves))
    bit = data.draw(st.integers(0, 255), label="bit")
    at = data.draw(st.integers(0, len(proof) - 1), label="element")
    bent = [*proof[:at], flip(proof[at], bit), *proof[at + 1 :]]
    assert not verify_consistency(old, new, old_root, new_root, bent)
    assert not verify_consistency(old, new, flip(old_root, bit), new_root, proof)
    assert not verify_consistency(old, new, old_root, flip(new_root, bit), proof)
    assert not verify_consistency(old, new, old_root, new_root, proof[:-1])
    assert not verify_consistency(old, new, old_root, new_root, [*proof, proof[-1]])


def test_every_bit_of_one_proof_matters() -> None:
    size, index, old = 13, 6, 5
    leaves = leaves_of(size)
    subtree = leaf_subtrees(leaves)
    path = inclusion_proof(index, size, subtree)
    proof = consistency_proof(old, size, subtree)
    for at in range(len(path)):
        for bit in range(256):
            bent = [*path[:at], flip(path[at], bit), *path[at + 1 :]]
            assert not verify_inclusion(leaves[index], index, size, bent, root(leaves))
    for at in range(len(proof)):
        for bit in range(256):
            bent = [*proof[:at], flip(proof[at], bit), *proof[at + 1 :]]
            assert not verify_consistency(old, size, root(leaves[:old]), root(leaves), bent)


# --- the edges of the contract -----------------------------------------------------------------


def test_hashing_is_rfc_9162_with_domain_separation() -> None:
    assert leaf_hash(b"abc") == sha(b"\x00abc")
    assert node_hash(b"L" * 32, b"R" * 32) == sha(b"\x01" + b"L" * 32 + b"R" * 32)
    assert sha(b"") == EMPTY_ROOT
    assert root([]) == EMPTY_ROOT
    assert root([leaf_hash(b"a")]) == leaf_hash(b"a")


@pytest.mark.parametrize(("index", "size"), [(0, 0), (-1, 5), (5, 5), (6, 5)])
def test_inclusion_outside_the_tree_is_a_value_error(index: int, size: int) -> None:
    leaves = leaves_of(5)
    with pytest.raises(ValueError):
        inclusion_proof(index, size, leaf_subtrees(leaves))
    with pytest.raises(ValueError):
        verify_inclusion(leaves[0], index, size, [], root(leaves))


@pytest.mark.parametrize(("old", "new"), [(0, 0), (0, 5), (-1, 5), (6, 5)])
def test_consistency_from_nothing_or_backwards_is_a_value_error(old: int, new: int) -> None:
    leaves = leaves_of(6)
    with pytest.raises(ValueError):
        consistency_proof(old, new, leaf_subtrees(leaves))
    with pytest.raises(ValueError):
        verify_consistency(old, new, root(leaves[: max(old, 0)]), root(leaves[:new]), [])


def test_malformed_evidence_is_false_not_an_exception() -> None:
    leaves = leaves_of(5)
    path = inclusion_proof(2, 5, leaf_subtrees(leaves))
    proof = consistency_proof(3, 5, leaf_subtrees(leaves))
    assert not verify_inclusion(b"", 0, 1, [], b"")
    assert not verify_inclusion(leaves[2], 2, 5, [p[:31] for p in path], root(leaves))
    assert not verify_inclusion(leaves[2], 2, 5, [b"", *path], root(leaves))
    assert not verify_consistency(3, 5, root(leaves[:3]), root(leaves), [p + b"\0" for p in proof])
    assert not verify_consistency(3, 5, b"", b"", [])
    assert not verify_consistency(2, 2, root(leaves[:2]), root(leaves[:2]), [root(leaves[:2])])
    assert verify_consistency(2, 2, root(leaves[:2]), root(leaves[:2]), [])


def test_leaf_subtrees_refuses_ranges_outside_the_list() -> None:
    subtree = leaf_subtrees(leaves_of(4))
    for start, end in [(0, 0), (2, 1), (-1, 2), (3, 5)]:
        with pytest.raises(ValueError):
            subtree(start, end)
