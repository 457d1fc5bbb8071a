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


def intent(
    led: Ledger, batch: str, index: int, name: str, kind: str = "trial", **params: Any
) -> int:
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


def run_main(capsys: Any, *args: str) -> tuple[int, str, str]:
    """Run the CLI's ``main`` in-process: (exit code, stdout, stderr)."""
    from commands.cli import main

    capsys.readouterr()
    try:
        returned = main(list(args))  # a command's ctx.exit(N) comes back as N
        code = returned if isinstance(returned, int) else 0
    except SystemExit as e:
        code = int(e.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(root: Path) -> dict[str, bytes]:
    """Every projection output file under ``root`` (batches/, gaps/) by relative path."""
    files: dict[str, bytes] = {}
    for folder in ("batches", "gaps"):
        for path in sorted((root / folder).rglob("*")):
            if path.is_file():
                files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def scan_jobs(users: list[tuple[str, str, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """Job dicts for ``run_batch(kind="scan")`` from (user, status, entries) triples."""
    return [
        {
            "name": user,
            "params": {"user": user},
            "status": status,
            "result": {"user": user, "hypothesis_candidates": entries},
            "error": ("ScanFailed", f"scan of {user} failed") if status != "ok" else None,
        }
        for user, status, entries in users
    ]
