"""A shortcut of a bulk append: events parsed from JSON text are not searched for NaN or
Infinity (they cannot hold one), and store what the general path stores."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import orjson
import pytest

import schemas.registry as registry
from ledger import Ledger, read_jsonl
from schemas import validate_fields


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
