"""Pydantic models for every payload sweepledger writes, and the event catalog.

Imports only pydantic and the standard library. Names are loaded on first use (PEP 562): the
read side needs only ``KINDS``, ``STATUSES`` and the versions (``schemas.versions``), and
importing the models costs ~0.17 s, a third of an incremental rebuild's budget.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from schemas.versions import KINDS, STATUSES

if TYPE_CHECKING:
    from schemas.budgets import DEFAULT_BUDGETS, Budgets, Tier, budgets_from_data
    from schemas.envelope import Event, NewEvent
    from schemas.errors import (
        CHECK_FAILED,
        USER_ERROR,
        BudgetsInvalid,
        ManifestInvalid,
        PayloadInvalid,
        SchemaError,
        SweepledgerError,
        UnknownEventType,
    )
    from schemas.gates import (
        Baselines,
        Beat,
        Gates,
        GatesInvalid,
        MetricGate,
        ParityGate,
        load_gates,
    )
    from schemas.leaderboard import Denominators, HypothesisCandidatesFile, HypothesisEntry
    from schemas.manifest import (
        COMMAND_KEYS,
        EXECUTORS,
        JobSpec,
        Manifest,
        ManifestConfig,
        MatrixSpec,
        OutputFile,
        StudySpec,
    )
    from schemas.payloads import (
        ArtifactRecorded,
        BatchFinished,
        BatchResumed,
        BatchStarted,
        CandidateProposed,
        CodeVersion,
        ErrorInfo,
        Intent,
        LedgerCheckpoint,
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

# Where the names of ``__all__`` live, searched in this order on first use.
_MODULES = (
    "schemas.errors",
    "schemas.payloads",
    "schemas.registry",
    "schemas.envelope",
    "schemas.leaderboard",
    "schemas.gates",
    "schemas.manifest",
    "schemas.budgets",
)


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use and cache the name here."""
    if name in __all__:
        for module in _MODULES:
            value = getattr(importlib.import_module(module), name, _MISSING)
            if value is not _MISSING:
                globals()[name] = value
                return value
    raise AttributeError(f"module 'schemas' has no attribute {name!r}")


_MISSING = object()

__all__ = [
    "CATALOG",
    "CHECK_FAILED",
    "COMMAND_KEYS",
    "DEFAULT_BUDGETS",
    "EXECUTORS",
    "KINDS",
    "STATUSES",
    "USER_ERROR",
    "ArtifactRecorded",
    "Baselines",
    "BatchFinished",
    "BatchResumed",
    "BatchStarted",
    "Beat",
    "Budgets",
    "BudgetsInvalid",
    "CandidateProposed",
    "CodeVersion",
    "Denominators",
    "ErrorInfo",
    "Event",
    "Gates",
    "GatesInvalid",
    "HypothesisCandidatesFile",
    "HypothesisEntry",
    "Intent",
    "JobSpec",
    "LedgerCheckpoint",
    "LedgerRecovered",
    "LedgerSealed",
    "Manifest",
    "ManifestConfig",
    "ManifestInvalid",
    "MatrixSpec",
    "MetricGate",
    "NewEvent",
    "Outcome",
    "OutputFile",
    "ParityGate",
    "Payload",
    "PayloadInvalid",
    "PromotionDecided",
    "SchemaError",
    "SegmentInfo",
    "StudySpec",
    "SweepledgerError",
    "Tier",
    "UnknownEventType",
    "budgets_from_data",
    "export_json_schemas",
    "is_free_type",
    "load_gates",
    "model_for",
    "parse_payload",
    "upgrade",
    "validate_fields",
    "validate_payloads",
    "version_for",
]
