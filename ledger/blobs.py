"""Content-addressed blob store: ``<root>/blobs/sha256/ab/cdef…``."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from ledger.errors import BlobNotFound
from ledger.files import SEALED_MODE, make_dirs

COPY_BLOCK = 1 << 20


class BlobStore:
    """Files stored once by SHA-256 digest; writes are atomic (temp file, fsync, rename)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, digest: str) -> Path:
        """Where the blob with ``digest`` lives (whether or not it exists)."""
        return self.directory / "sha256" / digest[:2] / digest[2:]

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def put(self, source: Path | str | bytes) -> str:
        """Store a file's bytes (or ``bytes``) and return their sha256 hex digest."""
        staging = self.directory / "tmp"
        make_dirs(staging)
        digest = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(dir=staging)
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(source, bytes):
                    digest.update(source)
                    out.write(source)
                else:
                    with open(source, "rb") as f:
                        while block := f.read(COPY_BLOCK):
                            digest.update(block)
                            out.write(block)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp_name, SEALED_MODE)  # mkstemp makes 0600; a blob is complete: read-only
            hexdigest = digest.hexdigest()
            final = self.path(hexdigest)
            if final.exists():
                os.unlink(tmp_name)
            else:
                make_dirs(final.parent)
                os.replace(tmp_name, final)
            return hexdigest
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise

    def read(self, digest: str) -> bytes:
        """The bytes of a stored blob.

        Raises:
            BlobNotFound: no blob with that digest.
        """
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError as e:
            raise BlobNotFound(f"no blob {digest} in {self.directory}") from e
