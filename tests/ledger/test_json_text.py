"""One rule for JSON text from users: ``append --data`` and ``append --jsonl`` accept and refuse
the same payloads (duplicate keys, NaN/Infinity/1e400, lone surrogates, depth), whatever else
the line holds (a 19-digit integer sends a line down another parser)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands.cli.ledger import _read_data
from commands.cli.render import InputError
from ledger import InvalidEvent, InvalidInput, JSONTextError, loads_text, read_jsonl
from ledger.encoding import MAX_DEPTH
from ledger.json_text import loads_text_lines
from ledger.prepare import prepare

BIG = "123456789012345678901234567890"

FINE = ["1", "-2", "0.5", "1e300", "1e-400", BIG, '"s"', '"a:b"', '"\\u003a"', "true", "null"]
REFUSED = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", '"\\ud800"']
SCALARS = st.sampled_from([*FINE, *REFUSED, '"\\ud83d\\ude00"'])
KEYS = st.sampled_from(["a", "b", "type", "k:1"])


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and value[0] == "obj":
        return "{" + ",".join(f'"{k}":{_text(v)}' for k, v in value[1]) + "}"
    return "[" + ",".join(_text(v) for v in value) + "]"


VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(st.just("obj"), st.lists(st.tuples(KEYS, inner), max_size=3)).map(list)
    ),
    max_leaves=8,
)


def _payload_text(value: Any, big_sibling: bool) -> str:
    pairs = [("v", value)] + ([("zz", BIG)] if big_sibling else [])
    return _text(["obj", pairs])


def _via_data(text: str) -> bytes | str:
    """What ``append x.a --data TEXT`` would encode, or why it refuses."""
    try:
        payload = _read_data(text)
        return prepare([{"type": "x.a", "data": payload}])[0][1]
    except (InputError, InvalidEvent) as e:
        return f"refused: {e}"


def _via_jsonl(text: str) -> bytes | str:
    """What ``append --jsonl`` would encode for the line holding TEXT as data, or why not."""
    line = ('{"type":"x.a","data":' + text + "}\n").encode()
    try:
        events = list(read_jsonl(io.BytesIO(line), "in", []))
        return prepare(events)[0][1]
    except (InvalidInput, InvalidEvent) as e:
        return f"refused: {e}"


@settings(max_examples=400, deadline=None)
@given(value=VALUES, big_sibling=st.booleans())
def test_data_and_jsonl_accept_and_refuse_the_same(value: Any, big_sibling: bool) -> None:
    text = _payload_text(value, big_sibling)
    by_data, by_jsonl = _via_data(text), _via_jsonl(text)
    assert isinstance(by_data, bytes) == isinstance(by_jsonl, bytes), (text, by_data, by_jsonl)
    if isinstance(by_data, bytes):
        assert by_data == by_jsonl


@settings(max_examples=200, deadline=None)
@given(value=VALUES)
def test_unrelated_big_integer_changes_nothing(value: Any) -> None:
    """A 19-digit integer elsewhere on the line never changes what is accepted."""
    plain = _via_jsonl(_payload_text(value, False))
    with_big = _via_jsonl(_payload_text(value, True))
    assert isinstance(plain, bytes) == isinstance(with_big, bytes), (value, plain, with_big)


@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"a":NaN}', "NaN is not JSON"),
        ('{"a":Infinity}', "Infinity is not JSON"),
        ('{"a":-Infinity}', "-Infinity is not JSON"),
        ('{"a":1e400}', "beyond a double's range"),
        ('{"a":1,"a":2}', "key 'a' appears twice"),
        ('{"a":{"b":1,"b":1}}', "key 'b' appears twice"),
        ('{"a":"\\u003a","b":{"c":1,"c":2}}', "key 'c' appears twice"),
        ('{"a":"\\ud800"}', "lone surrogate"),
    ],
)
def test_each_rule_refuses_on_both_paths(text: str, reason: str, big: bool) -> None:
    text = text[:-1] + (f',"zz":{BIG}' if big else "") + "}"
    assert reason in str(_via_data(text))
    assert reason in str(_via_jsonl(text))


@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize("depth", [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 2000, 100_000])
def test_one_depth_limit_on_both_paths(depth: int, big: bool) -> None:
    """The payload itself counts as one level; deeper than MAX_DEPTH is refused, by either
    parser, with the same message, whether or not a huge integer rides along."""
    inner = "[" * (depth - 1) + "]" * (depth - 1)
    text = "{" + ('"zz":' + BIG + "," if big else "") + '"v":' + inner + "}"
    by_data, by_jsonl = _via_data(text), _via_jsonl(text)
    if depth <= MAX_DEPTH:
        assert isinstance(by_data, bytes) and by_data == by_jsonl
    else:
        assert f"nested deeper than {MAX_DEPTH} levels" in str(by_data)
        assert f"nested deeper than {MAX_DEPTH} levels" in str(by_jsonl)


def test_jsonl_line_with_two_type_keys_is_refused() -> None:
    line = b'{"type":"x.a","type":"x.b","data":{}}\n'
    with pytest.raises(InvalidInput, match="key 'type' appears twice"):
        list(read_jsonl(io.BytesIO(line), "in", []))


def test_clean_lines_never_reach_the_standard_library(monkeypatch: pytest.MonkeyPatch) -> None:
    """The duplicate-key check of the fast path settles clean lines (colons in strings too)."""
    from ledger import json_text

    def refuse(text: bytes) -> Any:
        raise AssertionError(f"slow path for {text!r}")

    monkeypatch.setattr(json_text, "_strict_loads", refuse)
    lines = [b'{"type":"x.a","data":{"t":"12:30","u":{"k:v":[1,2,{"a":":"}]}}}'] * 3
    assert loads_text_lines(lines)[0]["data"]["u"] == {"k:v": [1, 2, {"a": ":"}]}
    assert loads_text(b'{"a": 1, "b" : {"c":"::"}}') == {"a": 1, "b": {"c": "::"}}


def test_invalid_utf8_is_refused() -> None:
    with pytest.raises(JSONTextError, match="not valid UTF-8"):
        loads_text(b'{"a":"\xff"}')
    with pytest.raises(JSONTextError, match="not valid UTF-8"):
        loads_text(b'{"a":"\xed\xa0\x80", "n": ' + BIG.encode() + b"}")
