"""Atomic output files and the record of them.

Every file a projection writes goes through ``write_atomic`` (or ``write_atomic_pieces``, or
a ``BackgroundWrites`` block doing either in threads): a temporary file in the same folder,
renamed into place once complete, so a reader sees the old file or the new one, never a part.
Inside ``recording()`` (the rebuild loop opens one around each projection's update) each file's
size and SHA-256 are noted in an ``OutputLog``, which ``projections.outputs`` stores in the
projection database: a new projection gets its outputs checked and restored without code of
its own. A file written in pieces is hashed piece by piece as it is written, so its record is
that of the joined bytes without a second pass over them.
"""

from __future__ import annotations

import contextvars
import hashlib
import os
import queue
import tempfile
import threading
from collections.abc import Collection, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

OUTPUT_MODE = 0o644


@dataclass(frozen=True)
class Output:
    """One file a projection wrote: its path, its size in bytes and their SHA-256 (hex)."""

    path: Path
    size: int
    sha256: str


class OutputLog:
    """The files ``write_atomic`` wrote while this log was active (thread-safe: background
    writers add to it). With ``only``, the other paths are rendered but not written: a
    restore rewrites just the damaged files."""

    def __init__(self, only: Collection[Path] | None = None) -> None:
        self.only = frozenset(only) if only is not None else None
        self._outputs: dict[Path, Output] = {}
        self._lock = threading.Lock()

    def wants(self, path: Path) -> bool:
        """Whether ``path`` is to be written."""
        return self.only is None or path in self.only

    def add(self, output: Output) -> None:
        """Note one written file (the last write of a path wins)."""
        with self._lock:
            self._outputs[output.path] = output

    def get(self, path: Path) -> Output | None:
        """What was written at ``path``, if it was."""
        with self._lock:
            return self._outputs.get(path)

    def outputs(self) -> list[Output]:
        """Every file written, by path."""
        with self._lock:
            return sorted(self._outputs.values(), key=lambda o: o.path)


_ACTIVE_LOG: contextvars.ContextVar[OutputLog | None] = contextvars.ContextVar(
    "sweepledger_output_log", default=None
)


@contextmanager
def recording(only: Collection[Path] | None = None) -> Iterator[OutputLog]:
    """Note every ``write_atomic`` of this context (and of ``BackgroundWrites`` started in it)
    in the log yielded; with ``only``, write nothing but those paths."""
    log = OutputLog(only)
    token = _ACTIVE_LOG.set(log)
    try:
        yield log
    finally:
        _ACTIVE_LOG.reset(token)


def write_atomic(path: Path, text: str | bytes | memoryview) -> Path:
    """Write ``text`` (UTF-8; bytes or a byte view as they are) to ``path`` via a temporary
    file and rename; returns ``path``.

    Inside ``recording()`` the file's size and SHA-256 are noted, and a path the log does not
    want is left alone.
    """
    log = _ACTIVE_LOG.get()
    if log is not None and not log.wants(path):
        return path
    data = text.encode("utf-8") if isinstance(text, str) else text
    return _write_pieces(path, [data], log)


def write_atomic_pieces(path: Path, pieces: Iterable[bytes | memoryview]) -> Path:
    """``write_atomic`` of the pieces joined, each written and hashed as it comes: the file,
    its size and its SHA-256 are those of the joined bytes. An error while writing or raised
    by ``pieces`` leaves ``path`` as it was and no temporary file behind (``pieces`` is then
    not read further). A path the log does not want is left alone (``pieces`` not read)."""
    log = _ACTIVE_LOG.get()
    if log is not None and not log.wants(path):
        return path
    return _write_pieces(path, pieces, log)


