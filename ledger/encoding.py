"""Deterministic encoding of events into stored lines, and decoding back.

Payloads are canonical JSON: UTF-8, no whitespace, keys sorted at every depth, floats in
their shortest round-trip form (``0.1``, ``1e+16``, ``1e-7``), integers exact. The envelope
keys come in the fixed order given in ``ledger.chain`` (and docs/FORMAT.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import orjson

from ledger.chain import DATA_FIELD, HASH_HEX_LEN, PREV_START, SUFFIX_LEN
from ledger.errors import EventTooLarge, InvalidEvent

if TYPE_CHECKING:
    from schemas import Event

MAX_EVENT_BYTES = 16 * 1024 * 1024
# Arrays and objects nested in a payload, counting the payload itself: orjson's own limit, so
# the fast encoder and the fallback for huge integers refuse exactly the same payloads.
MAX_DEPTH = 254
_SORTED = orjson.OPT_SORT_KEYS
_HEAD = b'%s","v":%d,"batch":%s,"key":'
_TAIL = b'%s%s,"cause":%s,"data":%s,"prev":"'
_NULL = b"null"
_LINE = b'%s,"hash":"%s"}\n'
_MAX_PREFIX = MAX_EVENT_BYTES - SUFFIX_LEN - 1


def utc_timestamp(now: dt.datetime | None = None) -> str:
    """RFC 3339 UTC with microseconds, e.g. ``2026-11-22T03:51:00.123456Z``."""
    moment = now if now is not None else dt.datetime.now(dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _model_fields(obj: Any) -> Any:
    """orjson's hook for payload models nested in validated fields: their field dict."""
    if hasattr(obj, "__pydantic_fields__"):
        return obj.__dict__
    raise TypeError(f"Type is not JSON serializable: {type(obj).__name__}")


def _sort_keys(obj: Any, depth: int = 1) -> Any:
    """``obj`` with dict keys sorted at every depth; ``depth`` is the nesting of ``obj``."""
    if hasattr(obj, "__pydantic_fields__"):
        obj = obj.__dict__
    if isinstance(obj, dict | list | tuple) and depth > MAX_DEPTH:
        raise InvalidEvent(f"data: nested deeper than {MAX_DEPTH} levels", field="data")
    if isinstance(obj, dict):
        return {str(k): _sort_keys(obj[k], depth + 1) for k in sorted(obj, key=str)}
    if isinstance(obj, list | tuple):
        return [_sort_keys(v, depth + 1) for v in obj]
    return obj


def canonical_json(obj: Any) -> bytes:
    """Canonical JSON bytes of ``obj`` (see the module docstring).

    Integers beyond 64 bits, which orjson refuses, go through pydantic-core's serializer
    after sorting keys; both write floats in the same shortest round-trip form.

    Raises:
        InvalidEvent: ``obj`` holds something JSON cannot represent.
    """
    try:
        return orjson.dumps(obj, default=_model_fields, option=_SORTED)
    except orjson.JSONEncodeError as e:
        if "recursion" in str(e).lower():
            raise InvalidEvent(f"data: nested deeper than {MAX_DEPTH} levels", field="data") from e
        if "Integer exceeds 64-bit range" not in str(e):
            raise InvalidEvent(f"data: not representable as JSON ({e})", field="data") from e
    import pydantic_core

    try:
        return pydantic_core.to_json(_sort_keys(obj))
    except (pydantic_core.PydanticSerializationError, ValueError, RecursionError) as e:
        raise InvalidEvent(f"data: not representable as JSON ({e})", field="data") from e


def encode_text(value: str | None) -> bytes:
    """A JSON string literal (or ``null``) for an envelope field."""
    return b"null" if value is None else orjson.dumps(value)


# An event encoded up to the parts that need its seq, commit time and ``prev``: its cause
# (checked against its seq then) and the line from the type's value up to the opening quote
# of ``prev``. A plain tuple: a NamedTuple costs a Python-level call per event.
Prepared = tuple[int | None, bytes]


