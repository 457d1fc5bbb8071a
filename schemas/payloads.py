"""Typed payloads (the ``data`` of an event) for every v1 event type in the catalog."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Status = Literal["ok", "empty", "error", "timeout", "crashed", "interrupted", "skipped"]
# A built-in generator, or ``<library>:<sampler>`` for one driven by another library
# (``study --sampler optuna:NSGAIISampler`` records ``optuna:NSGAIISampler``).
ExternalOrigin = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*:[A-Za-z0-9_.]+$")]
Origin = Literal["random", "mutation", "screen"] | ExternalOrigin


class Payload(BaseModel):
    """Base of every payload model: unknown fields and loosely typed values are refused.

    Strict mode: ``true`` or ``"5"`` is not a number (an int is still a valid float).
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class CodeVersion(Payload):
    """The code a batch ran: the git commit of the working directory, if any."""

    git_commit: str | None = None
    dirty: bool = False


class BatchStarted(Payload):
    """``batch.started``: a batch of jobs begins."""

    name: str
    manifest: dict[str, Any]
    manifest_sha256: str
    jobs: int = Field(ge=0)
    executor: str
    workers: int = Field(ge=1)
    code: CodeVersion = Field(default_factory=CodeVersion)
    argv: list[str] = Field(default_factory=list)
    host: str | None = None
    pid: int | None = None
    process_start: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    sources: list[dict[str, Any]] = Field(default_factory=list)


class BatchFinished(Payload):
    """``batch.finished``: a batch has ended (possibly interrupted)."""

    attempted: int = Field(ge=0)
    succeeded: int = Field(ge=0)
    failed: int = Field(ge=0)
    duration_s: float = Field(ge=0)
    interrupted: bool = False


class BatchResumed(Payload):
    """``batch.resumed``: a batch is continued after an interruption."""

    resumed_from: int = Field(ge=0, description="seq of the batch.started event resumed")
    skipped: int = Field(ge=0)
    remaining: int = Field(ge=0)
    host: str | None = None
    pid: int | None = None
    process_start: str | None = None


class Intent(Payload):
    """``<kind>.intent``: a job is about to start.

    A callable job names its ``callable``; a command job has ``callable`` null and records
    the ``command`` it runs (the rendered argv) and its resolved ``env`` overlay. Both fields
    are optional, so intents written before command jobs existed stay valid v1 payloads.
    """

    job_id: str
    index: int = Field(ge=0)
    name: str
    callable: str | None
    params: dict[str, Any] = Field(default_factory=dict)
    seed: int | None = None
    command: list[str] | None = None
    env: dict[str, str] | None = None


class ErrorInfo(Payload):
    """What went wrong in a job that did not end ``ok``."""

    type: str
    message: str
    traceback: str | None = None


class Outcome(Payload):
    """``<kind>.outcome``: a job has ended; ``cause`` is its intent's seq."""

    job_id: str
    status: Status
    duration_s: float = Field(ge=0)
    metrics: dict[str, float | None] = Field(default_factory=dict)
    non_finite: list[str] = Field(default_factory=list)
    result: Any = None
    artifacts: list[str] = Field(default_factory=list)
    error: ErrorInfo | None = None


class CandidateProposed(Payload):
    """``candidate.proposed``: a configuration worth trying was generated or screened."""

    candidate_id: str
    study: str
    params: dict[str, Any] = Field(default_factory=dict)
    origin: Origin
    parents: list[str] = Field(default_factory=list)
    generation: int = Field(default=0, ge=0)
    seed: int | None = None
    score: float | None = None
    reason: str | None = None
    non_finite: list[str] = Field(default_factory=list)


class ArtifactRecorded(Payload):
    """``artifact.recorded``: a file was stored in the content-addressed blob store."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    name: str
    media_type: str = "application/octet-stream"
    job_id: str | None = None


class PromotionDecided(Payload):
    """``promotion.decided``: a candidate was promoted for a budget tier.

    ``trial_id`` names the trial the decision rests on; ``outcome_seq``/``outcome_hash`` are
    the seq and hash of its outcome event, ``job_id`` its job. ``candidate_hash`` is the
    SHA-256 of the tier's preset (``.env``) file, whose text follows from this payload alone.
    ``suites_passed`` maps each suite to whether it passed; ``limits`` are the tier's budget.
    """

    study: str
    tier: str
    candidate_id: str
    trial_id: str
    candidate_hash: str
    metrics: dict[str, float | None] = Field(default_factory=dict)
    non_finite: list[str] = Field(default_factory=list)
    config: dict[str, Any] = Field(default_factory=dict)
    env_overlay: dict[str, str] = Field(default_factory=dict)
    seeds: list[int] = Field(default_factory=list)
    commands_run: list[str] = Field(default_factory=list)
    evidence_verified: bool = False
    suites_passed: dict[str, bool] = Field(default_factory=dict)
    git_commit: str | None = None
    job_id: str | None = None
    outcome_seq: int | None = Field(default=None, ge=1)
    outcome_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    limits: dict[str, float] = Field(default_factory=dict)


class LedgerRecovered(Payload):
    """``ledger.recovered``: an uncommitted tail was cut from the live file (and kept), or the
    commit log was rebuilt from the live file's hash chain (``repair --trust-chain``)."""

    truncated_bytes: int = Field(ge=0)
    truncated_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    file: str | None = None
    commit_log_file: str | None = None
    trusted_chain: bool | None = None


class LedgerCheckpoint(Payload):
    """``ledger.checkpoint``: a signed Merkle tree head over events ``1..size``.

    ``signature`` is the Ed25519 signature (128 lowercase hex) of the text
    ``sweepledger-checkpoint/v1\n<ledger_id>\n<size>\n<root>\n``; ``ledger_id`` is the hash of
    event 1 and ``key_id`` the first 16 hex digits of SHA-256 of the raw 32-byte public key
    (docs/FORMAT.md, "Merkle tree, checkpoints, proofs").
    """

    ledger_id: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=1)
    root: str = Field(pattern=r"^[0-9a-f]{64}$")
    key_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    signature: str = Field(pattern=r"^[0-9a-f]{128}$")


class SegmentInfo(Payload):
    """One sealed Parquet segment: its seq range and the digest of its file."""

    segment: str
    first_seq: int = Field(ge=1)
    last_seq: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class LedgerSealed(Payload):
    """``ledger.sealed``: a prefix of the live file moved into a Parquet segment.

    ``segments`` lists every segment of the ledger after this seal, oldest first, so the
    first event of the live file always names the digest of every sealed file.
    """

    segment: str
    first_seq: int = Field(ge=1)
    last_seq: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    segments: list[SegmentInfo] = Field(default_factory=list)
