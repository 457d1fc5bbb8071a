"""The driver loop: the only writer of a batch's job events.

Intents are appended in chunks right before their jobs are submitted; completions are
buffered and group-committed at most every ``FLUSH_S`` (one append, one fsync), together with
the next chunk of intents when one is due. Every intent of the run gets exactly one outcome:
on Ctrl-C the unanswered ones are recorded ``interrupted``, after ``--fail-fast`` ``skipped``.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from commands.executors import Executor
from commands.jobctx import Done, Task, failed_outcome
from commands.manifest_loader import JobPlan
from commands.progress import Progress
from ledger import InvalidEvent, Ledger
from schemas import NewEvent

FLUSH_S = 0.05
IDLE_WAIT_S = 0.2
MAX_INTENT_CHUNK = 5000
INTENT_LOOKAHEAD_S = 0.25

log = structlog.get_logger()


@dataclass
class StopFlag:
    """Set from a signal handler; the loop checks it between waits."""

    requested: bool = False
    signal_name: str | None = None


@dataclass
class Tally:
    """What this run recorded: outcome statuses and whether it was interrupted."""

    statuses: Counter[str] = field(default_factory=Counter)
    by_job: dict[str, str] = field(default_factory=dict)
    attempted: int = 0
    interrupted: bool = False
    failed_fast: bool = False

    @property
    def succeeded(self) -> int:
        return self.statuses["ok"]

    @property
    def failed(self) -> int:
        return sum(self.statuses.values()) - self.statuses["ok"]


class Driver:
    """Runs ``jobs`` on ``executor`` and records their intents and outcomes in ``ledger``."""

    def __init__(
        self,
        ledger: Ledger,
        batch: str,
        kind: str,
        callable_ref: str,
        executor: Executor,
        jobs: list[JobPlan],
        seeds: Callable[[JobPlan], int],
        fail_fast: bool,
        progress: Progress,
        stop: StopFlag,
    ) -> None:
        self.ledger = ledger
        self.batch = batch
        self.kind = kind
        self.callable_ref = callable_ref
        self.executor = executor
        self.todo: deque[JobPlan] = deque(jobs)
        self.seeds = seeds
        self.fail_fast = fail_fast
        self.progress = progress
        self.stop = stop
        self.tally = Tally()
        self._open: dict[int, tuple[int, JobPlan]] = {}  # index -> (intent seq, job)
        self._groups: list[list[NewEvent]] = []
        self._group_jobs: list[tuple[int, JobPlan]] = []
        self._last_flush = time.monotonic()
        self._chunk = 2 * executor.workers
        self._last_issue: float | None = None

    # -- the loop --------------------------------------------------------------------------

    def run(self) -> Tally:
        """Run every job (or until stopped); returns the tally once all events are committed."""
        executor = self.executor
        while not self.stop.requested and not self.tally.failed_fast:
            if self.todo and executor.load() <= self._low_water():
                self._issue_intents()
            if not self._open and not self.todo:
                break
            wait_s = IDLE_WAIT_S
            if self._groups:
                wait_s = max(0.0, self._last_flush + FLUSH_S - time.monotonic())
            for done in executor.wait(wait_s):
                self._complete(done)
            if self._groups and (time.monotonic() - self._last_flush >= FLUSH_S or not self._open):
                self._flush()
            self.progress.refresh()
        if self._open:
            executor.stop()
            self._answer_unanswered()
        self._flush()
        self.tally.interrupted = self.stop.requested
        return self.tally

    def _low_water(self) -> int:
        return max(self.executor.workers, self._chunk // 4)

    def _adapt_chunk(self) -> None:
        """Double the intent chunk while chunks drain fast, halve it when they drain slowly."""
        now = time.monotonic()
        if self._last_issue is not None:
            took = now - self._last_issue
            if took < INTENT_LOOKAHEAD_S:
                self._chunk = min(MAX_INTENT_CHUNK, self._chunk * 2)
            elif took > 4 * INTENT_LOOKAHEAD_S:
                self._chunk = max(2 * self.executor.workers, self._chunk // 2)
        self._last_issue = now

    # -- writing ---------------------------------------------------------------------------

    def _issue_intents(self) -> None:
        """Append the next chunk of intents (with any buffered outcomes), then submit it."""
        self._adapt_chunk()
        chunk = [self.todo.popleft() for _ in range(min(self._chunk, len(self.todo)))]
        intent_type = f"{self.kind}.intent"
        seeds = [self.seeds(job) for job in chunk]
        intents = [
            NewEvent(
                type=intent_type,
                data={
                    "job_id": job.job_id,
                    "index": job.index,
                    "name": job.name,
                    "callable": self.callable_ref,
                    "params": job.params,
                    "seed": seed,
                },
                batch=self.batch,
                key=f"{self.kind}/{job.job_id}",
            )
            for job, seed in zip(chunk, seeds, strict=True)
        ]
        receipts = self._flush(intents)
        tasks: list[Task] = []
        for job, seed, receipt in zip(chunk, seeds, receipts, strict=True):
            self._open[job.index] = (receipt.seq, job)
            tasks.append((job.index, job.job_id, job.name, job.params, seed))
        self.tally.attempted += len(chunk)
        self.executor.submit(tasks)

    def _complete(self, done: Done) -> None:
        index, outcome, artifacts, emitted = done
        entry = self._open.pop(index, None)
        if entry is None:
            return  # a late answer for a job already recorded (e.g. after a timeout)
        cause, job = entry
        if self.stop.requested and outcome["status"] == "crashed":
            # Ctrl-C reaches the whole process group: Ray's workers die of it, ours ignore it.
            outcome = failed_outcome(
                job.job_id, "interrupted", f"stopped by {self.stop.signal_name}"
            )
        key = f"{self.kind}/{job.job_id}"
        group = [
            NewEvent(type="artifact.recorded", data=a, batch=self.batch, key=key, cause=cause)
            for a in artifacts
        ]
        group.extend(
            NewEvent(type=t, data=d, batch=self.batch, key=key, cause=cause) for t, d in emitted
        )
        group.append(
            NewEvent(
                type=f"{self.kind}.outcome", data=outcome, batch=self.batch, key=key, cause=cause
            )
        )
        self._groups.append(group)
        self._group_jobs.append(entry)
        status = outcome["status"]
        self.tally.statuses[status] += 1
        self.tally.by_job[job.job_id] = status
        self.progress.advance(status)
        if status != "ok" and status != "empty":
            log.info("job failed", job=job.name, status=status, batch=self.batch)
            if self.fail_fast:
                self.tally.failed_fast = True

    def _answer_unanswered(self) -> None:
        """Give every open intent an outcome: ``interrupted`` on Ctrl-C, else ``skipped``."""
        if self.stop.requested:
            status, message = "interrupted", f"batch stopped by {self.stop.signal_name}"
        else:
            status, message = "skipped", "the batch stopped after a failure (--fail-fast)"
        for index in sorted(self._open):
            _, job = self._open[index]
            self._complete((index, failed_outcome(job.job_id, status, message), [], []))

    def _flush(self, extra: list[NewEvent] | None = None) -> list[Any]:
        """Commit buffered completions (and ``extra``) in one append; returns extra's receipts."""
        events = [event for group in self._groups for event in group]
        extra = extra or []
        if not events and not extra:
            return []
        try:
            receipts = self.ledger.append(events + extra)
        except InvalidEvent as e:
            log.warning("group commit refused; committing jobs one by one", error=str(e))
            self._flush_one_by_one()
            receipts = self.ledger.append(extra) if extra else []
            return receipts
        self._groups.clear()
        self._group_jobs.clear()
        self._last_flush = time.monotonic()
        return receipts[len(events) :]

    def _flush_one_by_one(self) -> None:
        """Commit each job's events alone; a refused job is recorded as an ``error`` instead."""
        for group, (cause, job) in zip(self._groups, self._group_jobs, strict=True):
            try:
                self.ledger.append(group)
            except InvalidEvent as e:
                outcome = failed_outcome(job.job_id, "error", f"result refused by the ledger: {e}")
                outcome["error"]["type"] = "InvalidEvent"
                outcome["duration_s"] = group[-1].data.get("duration_s", 0.0)
                key = f"{self.kind}/{job.job_id}"
                event = NewEvent(
                    type=f"{self.kind}.outcome",
                    data=outcome,
                    batch=self.batch,
                    key=key,
                    cause=cause,
                )
                self.ledger.append([event])
                previous = self.tally.by_job.get(job.job_id)
                if previous is not None:
                    self.tally.statuses[previous] -= 1
                self.tally.statuses["error"] += 1
                self.tally.by_job[job.job_id] = "error"
        self._groups.clear()
        self._group_jobs.clear()
        self._last_flush = time.monotonic()
