"""Executors: where jobs run. One small interface (``Executor``), three implementations:
``process`` (a pool of worker processes), ``thread`` and ``ray``.

The driver submits tasks whose intents are already in the ledger and collects ``Done``
tuples. An executor turns its own failures into outcomes: a job past its timeout is
``timeout``, a worker that died under a job is ``crashed``; either way the executor replaces
the worker and goes on. ``stop`` abandons everything still running (Ctrl-C, fail-fast).
"""

from __future__ import annotations

import time

from commands.runner.executors.base import Executor
from commands.runner.job import Done, WorkerSpec

__all__ = ["Executor", "drain", "make_executor"]


def make_executor(
    kind: str,
    spec: WorkerSpec,
    workers: int,
    timeout_s: float | None,
    ray_address: str | None = None,
) -> Executor:
    """The executor named ``kind`` (``process``, ``thread`` or ``ray``)."""
    if kind == "thread":
        from commands.runner.executors.thread import ThreadExecutor

        return ThreadExecutor(spec, workers, timeout_s)
    if kind == "ray":
        from commands.runner.executors.ray import RayExecutor

        return RayExecutor(spec, workers, timeout_s, ray_address)
    from commands.runner.executors.process import ProcessExecutor

    return ProcessExecutor(spec, workers, timeout_s)


def drain(executor: Executor, timeout: float) -> list[Done]:
    """Collect everything an executor finishes within ``timeout`` (for tests and tools)."""
    out: list[Done] = []
    deadline = time.monotonic() + timeout
    while executor.load() and time.monotonic() < deadline:
        out.extend(executor.wait(deadline - time.monotonic()))
    return out
