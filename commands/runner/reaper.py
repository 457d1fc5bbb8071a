"""The reaper: a small process that outlives its driver to kill what the driver leaves behind.

Some processes a batch starts are not children of a worker that could kill them when the
driver dies (``commands.runner.lifeline``):

- the thread executor runs command jobs on threads of the driver itself: a program gets
  SIGKILL when the driver dies (``PR_SET_PDEATHSIG``), but its own children (a ``shell: true``
  script's background jobs) do not;
- a local Ray started by the driver: its raylet and GCS die with the driver (Ray's
  ``PR_SET_PDEATHSIG``), but the raylet's agents (``ray::DashboardAgent``,
  ``ray::RuntimeEnvAgent``) then spend up to 60 s trying to report the raylet's death to the
  dead GCS before they exit.

The driver starts this script (``python -I reaper.py``, standard library only, so it starts
fast and imports nothing of the driver's) in a session of its own, with a pipe as its stdin,
and tells it, one line each:

- ``group <pgid>``: a command job's process group (its session) now runs; ``ungroup <pgid>``:
  it was killed and is no longer tracked (sent before its leader is reaped, so the id cannot
  have been reused while tracked);
- ``tree``: watch every process below the driver (a local Ray's processes): the reaper looks
  at the process tree every ``POLL_S`` seconds and remembers each descendant with its start
  time (so a reused pid is never mistaken for it).

End of file on stdin (the driver exited, however it exited), or the driver's pid gone, makes
the reaper SIGKILL every tracked group and every descendant it last saw that still runs,
then exit. A driver that stops cleanly has already stopped all of these: the reaper then
finds nothing to kill.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys

POLL_S = 0.5


def _stat(pid: str) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) of a live process, None if gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] == b"Z":
        return None
    return int(fields[1]), int(fields[19])


def descendants(pid: int) -> dict[int, int]:
    """Every live process below ``pid``: pid -> start time (clock ticks since boot)."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(entry)) is not None:
            children.setdefault(stat[0], []).append((int(entry), stat[1]))
    found: dict[int, int] = {}
    frontier = [pid]
    while frontier:
        for child, ticks in children.get(frontier.pop(), []):
            if child not in found:
                found[child] = ticks
                frontier.append(child)
    return found


def reap(groups: set[int], seen: dict[int, int]) -> None:
    """Kill the tracked groups, then the processes ``seen`` that are still the same ones."""
    for pgid in groups:
        with contextlib.suppress(OSError):
            os.killpg(pgid, signal.SIGKILL)
    for pid, ticks in seen.items():
        stat = _stat(str(pid))
        if stat is not None and stat[1] == ticks:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def main() -> None:
    """Read the driver's lines until it is gone, then ``reap``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver owns Ctrl-C
    driver = os.getppid()
    me = os.getpid()
    groups: set[int] = set()
    tree = False
    seen: dict[int, int] = {}
    pending = b""
    stdin = sys.stdin.fileno()
    while True:
        if tree:
            seen = descendants(driver)
            seen.pop(me, None)
        ready, _, _ = select.select([stdin], [], [], POLL_S)
        if not ready:
            if os.getppid() != driver:  # re-parented: the driver is gone
                break
            continue
        chunk = os.read(stdin, 65536)
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            verb, _, arg = line.decode("ascii", "replace").partition(" ")
            if verb == "group":
                groups.add(int(arg))
            elif verb == "ungroup":
                groups.discard(int(arg))
            elif verb == "tree":
                tree = True
    reap(groups, seen)


if __name__ == "__main__":
    main()
