"""The files of one ledger root and the low-level helpers that write them durably."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ledger.commits import Commit, last_commit

# Modes of what a ledger root holds, whatever the umask: files 0644 and directories 0755 at
# most; sealed segments and blobs become read-only once complete.
FILE_MODE = 0o644
DIR_MODE = 0o755
SEALED_MODE = 0o444
LIVE_FILE = "ledger.jsonl"
COMMITS_FILE = "ledger.commits"
LOCK_FILE = "ledger.lock"
# Lines handed to one writev call (Linux's IOV_MAX).
WRITEV_LINES = 1024


@dataclass(frozen=True)
class LedgerFiles:
    """Where a ledger root keeps its live file and commit log."""

    root: Path

    @property
    def live_path(self) -> Path:
        return self.root / LIVE_FILE

    @property
    def commits_path(self) -> Path:
        return self.root / COMMITS_FILE

    @property
    def lock_path(self) -> Path:
        return self.root / LOCK_FILE

    def exists(self) -> bool:
        """Whether a ledger lives here (its live file exists)."""
        return self.live_path.is_file()

    def last_commit(self) -> Commit | None:
        """The last valid record of the commit log, or None."""
        return last_commit(self.commits_path)


@dataclass(frozen=True)
class BulkSource:
    """Where the committed events with ``since < seq <= last_seq`` are stored: whole sealed
    ``segments`` (Parquet, rows ``since < seq <= last_seq`` wanted), then the live file's bytes
    ``[live_begin, live_end)`` (lines with ``live_floor < seq <= last_seq`` wanted).
    ``live_clean``: the live file holds no uncommitted tail (every line in it is a committed
    event, so it can be read whole and filtered by seq)."""

    since: int
    last_seq: int
    segments: tuple[Path, ...]
    live_path: Path
    live_floor: int
    live_begin: int
    live_end: int
    live_clean: bool


def make_dirs(path: Path) -> None:
    """Create ``path`` and any missing parents, each with ``DIR_MODE`` whatever the umask."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(directory, DIR_MODE)  # mkdir's mode is filtered by the umask only


def file_opener(path: str, flags: int) -> int:
    """An ``open(..., opener=file_opener)`` that creates files with ``FILE_MODE``."""
    return os.open(path, flags, FILE_MODE)


def write_lines(fd: int, lines: list[bytes]) -> None:
    """Write ``lines`` in order with writev: no joined copy of a whole call's bytes."""
    for start in range(0, len(lines), WRITEV_LINES):
        batch = lines[start : start + WRITEV_LINES]
        written = os.writev(fd, batch)
        if written < sum(map(len, batch)):  # a short write: finish the rest plainly
            rest = memoryview(b"".join(batch))[written:]
            while rest:
                rest = rest[os.write(fd, rest) :]


def fsync_dir(path: Path) -> None:
    """Make a rename or creation in directory ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
