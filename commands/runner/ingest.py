"""Ingest existing scan run roots as a batch (seed 000's aggregate-only mode).

Each run root's ``hypothesis_candidates.json`` (and optional ``run_manifest.json``) becomes a
``scan.intent`` + ``scan.outcome`` pair. A run root that cannot be used becomes an ``error``
outcome with the reason, and the batch completes: a file that is not a regular file (a FIFO,
``/dev/zero``: never opened for reading), larger than an event (never read past the limit),
unreadable, not JSON or nested too deeply, or an outcome the ledger would refuse (too large
once encoded). Every event is checked before the first is written, so a batch is never left
half-written. The batch's ``batch.started`` lists every source file with its sha256.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from commands.runner.errors import IngestError
from commands.runner.hostinfo import code_version, host_name, process_start
from ledger import (
    MAX_EVENT_BYTES,
    InputFileRefused,
    InvalidEvent,
    Ledger,
    canonical_json,
    check_events,
    read_input_file,
)
from schemas import HypothesisCandidatesFile, NewEvent

CANDIDATES_FILE = "hypothesis_candidates.json"
RUN_MANIFEST_FILE = "run_manifest.json"
INGEST_CALLABLE = "sweepledger.ingest:run_root"


@dataclass
class RunRoot:
    """What was read from one run root: the user, its entries, or the error that stopped it."""

    path: Path
    user: str
    candidates: list[dict[str, Any]] = field(default_factory=list)
    run_manifest: dict[str, Any] | None = None
    error: tuple[str, str] | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)


def resolve_run_roots(source: Path) -> list[Path]:
    """Run roots from a directory (its immediate subdirectories, by name) or a list file
    (non-blank, non-``#`` lines; relative paths from the current directory).

    Raises:
        IngestError: ``source`` does not exist or names no run root.
    """
    if source.is_dir():
        roots = sorted((p for p in source.iterdir() if p.is_dir()), key=lambda p: p.name)
    elif source.is_file():
        try:
            lines = source.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise IngestError(f"cannot read run-roots list {source}: {e}") from e
        roots = [Path(s) for s in (line.strip() for line in lines) if s and not s.startswith("#")]
    else:
        raise IngestError(f"run-roots path {source} does not exist")
    if not roots:
        raise IngestError(f"no run roots found in {source}")
    return roots


def _source(path: Path, data: bytes) -> dict[str, Any]:
    return {"path": _text(str(path)), "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def _load_json(path: Path, root: RunRoot) -> Any:
    """Parse a run-root file, read at most ``MAX_EVENT_BYTES`` + 1 bytes of a regular file."""
    data = read_input_file(path, MAX_EVENT_BYTES)
    root.sources.append(_source(path, data))
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _text(name: str) -> str:
    """A file name as UTF-8 text (undecodable bytes written as ``\\xff``)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def read_run_root(path: Path) -> RunRoot:
    """Read one run root; problems are recorded in ``error``, never raised."""
    root = RunRoot(path=path, user=_text(path.name))
    target = path / CANDIDATES_FILE
    try:
        raw = _load_json(target, root)
        if isinstance(raw, list):
            raw = {"candidates": raw}
        parsed = HypothesisCandidatesFile.model_validate(raw)
        root.user = parsed.user or path.name
        root.candidates = [e.model_dump(exclude_none=True) for e in parsed.candidates]
        manifest = path / RUN_MANIFEST_FILE
        if manifest.is_file():
            target = manifest
            loaded = _load_json(manifest, root)
            root.run_manifest = loaded if isinstance(loaded, dict) else {"value": loaded}
    except InputFileRefused as e:
        root.error = ("RunRootUnreadable", str(e))
    except OSError as e:
        root.error = ("RunRootUnreadable", f"cannot read {target}: {e.strerror or e}")
    except (ValueError, UnicodeDecodeError) as e:
        root.error = ("RunRootInvalid", f"invalid {target}: {_first_error(e)}")
    return root


def _outcome(root: RunRoot, job_id: str) -> dict[str, Any]:
    """The ``scan.outcome`` payload of a run root: ok with its candidates, or its error."""
    result = {
        "user": root.user,
        "run_root": _text(str(root.path)),
        "hypothesis_candidates": [] if root.error else root.candidates,
        "run_manifest": None if root.error else root.run_manifest,
    }
    outcome: dict[str, Any] = {
        "job_id": job_id,
        "duration_s": 0.0,
        "status": "error" if root.error else "ok",
        "result": result,
    }
    if root.error:
        outcome["error"] = {"type": root.error[0], "message": root.error[1], "traceback": None}
    return outcome


def _checked_outcome(root: RunRoot, event: NewEvent, batch: str) -> NewEvent:
    """The outcome event of ``root``; an error outcome when the ledger would refuse it."""

    def as_event(data: dict[str, Any]) -> NewEvent:
        return NewEvent(type="scan.outcome", data=data, batch=batch, key=event.key)

    outcome = as_event(_outcome(root, event.data["job_id"]))
    try:
        check_events([outcome])
    except InvalidEvent as e:
        root.error = ("RunRootRefused", f"{root.path}: its outcome is refused: {e.detail}")
        outcome = as_event(_outcome(root, event.data["job_id"]))
    return outcome


def _first_error(e: Exception) -> str:
    if isinstance(e, ValidationError):
        first = e.errors(include_url=False)[0]
        return ".".join(str(p) for p in first["loc"]) + f": {first['msg']}"
    return str(e).splitlines()[0]


def _job_id(params: dict[str, Any]) -> str:
    return hashlib.sha256(
        canonical_json({"callable": INGEST_CALLABLE, "params": params})
    ).hexdigest()[:16]


def _batch_exists(ledger: Ledger, batch: str) -> bool:
    return next(iter(ledger.read(types=["batch.started"], batch=batch)), None) is not None


def ingest_run_roots(root: Path, source: Path, batch_id: str | None = None) -> tuple[str, int, int]:
    """Record the run roots under ``source`` as a new batch; returns (batch, ok, failed).

    Raises:
        IngestError: bad source, or ``batch_id`` already names a batch in the ledger.
    """
    paths = resolve_run_roots(source)
    ledger = Ledger.open(root, create=True)
    batch = batch_id or uuid.uuid4().hex
    if _text(batch) != batch:
        raise IngestError(f"batch id {batch!r} is not UTF-8 text (nothing was written)")
    if _batch_exists(ledger, batch):
        raise IngestError(f"batch {batch!r} already exists in the ledger")
    began = time.monotonic()
    roots = [read_run_root(p) for p in paths]
    listed = read_input_file(source, MAX_EVENT_BYTES) if source.is_file() else None
    sources = [_source(source, listed)] if listed is not None else []
    sources += [s for r in roots for s in r.sources]
    manifest = {
        "name": f"ingest {source.name}",
        "kind": "scan",
        "callable": INGEST_CALLABLE,
        "run_roots": [_text(str(p)) for p in paths],
        "source": _text(str(source)),
    }
    started = {
        "name": manifest["name"],
        "manifest": manifest,
        "manifest_sha256": hashlib.sha256(
            json.dumps(manifest, sort_keys=True).encode()
        ).hexdigest(),
        "jobs": len(roots),
        "executor": "ingest",
        "workers": 1,
        "code": code_version().model_dump(),
        "argv": list(sys.argv),
        "host": host_name(),
        "pid": os.getpid(),
        "process_start": process_start(),
        "sources": sources,
    }
    head = [NewEvent(type="batch.started", data=started, batch=batch)]
    for index, r in enumerate(roots):
        params = {"run_root": _text(str(r.path)), "user": r.user}
        intent = {
            "job_id": _job_id(params),
            "index": index,
            "name": r.user,
            "callable": INGEST_CALLABLE,
            "params": params,
        }
        head.append(NewEvent(type="scan.intent", data=intent, batch=batch, key=f"scan/{r.user}"))
    outcomes = [_checked_outcome(r, event, batch) for r, event in zip(roots, head[1:], strict=True)]
    failed = sum(1 for r in roots if r.error)
    finished = {
        "attempted": len(roots),
        "succeeded": len(roots) - failed,
        "failed": failed,
        "duration_s": round(time.monotonic() - began, 6),
        "interrupted": False,
    }
    tail = [*outcomes, NewEvent(type="batch.finished", data=finished, batch=batch)]
    try:
        check_events([*head, *tail])
    except InvalidEvent as e:
        raise IngestError(f"cannot ingest {source}: {e} (nothing was written)") from e
    receipts = ledger.append(head)
    answered = [
        outcome.model_copy(update={"cause": receipt.seq})
        for outcome, receipt in zip(outcomes, receipts[1:], strict=True)
    ]
    ledger.append([*answered, tail[-1]])
    return batch, len(roots) - failed, failed
