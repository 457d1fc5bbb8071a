"""The driver loop: the only writer of a batch's job events.

Intents are appended in chunks before their jobs are submitted; completions are buffered and
group-committed at most every ``FLUSH_S`` (one append, one fsync), together with the next chunk
of intents when one is due. Appends run on the ``Committer`` thread, one at a time, so the
loop keeps collecting results and feeding workers while the disk syncs. Every intent of the
run gets exactly one outcome: on Ctrl-C the open ones are recorded ``interrupted``, after
``--fail-fast`` ``skipped``.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from commands.runner.committer import Committer
from commands.runner.executors.base import Executor
from commands.runner.job import Done, Task, failed_outcome
from commands.runner.job_events import Causes, JobEvents
from commands.runner.manifest import JobPlan
from commands.runner.progress import Progress
from ledger import InvalidEvent, Ledger, Receipt
from ledger.logs import get_logger
from schemas import NewEvent

FLUSH_S = 0.05
IDLE_WAIT_S = 0.2
COMMIT_POLL_S = 0.02
MAX_INTENT_CHUNK = 5000
INTENT_LOOKAHEAD_S = 1.0

log = get_logger()


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


@dataclass
class _Commit:
    """What an append in flight carries: the prologue, completions, a chunk of intents."""

    prologue: list[NewEvent]
    groups: list[list[NewEvent]]
    jobs: list[tuple[Causes, JobPlan, float]]  # causes, job, duration of each completion
    chunk: list[JobPlan]
    seeds: list[int]
    intents: list[NewEvent]


class Driver:
    """Runs ``jobs`` on ``executor`` and records their intents and outcomes in ``ledger``."""

    def __init__(
        self,
        ledger: Ledger,
        events: JobEvents,
        executor: Executor,
        jobs: list[JobPlan],
        seeds: Callable[[JobPlan], int],
        fail_fast: bool,
        progress: Progress,
        stop: StopFlag,
        prologue: list[NewEvent] | None = None,
    ) -> None:
        self.events = events
        self._prologue = list(prologue or [])  # rides with the first append (one fsync fewer)
        self.executor = executor
        self.todo: deque[JobPlan] = deque(jobs)
        self.seeds = seeds
        self.fail_fast = fail_fast
        self.progress = progress
        self.stop = stop
        self.tally = Tally()
        self.committer = Committer(ledger)
        self._open: dict[int, tuple[Causes, JobPlan]] = {}  # index -> (intent seqs, job)
        self._groups: list[list[NewEvent]] = []
        self._group_jobs: list[tuple[Causes, JobPlan, float]] = []
        self._inflight: _Commit | None = None
        self._last_commit = time.monotonic()
        self._chunk = 2 * executor.workers
        self._last_issue: float | None = None

    # -- the loop --------------------------------------------------------------------------

    def run(self, epilogue: Callable[[Tally], list[NewEvent]] | None = None) -> Tally:
        """Run every job (or until stopped); returns the tally once all events are committed.

        The events ``epilogue`` builds from the final tally ride with the last append.
        """
        try:
            while not self._stopping():
                self._collect(0.0)
                if not self.committer.busy:
                    self._maybe_commit()
                if self._finished():
                    break
                for done in self.executor.wait(self._wait_s()):
                    self._complete(done)
                self.progress.refresh()
            self._collect(None)  # an append in flight lands; its intents become open
            if self._open:
                self.executor.stop()
                self._answer_unanswered()
            self.tally.interrupted = self.stop.requested
            self._commit_rest(epilogue(self.tally) if epilogue else [])
        finally:
            self.committer.close()
        return self.tally

    def _stopping(self) -> bool:
        return self.stop.requested or self.tally.failed_fast

    def _finished(self) -> bool:
        return not (
            self.todo or self._open or self._groups or self.committer.busy or self._prologue
        )

    def _wait_s(self) -> float:
        if self.committer.busy:
            return COMMIT_POLL_S
        if self._groups:
            return max(0.0, self._last_commit + FLUSH_S - time.monotonic())
        return IDLE_WAIT_S

    def _low_water(self) -> int:
        return max(self.executor.workers, self._chunk // 2)

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

    # -- committing ------------------------------------------------------------------------

    def _maybe_commit(self) -> None:
        """Start an append when intents are needed or buffered completions are due."""
        need_intents = bool(self.todo) and self.executor.load() <= self._low_water()
        due = bool(self._groups) and (
            time.monotonic() - self._last_commit >= FLUSH_S or not self._open
        )
        if not (need_intents or due or self._prologue):
            return
        chunk: list[JobPlan] = []
        if need_intents:
            self._adapt_chunk()
            chunk = [self.todo.popleft() for _ in range(min(self._chunk, len(self.todo)))]
        seeds = [self.seeds(job) for job in chunk]
        intents = [
            event
            for job, seed in zip(chunk, seeds, strict=True)
            for event in self.events.intents(job, seed)
        ]
        commit = _Commit(self._prologue, self._groups, self._group_jobs, chunk, seeds, intents)
        self._prologue, self._groups, self._group_jobs = [], [], []
        self._inflight = commit
        self._last_commit = time.monotonic()
        completions = [event for group in commit.groups for event in group]
        self.committer.submit([*commit.prologue, *completions, *intents])

    def _collect(self, timeout: float | None) -> None:
        """Take the result of the append in flight, if it has finished (or wait for it)."""
        result = self.committer.poll(timeout)
        if result is None or self._inflight is None:
            return
        receipts, error = result
        commit, self._inflight = self._inflight, None
        if error is None:
            receipts = receipts[len(receipts) - len(commit.intents) :]
        elif isinstance(error, InvalidEvent):
            log.warning("group commit refused; committing jobs one by one", error=str(error))
            if commit.prologue:
                self.committer.append(commit.prologue)  # refused again: the run stops here
            self._commit_one_by_one(commit.groups, commit.jobs)
            receipts = self.committer.append(commit.intents) if commit.intents else []
        else:
            raise error
        self._open_intents(commit.chunk, commit.seeds, receipts)

    def _open_intents(
        self, chunk: list[JobPlan], seeds: list[int], receipts: list[Receipt]
    ) -> None:
        tasks: list[Task] = []
        per_job = 1 + len(self.events.steps)  # ``JobEvents.intents`` of each job, in order
        assert len(receipts) == per_job * len(chunk)
        for i, (job, seed) in enumerate(zip(chunk, seeds, strict=True)):
            causes = tuple(r.seq for r in receipts[i * per_job : (i + 1) * per_job])
            self._open[job.index] = (causes, job)
            tasks.append((job.index, job.job_id, job.name, job.params, seed))
        self.tally.attempted += len(chunk)
        if tasks and not self._stopping():
            self.executor.submit(tasks)

    def _commit_rest(self, epilogue: list[NewEvent]) -> None:
        """Append every buffered completion and the epilogue now (at the end of the run)."""
        completions = [event for group in self._groups for event in group]
        events = [*self._prologue, *completions, *epilogue]
        if not events:
            return
        try:
            self.committer.append(events)
        except InvalidEvent as e:
            log.warning("group commit refused; committing jobs one by one", error=str(e))
            if self._prologue:
                self.committer.append(self._prologue)
            self._commit_one_by_one(self._groups, self._group_jobs)
            if epilogue:
                self.committer.append(epilogue)
        self._prologue, self._groups, self._group_jobs = [], [], []

    def _commit_one_by_one(
        self, groups: list[list[NewEvent]], jobs: list[tuple[Causes, JobPlan, float]]
    ) -> None:
        """Append each job's events alone; a refused job is recorded as an ``error`` instead."""
        for group, (causes, job, duration) in zip(groups, jobs, strict=True):
            try:
                self.committer.append(group)
            except InvalidEvent as e:
                self.committer.append(self.events.refused(job, causes, e, duration))
                previous = self.tally.by_job.get(job.job_id)
                if previous is not None:
                    self.tally.statuses[previous] -= 1
                self.tally.statuses["error"] += 1
                self.tally.by_job[job.job_id] = "error"

    # -- completions -----------------------------------------------------------------------

    def _complete(self, done: Done) -> None:
        entry = self._open.pop(done[0], None)
        if entry is None:
            return  # a late answer for a job already recorded (e.g. after a timeout)
        causes, job = entry
        if self.stop.requested and done[1]["status"] == "crashed":
            # Ctrl-C reaches the whole process group: Ray's workers die of it, ours ignore it.
            message = f"stopped by {self.stop.signal_name}"
            done = done[0], failed_outcome(job.job_id, "interrupted", message), [], []
        outcome = done[1]
        self._groups.append(self.events.completion(job, causes, done))
        self._group_jobs.append((causes, job, float(outcome.get("duration_s", 0.0))))
        status = outcome["status"]
        self.tally.statuses[status] += 1
        self.tally.by_job[job.job_id] = status
        self.progress.advance(status)
        if status != "ok" and status != "empty":
            log.info("job failed", job=job.name, status=status, batch=self.events.batch)
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
