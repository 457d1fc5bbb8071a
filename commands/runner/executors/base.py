"""What every executor shares: the ``Executor`` interface, backlog bookkeeping, and the
``Done`` tuples of jobs stopped by a timeout or a dead worker."""

from __future__ import annotations

from collections import deque
from typing import Protocol

from commands.runner.job import Done, Task, failed_outcome

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
