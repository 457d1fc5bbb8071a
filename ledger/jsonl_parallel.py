"""``append --jsonl`` of a large file on several cores: workers prepare, the parent chains.

The work per event that does not depend on its seq (parse, check, validate, encode the line
from its type to ``prev``: ``prepare``) is done by forked worker processes, one block of whole
lines of the file each (read with ``pread``, so the caller's stream never moves). The parent
takes the blocks in file order and chains them (seq, hash) after the ledger's head as it was
read at the start, while the workers go on with later blocks. The caller then commits the
encoded lines under the lock if no other commit landed meanwhile (``Ledger.append``).

A worker writes each block's encoded events to a memory file of its own (``memfd``) and tells
the parent only where they are; the parent reads them through ``/proc/<pid>/fd``. Nothing is
named in a file system, and the memory goes with the processes, whatever kills them. Workers
ask the kernel for SIGKILL when their parent dies.

Only a clean file takes this path: at the first block holding a blank, bad or refused line
(or an event refused when chained), the workers are stopped and ``None`` tells the caller to
read the file the sequential way, which names the first bad line with the same message as
always. So what is accepted, what is stored and what is reported never depend on this path.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import stat
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import accumulate, repeat
from operator import itemgetter
from typing import IO, Any

from ledger.encoding import encode_lines, utc_timestamp
from ledger.errors import InvalidEvent
from ledger.json_text import JSONTextError, loads_text_lines
from ledger.jsonl_input import JSONL_BLOCK
from ledger.prepare import prepare
from ledger.processes import set_death_signal
from ledger.writer import Head

# Smaller files are not worth starting workers for.
MIN_PARALLEL_BYTES = 4 << 20
# Bytes a worker reads past a block's end looking for the newline ending its last line.
_PROBE = 1 << 16
# Blocks a worker may have prepared and the parent not yet read: its memory file's slots, each
# rewritten once the parent read what it held (never grown: fresh pages cost a fault each).
SLOTS_PER_WORKER = 16
# Bytes of a slot (the memory file is sparse: only what is written takes memory). A block
# whose encodings are larger travels in the result itself.
SLOT_BYTES = 64 << 20

# A worker's view of its task, set in the parent before the workers are forked.
_source: tuple[int, int, int] = (-1, 0, 0)  # (fd, first offset, end offset)
_out = -1  # the worker's memory file

# A block's result: (events, causes or None when all are None, end offset of each event's
# encoding as array('q') bytes, where the encodings are: (worker pid, its memory file's fd,
# offset, length), or the encodings themselves).
BlockResult = tuple[int, list[Any] | None, bytes, "tuple[int, int, int, int] | bytes"]


@dataclass
class Encoded:
    """A file's events chained after the event ``seq``/``prev``: ``blocks`` of whole lines and
    each line's hash."""

    seq: int
    prev: str
    blocks: list[bytes]
    digests: list[str]


def workers() -> int:
    """Worker processes to use: one per core this process may run on."""
    return len(os.sched_getaffinity(0))


