"""Helpers for projection tests: write realistic batches of events into a real ledger."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ledger import Ledger
from schemas import NewEvent


def job_id_of(name: str, params: dict[str, Any]) -> str:
    text = json.dumps({"name": name, "params": params}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def start_batch(
    led: Ledger, batch: str, jobs: int, *, host: str | None = None, pid: int | None = None
) -> int:
    started = {
        "name": batch,
        "manifest": {"name": batch},
        "manifest_sha256": "0" * 64,
        "jobs": jobs,
        "executor": "process",
        "workers": 2,
        "host": host,
        "pid": pid,
    }
    return led.append([NewEvent(type="batch.started", data=started, batch=batch)])[0].seq


def finish_batch(led: Ledger, batch: str, attempted: int, succeeded: int) -> int:
    data = {
        "attempted": attempted,
        "succeeded": succeeded,
        "failed": attempted - succeeded,
        "duration_s": 1.5,
        "interrupted": False,
    }
    return led.append([NewEvent(type="batch.finished", data=data, batch=batch)])[0].seq


def intent(led: Ledger, batch: str, index: int, name: str, kind: str = "trial", **params: Any) -> int:
    data = {
        "job_id": job_id_of(name, params),
        "index": index,
        "name": name,
        "callable": "examples.work:evaluate",
        "params": params,
        "seed": index,
    }
    ev = NewEvent(type=f"{kind}.intent", data=data, batch=batch, key=f"{kind}/{data['job_id']}")
    return led.append([ev])[0].seq


def outcome(
    led: Ledger,
    cause: int | None,
    batch: str,
    job_id: str,
    status: str = "ok",
    kind: str = "trial",
    duration_s: float = 0.25,
    metrics: dict[str, float | None] | None = None,
    result: Any = None,
    error: tuple[str, str] | None = None,
) -> int:
    data: dict[str, Any] = {
        "job_id": job_id,
        "status": status,
        "duration_s": duration_s,
        "metrics": metrics or {},
        "result": result,
    }
    if error is not None:
        data["error"] = {"type": error[0], "message": error[1], "traceback": None}
    ev = NewEvent(type=f"{kind}.outcome", data=data, batch=batch, cause=cause)
    return led.append([ev])[0].seq


def run_batch(
    led: Ledger,
    batch: str,
    jobs: list[dict[str, Any]],
    kind: str = "trial",
    finish: bool = True,
) -> list[int]:
    """Append a whole batch in one go; each job dict has name, params, and outcome fields
    (status, metrics, duration_s, result, error). Returns the intent seqs."""
    start_batch(led, batch, len(jobs))
    seqs: list[int] = []
    ok = 0
    for index, job in enumerate(jobs):
        params = job.get("params", {})
        seq = intent(led, batch, index, job["name"], kind, **params)
        seqs.append(seq)
        if job.get("status") is None:
            continue
        ok += job["status"] == "ok"
        outcome(
            led,
            seq,
            batch,
            job_id_of(job["name"], params),
            status=job["status"],
            kind=kind,
            duration_s=job.get("duration_s", 0.25),
            metrics=job.get("metrics"),
            result=job.get("result"),
            error=job.get("error"),
        )
    if finish:
        finish_batch(led, batch, len(jobs), ok)
    return seqs


def open_ledger(root: Path) -> Ledger:
    return Ledger.open(root, create=True)
