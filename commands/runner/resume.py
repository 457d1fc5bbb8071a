"""``run --resume BATCH``: read a batch's history, check the manifest still matches it, pick
the jobs to run again, and answer the intents a killed driver left open.

``--resume latest`` names the batch most recently started under the manifest's name; an id the
ledger does not hold is refused with the closest ids it does hold.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from typing import Any

from commands.runner.errors import BatchStillRunning, ResumeMismatch
from commands.runner.hostinfo import host_name, process_start
from commands.runner.job_list import DIGEST_KEY, jobs_digest
from commands.runner.manifest import JobPlan, LoadedManifest
from ledger import BatchNotFound, Ledger
from ledger.processes import pid_started
from schemas import BatchResumed, NewEvent

# Outcomes a resume keeps by default; ``--retry-failed`` keeps only ``ok`` and ``empty``.
FINAL = frozenset({"ok", "empty", "error", "timeout", "crashed"})
FINAL_RETRYING = frozenset({"ok", "empty"})
INTERRUPTED_MESSAGE = "the batch's driver stopped before this job was answered"
LATEST = "latest"
CLOSEST_N = 3
CLOSEST_CUTOFF = 0.5


def batch_names(ledger: Ledger) -> dict[str, str]:
    """Every batch id with the name its ``batch.started`` recorded, in start order."""
    names: dict[str, str] = {}
    for event in ledger.read(types=["batch.started"]):
        if event.batch is not None and event.batch not in names:
            names[event.batch] = str(event.data.get("name"))
    return names


def resolve_batch(ledger: Ledger, requested: str, name: str) -> str:
    """The batch id ``--resume`` means: ``latest`` is the last batch started under ``name``.

    Raises:
        BatchNotFound: no such batch (naming the closest ids), or no batch named ``name``.
    """
    names = batch_names(ledger)
    if requested == LATEST:
        mine = [batch for batch, batch_name in names.items() if batch_name == name]
        if not mine:
            raise BatchNotFound(f"no batch of manifest {name!r} in this ledger to resume")
        return mine[-1]
    if requested not in names:
        close = difflib.get_close_matches(requested, list(names), CLOSEST_N, CLOSEST_CUTOFF)
        hint = f"; closest: {', '.join(close)}" if close else ""
        raise BatchNotFound(
            f"no batch {requested!r} in this ledger{hint} (`sweepledger batches` lists them)"
        )
    return requested


@dataclass
class BatchHistory:
    """What the ledger holds about one batch."""

    batch: str
    started_seq: int
    started: dict[str, Any]
    latest: dict[str, str] = field(default_factory=dict)  # job_id -> last outcome status
    open_intents: list[tuple[int, str, str]] = field(default_factory=list)  # seq, kind, job_id


def find_batch(ledger: Ledger, batch: str) -> BatchHistory:
    """Read every event of ``batch``.

    Raises:
        BatchNotFound: the ledger has no ``batch.started`` for it.
        BatchStillRunning: the process that started it is alive on this host.
    """
    history: BatchHistory | None = None
    intents: dict[int, tuple[str, str]] = {}
    for event in ledger.read(batch=batch):
        if event.type == "batch.started" and history is None:
            history = BatchHistory(batch, event.seq, event.data)
        elif event.type.endswith(".intent"):
            intents[event.seq] = (event.type.split(".", 1)[0], event.data["job_id"])
        elif event.type.endswith(".outcome") and history is not None:
            if event.cause is not None:
                intents.pop(event.cause, None)
            if event.type == f"{history.started['manifest'].get('kind')}.outcome":
                history.latest[event.data["job_id"]] = event.data["status"]  # not a sub-step's
    if history is None:
        raise BatchNotFound(f"no batch {batch!r} in this ledger")
    history.open_intents = [(seq, kind, job_id) for seq, (kind, job_id) in sorted(intents.items())]
    for _, _, job_id in history.open_intents:
        history.latest[job_id] = "interrupted"  # what resume_events will record for them
    _refuse_if_running(history)
    return history


def _refuse_if_running(history: BatchHistory) -> None:
    started = history.started
    pid = started.get("pid")
    if started.get("host") != host_name() or not pid or pid == os.getpid():
        return
    alive_since = pid_started(int(pid))
    if alive_since is not None and alive_since == started.get("process_start"):
        raise BatchStillRunning(
            f"batch {history.batch!r} is still running (pid {started['pid']}); stop it first"
        )


def _describe_difference(recorded: list[dict[str, Any]], jobs: list[JobPlan]) -> str | None:
    recorded_ids = {job["job_id"]: job for job in recorded}
    current_ids = {job.job_id: job for job in jobs}
    for job in jobs:
        if job.job_id not in recorded_ids:
            return f"job {job.index} {job.name!r} ({job.job_id}) is not in the batch"
    for old in recorded:
        if old["job_id"] not in current_ids:
            return (
                f"batch job {old['index']} {old['name']!r} ({old['job_id']}) is not in the manifest"
            )
    return None


def _digest_difference(
    digest: str, history: BatchHistory, loaded: LoadedManifest, jobs: list[JobPlan]
) -> str | None:
    if jobs_digest(loaded.expanded(jobs)["jobs"]) == digest:
        return None
    count = history.started.get("jobs")
    return f"the manifest's {len(jobs)} jobs are not the batch's {count} (their SHA-256 differs)"


def check_match(
    history: BatchHistory, loaded: LoadedManifest, jobs: list[JobPlan], seed: int, force: bool
) -> None:
    """Refuse a resume whose manifest does not expand to the batch's jobs (unless ``force``).

    Raises:
        ResumeMismatch: naming the first difference.
    """
    recorded = history.started.get("manifest", {})
    problem: str | None = None
    if recorded.get("callable") != loaded.manifest.callable:
        problem = f"callable {loaded.manifest.callable!r} differs from {recorded.get('callable')!r}"
    elif recorded.get("command") != loaded.manifest.command:
        problem = f"command {loaded.manifest.command!r} differs from {recorded.get('command')!r}"
    elif recorded.get("kind") != loaded.kind:
        problem = f"kind {loaded.kind!r} differs from {recorded.get('kind')!r}"
    elif history.started.get("settings", {}).get("seed", seed) != seed:
        problem = f"seed {seed} differs from the batch's {history.started['settings']['seed']}"
    elif DIGEST_KEY in recorded:  # a large batch: its job list is recorded as a digest
        problem = _digest_difference(recorded[DIGEST_KEY], history, loaded, jobs)
    else:
        problem = _describe_difference(recorded.get("jobs", []), jobs)
    if problem is not None and not force:
        raise ResumeMismatch(f"cannot resume {history.batch!r}: {problem} (use --force to accept)")


def select_jobs(jobs: list[JobPlan], history: BatchHistory, retry_failed: bool) -> list[JobPlan]:
    """The jobs to run again: no final outcome yet (and failed ones with ``retry_failed``)."""
    keep = FINAL_RETRYING if retry_failed else FINAL
    return [job for job in jobs if history.latest.get(job.job_id) not in keep]


def resume_events(history: BatchHistory, to_run: list[JobPlan], total: int) -> list[NewEvent]:
    """``interrupted`` outcomes for the intents left open, then ``batch.resumed``."""
    events = [
        NewEvent(
            type=f"{kind}.outcome",
            data={
                "job_id": job_id,
                "status": "interrupted",
                "duration_s": 0.0,
                "error": {"type": "interrupted", "message": INTERRUPTED_MESSAGE},
            },
            batch=history.batch,
            key=f"{kind}/{job_id}",
            cause=seq,
        )
        for seq, kind, job_id in history.open_intents
    ]
    resumed = BatchResumed(
        resumed_from=history.started_seq,
        skipped=total - len(to_run),
        remaining=len(to_run),
        host=host_name(),
        pid=os.getpid(),
        process_start=process_start(),
    )
    events.append(NewEvent(type="batch.resumed", data=resumed, batch=history.batch))
    return events
