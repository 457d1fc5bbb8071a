"""JSON text from users (``append --data``, ``append --jsonl``): one rule for both paths.

What is accepted never depends on unrelated content of the same text (a huge integer elsewhere
on the line, the order of keys):

- strict JSON (RFC 8259): ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON and are refused,
  and so is a number beyond a double's range (``1e400``): a non-finite metric is written as
  ``null`` by the producer (payloads built in Python are nulled and listed in ``non_finite``);
- a key given twice in one object, at any depth, is refused (never last-wins);
- the text must be UTF-8 and strings hold no lone surrogate (``"\\ud800"``);
- integers of any size stay exact;
- nesting deeper than the event limit (``encoding.MAX_DEPTH``) is refused, here when the text
  is too deep to parse at all, by the encoder otherwise: the same limit and message.

orjson parses the usual text; whatever it refuses, and text holding a run of 19+ digits
(integers beyond 64 bits, which orjson reads as floats), goes to the standard library with
hooks that enforce the same rules and give the clear messages.
"""

from __future__ import annotations

import json
import math
import re
from itertools import repeat
from typing import Any

import orjson

from ledger.encoding import MAX_DEPTH, may_hold_huge_int

DEPTH_MESSAGE = f"nested deeper than {MAX_DEPTH} levels"
# A colon inside a string can be written escaped; the duplicate-key count below needs none.
_ESCAPED_COLON = re.compile(rb"\\u003[aA]")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class JSONTextError(ValueError):
    """Text that is not accepted as JSON input; the message says why in one line."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JSONTextError(f"key {key!r} appears twice in one object")
            seen.add(key)
    return obj


def _refuse_constant(name: str) -> Any:
    raise JSONTextError(f"{name} is not JSON (write null for a non-finite number)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONTextError(f"number {text[:40]} is beyond a double's range")
    return value


def _strict_loads(text: bytes) -> Any:
    """The standard library's parser with every rule of the module docstring."""
    try:
        obj = json.loads(
            text.decode("utf-8"),  # strict: json.loads(bytes) lets encoded surrogates pass
            object_pairs_hook=_no_duplicates,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
        )
    except RecursionError:
        raise JSONTextError(DEPTH_MESSAGE) from None
    except UnicodeDecodeError as e:
        raise JSONTextError(f"not valid UTF-8 (byte {e.start})") from e
    except json.JSONDecodeError as e:
        raise JSONTextError(f"invalid JSON ({e.msg} at line {e.lineno} column {e.colno})") from e
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise JSONTextError("a string holds a lone surrogate (\\ud800-\\udfff)") from None
        except RecursionError:
            raise JSONTextError(DEPTH_MESSAGE) from None
    return obj


def _has_duplicate_keys(text: bytes, parsed: Any) -> bool | None:
    """Whether ``text`` (which orjson parsed into ``parsed``) gave some key twice; None when
    this cannot tell (escaped colons, or ``parsed`` deeper than orjson writes).

    A colon outside a string only ever separates a key from its value, and orjson writes
    colons in strings unescaped. So without ``\\u003a`` escapes, the text holds exactly as
    many colons as orjson's re-encoding of what it parsed, unless a duplicate key (and its
    overwritten value) was dropped: then the text holds more.
    """
    if _ESCAPED_COLON.search(text):
        return None
    try:
        encoded = orjson.dumps(parsed)
    except orjson.JSONEncodeError:
        return None
    return text.count(b":") != encoded.count(b":")


def loads_text(text: bytes) -> Any:
    """Parse one JSON text under the module's rules.

    Raises:
        JSONTextError: the text is refused; the message says why in one line.
    """
    if not may_hold_huge_int(text):
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # the standard library's pass below names the problem
        else:
            if _has_duplicate_keys(text, obj) is False:
                return obj
    return _strict_loads(text)


class ParsedLines(list[Any]):
    """Events parsed from lines (``loads_text_lines``). ``data_texts``, when not None, holds
    the canonical encoding (``encoding.canonical_json``) of each event's ``data`` (``{}``
    when it has none), found while checking for duplicate keys: the stored payload of a
    free-form event is exactly that encoding, so it need not be encoded twice."""

    data_texts: list[bytes] | None = None


def loads_text_lines(lines: list[bytes]) -> ParsedLines:
    """``loads_text`` of each of ``lines`` (one JSON text each, no newlines), with one parse
    call and one duplicate-key count for them all in the usual case. When every line is an
    object of a free-form type (``x.*``), the count is made over the canonical encoding of
    each event's data, kept in ``data_texts``.

    Raises:
        JSONTextError: some line is refused (parse them one by one to know which).
    """
    block = b"\n".join(lines)
    if not may_hold_huge_int(block):
        try:
            parsed = ParsedLines(map(orjson.loads, lines))
        except orjson.JSONDecodeError:
            pass
        else:
            if _all_free_form(parsed):
                parsed.data_texts = _data_texts(block, parsed)
                if parsed.data_texts is not None:
                    return parsed
            # Newlines between lines are not colons: the block counts as its lines do.
            if _has_duplicate_keys(block, parsed) is False:
                return parsed
    return ParsedLines(loads_text(line) for line in lines)


def _all_free_form(parsed: list[Any]) -> bool:
    """Whether every item of ``parsed`` is an object whose ``type`` is a free-form one."""
    from schemas import SchemaError, model_for

    if set(map(type, parsed)) != {dict}:
        return False
    try:
        kinds = set(map(dict.get, parsed, repeat("type")))
        return all(type(kind) is str and model_for(kind) is None for kind in kinds)
    except (SchemaError, TypeError):
        return False


_NO_DATA: dict[str, Any] = {}


def _data_texts(block: bytes, parsed: list[dict[str, Any]]) -> list[bytes] | None:
    """The canonical encoding of each event's data, if ``block`` (which orjson parsed into
    ``parsed``) surely gave no key twice; None when this cannot tell.

    As in ``_has_duplicate_keys``, a dropped duplicate leaves the text with more colons than
    the parsed objects imply. These imply at least one colon per top-level key plus those of
    the encoded data: a text with exactly that many gave no key twice (one with more is left
    to the full count, as colons inside envelope strings also make more).
    """
    if _ESCAPED_COLON.search(block):
        return None
    dumps, option = orjson.dumps, orjson.OPT_SORT_KEYS
    # Appended to one buffer as made: orjson's output holds a ~4 KiB buffer, and keeping
    # thousands of them alive costs a page fault each.
    joined = bytearray()
    ends: list[int] = []
    try:
        for event in parsed:
            joined += dumps(event.get("data", _NO_DATA), option=option)
            ends.append(len(joined))
    except orjson.JSONEncodeError:
        return None
    if block.count(b":") != sum(map(len, parsed)) + joined.count(b":"):
        return None
    texts = bytes(joined)
    return [texts[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)]
