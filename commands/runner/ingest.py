"""Ingest existing scan run roots as a batch (seed 000's aggregate-only mode).

Each run root's ``hypothesis_candidates.json`` (and optional ``run_manifest.json``) becomes a
``scan.intent`` + ``scan.outcome`` pair; an unreadable run root becomes an ``error`` outcome
naming the file. The batch's ``batch.started`` lists every source file with its sha256.
A ``NaN`` or ``Infinity`` in those files (Python's ``json`` writes them) is recorded as null
and its path in the outcome's ``result`` listed in ``non_finite``, as for any job.
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
from ledger import Ledger, canonical_json
from schemas import HypothesisCandidatesFile, NewEvent, null_non_finite

CANDIDATES_FILE = "hypothesis_candidates.json"
RUN_MANIFEST_FILE = "run_manifest.json"
CANDIDATES_KEY = "hypothesis_candidates"  # where a scan's result carries the entries
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
    non_finite: list[str] = field(default_factory=list)  # paths in the outcome's payload


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
    return {"path": str(path), "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def _load_json(path: Path, root: RunRoot) -> Any:
    data = path.read_bytes()
    root.sources.append(_source(path, data))
    return json.loads(data)


def read_run_root(path: Path) -> RunRoot:
    """Read one run root; problems are recorded in ``error``, never raised."""
    root = RunRoot(path=path, user=path.name)
    target = path / CANDIDATES_FILE
    try:
        raw = _load_json(target, root)
        if isinstance(raw, list):
            raw = {"candidates": raw}
        found: list[str] = []
        if isinstance(raw, dict):
            raw = {**raw, "candidates": null_non_finite(raw.get("candidates", []), "", found)}
        parsed = HypothesisCandidatesFile.model_validate(raw)
        root.user = parsed.user or path.name
        root.candidates = [e.model_dump(exclude_none=True) for e in parsed.candidates]
        for where in found:  # a nulled value stays in the record, as null
            _put_null(root.candidates, where.split("."))
        root.non_finite = [f"result.{CANDIDATES_KEY}.{p}" for p in found]
        manifest = path / RUN_MANIFEST_FILE
        if manifest.is_file():
            target = manifest
            loaded = _load_json(manifest, root)
            loaded = loaded if isinstance(loaded, dict) else {"value": loaded}
            root.run_manifest = null_non_finite(loaded, "result.run_manifest", root.non_finite)
    except OSError as e:
        root.error = ("RunRootUnreadable", f"cannot read {target}: {e.strerror or e}")
    except (ValueError, UnicodeDecodeError) as e:
        root.error = ("RunRootInvalid", f"invalid {target}: {_first_error(e)}")
    return root


def _put_null(obj: Any, path: list[str]) -> None:
    """Set the value at the dotted ``path`` of ``obj`` to None (a dropped key comes back)."""
    for part in path[:-1]:
        obj = obj[int(part)] if isinstance(obj, list) else obj.setdefault(part, {})
    if isinstance(obj, list):
        obj[int(path[-1])] = None
    else:
        obj[path[-1]] = None


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
    if _batch_exists(ledger, batch):
        raise IngestError(f"batch {batch!r} already exists in the ledger")
    began = time.monotonic()
    roots = [read_run_root(p) for p in paths]
    sources = [_source(source, source.read_bytes())] if source.is_file() else []
    sources += [s for r in roots for s in r.sources]
    manifest = {
        "name": f"ingest {source.name}",
        "kind": "scan",
        "callable": INGEST_CALLABLE,
        "run_roots": [str(p) for p in paths],
        "source": str(source),
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
        params = {"run_root": str(r.path), "user": r.user}
        intent = {
            "job_id": _job_id(params),
            "index": index,
            "name": r.user,
            "callable": INGEST_CALLABLE,
            "params": params,
        }
        head.append(NewEvent(type="scan.intent", data=intent, batch=batch, key=f"scan/{r.user}"))
    receipts = ledger.append(head)
    tail: list[NewEvent] = []
    for r, receipt, event in zip(roots, receipts[1:], head[1:], strict=True):
        result = {
            "user": r.user,
            "run_root": str(r.path),
            CANDIDATES_KEY: r.candidates,
            "run_manifest": r.run_manifest,
        }
        outcome: dict[str, Any] = {
            "job_id": event.data["job_id"],
            "duration_s": 0.0,
            "status": "error" if r.error else "ok",
            "result": result,
            "non_finite": r.non_finite,
        }
        if r.error:
            outcome["error"] = {"type": r.error[0], "message": r.error[1], "traceback": None}
        tail.append(
            NewEvent(
                type="scan.outcome", data=outcome, batch=batch, key=event.key, cause=receipt.seq
            )
        )
    failed = sum(1 for r in roots if r.error)
    finished = {
        "attempted": len(roots),
        "succeeded": len(roots) - failed,
        "failed": failed,
        "duration_s": round(time.monotonic() - began, 6),
        "interrupted": False,
    }
    tail.append(NewEvent(type="batch.finished", data=finished, batch=batch))
    ledger.append(tail)
    return batch, len(roots) - failed, failed