def encode_file(stream: IO[bytes], numbers: list[int], head: Callable[[], Head]) -> Encoded | None:
    """The events of the rest of ``stream`` encoded after ``head()`` (read only once this path
    is taken) with the time now as their ``ts``, each event's line number added to
    ``numbers``; None, with ``stream`` and ``numbers`` as they were, when this path is not
    taken: the input is small, not a regular file, or not clean; a single core; no memory
    files. The caller then reads ``stream`` the sequential way.
    """
    span = _file_span(stream)
    if span is None or workers() < 2 or not hasattr(os, "memfd_create"):
        return None
    import multiprocessing  # here: its import is a noticeable share of a small append

    seq, prev = head()
    ts = utc_timestamp()

    global _source
    _source = (stream.fileno(), *span)
    crew = _Crew(multiprocessing.get_context("fork"), -(-(span[1] - span[0]) // JSONL_BLOCK))
    try:
        crew.start()
        return _chain(crew.results(), crew.done, numbers, seq, prev, ts)
    except OSError:  # no worker could start, or a memory file could not be read: not this path
        return None
    finally:
        crew.stop()
        _source = (-1, 0, 0)


class _Crew:
    """The worker processes: worker ``w`` of ``n`` prepares blocks ``w``, ``w + n``, ... in
    order, each into the next of its memory file's slots once the parent has read the block
    that slot last held (a semaphore of ``SLOTS_PER_WORKER`` per worker), and sends where it
    is over a pipe of its own. No thread in the parent: it takes block ``i`` from worker
    ``i % n``'s pipe itself."""

    def __init__(self, context: Any, blocks: int) -> None:
        self._context = context
        self._blocks = blocks
        self._pipes: list[Any] = []
        self._free: list[Any] = []
        self._processes: list[Any] = []

    def start(self) -> None:
        """Start the workers (``stop`` ends those started, whatever happens)."""
        context, blocks = self._context, self._blocks
        count = workers()
        for w in range(count):
            receive, send = context.Pipe(duplex=False)
            self._pipes.append(receive)
            free = context.Semaphore(SLOTS_PER_WORKER)
            self._free.append(free)
            process = context.Process(
                target=_work,
                args=(w, count, blocks, send, free, os.getpid()),
                name=f"sweepledger-prepare-{w}",
                daemon=True,
            )
            try:
                process.start()
            finally:
                send.close()
            self._processes.append(process)

    def results(self) -> Iterator[BlockResult | None]:
        """Each block's result in order; None for a block not clean or a worker gone."""
        count = len(self._pipes)
        for index in range(self._blocks):
            try:
                yield self._pipes[index % count].recv()
            except (EOFError, OSError):
                yield None
                return

    def done(self, index: int) -> None:
        """The parent has read block ``index``: its slot may be written again."""
        self._free[index % len(self._free)].release()

    def stop(self) -> None:
        for process in self._processes:
            if process.is_alive():
                process.kill()
        for process in self._processes:
            process.join()
            process.close()
        for pipe in self._pipes:
            pipe.close()


def _file_span(stream: IO[bytes]) -> tuple[int, int] | None:
    """The byte range of a regular file left to read in ``stream``, if large enough."""
    try:
        fd = stream.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        start, size = stream.tell(), os.fstat(fd).st_size
    except (OSError, ValueError, AttributeError):
        return None
    return (start, size) if size - start >= MIN_PARALLEL_BYTES else None


def _chain(
    results: Iterator[BlockResult | None],
    done: Callable[[int], None],
    numbers: list[int],
    seq: int,
    prev: str,
    ts: str,
) -> Encoded | None:
    """Chain the blocks' events in order as they come (calling ``done`` with each block's
    index once it is read); None at the first block not clean."""
    encoded = Encoded(seq, prev, [], [])
    reader = _SlotReader()
    try:
        for index, result in enumerate(results):
            if result is None:
                return None
            count, causes, ends, where = result
            middles = reader.read(where, ends)
            done(index)
            if not count:
                continue
            try:
                lines, digests = encode_lines(
                    list(zip(causes or repeat(None), middles, strict=False)),
                    seq + len(encoded.digests),
                    encoded.digests[-1] if encoded.digests else prev,
                    ts,
                    len(encoded.digests),
                )
            except InvalidEvent:
                return None
            del middles
            encoded.blocks.append(b"".join(lines))
            encoded.digests += digests
    finally:
        reader.close()
    numbers.extend(range(1, len(encoded.digests) + 1))
    return encoded if encoded.digests else None


class _SlotReader:
    """Reads blocks' encodings from the workers' memory files into one buffer, reused (fresh
    memory costs a page fault per page; a reused buffer costs none)."""

    def __init__(self) -> None:
        self._files: dict[tuple[int, int], int] = {}
        self._buffer = bytearray()

    def read(self, where: tuple[int, int, int, int] | bytes, ends: bytes) -> list[Any]:
        """The encodings of one block, cut at the end offsets packed in ``ends``: views of
        the buffer, valid until the next call."""
        stops = array("q")
        stops.frombytes(ends)
        if isinstance(where, bytes):
            data: Any = where
        else:
            pid, fd, offset, length = where
            if (pid, fd) not in self._files:
                self._files[(pid, fd)] = os.open(f"/proc/{pid}/fd/{fd}", os.O_RDONLY)
            if len(self._buffer) < length:
                self._buffer = bytearray(length)
            data = memoryview(self._buffer)[:length]
            _preadv_all(self._files[(pid, fd)], data, offset)
        return list(map(data.__getitem__, map(slice, [0, *stops[:-1]], stops)))

    def close(self) -> None:
        for opened in self._files.values():
            os.close(opened)


def _preadv_all(fd: int, view: memoryview, offset: int) -> None:
    """Fill ``view`` from ``fd`` at ``offset``."""
    while view:
        got = os.preadv(fd, [view], offset)
        if not got:
            raise OSError(f"file ended {len(view)} bytes early")
        view, offset = view[got:], offset + got


def _pread_all(fd: int, length: int, offset: int) -> bytes:
    data = os.pread(fd, length, offset)
    if len(data) == length:
        return data
    parts = [data]
    while length > (have := sum(map(len, parts))):
        part = os.pread(fd, length - have, offset + have)
        if not part:
            raise OSError(f"file ended {length - have} bytes early")
        parts.append(part)
    return b"".join(parts)


# -- in the workers ------------------------------------------------------------------------


def _work(w: int, count: int, blocks: int, pipe: Any, free: Any, parent: int) -> None:
    """A worker's life: blocks ``w``, ``w + count``, ... each into slot ``k % SLOTS_PER_WORKER``
    of its memory file (its ``k``-th block) once ``free`` says the parent read what the slot
    held; stops after the first block not clean. Whatever goes wrong is told as None (the
    parent then reads the file the sequential way, which reports it)."""
    try:
        _start_worker(parent)
        for k, index in enumerate(range(w, blocks, count)):
            free.acquire()
            result = _prepare_block(index, k % SLOTS_PER_WORKER)
            pipe.send(result)
            if result is None:
                break
    except BaseException:  # any failure is the parent's to handle
        with contextlib.suppress(OSError):
            pipe.send(None)
    finally:
        pipe.close()
        os._exit(0)  # no atexit handlers or buffered output inherited from the parent


def _start_worker(parent: int) -> None:
    """Die with the parent (kill -9 of ``append``), leave a Ctrl-C to it, and make the memory
    file this worker's blocks go to."""
    global _out
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_death_signal(signal.SIGKILL)
    if os.getppid() != parent:  # it died before the request was made
        os._exit(1)
    gc.disable()  # parsed events hold no cycles: reference counting frees them
    _out = os.memfd_create("sweepledger-prepared", os.MFD_CLOEXEC)


def _prepare_block(index: int, slot: int) -> BlockResult | None:
    """Prepare block ``index`` of the source into slot ``slot`` of this worker's memory file;
    None unless every line of it is a valid event parsed on the fast path."""
    start, end = _line_start(index), _line_start(index + 1)
    if start >= end:
        return 0, None, b"", b""
    text = _pread_all(_source[0], end - start, start)
    lines = text[:-1].split(b"\n") if text.endswith(b"\n") else text.split(b"\n")
    if not all(map(bytes.strip, lines)):
        return None
    try:
        events: Any = loads_text_lines(lines)
        if set(map(type, events)) != {dict}:
            return None
        prepared = prepare(events, finite=True, data_texts=events.data_texts)
    except (JSONTextError, InvalidEvent):
        return None
    causes = list(map(itemgetter(0), prepared))
    middles = list(map(itemgetter(1), prepared))
    joined = b"".join(middles)
    stops = array("q", accumulate(map(len, middles))).tobytes()
    known = None if causes.count(None) == len(causes) else causes
    if len(joined) > SLOT_BYTES:
        return len(prepared), known, stops, joined
    view, offset = memoryview(joined), slot * SLOT_BYTES
    while view:
        written = os.pwrite(_out, view, offset)
        view, offset = view[written:], offset + written
    return len(prepared), known, stops, (os.getpid(), _out, slot * SLOT_BYTES, len(joined))


def _line_start(index: int) -> int:
    """Where block ``index`` starts: the first line starting at or after ``index`` blocks
    into the source (the source's end past its last block)."""
    fd, first, end = _source
    position = first + index * JSONL_BLOCK
    if index == 0 or position >= end:
        return min(position, end)
    position -= 1  # a line starts here if the byte before it ends a line
    while position < end:
        probe = os.pread(fd, min(_PROBE, end - position), position)
        found = probe.find(b"\n")
        if found >= 0:
            return position + found + 1
        position += len(probe)
    return end
