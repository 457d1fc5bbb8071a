"""Free-form events from JSONL keep the data encoding made by the duplicate-key check, and
store exactly the bytes the general path stores; what cannot be told falls back safely."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest

import ledger.prepare as prepare_module
from ledger import InvalidInput, Ledger, read_jsonl
from ledger.encoding import canonical_json, data_text
from ledger.json_text import loads_text_lines

FREE = [
    {"type": "x.scan", "data": {"z": {"b": 0.1, "a": [1, -0.0, 1e-7, {"y": "é\u2028"}]}}},
    {"type": "x.scan", "batch": "b", "key": "k", "data": {}},
    {"type": "x.other", "data": {"s": "a:b", "n": None, "t": True, "big": 10**17}},
    {"type": "x.scan"},  # no data: stored as {}
]


def _lines(events: list[dict[str, Any]]) -> list[bytes]:
    return [orjson.dumps(event) for event in events]


def _stored(root: Path) -> list[bytes]:
    return [data_text(line) for line in (root / "ledger.jsonl").read_bytes().splitlines()]


def test_free_form_lines_carry_the_canonical_data_encoding() -> None:
    parsed = loads_text_lines(_lines(FREE))
    assert parsed == FREE
    assert parsed.data_texts == [canonical_json(event.get("data", {})) for event in FREE]


def test_free_form_jsonl_stores_the_reader_encoding_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = b"".join(line + b"\n" for line in _lines(FREE * 50))
    Ledger.open(tmp_path / "listed", create=True).append(FREE * 50)
    # The stored payloads now come from the reader: the encoder is handed every one.
    handed: list[Any] = []
    real = prepare_module.encode_middles

    def spying(*args: Any) -> Any:
        handed.extend(args[4] if len(args) > 4 and args[4] is not None else [None] * len(args[3]))
        return real(*args)

    monkeypatch.setattr(prepare_module, "encode_middles", spying)
    Ledger.open(tmp_path / "parsed", create=True).append(read_jsonl(io.BytesIO(source), "in", []))
    assert len(handed) == 200 and None not in handed
    assert _stored(tmp_path / "parsed") == _stored(tmp_path / "listed")


@pytest.mark.parametrize(
    "events",
    [
        [{"type": "x.scan", "data": {}}, {"type": "trial.started", "data": {"job_id": "j"}}],
        [{"type": "x.scan", "data": {"a": 1}}, {"type": "bogus", "data": {}}],
        [{"type": "x.scan", "batch": "2026-01-01T10:00", "data": {"a": 1}}],  # colons: unsure
    ],
    ids=["typed-in-block", "unknown-type", "colon-in-envelope"],
)
def test_blocks_it_cannot_tell_keep_the_general_path(events: list[dict[str, Any]]) -> None:
    parsed = loads_text_lines(_lines(events))
    assert parsed == events and parsed.data_texts is None


@pytest.mark.parametrize(
    "line",
    [
        b'{"type":"x.a","data":{"a":1,"a":2}}',
        b'{"type":"x.a","data":{"n":{"b":[{"c":1,"c":1}]}}}',
        b'{"type":"x.a","type":"x.b","data":{}}',
        b'{"type":"x.a","data":{"k\\u003a":1,"k\\u003a":2}}',
    ],
    ids=["in-data", "deep-in-data", "envelope", "escaped-colon"],
)
def test_duplicate_keys_of_free_form_events_are_still_refused(line: bytes) -> None:
    good = b'{"type":"x.a","data":{"ok":1}}\n'
    source = io.BytesIO(good * 3 + line + b"\n" + good)
    with pytest.raises(InvalidInput, match=r"line 4: key .* appears twice"):
        list(read_jsonl(source, "in", []))


def test_data_texts_stay_in_step_with_events_across_chunks(tmp_path: Path) -> None:
    """A block parsed line by line (a blank line) between clean blocks: every event still
    gets its own data, whatever the chunk and block sizes."""
    events = [{"type": "x.a", "data": {"n": n, "s": "v" * (n % 7)}} for n in range(3000)]
    text = b"".join(line + b"\n" for line in _lines(events))
    text = text.replace(b"\n", b"\n\n", 1)
    Ledger.open(tmp_path / "root", create=True).append(read_jsonl(io.BytesIO(text), "in", []))
    assert _stored(tmp_path / "root") == [canonical_json(event["data"]) for event in events]
