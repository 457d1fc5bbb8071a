"""Preparing a large JSONL file's events in forked worker processes (``append --jsonl``).

Each worker parses, checks, validates and encodes one input block (``jsonl_input``'s blocks
of whole lines) and sends back the prepared events (``prepare.Prepared``: bytes, cheap to
pass); the parent takes them in input order and leaves numbering, hashing and writing to the
usual commit. Only a file whose every block is clean takes this path: as soon as a block
holds a blank, bad or refused line, the workers stop and the caller reads the file again the
sequential way, which names the first bad line or event with the same message as always.
So what is accepted and what is reported never depend on this path.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
from collections.abc import Iterator
from typing import IO, Any

from ledger.encoding import Prepared
from ledger.errors import InvalidEvent
from ledger.json_text import JSONTextError, loads_text_lines
from ledger.jsonl_input import JSONL_BLOCK
from ledger.prepare import prepare

# Smaller files are not worth starting workers for.
MIN_PARALLEL_BYTES = 8 << 20
_PR_SET_PDEATHSIG = 1


def workers() -> int:
    """Worker processes to use: one per core this process may run on."""
    return len(os.sched_getaffinity(0))


def prepare_file(stream: IO[bytes], numbers: list[int]) -> list[Prepared] | None:
    """The prepared events of the rest of ``stream`` (each line's number in ``numbers``),
    prepared by worker processes; None, with ``stream`` and ``numbers`` as they were, when
    this path is not taken (a small or unseekable input, a single core, a block that is not
    clean): the caller then reads ``stream`` line by line as usual.
    """
    count = workers()
    if count < 2 or not _seekable(stream):
        return None
    start = stream.tell()
    if os.fstat(stream.fileno()).st_size - start < MIN_PARALLEL_BYTES:
        return None
    prepared: list[Prepared] = []
    found: list[int] = []
    context = multiprocessing.get_context("fork")
    with context.Pool(count, _die_with_parent, (os.getpid(),)) as pool:
        for result in pool.imap(_prepare_block, _blocks(stream)):
            if result is None:
                pool.terminate()
                stream.seek(start)
                return None
            lines, block = result
            found.extend(range(len(found) + 1, len(found) + 1 + lines))
            prepared += block
    numbers.extend(found)
    return prepared


def _seekable(stream: IO[bytes]) -> bool:
    try:
        return stream.seekable() and stream.fileno() >= 0
    except (OSError, ValueError, AttributeError):
        return False


def _blocks(stream: IO[bytes]) -> Iterator[bytes]:
    """``stream`` in blocks of whole lines, as ``jsonl_input`` cuts it (without the newline
    ending each block; the last one may have none)."""
    pending = b""
    while block := stream.read(JSONL_BLOCK):
        end = block.rfind(b"\n")
        if end < 0:
            pending += block
            continue
        yield pending + block[:end]
        pending = block[end + 1 :]
    if pending:
        yield pending


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this worker when its parent dies (kill -9 of ``append``), and
    leave a Ctrl-C to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the request was made
        os._exit(1)


def _prepare_block(text: bytes) -> tuple[int, list[Prepared]] | None:
    """The line count and prepared events of one block; None unless every line is a valid
    event parsed on the fast path."""
    lines = text.split(b"\n")
    if not all(map(bytes.strip, lines)):
        return None
    try:
        events: Any = loads_text_lines(lines)
    except JSONTextError:
        return None
    if set(map(type, events)) != {dict}:
        return None
    try:
        return len(lines), prepare(events, finite=True, data_texts=events.data_texts)
    except InvalidEvent:
        return None
