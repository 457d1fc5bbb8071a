"""Keeping what a recovery cuts: every byte a writer or ``repair`` removes from the live file
or the commit log is first written, and fsynced, to ``<root>/recovered/`` under a name made of
the first seq it would have held and a prefix of its SHA-256, so nothing is ever deleted."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ledger.files import file_opener, fsync_dir, make_dirs

RECOVERED_DIR = "recovered"
DIGEST_PREFIX = 16


def keep(root: Path, first_seq: int, data: bytes, suffix: str) -> str:
    """Durably store ``data`` under ``recovered/`` and return its path relative to ``root``.

    The name is ``<first_seq>-<sha256 prefix><suffix>``; the same bytes kept twice are one file.
    """
    directory = root / RECOVERED_DIR
    make_dirs(directory)
    name = f"{first_seq}-{hashlib.sha256(data).hexdigest()[:DIGEST_PREFIX]}{suffix}"
    path = directory / name
    if not (path.is_file() and path.read_bytes() == data):
        tmp = path.with_name(name + ".tmp")
        with open(tmp, "wb", opener=file_opener) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(directory)
        fsync_dir(root)
    return f"{RECOVERED_DIR}/{name}"
