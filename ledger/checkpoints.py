"""Signed checkpoints: an Ed25519 signature over the Merkle root of events ``1..size``.

A ``ledger.checkpoint`` event records ``ledger_id``, ``size``, ``root``, ``key_id`` and
``signature``; the signature is over the bytes of ``signed_text`` (docs/FORMAT.md, "Merkle
tree, checkpoints, proofs"):

    sweepledger-checkpoint/v1\\n<ledger_id>\\n<size>\\n<root hex>\\n

- ``ledger_id`` is the hash of event 1. It is fixed once the first event is written, differs
  between ledgers (event 1 carries its commit time to the microsecond), survives sealing, and
  anyone holding a proof or event 1 can know it; so a signature for one ledger never passes
  for another, and rewriting event 1 changes it.
- ``key_id`` is the first 16 hex digits of SHA-256 of the raw 32-byte public key; it says which
  key to check a signature with, it is not a security boundary.

``verify_checkpoints`` recomputes every checkpoint's root from the events themselves (never from
the derived ``merkle/`` index), so rewriting history under a checkpoint -- even re-chaining
every later hash and the commit log -- fails: the forger cannot sign the new root.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.encoding import decode_fields
from ledger.errors import CheckpointRefused, KeyFileError
from ledger.merkle_index import CHECKPOINT_TYPE, MerkleIndex, fresh_tree
from ledger.store import Ledger
from ledger.verify import VerifyReport
from ledger.writer import Head

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

SIGNED_TEXT_TAG = "sweepledger-checkpoint/v1"
KEY_ID_HEX_LEN = 16
PRIVATE_KEY_SUFFIX = ".key"
PUBLIC_KEY_SUFFIX = ".pub"
PRIVATE_KEY_MODE = 0o600


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head; ``seq`` is the checkpoint event's seq (None when not known)."""

    ledger_id: str
    size: int
    root: str
    key_id: str
    signature: str
    seq: int | None = None

    @classmethod
    def from_line(cls, line: bytes) -> Checkpoint:
        """The checkpoint a stored ``ledger.checkpoint`` line records.

        Raises:
            ValueError: the line is not a valid checkpoint event.
        """
        fields = decode_fields(line)
        if fields.get("type") != CHECKPOINT_TYPE:
            raise ValueError(f"event {fields.get('seq')} is not a {CHECKPOINT_TYPE} event")
        return cls.from_dict({**fields["data"], "seq": fields["seq"]})

    @classmethod
    def from_dict(cls, obj: Any) -> Checkpoint:
        """A checkpoint from its JSON form: the fields of ``to_dict``, or a whole stored
        ``ledger.checkpoint`` event (as ``log --json`` prints it).

        Raises:
            ValueError: a field is missing or malformed.
        """
        from schemas import LedgerCheckpoint

        if not isinstance(obj, dict):
            raise ValueError("a checkpoint is a JSON object")
        seq = obj.get("seq")
        if obj.get("type") == CHECKPOINT_TYPE and isinstance(obj.get("data"), dict):
            obj = obj["data"]
        payload = {k: v for k, v in obj.items() if k != "seq"}
        try:
            model = LedgerCheckpoint.model_validate(payload)
        except Exception as e:  # pydantic's ValidationError, wrapped for the caller
            raise ValueError(f"not a checkpoint: {e}".splitlines()[0]) from e
        if seq is not None and (not isinstance(seq, int) or isinstance(seq, bool) or seq < 1):
            raise ValueError("checkpoint seq must be a positive integer")
        return cls(model.ledger_id, model.size, model.root, model.key_id, model.signature, seq)

    def payload(self) -> dict[str, Any]:
        """The ``data`` of the ``ledger.checkpoint`` event."""
        return {k: v for k, v in asdict(self).items() if k != "seq"}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def signature_ok(self, public_key: Ed25519PublicKey) -> bool:
        """Whether ``signature`` is ``public_key``'s signature of this checkpoint's text."""
        from cryptography.exceptions import InvalidSignature

        try:
            public_key.verify(
                bytes.fromhex(self.signature), signed_text(self.ledger_id, self.size, self.root)
            )
        except (InvalidSignature, ValueError):
            return False
        return True


def signed_text(ledger_id: str, size: int, root: str) -> bytes:
    """The exact bytes a checkpoint signs (``root`` and ``ledger_id`` lowercase hex)."""
    return f"{SIGNED_TEXT_TAG}\n{ledger_id}\n{size}\n{root}\n".encode("ascii")


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 16 hex digits of SHA-256 of the raw 32-byte public key."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:KEY_ID_HEX_LEN]


