"""Inclusion and consistency proofs as self-contained JSON documents, and their checker.

A proof carries everything needed to check it without the ledger (docs/FORMAT.md, "Merkle
tree, checkpoints, proofs"): the tree size(s) and root(s), the RFC 9162 path, the ledger id,
and, when a tree size is a checkpoint's, that checkpoint's seq, key id and signature, so that
``check_proof`` with the signer's public key proves the root is one the ledger's owner signed.

``check_proof`` treats the document as evidence: anything malformed in it makes the check fail
with a reason, it never raises.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ledger.chain import line_seq
from ledger.checkpoints import (
    Checkpoint,
    checkpoint_at_size,
    indexed_checkpoints,
    key_id,
    ledger_id,
)
from ledger.errors import ProofUnavailable
from ledger.merkle import HASH_LEN, leaf_hash, verify_consistency, verify_inclusion
from ledger.merkle_index import MerkleIndex
from ledger.store import Ledger

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PROOF_FORMAT = "sweepledger-proof/v1"
INCLUSION = "inclusion"
CONSISTENCY = "consistency"


def tree_root(ledger: Ledger, size: int | None = None) -> tuple[int, str]:
    """``(size, root hex)`` of events ``1..size`` (default: the head).

    Raises:
        ProofUnavailable: ``size`` is beyond the head.
    """
    head = ledger.head().seq
    size = head if size is None else size
    if not 0 <= size <= head:
        raise ProofUnavailable(f"no tree of size {size}: the ledger's head is {head}")
    with MerkleIndex.open(ledger, size) as index:
        return size, index.root(size).hex()


def _checkpoint_ref(checkpoint: Checkpoint | None) -> dict[str, Any] | None:
    if checkpoint is None:
        return None
    return {"seq": checkpoint.seq, "key_id": checkpoint.key_id, "signature": checkpoint.signature}


def inclusion_proof(ledger: Ledger, seq: int, size: int | None = None) -> dict[str, Any]:
    """The proof that event ``seq`` is leaf ``seq - 1`` of the tree of ``size`` events
    (default: the latest checkpoint's size, else the head).

    Raises:
        ProofUnavailable: ``seq`` or ``size`` is outside the ledger, or ``seq > size``.
    """
    head = ledger.head().seq
    if size is not None and not 1 <= size <= head:
        raise ProofUnavailable(f"no tree of size {size}: the ledger's head is {head}")
    with MerkleIndex.open(ledger) as index:
        checkpoints = indexed_checkpoints(index)
        if size is None:
            size = checkpoints[-1].size if checkpoints else head
        if not 1 <= seq <= size:
            raise ProofUnavailable(f"event {seq} is not in the tree of size {size}")
        return _inclusion(index, ledger_id(ledger), seq, size, checkpoints)


def inclusion_proofs(ledger: Ledger, seqs: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Inclusion proofs of many events from one catch-up of the index: each against the latest
    checkpoint's tree when it covers the event, else against the head (an event appended after
    the latest checkpoint, or a ledger with none).

    Raises:
        ProofUnavailable: a seq is outside ``1..head``.
    """
    head = ledger.head().seq
    wanted = sorted(set(seqs))
    if wanted and not 1 <= wanted[0] <= wanted[-1] <= head:
        bad = wanted[0] if wanted[0] < 1 else wanted[-1]
        raise ProofUnavailable(f"event {bad} is not in the ledger (its head is {head})")
    with MerkleIndex.open(ledger, head) as index:
        checkpoints = indexed_checkpoints(index)
        signed = checkpoints[-1].size if checkpoints else head
        identity = ledger_id(ledger)
        return {
            seq: _inclusion(index, identity, seq, signed if seq <= signed else head, checkpoints)
            for seq in wanted
        }


def _inclusion(
    index: MerkleIndex,
    identity: str | None,
    seq: int,
    size: int,
    checkpoints: list[Checkpoint],
) -> dict[str, Any]:
    """The inclusion proof document of ``seq`` in the tree of ``size`` (``1 <= seq <= size``)."""
    proof: dict[str, Any] = {
        "format": PROOF_FORMAT,
        "kind": INCLUSION,
        "ledger_id": identity,
        "seq": seq,
        "size": size,
        "leaf_hash": index.leaf(seq).hex(),
        "path": [node.hex() for node in index.store.inclusion_proof(seq - 1, size)],
        "root": index.root(size).hex(),
    }
    checkpoint = _checkpoint_ref(checkpoint_at_size(checkpoints, size))
    if checkpoint is not None:
        proof["checkpoint"] = checkpoint
    return proof


def consistency_proof(ledger: Ledger, old: int, new: int) -> dict[str, Any]:
    """The proof that the tree of ``old`` events is a prefix of the tree of ``new``.

    Raises:
        ProofUnavailable: unless ``1 <= old <= new <= head``.
    """
    head = ledger.head().seq
    if not 1 <= old <= new <= head:
        raise ProofUnavailable(
            f"no consistency proof from size {old} to {new} (need 1 <= A <= B <= head {head})"
        )
    with MerkleIndex.open(ledger) as index:  # the head: checkpoints after `new` count too
        checkpoints = indexed_checkpoints(index)
        proof: dict[str, Any] = {
            "format": PROOF_FORMAT,
            "kind": CONSISTENCY,
            "ledger_id": ledger_id(ledger),
            "old_size": old,
            "new_size": new,
            "old_root": index.root(old).hex(),
            "new_root": index.root(new).hex(),
            "path": [node.hex() for node in index.store.consistency_proof(old, new)],
        }
    for name, size in (("old_checkpoint", old), ("new_checkpoint", new)):
        checkpoint = _checkpoint_ref(checkpoint_at_size(checkpoints, size))
        if checkpoint is not None:
            proof[name] = checkpoint
    return proof


@dataclass
class ProofCheck:
    """What ``check_proof`` found: ``ok``, or the first ``problem``; ``checked`` lists what held."""

    ok: bool = True
    kind: str | None = None
    problem: str | None = None
    checked: list[str] = field(default_factory=list)

    def fail(self, problem: str) -> ProofCheck:
        self.ok, self.problem = False, problem
        return self


class _Malformed(Exception):
    """A proof field is missing or of the wrong form (becomes ``ProofCheck.problem``)."""


def _int(proof: dict[str, Any], name: str) -> int:
    value = proof.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _Malformed(f"{name} is not a positive integer")
    return value


def _digest(value: Any, name: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * HASH_LEN:
        raise _Malformed(f"{name} is not {2 * HASH_LEN} hex digits")
    try:
        if value != value.lower():
            raise ValueError
        return bytes.fromhex(value)
    except ValueError:
        raise _Malformed(f"{name} is not lowercase hex") from None


def _path(proof: dict[str, Any]) -> list[bytes]:
    path = proof.get("path")
    if not isinstance(path, list):
        raise _Malformed("path is not a list")
    return [_digest(node, f"path[{i}]") for i, node in enumerate(path)]


def check_proof(
    proof: Any,
    public_key: Ed25519PublicKey | None = None,
    checkpoint: Checkpoint | None = None,
    line: bytes | None = None,
) -> ProofCheck:
    """Check an inclusion or consistency proof document from the document alone.

    Args:
        proof: the parsed JSON of ``prove --json``.
        public_key: check the signature of the checkpoint (given, or embedded in the proof)
            over the proof's root with this key; fails if there is none to check.
        checkpoint: a checkpoint the proof's root must be signed in (its size must be the
            proof's size, or one of a consistency proof's two sizes).
        line: the event's stored line (inclusion proofs): it must hash to ``leaf_hash``.
    """
    result = ProofCheck()
    if not isinstance(proof, dict):
        return result.fail("malformed proof: not a JSON object")
    result.kind = proof.get("kind")
    try:
        if proof.get("format") != PROOF_FORMAT:
            raise _Malformed(f"format is not {PROOF_FORMAT!r}")
        identity = _digest(proof.get("ledger_id"), "ledger_id").hex()
        if result.kind == INCLUSION:
            trees = _check_inclusion(proof, line, result)
        elif result.kind == CONSISTENCY:
            trees = _check_consistency(proof, result)
        else:
            raise _Malformed(f"kind is not {INCLUSION!r} or {CONSISTENCY!r}")
        if not result.ok:
            return result
        signed = _signed_trees(proof, identity, trees, checkpoint)
    except _Malformed as e:
        return result.fail(f"malformed proof: {e}")
    if isinstance(signed, str):
        return result.fail(signed)
    if public_key is None:
        if signed:
            result.checked.append("checkpoint signature not checked (no public key given)")
        return result
    if not signed:
        return result.fail("the proof names no checkpoint whose signature could be checked")
    mine = key_id(public_key)
    for item in signed:
        name = f"checkpoint seq {item.seq}" if item.seq is not None else "the checkpoint"
        if item.key_id != mine:
            return result.fail(f"{name} is signed by key {item.key_id}, not by key {mine}")
        if not item.signature_ok(public_key):
            return result.fail(f"{name}: signature does not verify with key {mine}")
        result.checked.append(f"{name} (size {item.size}) signed by key {mine}")
    return result


def _check_inclusion(
    proof: dict[str, Any], line: bytes | None, result: ProofCheck
) -> list[tuple[int, str]]:
    seq, size = _int(proof, "seq"), _int(proof, "size")
    leaf = _digest(proof.get("leaf_hash"), "leaf_hash")
    root = _digest(proof.get("root"), "root")
    path = _path(proof)
    if seq > size:
        result.fail(f"seq {seq} is beyond the tree size {size}")
        return []
    if line is not None:
        found = line_seq(line)
        if found != seq:
            result.fail(f"the line is event {found}, the proof is for event {seq}")
            return []
        if leaf_hash(line) != leaf:
            result.fail("the line does not hash to the proof's leaf_hash")
            return []
        result.checked.append(f"the line hashes to leaf_hash of event {seq}")
    if not verify_inclusion(leaf, seq - 1, size, path, root):
        result.fail(f"the path does not lead from event {seq}'s leaf to the root")
        return []
    result.checked.append(f"event {seq} is in the tree of size {size} with root {root.hex()}")
    return [(size, root.hex())]


def _check_consistency(proof: dict[str, Any], result: ProofCheck) -> list[tuple[int, str]]:
    old, new = _int(proof, "old_size"), _int(proof, "new_size")
    old_root = _digest(proof.get("old_root"), "old_root")
    new_root = _digest(proof.get("new_root"), "new_root")
    path = _path(proof)
    if old > new:
        result.fail(f"old_size {old} is larger than new_size {new}")
        return []
    if not verify_consistency(old, new, old_root, new_root, path):
        result.fail(f"the path does not show the tree of size {old} is a prefix of size {new}")
        return []
    result.checked.append(f"the tree of size {old} is a prefix of the tree of size {new}")
    return [(old, old_root.hex()), (new, new_root.hex())]


def _signed_trees(
    proof: dict[str, Any],
    identity: str,
    trees: list[tuple[int, str]],
    given: Checkpoint | None,
) -> list[Checkpoint] | str:
    """The checkpoints to check signatures of, or why the given one does not fit the proof."""
    if given is not None:
        if given.ledger_id != identity:
            return f"the checkpoint is of ledger {given.ledger_id}, the proof of {identity}"
        if (given.size, given.root) not in trees:
            sizes = " or ".join(str(size) for size, _ in trees)
            if given.size in {size for size, _ in trees}:
                return f"the checkpoint's root for size {given.size} differs from the proof's"
            return f"the checkpoint covers size {given.size}, the proof size {sizes}"
        return [given]
    names = ["checkpoint"] if len(trees) == 1 else ["old_checkpoint", "new_checkpoint"]
    found: list[Checkpoint] = []
    for name, (size, root) in zip(names, trees, strict=True):
        ref = proof.get(name)
        if ref is None:
            continue
        if not isinstance(ref, dict):
            raise _Malformed(f"{name} is not an object")
        seq = ref.get("seq")
        if seq is not None and (not isinstance(seq, int) or isinstance(seq, bool)):
            raise _Malformed(f"{name}.seq is not an integer")
        key, signature = ref.get("key_id"), ref.get("signature")
        if not isinstance(key, str) or not isinstance(signature, str):
            raise _Malformed(f"{name} lacks key_id or signature")
        found.append(Checkpoint(identity, size, root, key, signature, seq))
    return found
