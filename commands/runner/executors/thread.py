"""The thread executor: jobs on threads of the driver process.

A command job's program runs in a session of its own, a child of the driver: the reaper
(``lifeline.start_reaper``) kills its whole group if the driver dies, background children
of a ``shell: true`` script included.
"""

from __future__ import annotations

import queue
import threading
import time

from commands.runner.executors.base import timeout_done
from commands.runner.job import Done, JobRunner, Task, WorkerSpec, failed_outcome
from commands.runner.lifeline import start_reaper, stop_reaper


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
        if self.spec.command is not None:
            start_reaper()
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
        stop_reaper()  # kills the groups of commands still running on abandoned threads
