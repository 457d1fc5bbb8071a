"""The stored line layout and the hash chain, checked from the raw bytes with hashlib."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from conftest import LedgerFactory
from ledger_helpers import GENESIS, LIVE, expected_hash, live_lines, stored_hash

from ledger import Ledger, canonical_json

ENVELOPE_ORDER = ["seq", "ts", "type", "v", "batch", "key", "cause", "data", "prev", "hash"]


def test_every_line_has_the_envelope_keys_in_fixed_order(ledger: LedgerFactory) -> None:
    root = ledger(5).root
    for line in live_lines(root):
        assert line.endswith(b'"}\n')
        assert list(json.loads(line)) == ENVELOPE_ORDER


def test_hash_is_sha256_of_bytes_before_hash_field(ledger: LedgerFactory) -> None:
    root = ledger(5).root
    for line in live_lines(root):
        body = line[:-1]
        cut = body.index(b',"hash":"')
        assert stored_hash(line) == hashlib.sha256(body[:cut]).hexdigest()
        assert len(body) - cut == len(b',"hash":"') + 64 + 2


def test_prev_links_form_a_chain_from_genesis(ledger: LedgerFactory) -> None:
    root = ledger(8, per_call=3).root
    prev = GENESIS
    for seq, line in enumerate(live_lines(root), start=1):
        event = json.loads(line)
        assert event["seq"] == seq
        assert event["prev"] == prev
        prev = event["hash"]


def test_receipts_name_the_stored_hashes(tmp_path: Path) -> None:
    opened = Ledger.open(tmp_path / "r", create=True)
    receipts = opened.append([{"type": "x.a", "data": {"n": n}} for n in range(4)])
    lines = live_lines(opened.root)
    assert [(r.seq, r.hash) for r in receipts] == [
        (i + 1, expected_hash(x)) for i, x in enumerate(lines)
    ]
    assert str(opened.head()) == f"4:{receipts[-1].hash}"


def test_data_is_compact_with_sorted_keys_at_every_depth(tmp_path: Path) -> None:
    opened = Ledger.open(tmp_path / "r", create=True)
    opened.append([{"type": "x.a", "data": {"z": 1, "a": {"y": [1, {"q": 0, "b": 2}], "c": None}}}])
    (line,) = live_lines(opened.root)
    assert b',"data":{"a":{"c":null,"y":[1,{"b":2,"q":0}]},"z":1},"prev":"' in line
    assert b" " not in line[: line.index(b'"prev"')].replace(b"item ", b"")


def test_same_content_gives_same_data_bytes() -> None:
    first = {"b": [1.5, "é"], "a": {"y": 2, "x": 1}}
    second = {"a": {"x": 1, "y": 2}, "b": [1.5, "é"]}
    assert canonical_json(first) == canonical_json(second)
    assert canonical_json(first) == '{"a":{"x":1,"y":2},"b":[1.5,"é"]}'.encode()


def test_non_ascii_is_stored_as_raw_utf8(tmp_path: Path) -> None:
    opened = Ledger.open(tmp_path / "r", create=True)
    opened.append([{"type": "x.a", "data": {"t": "é✓😀"}, "key": "ключ"}])
    raw = (opened.root / LIVE).read_bytes()
    assert "é✓😀".encode() in raw
    assert '"key":"ключ"'.encode() in raw


def test_float_format_is_the_same_with_and_without_huge_ints() -> None:
    for value in (0.1, 1e16, 1e-7, 123456789.0, -0.0, 5e-324):
        plain = canonical_json({"f": value})
        mixed = canonical_json({"f": value, "h": 2**80})
        assert mixed == plain[:-1] + b',"h":%d}' % 2**80
        assert json.loads(plain)["f"] == value


def test_envelope_fields_are_stored_as_given(tmp_path: Path) -> None:
    opened = Ledger.open(tmp_path / "r", create=True)
    opened.append([{"type": "x.a", "data": {}}])
    opened.append([{"type": "x.b", "data": {"k": 1}, "batch": "b1", "key": "trial/1", "cause": 1}])
    second = json.loads(live_lines(opened.root)[1])
    assert (second["type"], second["v"], second["batch"], second["key"], second["cause"]) == (
        "x.b",
        1,
        "b1",
        "trial/1",
        1,
    )
    assert second["ts"].endswith("Z") and len(second["ts"]) == len("2026-01-01T00:00:00.000000Z")
