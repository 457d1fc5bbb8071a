"""The ``ray`` executor: one Ray actor per worker (``setup`` runs once per actor).

Joins the cluster at ``ray_address`` (or ``RAY_ADDRESS``), else starts a local Ray instance,
which it shuts down when done; a Ray already initialised by the caller is reused and left up.
A job past ``timeout_s`` has its actor killed (``timeout``); an actor that dies under a job
(``os._exit``, OOM) makes it ``crashed``; either way a fresh actor takes its place. Jobs run
the same ``JobRunner`` as the other executors, so events and results are the same.

Nothing outlives a killed driver: an actor on the driver's host exits, killing its command
jobs, once the driver is gone (``lifeline``); the raylet and GCS of a local Ray die with the
driver (Ray's own ``PR_SET_PDEATHSIG``), and the reaper (``lifeline.start_reaper``) kills the
rest of the driver's process tree: Ray's agents would otherwise live on for up to a minute.
"""

from __future__ import annotations

import os
import socket
import time
from collections import deque
from typing import Any

import ray

from commands.runner.errors import ExecutorUnavailable
from commands.runner.executors.base import Backlog, crashed_done, timeout_done
from commands.runner.job import Done, JobRunner, Task, WorkerSpec
from commands.runner.lifeline import die_with_parent, reap_tree, start_reaper, stop_reaper
from ledger.logs import get_logger

ACTOR_CPUS = 1

log = get_logger()
CALLS_IN_FLIGHT = 1


class _RayWorker:
    """The actor body: a ``JobRunner`` kept for the actor's life."""

    def __init__(self, spec: WorkerSpec, driver_pid: int, driver_host: str) -> None:
        if driver_host == socket.gethostname():
            die_with_parent(driver_pid)  # exits (killing its commands) once the driver is gone
        self.runner = JobRunner(spec)

    def ready(self) -> bool:
        self.runner.prepare()
        return True

    def run(self, task: Task) -> Done:
        return self.runner.run(task)


class _Actor:
    __slots__ = ("handle", "ready", "ready_ref", "started", "tasks")

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.ready_ref: Any = handle.ready.remote()
        self.ready = False
        self.tasks: deque[tuple[Task, Any]] = deque()
        self.started: float | None = None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


class RayExecutor(Backlog):
    """Jobs on Ray actors, local or on a cluster."""

    name = "ray"

    def __init__(
        self, spec: WorkerSpec, workers: int, timeout_s: float | None, address: str | None
    ) -> None:
        self.spec = spec
        self.workers = workers
        self.timeout_s = timeout_s
        self.address = address
        self._owns_ray = False
        self._remote: Any = None
        self._actors: list[_Actor] = []
        super().__init__()

    def start(self) -> None:
        if not ray.is_initialized():
            local = self.address is None and not os.environ.get("RAY_ADDRESS")
            if local:
                start_reaper()
                reap_tree()  # the Ray it starts: every process below the driver
            try:
                ray.init(
                    address=self.address,
                    # a local Ray gets a CPU per worker, so no actor waits for resources
                    num_cpus=max(os.cpu_count() or 1, self.workers) if local else None,
                    include_dashboard=False,
                    log_to_driver=True,
                    configure_logging=False,
                )
            except Exception as e:
                stop_reaper()
                raise ExecutorUnavailable(f"cannot start Ray: {_first_line(e)}") from e
            self._owns_ray = True
        cpus = int(ray.cluster_resources().get("CPU", 0))  # type: ignore[no-untyped-call]
        if 0 < cpus < self.workers:
            log.warning("fewer Ray CPUs than workers; using fewer workers", cpus=cpus)
            self.workers = cpus
        self._remote = ray.remote(num_cpus=ACTOR_CPUS, max_restarts=0)(_RayWorker)
        self._actors = [self._spawn() for _ in range(self.workers)]

    def _spawn(self) -> _Actor:
        return _Actor(self._remote.remote(self.spec, os.getpid(), socket.gethostname()))

    def _dispatch(self) -> None:
        # One call in flight per actor: Ray may lose a finished call's reply when the actor
        # dies during the next call, which would turn a good job into ``crashed``.
        for actor in self._actors:
            while self._backlog and len(actor.tasks) < CALLS_IN_FLIGHT:
                task = self._backlog.popleft()
                if not actor.tasks and actor.ready:
                    actor.started = time.monotonic()
                actor.tasks.append((task, actor.handle.run.remote(task)))

    def _replace(self, actor: _Actor, first: Done, out: list[Done]) -> None:
        actor.tasks.popleft()
        out.append(first)
        self._backlog.extendleft(reversed([task for task, _ in actor.tasks]))
        actor.tasks.clear()
        ray.kill(actor.handle, no_restart=True)
        self._actors[self._actors.index(actor)] = self._spawn()

    def _collect(self, actor: _Actor, ready: set[Any], out: list[Done]) -> None:
        if not actor.ready and actor.ready_ref in ready:
            actor.ready = True
            try:
                ray.get(actor.ready_ref)
            except ray.exceptions.RayError as e:
                if actor.tasks:
                    first = crashed_done(actor.tasks[0][0], _first_line(e), 0.0)
                    self._replace(actor, first, out)
                return
            if actor.tasks:
                actor.started = time.monotonic()
        while actor.tasks and actor.tasks[0][1] in ready:
            task, ref = actor.tasks[0]
            try:
                done: Done = ray.get(ref)
            except ray.exceptions.RayError as e:
                elapsed = time.monotonic() - actor.started if actor.started else 0.0
                self._replace(actor, crashed_done(task, _first_line(e), elapsed), out)
                return
            actor.tasks.popleft()
            out.append(done)
            actor.started = time.monotonic() if actor.tasks else None

    def _expire(self, out: list[Done]) -> None:
        if self.timeout_s is None:
            return
        now = time.monotonic()
        for actor in list(self._actors):
            if actor.started is not None and now - actor.started > self.timeout_s:
                first = timeout_done(actor.tasks[0][0], self.timeout_s, now - actor.started)
                self._replace(actor, first, out)

    def wait(self, timeout: float) -> list[Done]:
        refs = [a.ready_ref for a in self._actors if not a.ready]
        refs += [ref for a in self._actors for _, ref in a.tasks]
        if self.timeout_s is not None:
            now = time.monotonic()
            for actor in self._actors:
                if actor.started is not None:
                    timeout = min(timeout, actor.started + self.timeout_s - now + 0.001)
        out: list[Done] = []
        if refs:
            ready, _ = ray.wait(refs, num_returns=1, timeout=max(0.0, timeout))
            if ready:
                ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
            ready_set = set(ready)
            for actor in list(self._actors):
                self._collect(actor, ready_set, out)
        else:
            time.sleep(max(0.0, min(timeout, 0.05)))
        self._expire(out)
        self._load -= len(out)
        self._dispatch()
        return out

    def stop(self) -> None:
        for actor in self._actors:
            ray.kill(actor.handle, no_restart=True)
        self._actors = []
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False
            stop_reaper()
