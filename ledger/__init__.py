"""The event store: encoding, hash chain, append, read, verify, seal, repair, blob store.

Public API: ``Ledger`` (open, append, read, arrow, head, verify, repair, seal), ``Receipt``,
``Head``, ``VerifyReport``, ``BlobStore``, ``verify_evidence`` and the error classes.
"""

from __future__ import annotations

from ledger.blobs import BlobStore
from ledger.chain import GENESIS_HASH
from ledger.encoding import MAX_EVENT_BYTES, canonical_json, loads, loads_lines
from ledger.errors import (
    BadAnchor,
    BatchNotFound,
    BlobNotFound,
    EventTooLarge,
    InvalidEvent,
    InvalidInput,
    LedgerCorrupt,
    LedgerDamaged,
    LedgerError,
    LedgerNotFound,
    LockTimeout,
)
from ledger.evidence import EvidenceReport, verify_evidence
from ledger.jsonl_input import read_jsonl
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
    "EventTooLarge",
    "EvidenceReport",
    "Head",
    "InvalidEvent",
    "InvalidInput",
    "Ledger",
    "LedgerCorrupt",
    "LedgerDamaged",
    "LedgerError",
    "LedgerNotFound",
    "LockTimeout",
    "Receipt",
    "RepairReport",
    "SealReport",
    "VerifyReport",
    "canonical_json",
    "loads",
    "loads_lines",
    "parse_anchor",
    "read_jsonl",
    "verify_evidence",
]
