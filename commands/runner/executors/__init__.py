"""Executors: where jobs run. One small interface, three implementations.

The driver submits tasks whose intents are already in the ledger and collects ``Done``
tuples. An executor turns its own failures into outcomes: a job past its timeout is
``timeout``, a worker that died under a job is ``crashed``; either way the executor replaces
the worker and goes on. ``stop`` abandons everything still running (Ctrl-C, fail-fast).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from typing import Protocol

from commands.jobctx import Done, JobRunner, Task, WorkerSpec, failed_outcome

# Each worker gets about this much work queued (by the jobs' mean duration), so a driver busy
# with an fsync never leaves it idle, yet a batch's tail stays short.
QUEUED_WORK_S = 0.1
MAX_DEPTH = 64


class Executor(Protocol):
    """Runs submitted tasks on a fixed number of workers.

    ``submit`` never blocks; ``load`` counts tasks submitted and not yet returned by
    ``wait``; ``wait`` returns finished tasks (including synthesized ``timeout`` and
    ``crashed`` outcomes), blocking at most ``timeout`` seconds; ``stop`` kills or abandons
    every worker and is idempotent.
    """

    name: str
    workers: int

    def start(self) -> None: ...

    def submit(self, tasks: list[Task]) -> None: ...

    def load(self) -> int: ...

    def wait(self, timeout: float) -> list[Done]: ...

    def stop(self) -> None: ...


class Backlog:
    """Submit/load bookkeeping of executors that hand tasks out from a backlog as their
    workers free up; a subclass defines ``_dispatch``, which drains the backlog."""

    def __init__(self) -> None:
        self._backlog: deque[Task] = deque()
        self._load = 0

    def submit(self, tasks: list[Task]) -> None:
        self._backlog.extend(tasks)
        self._load += len(tasks)
        self._dispatch()

    def load(self) -> int:
        return self._load

    def _dispatch(self) -> None:
        raise NotImplementedError


def queue_depth(mean_duration_s: float | None) -> int:
    """Tasks queued per worker: many for short jobs, one for long ones (fair tails)."""
    if mean_duration_s is None:
        return 2
    if mean_duration_s <= QUEUED_WORK_S / MAX_DEPTH:
        return MAX_DEPTH
    return max(1, min(MAX_DEPTH, int(QUEUED_WORK_S / mean_duration_s)))


def timeout_done(task: Task, timeout_s: float, elapsed: float, fate: str = "was killed") -> Done:
    """The ``Done`` of a task stopped for running past ``timeout_s``."""
    message = f"job ran past timeout_s={timeout_s:g} and {fate}"
    return task[0], failed_outcome(task[1], "timeout", message, elapsed), [], []


def crashed_done(task: Task, detail: str, elapsed: float) -> Done:
    """The ``Done`` of a task whose worker died under it."""
    return task[0], failed_outcome(task[1], "crashed", f"worker died: {detail}", elapsed), [], []


class ThreadExecutor:
    """Jobs on threads of the driver process; ``setup`` runs once per thread.

    A thread cannot be killed: a job past its timeout is recorded ``timeout`` and its thread
    abandoned (it is a daemon, so it does not hold up exit) and replaced.
    """

    name = "thread"

    def __init__(self, spec: WorkerSpec, workers: int, timeout_s: float | None) -> None:
        self.spec = spec
        self.workers = workers
        self.timeout_s = timeout_s
        self._tasks: queue.SimpleQueue[Task | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[tuple[int, Done]] = queue.SimpleQueue()
        self._running: dict[int, tuple[Task, float]] = {}
        self._lock = threading.Lock()
        self._abandoned: set[int] = set()
        self._load = 0
        self._next_id = 0
        self._stopped = False

    def start(self) -> None:
        for _ in range(self.workers):
            self._spawn()

    def _spawn(self) -> None:
        thread_id = self._next_id
        self._next_id += 1
        name = f"sweepledger-worker-{thread_id}"
        threading.Thread(target=self._loop, args=(thread_id,), name=name, daemon=True).start()

    def _loop(self, thread_id: int) -> None:
        runner = JobRunner(self.spec)
        while True:
            task = self._tasks.get()
            if task is None:
                return
            with self._lock:
                if self._stopped:
                    return
                self._running[thread_id] = (task, time.monotonic())
            try:
                done = runner.run(task)
            except BaseException as e:  # never leave a job unanswered
                done = task[0], failed_outcome(task[1], "error", f"{type(e).__name__}: {e}"), [], []
            with self._lock:
                self._running.pop(thread_id, None)
                if thread_id in self._abandoned:
                    return
            self._done.put((thread_id, done))

    def submit(self, tasks: list[Task]) -> None:
        self._load += len(tasks)
        for task in tasks:
            self._tasks.put(task)

    def load(self) -> int:
        return self._load

    def _expire(self) -> list[Done]:
        if self.timeout_s is None:
            return []
        expired: list[Done] = []
        now = time.monotonic()
        with self._lock:
            for thread_id, (task, started) in list(self._running.items()):
                if now - started > self.timeout_s:
                    del self._running[thread_id]
                    self._abandoned.add(thread_id)
                    fate = "its thread was abandoned"
                    expired.append(timeout_done(task, self.timeout_s, now - started, fate))
        for _ in expired:
            self._spawn()
        return expired

    def wait(self, timeout: float) -> list[Done]:
        out = self._expire()
        if not out:
            if self.timeout_s is not None:
                timeout = min(timeout, 0.05)
            try:
                out.append(self._done.get(timeout=max(0.0, timeout))[1])
            except queue.Empty:
                out.extend(self._expire())
        while True:
            try:
                out.append(self._done.get_nowait()[1])
            except queue.Empty:
                break
        self._load -= len(out)
        return out

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
        for _ in range(self._next_id):
            self._tasks.put(None)


def make_executor(
    kind: str,
    spec: WorkerSpec,
    workers: int,
    timeout_s: float | None,
    ray_address: str | None = None,
) -> Executor:
    """The executor named ``kind`` (``process``, ``thread`` or ``ray``)."""
    if kind == "thread":
        return ThreadExecutor(spec, workers, timeout_s)
    if kind == "ray":
        from commands.ray_executor import RayExecutor

        return RayExecutor(spec, workers, timeout_s, ray_address)
    from commands.process_pool import ProcessExecutor

    return ProcessExecutor(spec, workers, timeout_s)


def drain(executor: Executor, timeout: float) -> list[Done]:
    """Collect everything an executor finishes within ``timeout`` (for tests and tools)."""
    out: list[Done] = []
    deadline = time.monotonic() + timeout
    while executor.load() and time.monotonic() < deadline:
        out.extend(executor.wait(deadline - time.monotonic()))
    return out