def _write_pieces(path: Path, pieces: Iterable[bytes | memoryview], log: OutputLog | None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as f:
            for piece in pieces:
                f.write(piece)
                digest.update(piece)
                size += memoryview(piece).nbytes
        os.chmod(tmp, OUTPUT_MODE)  # mkstemp makes 0600; reports are for the whole group
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if log is not None:
        log.add(Output(path, size, digest.hexdigest()))
    return path


class PieceStream:
    """One file written by a thread of its own from the pieces ``add``-ed, in order, while
    the caller makes the next ones (``BackgroundWrites.stream``). At most ``depth`` pieces
    wait at a time: ``add`` blocks when the writer is that far behind, so a file made of
    many pieces never sits in memory whole.
    """

    def __init__(self, path: Path, depth: int) -> None:
        self.path = path
        self._queue: queue.Queue[bytes | memoryview | object] = queue.Queue(maxsize=depth)
        self._discarding = threading.Event()  # the writer reads no more pieces
        self._ended = False
        self._ended_seen = False  # the writer took ``close``'s or ``abort``'s marker
        self._error: BaseException | None = None
        context = contextvars.copy_context()  # carries the caller's ``recording()`` log
        self._thread = threading.Thread(
            target=context.run, args=(self._run,), name="sweepledger-stream", daemon=True
        )
        self._thread.start()

    def add(self, piece: bytes | memoryview) -> None:
        """Queue the next piece (dropped once the writing has failed, ``wait`` then raises, or
        when the ``recording()`` log does not want the file)."""
        if self._ended:
            raise RuntimeError(f"{self.path}: piece added after the stream ended")
        if not self._discarding.is_set():
            self._queue.put(piece)

    def close(self) -> None:
        """No more pieces: the file is completed and renamed into place."""
        self._end(_CLOSE)

    def abort(self) -> None:
        """No more pieces: the temporary file is removed and ``path`` left as it was."""
        self._end(_ABORT)

    def wait(self) -> None:
        """Wait for the writer (after ``close`` or ``abort``); raise what made it fail."""
        self._thread.join()
        if self._error is not None:
            raise self._error

    @property
    def ended(self) -> bool:
        """Whether ``close`` or ``abort`` was called."""
        return self._ended

    def _end(self, marker: object) -> None:
        if not self._ended:
            self._ended = True
            self._queue.put(marker)

    def _pieces(self) -> Iterator[bytes | memoryview]:
        while True:
            item = self._queue.get()
            if item is _CLOSE or item is _ABORT:
                self._ended_seen = True
            if item is _CLOSE:
                return
            if item is _ABORT:
                raise StreamAborted(str(self.path))
            yield item  # type: ignore[misc]

    def _run(self) -> None:
        try:
            write_atomic_pieces(self.path, self._pieces())
        except BaseException as error:  # handed to ``wait``, in the caller's thread
            self._error = error
        finally:
            # Failed, or a path the log does not want: take what is still coming, so that an
            # ``add`` blocked on a full queue returns.
            self._discarding.set()
            while not self._ended_seen:
                item = self._queue.get()
                self._ended_seen = item is _CLOSE or item is _ABORT


class StreamAborted(Exception):
    """A ``PieceStream`` was aborted before it was closed: its file was not written."""


_CLOSE = object()
_ABORT = object()
# Pieces a ``PieceStream`` holds before ``add`` waits for its writer.
STREAM_DEPTH = 4


class BackgroundWrites:
    """Files written (``write_atomic``) by two background threads while the caller renders
    the next ones, and files streamed piece by piece (``stream``); leaving the ``with`` block
    waits for every file and raises the first failure (an exception leaving the block aborts
    the streams still open). Writing hundreds of MB is mostly the kernel's work, done without
    the GIL.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sweepledger-write")
        self._pending: list[Future[Path]] = []
        self._streams: list[PieceStream] = []

    def write(self, path: Path, text: str | bytes | memoryview) -> Path:
        """Queue ``text`` for ``path``; returns ``path``."""
        # The copied context carries the caller's ``recording()`` log into the thread.
        context = contextvars.copy_context()
        self._pending.append(self._pool.submit(context.run, write_atomic, path, text))
        return path

    def stream(self, path: Path, depth: int = STREAM_DEPTH) -> PieceStream:
        """A file written from pieces as they are added (``PieceStream``); ``close`` it
        before the block ends."""
        stream = PieceStream(path, depth)
        self._streams.append(stream)
        return stream

    def __enter__(self) -> BackgroundWrites:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        left_open = [s.path for s in self._streams if not s.ended]
        for stream in self._streams:
            stream.abort()  # a no-op on a closed stream
        self._pool.shutdown(wait=True)
        failures: list[BaseException] = []
        for stream in self._streams:
            try:
                stream.wait()
            except StreamAborted:
                pass  # the reason it was aborted is raised instead
            except BaseException as failure:
                failures.append(failure)
        if kind is not None:
            return
        for future in self._pending:
            future.result()
        if failures:
            raise failures[0]
        if left_open:
            raise RuntimeError(f"streams left open: {', '.join(map(str, left_open))}")