def generate_keys(prefix: Path) -> tuple[Path, Path]:
    """Write a new Ed25519 key pair: ``PREFIX.key`` (PKCS#8 PEM, mode 0600) and ``PREFIX.pub``
    (SubjectPublicKeyInfo PEM). Returns both paths.

    Raises:
        KeyFileError: either file exists already (nothing is written) or cannot be written.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    private_path = prefix.with_name(prefix.name + PRIVATE_KEY_SUFFIX)
    public_path = prefix.with_name(prefix.name + PUBLIC_KEY_SUFFIX)
    for path in (private_path, public_path):
        if path.exists():
            raise KeyFileError(f"{path} exists; refusing to overwrite a key")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    public_pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    try:
        _write_new(private_path, private_pem, PRIVATE_KEY_MODE)
        _write_new(public_path, public_pem, 0o644)
    except FileExistsError as e:
        raise KeyFileError(f"{e.filename} exists; refusing to overwrite a key") from e
    except OSError as e:
        raise KeyFileError(f"cannot write {e.filename}: {e.strerror}") from e
    return private_path, public_path


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` (never replacing a file) with ``mode`` from the start, write, fsync."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # the umask must not widen or narrow it
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in a PEM file.

    Raises:
        KeyFileError: unreadable, or not an unencrypted Ed25519 private key.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    data = _read_key(path)
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as e:
        raise KeyFileError(f"{path} is not an unencrypted PEM private key") from e
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key in a PEM file.

    Raises:
        KeyFileError: unreadable, or not an Ed25519 public key.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    data = _read_key(path)
    try:
        key = load_pem_public_key(data)
    except (ValueError, TypeError) as e:
        raise KeyFileError(f"{path} is not a PEM public key") from e
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path} is not an Ed25519 public key")
    return key


def _read_key(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise KeyFileError(f"cannot read key file {path}: {e.strerror}") from e


def ledger_id(ledger: Ledger) -> str | None:
    """The hash of event 1, which names the ledger in every checkpoint; None when empty."""
    return ledger.hash_at(1)


def make_checkpoint(ledger: Ledger, private_key: Ed25519PrivateKey) -> Checkpoint:
    """Append a ``ledger.checkpoint`` signing events ``1..head``, head taken under the ledger
    lock so that the checkpoint event directly follows the events it covers.

    Raises:
        CheckpointRefused: the ledger is empty.
    """
    made: list[Checkpoint] = []

    def build(head: Head) -> list[dict[str, Any]]:
        if head.seq == 0:
            raise CheckpointRefused(f"the ledger at {ledger.root} is empty: nothing to sign")
        with MerkleIndex.open(ledger, head.seq) as index:
            root = index.root(head.seq).hex()
        identity = ledger_id(ledger)
        assert identity is not None  # head.seq >= 1
        signature = private_key.sign(signed_text(identity, head.seq, root)).hex()
        checkpoint = Checkpoint(
            identity, head.seq, root, key_id(private_key.public_key()), signature
        )
        made.append(checkpoint)
        return [{"type": CHECKPOINT_TYPE, "data": checkpoint.payload()}]

    (receipt,) = ledger.append_with(build)
    return Checkpoint(**{**made[0].to_dict(), "seq": receipt.seq})


def indexed_checkpoints(index: MerkleIndex) -> list[Checkpoint]:
    """The checkpoints among the events the index holds, oldest first."""
    return [Checkpoint.from_line(line) for line in index.checkpoint_lines]


def checkpoint_at_size(checkpoints: list[Checkpoint], size: int) -> Checkpoint | None:
    """The latest checkpoint covering exactly ``size`` events, if any."""
    matching = [c for c in checkpoints if c.size == size]
    return matching[-1] if matching else None


def verify_signed(
    ledger: Ledger,
    public_key: Ed25519PublicKey,
    anchor: str | Head | None = None,
    deep: bool = False,
) -> VerifyReport:
    """``Ledger.verify``, then, if the events are intact, ``verify_checkpoints``."""
    report = ledger.verify(anchor=anchor, deep=deep)
    if report.ok:
        verify_checkpoints(ledger, public_key, report)
    return report


def verify_checkpoints(ledger: Ledger, public_key: Ed25519PublicKey, report: VerifyReport) -> None:
    """Check every checkpoint among the verified events against a tree built afresh from them.

    Fails ``report`` (naming the checkpoint's seq) when a checkpoint's root is not the root of
    events ``1..size`` (history under it changed), names another ledger, or carries this key's
    id with a signature that does not verify; and when no checkpoint is signed by this key.
    Checkpoints signed by other keys are listed in ``report.warnings`` as not checked.
    """
    head_seq = int(report.head.split(":", 1)[0])
    mine = key_id(public_key)
    report.key_id, report.checkpoints_checked = mine, 0
    identity = ledger_id(ledger)
    with tempfile.TemporaryDirectory(prefix="sweepledger-verify-") as tmp:
        store, lines = fresh_tree(ledger, Path(tmp) / "merkle.bin", head_seq)
        with store:
            others: list[str] = []
            for line in lines:
                seq = decode_fields(line)["seq"]
                try:
                    checkpoint = Checkpoint.from_line(line)
                except ValueError as e:
                    report.fail(seq, f"checkpoint is malformed: {e}", None)
                    return
                problem = _problem(checkpoint, seq, identity, store.root, mine, public_key)
                if problem is not None:
                    report.fail(seq, f"checkpoint seq {seq}: {problem}", None)
                    return
                if checkpoint.key_id == mine:
                    report.checkpoints_checked = (report.checkpoints_checked or 0) + 1
                else:
                    others.append(f"seq {seq} (key {checkpoint.key_id})")
                    report.warnings.append(
                        f"checkpoint seq {seq} is signed by key {checkpoint.key_id}: "
                        f"not checked by key {mine}"
                    )
    if report.checkpoints_checked == 0:
        found = f"; checkpoints found: {', '.join(others)}" if others else ""
        report.fail(None, f"no checkpoint is signed by key {mine}{found}", None)


def _problem(
    checkpoint: Checkpoint,
    seq: int,
    identity: str | None,
    root_of: Any,
    mine: str,
    public_key: Ed25519PublicKey,
) -> str | None:
    if checkpoint.size >= seq:
        return f"covers {checkpoint.size} events but is event {seq}"
    if checkpoint.ledger_id != identity:
        return f"names ledger {checkpoint.ledger_id}, this ledger is {identity}"
    if root_of(checkpoint.size).hex() != checkpoint.root:
        return (
            f"events 1..{checkpoint.size} no longer hash to its root {checkpoint.root} "
            "(history under the checkpoint was changed)"
        )
    if checkpoint.key_id == mine and not checkpoint.signature_ok(public_key):
        return f"signature does not verify with key {mine}"
    return None
