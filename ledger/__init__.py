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
    InputFileRefused,
    InvalidEvent,
    InvalidInput,
    LedgerCorrupt,
    LedgerDamaged,
    LedgerError,
    LedgerNotFound,
    LockTimeout,
    StorageRefused,
)
from ledger.evidence import EvidenceReport, verify_evidence
from ledger.files import read_input_file
from ledger.json_text import JSONTextError, loads_text
from ledger.jsonl_input import read_jsonl
from ledger.prepare import check_events
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
    "InputFileRefused",
    "InvalidEvent",
    "InvalidInput",
    "JSONTextError",
    "Ledger",
    "LedgerCorrupt",
    "LedgerDamaged",
    "LedgerError",
    "LedgerNotFound",
    "LockTimeout",
    "Receipt",
    "RepairReport",
    "SealReport",
    "StorageRefused",
    "VerifyReport",
    "canonical_json",
    "check_events",
    "loads",
    "loads_lines",
    "loads_text",
    "parse_anchor",
    "read_input_file",
    "read_jsonl",
    "verify_evidence",
]
