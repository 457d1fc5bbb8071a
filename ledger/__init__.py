"""The event store: encoding, hash chain, append, read, verify, seal, repair, blob store.

Public API: ``Ledger`` (open, append, read, arrow, head, verify, repair, seal), ``Receipt``,
``Head``, ``VerifyReport``, ``BlobStore``, ``verify_evidence``, the Merkle tree over the events
(``MerkleIndex``, ``tree_root``, ``inclusion_proof``, ``consistency_proof``, ``check_proof``),
signed checkpoints (``generate_keys``, ``make_checkpoint``, ``verify_signed``) and the error
classes.
"""

from __future__ import annotations

from ledger.blobs import BlobStore
from ledger.chain import GENESIS_HASH
from ledger.checkpoints import (
    Checkpoint,
    generate_keys,
    load_private_key,
    load_public_key,
    make_checkpoint,
    verify_signed,
)
from ledger.encoding import MAX_EVENT_BYTES, canonical_json, loads, loads_lines
from ledger.errors import (
    BadAnchor,
    BatchNotFound,
    BlobNotFound,
    CheckpointRefused,
    EventTooLarge,
    InputFileRefused,
    InvalidEvent,
    InvalidInput,
    KeyFileError,
    LedgerCorrupt,
    LedgerDamaged,
    LedgerError,
    LedgerNotFound,
    LockTimeout,
    ProofUnavailable,
    ReadRaced,
    StorageRefused,
)
from ledger.evidence import EvidenceReport, verify_evidence
from ledger.files import read_input_file
from ledger.json_text import JSONTextError, loads_text
from ledger.jsonl_input import read_jsonl
from ledger.merkle_index import MerkleIndex
from ledger.prepare import check_events
from ledger.proofs import ProofCheck, check_proof, consistency_proof, inclusion_proof, tree_root
from ledger.sealing import SealReport
from ledger.store import Ledger, RepairReport
from ledger.verify import VerifyReport, parse_anchor
from ledger.writer import Head, Receipt

__all__ = [
    "GENESIS_HASH",
    "MAX_EVENT_BYTES",
    "BadAnchor",
    "BatchNotFound",
    "BlobNotFound",
    "BlobStore",
    "Checkpoint",
    "CheckpointRefused",
    "EventTooLarge",
    "EvidenceReport",
    "Head",
    "InputFileRefused",
    "InvalidEvent",
    "InvalidInput",
    "JSONTextError",
    "KeyFileError",
    "Ledger",
    "LedgerCorrupt",
    "LedgerDamaged",
    "LedgerError",
    "LedgerNotFound",
    "LockTimeout",
    "MerkleIndex",
    "ProofCheck",
    "ProofUnavailable",
    "ReadRaced",
    "Receipt",
    "RepairReport",
    "SealReport",
    "StorageRefused",
    "VerifyReport",
    "canonical_json",
    "check_events",
    "check_proof",
    "consistency_proof",
    "generate_keys",
    "inclusion_proof",
    "load_private_key",
    "load_public_key",
    "loads",
    "loads_lines",
    "loads_text",
    "make_checkpoint",
    "parse_anchor",
    "read_input_file",
    "read_jsonl",
    "tree_root",
    "verify_evidence",
    "verify_signed",
]
