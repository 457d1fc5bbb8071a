"""Processes: when a live process started, so a recorded driver can be told apart from a later
process that reused its pid (used by the runner to record itself and by the gap audit to see
that a recorded driver is gone); and asking the kernel to signal a helper process when its
parent dies (the runner's workers, ``append --jsonl``'s preparing workers).
"""

from __future__ import annotations

import contextlib
import os
import sys
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

PR_SET_PDEATHSIG = 1


@cache
def _prctl() -> Any:
    """libc's ``prctl`` (None where there is none), loaded when first needed: ctypes is a
    noticeable share of a fast command's start-up."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    import ctypes.util

    with contextlib.suppress(OSError, AttributeError):
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    return None


def set_death_signal(signum: int) -> bool:
    """Ask the kernel for ``signum`` when this process's parent (thread) exits; False where
    that is not available (not Linux)."""
    prctl = _prctl()
    if prctl is None:
        return False
    return bool(prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0)


def pid_started(pid: int) -> str | None:
    """Start time of live process ``pid`` (UTC, RFC 3339, microseconds); None if it is gone,
    a zombie, or ``/proc`` cannot tell."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    if fields[0] == "Z":
        return None
    started = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return datetime.fromtimestamp(started, UTC).isoformat(timespec="microseconds")
