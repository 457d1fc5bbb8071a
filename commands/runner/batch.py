"""``run_batch``: a manifest in, a recorded batch out.

``plan_run`` does every check that can fail on the user's input (manifest, settings, batch id,
resume match, executor availability) before a single event is written; ``execute`` then
appends ``batch.started`` (or ``batch.resumed``), drives the jobs and appends ``batch.finished``.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from commands.runner.command_job import kill_leftovers
from commands.runner.driver import Driver, StopFlag, Tally
from commands.runner.errors import BatchExists, ExecutorUnavailable, RunRefused, StoppedBeforeStart
from commands.runner.executors import make_executor
from commands.runner.hostinfo import code_version, host_name, process_start
from commands.runner.job import WorkerSpec
from commands.runner.job_events import JobEvents
from commands.runner.job_list import as_recorded
from commands.runner.manifest import (
    JobPlan,
    LoadedManifest,
    job_seed,
    load_manifest,
    manifest_sha256,
    parse_manifest,
)
from commands.runner.progress import Progress, make_progress
from commands.runner.resume import (
    LATEST,
    BatchHistory,
    check_match,
    find_batch,
    resolve_batch,
    resume_events,
    select_jobs,
)
from commands.runner.settings import Settings, resolve_settings
from commands.runner.workdirs import work_dir_of
from ledger import Ledger, LedgerNotFound
from ledger.logs import get_logger
from schemas import BatchFinished, BatchStarted, NewEvent

BATCH_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}\Z")
EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130
# A command job enforces timeout_s itself (killing its process group); its executor only
# steps in this much later, for a worker stuck after its command ended.
COMMAND_TIMEOUT_GRACE_S = 10.0

log = get_logger()


@dataclass(frozen=True)
class RunRequest:
    """What ``sweepledger run`` was asked to do."""

    manifest: Path
    root: Path
    cli_settings: dict[str, Any] = field(default_factory=dict)
    batch_id: str | None = None
    resume: str | None = None
    force: bool = False
    retry_failed: bool = False
    users_file: Path | None = None
    argv: tuple[str, ...] = ()
    progress: bool | None = None
    loaded: LoadedManifest | None = None  # a manifest already loaded (``manifest`` unread)
    allow_large: bool = False


@dataclass
class RunPlan:
    """A checked run, ready to execute: nothing has been written yet."""

    request: RunRequest
    loaded: LoadedManifest
    settings: Settings
    jobs: list[JobPlan]
    batch: str
    ledger: Ledger
    history: BatchHistory | None = None
    to_run: list[JobPlan] = field(default_factory=list)


@dataclass(frozen=True)
class RunSummary:
    """The result of a run: its batch, per-status counts and exit code."""

    batch: str
    jobs: int
    ran: int
    statuses: dict[str, int]
    interrupted: bool
    exit_code: int


def _new_batch_id(name: str) -> str:
    return f"{name[:80]}-{secrets.token_hex(4)}"


def _batch_exists(ledger: Ledger, batch: str) -> bool:
    return any(True for _ in ledger.read(types=["batch.started"], batch=batch))


def _check_executor(settings: Settings) -> None:
    if settings.executor == "ray":
        try:
            import ray  # noqa: F401
        except ImportError as e:
            raise ExecutorUnavailable(
                "executor 'ray' needs Ray: pip install 'sweepledger[ray]'"
            ) from e


def plan_run(request: RunRequest) -> RunPlan:
    """Check everything about a run that depends on the user's input; write nothing.

    Raises:
        ManifestInvalid, SettingInvalid, RunRefused: exit 2, one line naming the problem.
    """
    if request.loaded is not None:
        loaded = request.loaded
        settings = resolve_settings(request.cli_settings, loaded.manifest.config)
        jobs = loaded.jobs[: settings.max_jobs] if settings.max_jobs else list(loaded.jobs)
    else:
        notes: list[str] = []
        manifest = parse_manifest(request.manifest, notes)
        settings = resolve_settings(request.cli_settings, manifest.config)
        loaded = load_manifest(
            request.manifest,
            request.users_file,
            settings.max_jobs,
            request.allow_large,
            manifest,
            notes,
        )
        jobs = list(loaded.jobs)
    _check_executor(settings)
    if request.resume is not None:
        try:
            ledger = Ledger.open(request.root)
        except LedgerNotFound as e:
            raise RunRefused(f"cannot resume {request.resume!r}: {e}") from e
        batch = resolve_batch(ledger, request.resume, loaded.name)
        history = find_batch(ledger, batch)
        check_match(history, loaded, jobs, settings.seed, request.force)
        to_run = select_jobs(jobs, history, request.retry_failed)
        return RunPlan(request, loaded, settings, jobs, batch, ledger, history, to_run)
    batch = request.batch_id or _new_batch_id(loaded.name)
    if not BATCH_ID_PATTERN.match(batch):
        raise RunRefused(f"batch id {batch!r}: use letters, digits, '_', '.', '-' (max 100)")
    if batch == LATEST:
        raise RunRefused(f"batch id {LATEST!r} is reserved (`--resume {LATEST}`)")
    ledger = Ledger(request.root)
    if ledger.exists() and _batch_exists(ledger, batch):
        raise BatchExists(f"batch {batch!r} already exists (use --resume {batch} to continue it)")
    return RunPlan(request, loaded, settings, jobs, batch, ledger, None, list(jobs))


def _started_event(plan: RunPlan) -> NewEvent:
    expanded = as_recorded(plan.loaded.expanded(plan.jobs))  # a large job list: its digest
    data = BatchStarted(
        name=plan.loaded.name,
        manifest=expanded,
        manifest_sha256=manifest_sha256(expanded),
        jobs=len(plan.jobs),
        executor=plan.settings.executor,
        workers=plan.settings.workers,
        code=code_version(),
        argv=list(plan.request.argv),
        host=host_name(),
        pid=os.getpid(),
        process_start=process_start(),
        settings=plan.settings.as_dict(),
        sources=plan.settings.source_list(),
    )
    return NewEvent(type="batch.started", data=data, batch=plan.batch)


@contextmanager
def _stop_on_signals(flag: StopFlag) -> Iterator[None]:
    """SIGINT/SIGTERM set ``flag`` (a second one aborts at once); restored on exit."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if flag.requested:
            raise KeyboardInterrupt
        flag.requested = True
        flag.signal_name = signal.Signals(signum).name
        log.warning("stopping: recording running jobs as interrupted", signal=flag.signal_name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _exit_code(tally: Tally, plan: RunPlan) -> int:
    if tally.interrupted:
        return EXIT_INTERRUPTED
    final = dict(plan.history.latest) if plan.history else {}
    final.update(tally.by_job)
    every_ok = all(final.get(job.job_id) == "ok" for job in plan.jobs)
    return EXIT_OK if every_ok else EXIT_FAILED


def execute(plan: RunPlan, progress: Progress | None = None) -> RunSummary:
    """Record and run a planned batch; returns once ``batch.finished`` is committed.

    Raises:
        ExecutorUnavailable: the executor could not start (nothing was written).
    """
    settings = plan.settings
    command = plan.loaded.command_spec(settings.timeout_s)
    root = str(plan.request.root.resolve())
    spec = WorkerSpec(
        callable_ref=plan.loaded.manifest.callable,
        setup_ref=plan.loaded.manifest.setup,
        kind=plan.loaded.kind,
        batch=plan.batch,
        root=root,
        sys_path=(str(plan.loaded.folder.resolve()),),
        command=command,
        steps=plan.loaded.steps,
    )
    workers = min(settings.workers, max(1, len(plan.to_run)))  # no idle set-ups
    timeout_s = settings.timeout_s
    if command is not None and timeout_s is not None:
        timeout_s += COMMAND_TIMEOUT_GRACE_S
    executor = make_executor(settings.executor, spec, workers, timeout_s, settings.ray_address)
    stop = StopFlag()
    started = time.monotonic()
    with _stop_on_signals(stop):
        if plan.to_run:
            executor.start()  # workers set up while the batch is being recorded
        try:
            if stop.requested:
                raise StoppedBeforeStart("stopped before the batch started; nothing was recorded")
            if plan.history is None:
                plan.ledger = Ledger.open(plan.request.root, create=True)
                prologue = [_started_event(plan)]
            else:
                prologue = resume_events(plan.history, plan.to_run, len(plan.jobs))
            log.info("batch started", batch=plan.batch, jobs=len(plan.to_run))
            if progress is None:
                progress = make_progress(len(plan.to_run), plan.batch)
            driver = Driver(
                plan.ledger,
                JobEvents(
                    plan.batch,
                    plan.loaded.kind,
                    plan.loaded.manifest.callable,
                    command,
                    root,
                    plan.loaded.steps,
                ),
                executor,
                plan.to_run,
                lambda job: job_seed(settings.seed, job.job_id),
                not settings.continue_on_error,
                progress,
                stop,
                prologue,
            )

            def finished(tally: Tally) -> list[NewEvent]:
                data = BatchFinished(
                    attempted=tally.attempted,
                    succeeded=tally.succeeded,
                    failed=tally.failed,
                    duration_s=time.monotonic() - started,
                    interrupted=tally.interrupted,
                )
                return [NewEvent(type="batch.finished", data=data, batch=plan.batch)]

            tally = driver.run(finished)  # batch.started/resumed and .finished ride with jobs
        finally:
            executor.stop()
            if command is not None:
                _kill_leftovers(root, plan)
            if progress is not None:
                progress.close()
    return RunSummary(
        batch=plan.batch,
        jobs=len(plan.jobs),
        ran=tally.attempted,
        statuses=dict(sorted(tally.statuses.items())),
        interrupted=tally.interrupted,
        exit_code=_exit_code(tally, plan),
    )


def _kill_leftovers(root: str, plan: RunPlan) -> None:
    """Kill the processes of command jobs whose workers died under them (Ctrl-C, a crash)."""
    killed = sum(kill_leftovers(work_dir_of(root, plan.batch, job.job_id)) for job in plan.to_run)
    if killed:
        log.warning("killed processes left by stopped command jobs", processes=killed)


def run_batch(request: RunRequest) -> RunSummary:
    """Plan and execute a run (the library entry point behind ``sweepledger run``)."""
    return execute(plan_run(request))
