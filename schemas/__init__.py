"""Pydantic models for every payload sweepledger writes, and the event catalog.

Imports only pydantic and the standard library.
"""

from __future__ import annotations

from schemas.envelope import Event, NewEvent
from schemas.errors import ManifestInvalid, PayloadInvalid, SchemaError, UnknownEventType
from schemas.leaderboard import (
    Denominators,
    HypothesisCandidatesFile,
    HypothesisEntry,
)
from schemas.manifest import EXECUTORS, JobSpec, Manifest, ManifestConfig, MatrixSpec
from schemas.payloads import (
    KINDS,
    STATUSES,
    ArtifactRecorded,
    BatchFinished,
    BatchResumed,
    BatchStarted,
    CandidateProposed,
    CodeVersion,
    ErrorInfo,
    Intent,
    LedgerRecovered,
    LedgerSealed,
    Outcome,
    Payload,
    PromotionDecided,
    SegmentInfo,
)
from schemas.registry import (
    CATALOG,
    export_json_schemas,
    is_free_type,
    model_for,
    parse_payload,
    upgrade,
    validate_fields,
    validate_payloads,
    version_for,
)

__all__ = [
    "CATALOG",
    "EXECUTORS",
    "KINDS",
    "STATUSES",
    "ArtifactRecorded",
    "BatchFinished",
    "BatchResumed",
    "BatchStarted",
    "CandidateProposed",
    "CodeVersion",
    "Denominators",
    "ErrorInfo",
    "Event",
    "HypothesisCandidatesFile",
    "HypothesisEntry",
    "Intent",
    "JobSpec",
    "LedgerRecovered",
    "LedgerSealed",
    "Manifest",
    "ManifestConfig",
    "ManifestInvalid",
    "MatrixSpec",
    "NewEvent",
    "Outcome",
    "Payload",
    "PayloadInvalid",
    "PromotionDecided",
    "SchemaError",
    "SegmentInfo",
    "UnknownEventType",
    "export_json_schemas",
    "is_free_type",
    "model_for",
    "parse_payload",
    "upgrade",
    "validate_fields",
    "validate_payloads",
    "version_for",
]
