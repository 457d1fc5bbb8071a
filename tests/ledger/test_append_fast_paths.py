"""The shortcuts of a bulk append: envelopes taken at C level for plain dicts, and no search
for NaN/Infinity in events parsed from JSON text. Each gives what the general path gives."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import orjson
import pytest

import schemas.registry as registry
from ledger import InvalidEvent, Ledger, read_jsonl
from ledger.prepare import _envelope, _plain_envelopes
from schemas import validate_fields

GOOD: list[dict[str, Any]] = [
    {"type": "x.a", "data": {"v": 1}},
    {"type": "x.a", "data": {}, "batch": "b", "key": "k/1", "cause": None},
    {"type": "trial.outcome", "data": {}, "batch": None, "key": None, "cause": 3},
]
ODD: list[dict[str, Any]] = [
    {"type": "x.a"},  # no data: the general path gives {}
    {"type": "", "data": {}},
    {"type": 5, "data": {}},
    {"type": "x.a", "data": {}, "batch": 5},
    {"type": "x.a", "data": {}, "key": ["k"]},
    {"type": "x.a", "data": {}, "cause": 0},
    {"type": "x.a", "data": {}, "cause": True},
    {"type": "x.a", "data": {}, "cause": [1]},
    {"type": "x.a", "data": {}, "cause": 1.0},
    {"type": "x.a", "data": {}, "extra": 1},
]


def _general(events: list[Any]) -> list[Any] | str:
    try:
        return [_envelope(i, event) for i, event in enumerate(events)]
    except InvalidEvent as e:
        return str(e)


def test_plain_envelopes_are_the_general_ones() -> None:
    assert _plain_envelopes(GOOD) == _general(GOOD)


@pytest.mark.parametrize("odd", ODD, ids=[repr(o) for o in ODD])
def test_any_unusual_event_goes_to_the_general_check(odd: dict[str, Any]) -> None:
    assert _plain_envelopes([*GOOD, odd]) is None
    assert _general([*GOOD, odd]) is not None  # which accepts or names it


def _jsonl(events: list[dict[str, Any]]) -> io.BytesIO:
    return io.BytesIO(b"".join(orjson.dumps(event) + b"\n" for event in events))


EVENTS = [
    {"type": "x.scan", "data": {"m": {"a": 0.1, "b": [1, 2.5, {"c": -0.0}]}, "n": None}},
    {"type": "trial.outcome", "data": {"job_id": "j", "status": "ok", "duration_s": 1.0,
                                       "metrics": {"loss": 0.25}, "result": {"r": [0.5]}}},
]  # fmt: skip


def test_parsed_events_are_not_searched_for_non_finite_floats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(obj: Any) -> bool:
        raise AssertionError("searched for non-finite floats")

    monkeypatch.setattr(registry, "has_non_finite", refuse)
    parsed = Ledger.open(tmp_path / "parsed", create=True)
    parsed.append(read_jsonl(_jsonl(EVENTS * 3), "in", []))
    with pytest.raises(AssertionError, match="searched"):
        Ledger.open(tmp_path / "listed", create=True).append(EVENTS * 3)
    monkeypatch.undo()
    listed = Ledger.open(tmp_path / "listed", create=True)
    listed.append(EVENTS * 3)
    data = [[event.data for event in opened.read()] for opened in (parsed, listed)]
    assert data[0] == data[1] and len(data[0]) == 6


def test_non_finite_floats_of_a_python_caller_are_still_nulled_and_listed(tmp_path: Path) -> None:
    opened = Ledger.open(tmp_path / "root", create=True)
    opened.append([{"type": "x.scan", "data": {"m": {"a": math.nan, "b": [1.0, math.inf]}}}])
    (event,) = list(opened.read())
    assert event.data == {"m": {"a": None, "b": [1.0, None]}, "non_finite": ["m.a", "m.b.1"]}


def test_validate_fields_finite_skips_only_the_search() -> None:
    free = [{"a": [0.5, {"b": 1}]}]
    assert validate_fields("x.a", free, finite=True)[0] is free[0]
    outcome = {"job_id": "j", "status": "ok", "duration_s": 1.0}
    (fields,) = validate_fields("trial.outcome", [outcome], finite=True)
    assert fields["metrics"] == {} and fields["non_finite"] == []
    with pytest.raises(registry.PayloadInvalid):
        validate_fields("trial.outcome", [{**outcome, "status": "fine"}], finite=True)
