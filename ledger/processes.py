"""Process identity: when a live process started, so a recorded driver can be told apart from
a later process that reused its pid. Used by the runner (to record itself) and by the gap
audit (to see that a recorded driver is gone).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path


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
