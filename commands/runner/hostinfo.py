"""Facts about the driver process recorded in ``batch.started``: code version, host, start time."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from ledger.processes import pid_started
from schemas import CodeVersion

GIT_TIMEOUT_S = 5.0
_IMPORTED_AT = time.time()


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def code_version(cwd: Path | None = None) -> CodeVersion:
    """The git commit of the working directory and whether it has changes (none outside git)."""
    where = cwd or Path.cwd()
    commit = _git(["rev-parse", "HEAD"], where)
    if commit is None:
        return CodeVersion()
    status = _git(["status", "--porcelain", "--untracked-files=no"], where)
    return CodeVersion(git_commit=commit.strip(), dirty=bool(status and status.strip()))


def host_name() -> str:
    """This machine's host name."""
    return socket.gethostname()


def process_start() -> str:
    """When this process started, UTC RFC 3339 (from /proc where available)."""
    found = pid_started(os.getpid())
    if found is not None:
        return found
    return datetime.fromtimestamp(_IMPORTED_AT, UTC).isoformat(timespec="microseconds")