def encode_middles(
    event_type: str,
    version: int,
    envelopes: Sequence[tuple[Any, Any, str | None, str | None, int | None]],
    payloads: Sequence[Any],
    payload_texts: Sequence[bytes | None] | None = None,
) -> list[Prepared]:
    """Encode the seq-independent part of events of one type and version.

    ``envelopes`` are (type, data, batch, key, cause) and ``payloads`` the validated data;
    ``payload_texts`` the canonical encoding of each payload where already known (or None).

    Raises:
        InvalidEvent: a payload is not representable (``index`` is its position).
    """
    heads = {
        batch: _HEAD % (event_type.encode(), version, _text_field(envelopes, "batch", batch))
        for batch in {envelope[2] for envelope in envelopes}
    }
    dumps = orjson.dumps
    prepared: list[Prepared] = []
    add = prepared.append
    texts = [None] * len(payloads) if payload_texts is None else payload_texts
    for (_type, _data, batch, key, cause), data, text in zip(
        envelopes, payloads, texts, strict=True
    ):
        # Each line part is built at once: orjson's output holds a ~4 KiB buffer, so keeping
        # thousands of them alive costs a page fault each. orjson inline: canonical_json's
        # own call costs more than the encoding of a small payload.
        try:
            encoded = (
                text if text is not None else dumps(data, default=_model_fields, option=_SORTED)
            )
        except orjson.JSONEncodeError:
            try:
                encoded = canonical_json(data)
            except InvalidEvent as e:
                raise e.moved(len(prepared)) from e
        try:
            key_text = _NULL if key is None else dumps(key)
        except orjson.JSONEncodeError:
            raise _not_text(len(prepared), "key", key) from None
        cause_text = _NULL if cause is None else b"%d" % cause
        add((cause, _TAIL % (heads[batch], key_text, cause_text, encoded)))
    return prepared


def _text_field(envelopes: Sequence[tuple[Any, ...]], name: str, value: str | None) -> bytes:
    """``encode_text(value)`` for the envelope field ``name`` (``batch`` or ``key``).

    Raises:
        InvalidEvent: ``value`` is not UTF-8 text (a lone surrogate, e.g. from invalid UTF-8
            on the command line); ``index`` is the first event of ``envelopes`` holding it.
    """
    try:
        return encode_text(value)
    except orjson.JSONEncodeError:
        position = 2 if name == "batch" else 3
        index = next(i for i, envelope in enumerate(envelopes) if envelope[position] == value)
        raise _not_text(index, name, value) from None


def _not_text(index: int, name: str, value: Any) -> InvalidEvent:
    return InvalidEvent.at(index, f"field {name!r} is not valid UTF-8 text ({value!r})", name)


def _line_head(ts: str) -> bytes:
    """A line up to its type's value, to be filled with seq, the middle and ``prev``."""
    return b'{"seq":%d,"ts":"' + ts.encode() + b'","type":"%s%s"'


def _refuse(position: int, seq: int, cause: int | None, prefix_len: int) -> None:
    """Raise for the event at ``seq`` if its cause is not earlier or it is too large."""
    if cause is not None and cause >= seq:
        raise InvalidEvent.at(position, f"cause {cause} does not name an earlier event", "cause")
    if prefix_len > _MAX_PREFIX:
        raise EventTooLarge.at(
            position,
            f"{prefix_len + SUFFIX_LEN + 1} bytes encoded; the limit is "
            f"{MAX_EVENT_BYTES} bytes (store large outputs as artifacts)",
        )


