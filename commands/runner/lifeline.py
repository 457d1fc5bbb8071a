"""Workers die with their driver: nothing a batch started outlives a killed ``sweepledger run``.

A worker process (the process executor's, a Ray actor we started) is told of its driver's
death in two ways, whichever comes first:

- on Linux the kernel sends it SIGTERM when its parent exits (``prctl(PR_SET_PDEATHSIG)``,
  through ctypes; a worker's parent is the driver, or the fork server, which exits with it);
- everywhere, a daemon thread notices it: the parent pid changed (re-parented), or the
  driver's pid is gone, checked every ``PARENT_POLL_S``; the process executor's workers also
  see EOF on their pipe (``abandon`` is called by its reader thread).

Either way the worker SIGKILLs the process group of every command job it is running (each
runs in a session of its own, so it would otherwise survive) and exits at once: no one is
left to record what it would finish. A command job's program itself gets the same death
signal (SIGKILL) for its own parent, which covers command jobs run on the thread executor's
threads inside the driver.

What no worker can kill, because it runs in the driver or was started by Ray rather than by
us, is left to the reaper (``commands.runner.reaper``): a process the driver starts (the
thread executor, a local Ray) that kills the command groups and process tree it was told of once
the driver is gone. ``track_group`` tells it of each group too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from ledger.processes import set_death_signal

PARENT_POLL_S = 0.5
EXIT_ORPHANED = 70

_running_groups: set[int] = set()
_reaper: subprocess.Popen[bytes] | None = None
_reaper_lock = threading.Lock()
REAPER_EXIT_WAIT_S = 5.0
REAPER_SCRIPT = Path(__file__).with_name("reaper.py")  # run by path: stdlib only


def command_preexec() -> None:
    """``preexec_fn`` of a command job's program: SIGKILL when its parent dies."""
    set_death_signal(signal.SIGKILL)


def track_group(pgid: int) -> None:
    """A command job's process group now runs in this process: killed by ``abandon``, or
    by the reaper if one runs."""
    _running_groups.add(pgid)
    tell_reaper(f"group {pgid}")


def untrack_group(pgid: int) -> None:
    """The group was killed; call before reaping its leader (its id is not reused before)."""
    _running_groups.discard(pgid)
    tell_reaper(f"ungroup {pgid}")


def start_reaper() -> None:
    """In the driver: start the reaper (``commands.runner.reaper``), once; it kills what it
    is told of (``track_group``, ``reap_tree``) when the driver dies, or at
    ``stop_reaper``."""
    global _reaper
    with _reaper_lock:
        if _reaper is not None:
            return
        # -I: only the standard library on sys.path (not the script's folder, nor PYTHON*)
        _reaper = subprocess.Popen(
            [sys.executable, "-I", str(REAPER_SCRIPT)],
            stdin=subprocess.PIPE,
            start_new_session=True,
        )


def tell_reaper(line: str) -> None:
    """Send the reaper one line, if a reaper runs."""
    with _reaper_lock:
        if _reaper is None or _reaper.stdin is None:
            return
        with contextlib.suppress(OSError):  # it died: nothing to tell
            _reaper.stdin.write(line.encode() + b"\n")
            _reaper.stdin.flush()


def reap_tree() -> None:
    """The reaper kills every process below the driver (a local Ray it started) too."""
    tell_reaper("tree")


def stop_reaper() -> None:
    """Close the reaper's pipe (it kills whatever is still tracked, then exits) and wait
    for it."""
    global _reaper
    with _reaper_lock:
        process, _reaper = _reaper, None
    if process is None:
        return
    with contextlib.suppress(OSError):
        if process.stdin is not None:
            process.stdin.close()
    try:
        process.wait(REAPER_EXIT_WAIT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def abandon() -> NoReturn:
    """The driver is gone: kill the command groups this process runs, exit at once."""
    for pgid in list(_running_groups):
        with contextlib.suppress(OSError):
            os.killpg(pgid, signal.SIGKILL)
    os._exit(EXIT_ORPHANED)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def _watch(gone: Callable[[], bool]) -> None:
    while not gone():
        time.sleep(PARENT_POLL_S)
    abandon()


def die_with_parent(driver_pid: int | None = None) -> None:
    """In a worker process: exit (see ``abandon``) once the parent, or ``driver_pid`` when
    given (a Ray actor, whose parent is Ray's own process), is gone.

    Call from the worker's main thread: the SIGTERM handler can only be set there.
    """
    parent = os.getppid()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda _signum, _frame: abandon())
        if driver_pid is None:
            set_death_signal(signal.SIGTERM)
    if driver_pid is None:

        def gone() -> bool:
            return os.getppid() != parent

    else:

        def gone() -> bool:
            return not _alive(driver_pid)

    if gone():  # it died before the death signal was set
        abandon()
    threading.Thread(target=_watch, args=(gone,), name="lifeline", daemon=True).start()
