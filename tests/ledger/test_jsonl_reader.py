"""`append --jsonl` reads its input in blocks of whole lines: the same events, line numbers
and errors as a plain line-by-line reader, wherever the block boundaries fall."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import InvalidInput, jsonl_input
from ledger.json_text import JSONTextError, loads_text

LINES = [
    b'{"type":"x.a","data":{"n":1}}',
    b'{"type": "x.b", "data": {"big": 123456789012345678901234567890}}',
    b'  {"type":"x.c"}  ',
    b'{"type":"x.d","data":{"s":"\\u00e9\\n"}}\r',
    b"",
    b"   ",
    b"\r",
    b"[1, 2]",
    b"5",
    b"{oops",
    b'{"type":',
    b'{"type":"x.e","data":{"f":1.5e300,"g":-0.0}}',
]


def reference(stream: io.BytesIO, name: str, numbers: list[int]) -> Iterator[Any]:
    """The line-by-line reader the block reader replaces."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            obj = loads_text(line)
        except JSONTextError as e:
            raise InvalidInput(f"{name} line {number}: {e}") from e
        if not isinstance(obj, dict):
            raise InvalidInput(f"{name} line {number}: expected a JSON object")
        numbers.append(number)
        yield obj


def drain(reader: Iterator[Any]) -> tuple[list[Any], str | None]:
    """Everything ``reader`` yields, and the error it raises after that (if any)."""
    events: list[Any] = []
    try:
        for event in reader:
            events.append(event)
    except InvalidInput as e:
        return events, str(e)
    return events, None


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    picks=st.lists(st.integers(min_value=0, max_value=len(LINES) - 1), max_size=40),
    newline_at_end=st.booleans(),
    block=st.integers(min_value=1, max_value=200),
)
def test_block_reader_matches_the_line_reader(
    monkeypatch: pytest.MonkeyPatch, picks: list[int], newline_at_end: bool, block: int
) -> None:
    """(Each example sets the block size itself, so the shared monkeypatch is harmless.)"""
    data = b"\n".join(LINES[i] for i in picks) + (b"\n" if newline_at_end and picks else b"")
    monkeypatch.setattr(jsonl_input, "JSONL_BLOCK", block)
    got_numbers: list[int] = []
    got = drain(jsonl_input.read_jsonl(io.BytesIO(data), "in", got_numbers))
    want_numbers: list[int] = []
    want = drain(reference(io.BytesIO(data), "in", want_numbers))
    assert got == want
    assert got_numbers == want_numbers


def test_clean_blocks_take_the_one_call_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many valid lines: parsed per block (no per-line fallback), numbered 1..N."""
    calls: list[int] = []
    real = jsonl_input.loads_text_lines

    def counting(lines: list[bytes]) -> list[Any]:
        calls.append(len(lines))
        return real(lines)

    monkeypatch.setattr(jsonl_input, "loads_text_lines", counting)
    monkeypatch.setattr(jsonl_input, "JSONL_BLOCK", 1000)
    data = b"".join(b'{"type":"x.a","data":{"n":%d}}\n' % n for n in range(500))
    numbers: list[int] = []
    events = list(jsonl_input.read_jsonl(io.BytesIO(data), "in", numbers))
    assert [e["data"]["n"] for e in events] == list(range(500))
    assert numbers == list(range(1, 501))
    assert sum(calls) == 500 and len(calls) < 50