def check_lines(prepared: list[Prepared], seq: int, ts: str) -> None:
    """Raise what ``encode_lines`` would for ``prepared`` after ``seq``, without encoding.

    For calls written in several chunks: nothing may be written when a later event is refused.
    """
    head = _line_head(ts)
    # The last seq has the most digits, so this bounds every line; exact only when exceeded.
    bound = len(head % (seq + len(prepared), b"", b"0" * HASH_HEX_LEN))
    causes = list(map(itemgetter(0), prepared))
    longest = max(map(len, map(itemgetter(1), prepared)), default=0)
    if causes.count(None) == len(causes) and longest + bound <= _MAX_PREFIX:
        return  # the usual case, settled without a Python-level loop
    for position, (cause, middle) in enumerate(prepared):
        if (cause is not None and cause > seq + position) or len(middle) + bound > _MAX_PREFIX:
            exact = len(head % (seq + position + 1, b"", b"0" * HASH_HEX_LEN)) + len(middle)
            _refuse(position, seq + position + 1, cause, exact)


def encode_lines(
    prepared: list[Prepared], seq: int, prev: str, ts: str, position: int = 0
) -> tuple[list[bytes], list[str]]:
    """Chain ``prepared`` after the event ``seq``/``prev``: the lines and the hash of each.

    ``position`` is the index of ``prepared[0]`` in the call, for messages.

    Raises:
        InvalidEvent: a ``cause`` does not name an earlier event.
        EventTooLarge: a line would exceed ``MAX_EVENT_BYTES``.
    """
    head = _line_head(ts)
    sha256 = hashlib.sha256
    lines: list[bytes] = []
    digests: list[str] = []
    add_line, add_digest = lines.append, digests.append
    link = prev.encode()
    for cause, middle in prepared:
        seq += 1
        prefix = head % (seq, middle, link)
        if (cause is not None and cause >= seq) or len(prefix) > _MAX_PREFIX:
            _refuse(position + len(lines), seq, cause, len(prefix))
        digest = sha256(prefix).hexdigest()
        add_digest(digest)
        link = digest.encode()
        add_line(_LINE % (prefix, link))
    return lines, digests


def data_text(line: bytes) -> bytes:
    """The raw ``data`` JSON of a stored line (without its newline), sliced from its bytes."""
    start = line.index(DATA_FIELD) + len(DATA_FIELD)
    return line[start : PREV_START - len(b',"prev":"')]


# orjson reads integers beyond 64 bits as floats, so text holding a run of 19 or more digits
# goes to the standard library instead. Mapping every digit to "0" (C-level translate) and
# looking for 19 zeros in a row is much cheaper than a regex scan of every line.
_DIGITS_TO_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
_LONG_DIGIT_RUN = b"0" * 19


def may_hold_huge_int(text: bytes) -> bool:
    """Whether ``text`` holds a run of 19 or more digits (maybe an integer beyond 64 bits)."""
    return _LONG_DIGIT_RUN in text.translate(_DIGITS_TO_ZERO)


def loads(text: bytes) -> Any:
    """Parse JSON exactly: integers of any size stay integers."""
    return json.loads(text) if may_hold_huge_int(text) else orjson.loads(text)


def loads_lines(lines: list[bytes]) -> list[Any]:
    """``loads`` of each of ``lines`` (JSON texts without newlines), with one huge-int scan
    for them all instead of one per line.

    Raises:
        ValueError: some line is not JSON (parse them one by one to know which).
    """
    if may_hold_huge_int(b"\n".join(lines)):
        return [loads(line) for line in lines]
    return list(map(orjson.loads, lines))


def decode_fields(line: bytes) -> dict[str, Any]:
    """Parse a stored line into a plain dict of its envelope fields (unvalidated)."""
    # The last 150 bytes are prev and hash: hex digits, never a number.
    parsed: dict[str, Any] = (
        json.loads(line) if may_hold_huge_int(line[:-150]) else orjson.loads(line)
    )
    return parsed


def decode_line(line: bytes) -> Event:
    """Parse a stored line (with or without newline) into an ``Event``."""
    from schemas import Event

    return Event.model_validate(decode_fields(line))
