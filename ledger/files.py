"""The files of one ledger root and the low-level helpers that write them durably."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ledger.commits import Commit, last_commit
from ledger.errors import InputFileRefused, StorageRefused

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
    ``segments`` (Parquet, rows after ``since`` wanted), then the live file's bytes
    ``[live_begin, live_end)`` (lines with seq > ``live_floor`` wanted). ``live_clean``: the
    live file ends at ``live_end`` (no uncommitted tail after it)."""

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


def read_input_file(path: Path, limit: int, what: str = "") -> bytes:
    """The bytes of the regular file ``path``, reading at most ``limit`` + 1 of them.

    A FIFO, a device (``/dev/zero``), a socket or a directory is never read (checked with
    ``stat`` before opening, and again on the opened descriptor, which is opened non-blocking
    so that a FIFO swapped in between cannot hang the caller).

    Raises:
        InputFileRefused: not a regular file, larger than ``limit`` bytes, or the OS refused
            to read it; the one-line message names the file (after ``what``).
    """
    label = f"{what} {path}" if what else str(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise InputFileRefused(f"{label}: not a regular file (a FIFO, device or directory)")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise InputFileRefused(f"{label}: not a regular file")
            chunks: list[bytes] = []
            remaining = limit + 1
            while remaining > 0 and (chunk := os.read(fd, min(remaining, 1 << 20))):
                chunks.append(chunk)
                remaining -= len(chunk)
        finally:
            os.close(fd)
    except OSError as e:
        raise InputFileRefused(f"{label}: cannot read: {e.strerror or e}") from e
    data = b"".join(chunks)
    if len(data) > limit:
        raise InputFileRefused(f"{label}: larger than {limit} bytes")
    return data


_READ_ONLY_ERRORS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


@contextmanager
def os_errors(path: Path) -> Iterator[None]:
    """Turn an OS error inside the block into one ``StorageRefused`` line naming the file (the
    error's own file name, else ``path``) and the OS error, e.g. ``EFBIG`` from the file size
    limit or ``EACCES`` on a read-only root (said as such, never as "busy")."""
    try:
        yield
    except OSError as e:
        name = e.filename if e.filename is not None else path
        code = errno.errorcode.get(e.errno or 0, "")
        reason = f"{e.strerror or e} [{code}]" if code else str(e.strerror or e)
        hint = "; the ledger root is read-only here" if e.errno in _READ_ONLY_ERRORS else ""
        raise StorageRefused(f"cannot write {name}: {reason}{hint}") from e
