"""Events from JSONL input (``append --jsonl``): parsed a block of whole lines per call,
with the same events, line numbers and errors as a plain line-by-line reader. Each line is
read under the rules of ``ledger.json_text`` (the same as ``append --data``)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import IO, Any

from ledger.errors import InvalidInput
from ledger.json_text import JSONTextError, loads_text, loads_text_lines

# Bytes of input parsed per call. Larger blocks cost more than they save: their temporaries
# (read, join, huge-int scan) come from fresh pages.
JSONL_BLOCK = 256 << 10


class ParsedEvents:
    """Events parsed from JSON text (``read_jsonl``). Iterating gives the events; being of
    this type says that no float in them is NaN or infinite (JSON text cannot write one, and
    the JSON rule refuses a number beyond a double's range), so ``Ledger.append`` does not
    look for them.

    ``take_data_texts`` gives, for events already iterated, the canonical encoding of each
    one's ``data`` when the reader found it (``json_text.ParsedLines``), else None.
    """

    def __init__(
        self,
        events: Iterator[Any],
        data_texts: list[bytes | None],
        source: tuple[IO[bytes], list[int]],
    ) -> None:
        self._events = events
        self._data_texts = data_texts
        self._source: tuple[IO[bytes], list[int]] | None = source

    def __iter__(self) -> Iterator[Any]:
        self._source = None
        # The C-level iterator itself: a Python-level __next__ would cost a call per event.
        return self._events

    def unread_source(self) -> tuple[IO[bytes], list[int]] | None:
        """The stream and line-number list given to ``read_jsonl`` while no event has been
        read from them (for ``jsonl_parallel``, which reads the stream's file by offset and
        leaves its position alone); None once iterated."""
        return self._source

    def take_data_texts(self, count: int) -> list[bytes | None]:
        """The data encodings of the next ``count`` events iterated (each once), in order."""
        taken = self._data_texts[:count]
        del self._data_texts[:count]
        return taken


def read_jsonl(stream: IO[bytes], name: str, numbers: list[int]) -> ParsedEvents:
    """Events from a JSONL stream; records each event's line number in ``numbers``.

    Lazy like a line-by-line reader: a bad line raises only once the events before it have
    been consumed, so an earlier invalid event is still the one reported.
    """
    texts: list[bytes | None] = []
    blocks = _jsonl_blocks(stream, name, numbers, texts)
    return ParsedEvents(chain.from_iterable(blocks), texts, (stream, numbers))


def _jsonl_blocks(
    stream: IO[bytes], name: str, numbers: list[int], texts: list[bytes | None]
) -> Iterator[list[Any]]:
    """The events of ``stream`` in lists, one per block of whole lines (one parse call each);
    the data encoding of each (or None) goes to ``texts``, its line number to ``numbers``."""
    first = 1
    pending: list[bytes] = []
    while block := stream.read(JSONL_BLOCK):
        end = block.rfind(b"\n")
        if end < 0:
            pending.append(block)
            continue
        lines = b"".join([*pending, block[:end]]).split(b"\n")
        pending = [block[end + 1 :]]
        yield from _parsed(lines, first, name, numbers, texts, terminated=True)
        first += len(lines)
    tail = b"".join(pending)
    if tail:
        yield from _parsed([tail], first, name, numbers, texts, terminated=False)


def _parsed(
    lines: list[bytes],
    first: int,
    name: str,
    numbers: list[int],
    texts: list[bytes | None],
    terminated: bool,
) -> Iterator[list[Any]]:
    """The events of ``lines`` (numbered from ``first``): in one parse call when none is blank
    or bad; otherwise one by one, raising for the first bad line after yielding those before."""
    if all(map(bytes.strip, lines)):
        try:
            parsed = loads_text_lines(lines)
        except JSONTextError:
            pass
        else:
            if set(map(type, parsed)) <= {dict}:
                numbers.extend(range(first, first + len(lines)))
                found = parsed.data_texts
                texts.extend([None] * len(parsed) if found is None else found)
                yield parsed
                return
    events: list[Any] = []
    last = len(lines) - 1
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        number = first + index
        try:
            # With its newline, as read, so that a message's position is the same.
            obj = loads_text(line + b"\n" if terminated or index < last else line)
        except JSONTextError as e:
            texts.extend([None] * len(events))
            yield events
            raise InvalidInput(f"{name} line {number}: {e}") from e
        if not isinstance(obj, dict):
            texts.extend([None] * len(events))
            yield events
            raise InvalidInput(f"{name} line {number}: expected a JSON object")
        numbers.append(number)
        events.append(obj)
    texts.extend([None] * len(events))
    yield events
