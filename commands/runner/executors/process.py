"""The ``process`` executor: a persistent pool of worker processes over pipes.

Each worker runs ``setup`` once, then jobs from its own small queue, and sends one message per
finished job. The driver watches every pipe and every process sentinel: a worker that dies
(``os._exit``, a signal, the OOM killer) turns the job it was running into ``crashed``, a job
past ``timeout_s`` gets its worker SIGKILLed and becomes ``timeout``; either way the queued
jobs go back to the backlog and a fresh worker takes the dead one's place.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
from collections import deque
from multiprocessing.connection import Connection, wait
from typing import Any

from commands.runner.executors.base import Backlog, crashed_done, queue_depth, timeout_done
from commands.runner.job import Done, JobRunner, Task, WorkerSpec
from commands.runner.lifeline import abandon, die_with_parent

READY = "ready"
JOIN_TIMEOUT_S = 2.0
EMA_WEIGHT = 0.1
# Napping before a wait is safe while each worker still has this many jobs queued.
NAP_MIN_QUEUED = 4
MAX_NAP_S = 0.02


def worker_main(conn: Connection, spec: WorkerSpec) -> None:
    """A worker process: set up once, then run task lists until told to stop; it exits at
    once when the driver dies (``commands.runner.lifeline``)."""
    # The driver owns Ctrl-C: it kills workers and records their jobs ``interrupted``.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()  # SIGTERM (the parent died) kills this worker's commands, then exits
    os.dup2(2, 1)  # stdout carries the driver's results: a job's prints go to stderr
    inbox: queue.SimpleQueue[list[Task] | None] = queue.SimpleQueue()
    # The pipe is always drained, so a driver sending big tasks never blocks while this
    # worker is itself blocked sending big results (a deadlock otherwise).
    threading.Thread(target=_read_tasks, args=(conn, inbox), daemon=True).start()
    runner = JobRunner(spec)
    runner.prepare()
    conn.send(READY)
    while True:
        tasks = inbox.get()
        if tasks is None:
            return
        for task in tasks:
            conn.send(runner.run(task))


def _read_tasks(conn: Connection, inbox: queue.SimpleQueue[list[Task] | None]) -> None:
    while True:
        try:
            tasks = conn.recv()
        except (EOFError, OSError):
            abandon()  # the driver is gone: no one would record what this worker finishes
        inbox.put(tasks)
        if tasks is None:
            return


def _context() -> Any:
    """``fork`` (fast) while the driver is single-threaded on Linux, else ``forkserver``.

    The driver's committer thread starts after the first workers, so later replacements of
    dead workers come from the fork server: forking a threaded process is unsafe.
    """
    if sys.platform == "linux" and threading.active_count() == 1:
        return mp.get_context("fork")
    context = mp.get_context("forkserver")
    context.set_forkserver_preload(["commands.runner.executors.process"])
    return context


def _death(process: Any) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class _Worker:
    """One worker process, its pipe and the tasks sent to it, oldest (running) first."""

    __slots__ = ("conn", "process", "ready", "started", "tasks")

    def __init__(self, process: Any, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.tasks: deque[Task] = deque()
        self.ready = False
        self.started: float | None = None


class ProcessExecutor(Backlog):
    """Jobs in a pool of worker processes that survives worker deaths."""

    name = "process"

    def __init__(self, spec: WorkerSpec, workers: int, timeout_s: float | None) -> None:
        self.spec = spec
        self.workers = workers
        self.timeout_s = timeout_s
        self._pool: list[_Worker] = []
        super().__init__()
        self._mean_s: float | None = None

    def start(self) -> None:
        self._pool = [self._spawn() for _ in range(self.workers)]

    def _spawn(self) -> _Worker:
        context = _context()
        parent, child = context.Pipe(duplex=True)
        process = context.Process(
            target=worker_main, args=(child, self.spec), name="sweepledger-worker", daemon=True
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    def _dispatch(self) -> None:
        depth = queue_depth(self._mean_s)
        backlog = self._backlog
        for worker in self._pool:
            if not backlog:
                return
            room = min(depth - len(worker.tasks), len(backlog))
            if room <= 0:
                continue
            chunk = [backlog.popleft() for _ in range(room)]
            if not worker.tasks and worker.ready:
                worker.started = time.monotonic()
            worker.tasks.extend(chunk)
            with contextlib.suppress(OSError):  # a dead worker's sentinel reports it
                worker.conn.send(chunk)

    def _read(self, worker: _Worker, out: list[Done]) -> None:
        """Take every message waiting on a worker's pipe."""
        conn = worker.conn
        try:
            while conn.poll():
                message = conn.recv()
                now = time.monotonic()
                if message == READY:
                    worker.ready = True
                else:
                    worker.tasks.popleft()
                    out.append(message)
                    duration = message[1]["duration_s"]
                    mean = self._mean_s
                    self._mean_s = (
                        duration if mean is None else mean + EMA_WEIGHT * (duration - mean)
                    )
                worker.started = now if worker.tasks and worker.ready else None
        except (EOFError, OSError):
            pass

    def _replace(self, worker: _Worker, first: Done | None, out: list[Done]) -> None:
        """Record the running job's fate, requeue the rest and start a fresh worker."""
        if first is not None:
            worker.tasks.popleft()
            out.append(first)
        self._backlog.extendleft(reversed(worker.tasks))
        worker.tasks.clear()
        worker.conn.close()
        worker.process.join(JOIN_TIMEOUT_S)
        self._pool[self._pool.index(worker)] = self._spawn()

    def _reap(self, worker: _Worker, out: list[Done]) -> None:
        self._read(worker, out)
        worker.process.join(JOIN_TIMEOUT_S)
        first = None
        if worker.tasks:
            elapsed = time.monotonic() - worker.started if worker.started else 0.0
            first = crashed_done(worker.tasks[0], _death(worker.process), elapsed)
        self._replace(worker, first, out)

    def _expire(self, out: list[Done]) -> None:
        limit = self.timeout_s
        if limit is None:
            return
        for worker in list(self._pool):
            if worker.started is None or time.monotonic() - worker.started <= limit:
                continue
            self._read(worker, out)
            started = worker.started
            now = time.monotonic()
            if started is None or now - started <= limit:
                continue
            worker.process.kill()
            self._replace(worker, timeout_done(worker.tasks[0], limit, now - started), out)

    def _wait_timeout(self, timeout: float) -> float:
        if self.timeout_s is None:
            return timeout
        now = time.monotonic()
        for worker in self._pool:
            if worker.started is not None:
                timeout = min(timeout, worker.started + self.timeout_s - now + 0.001)
        return max(0.0, timeout)

    def _nap(self, timeout: float) -> float:
        """While every worker has plenty queued, let results pile up (fewer driver wake-ups)."""
        mean = self._mean_s
        if mean is None or not self._pool:
            return 0.0
        queued = min(len(worker.tasks) for worker in self._pool)
        if queued < NAP_MIN_QUEUED:
            return 0.0
        nap = min(timeout, MAX_NAP_S, mean * (queued - NAP_MIN_QUEUED + 1))
        time.sleep(nap)
        return nap

    def wait(self, timeout: float) -> list[Done]:
        timeout = self._wait_timeout(timeout)
        timeout -= self._nap(timeout)
        by_conn = {worker.conn: worker for worker in self._pool}
        by_sentinel = {worker.process.sentinel: worker for worker in self._pool}
        ready = wait([*by_conn, *by_sentinel], max(0.0, timeout))
        out: list[Done] = []
        for obj in ready:
            worker = by_conn.get(obj)  # type: ignore[call-overload]
            if worker is not None:
                self._read(worker, out)
        for obj in ready:
            dead = by_sentinel.get(obj)
            if dead is not None:
                self._reap(dead, out)
        self._expire(out)
        self._load -= len(out)
        self._dispatch()
        return out

    def stop(self) -> None:
        busy = any(worker.tasks for worker in self._pool)
        for worker in self._pool:
            if busy:
                worker.process.kill()
            else:
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
        for worker in self._pool:
            worker.process.join(JOIN_TIMEOUT_S)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(JOIN_TIMEOUT_S)
            worker.conn.close()
        self._pool = []
