"""The stdlib verifier printed in docs/FORMAT.md agrees with `verify` on real ledgers."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import Ledger, canonical_json

DOC = Path(__file__).resolve().parents[2] / "docs" / "FORMAT.md"


def _doc_verifier() -> types.ModuleType:
    text = DOC.read_text(encoding="utf-8")
    (code,) = [c for c in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "def verify" in c]
    assert len(code.strip().splitlines()) <= 40
    module = types.ModuleType("format_doc_verifier")
    exec(compile(code, str(DOC), "exec"), module.__dict__)
    return module


def _ledger(root: Path, events: int = 30) -> Ledger:
    ledger = Ledger.open(root, create=True)
    for start in range(0, events, 10):
        ledger.append(
            [
                {"type": "x.item", "data": {"i": i, "hash": "decoy", "text": "é✓"}}
                for i in range(start, start + 10)
            ]
        )
    return ledger


def _lines(root: Path) -> list[bytes]:
    return (root / "ledger.jsonl").read_bytes().splitlines(keepends=True)


def _flip(root: Path, seq: int, offset: int) -> None:
    lines = _lines(root)
    line = bytearray(lines[seq - 1])
    line[offset] ^= 0x01
    lines[seq - 1] = bytes(line)
    (root / "ledger.jsonl").write_bytes(b"".join(lines))


def _delete(root: Path, seq: int) -> None:
    lines = _lines(root)
    del lines[seq - 1]
    (root / "ledger.jsonl").write_bytes(b"".join(lines))


def _swap(root: Path, seq: int) -> None:
    lines = _lines(root)
    lines[seq - 1], lines[seq] = lines[seq], lines[seq - 1]
    (root / "ledger.jsonl").write_bytes(b"".join(lines))


def _truncate(root: Path, seq: int) -> None:
    (root / "ledger.jsonl").write_bytes(b"".join(_lines(root)[: seq - 1]))


def _log(root: Path, change) -> None:  # type: ignore[no-untyped-def]
    path = root / "ledger.commits"
    data = change(path.read_bytes())
    if data is None:
        path.unlink()
    else:
        path.write_bytes(data)


def _flip_log(offset: int):  # type: ignore[no-untyped-def]
    return lambda log: log[:offset] + bytes([log[offset] ^ 0x01]) + log[offset + 1 :]


DAMAGE = [
    ("commit log deleted", lambda root: _log(root, lambda log: None), None),
    ("commit record flipped", lambda root: _log(root, _flip_log(-30)), None),
    ("commit record crc flipped", lambda root: _log(root, _flip_log(-5)), None),
    ("clean", lambda root: None, None),
    ("flip data byte of 7", lambda root: _flip(root, 7, 60), 7),
    ("flip hash hex of 12", lambda root: _flip(root, 12, -10), 12),
    ("flip prev of 20", lambda root: _flip(root, 20, -100), 20),
    ("delete 5", lambda root: _delete(root, 5), 5),
    ("swap 9 and 10", lambda root: _swap(root, 9), 9),
    ("truncate from 25", lambda root: _truncate(root, 25), 25),
]


@pytest.mark.parametrize(("name", "damage", "bad_seq"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_doc_verifier_agrees_with_verify(tmp_path: Path, name: str, damage, bad_seq) -> None:
    ledger = _ledger(tmp_path / "root")
    damage(ledger.root)
    doc_ok, doc_seq, _ = _doc_verifier().verify(str(ledger.root))
    report = ledger.verify()
    expected_ok = bad_seq is None and not name.startswith("commit")
    assert (doc_ok, doc_seq) == (report.ok, report.first_bad_seq) == (expected_ok, bad_seq)


def test_doc_verifier_treats_a_zero_filled_last_record_as_torn(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "root")
    _log(ledger.root, lambda log: log + bytes(97))
    assert _doc_verifier().verify(str(ledger.root)) == (True, None, None)
    report = ledger.verify()
    assert report.ok and report.warnings


def test_doc_verifier_checks_sealed_segments_by_digest(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "root")
    ledger.seal()
    ledger.append([{"type": "x.after", "data": {}}])
    verifier = _doc_verifier()
    assert verifier.verify(str(ledger.root)) == (True, None, None)
    (segment,) = (ledger.root / "segments").glob("*.parquet")
    blob = bytearray(segment.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    segment.write_bytes(bytes(blob))
    assert verifier.verify(str(ledger.root))[:2] == (False, 1)
    assert ledger.verify().ok is False and ledger.verify().first_bad_seq is not None


def test_doc_verifier_checks_anchor(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "root")
    seq, digest = 10, ledger.hash_at(10)
    verifier = _doc_verifier()
    assert verifier.verify(str(ledger.root), (seq, digest))[0] is True
    assert verifier.verify(str(ledger.root), (seq, "0" * 64))[:2] == (False, 10)
    assert ledger.verify(anchor=f"{seq}:{'0' * 64}").first_bad_seq == 10


def _doc_float_text() -> types.ModuleType:
    text = DOC.read_text(encoding="utf-8")
    (code,) = [c for c in re.findall(r"```py\n(.*?)```", text, flags=re.S) if "float_text" in c]
    module = types.ModuleType("format_doc_floats")
    exec(compile(code, str(DOC), "exec"), module.__dict__)
    return module


@settings(max_examples=3000, deadline=None)
@given(value=st.floats(allow_nan=False, allow_infinity=False))
def test_the_documented_float_format_is_the_encoders(value: float) -> None:
    float_text = _doc_float_text().float_text
    assert float_text(value).encode() == canonical_json(value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e-5, "0.00001"),
        (1e-6, "1e-6"),
        (1e16, "1e+16"),
        (1e15, "1000000000000000.0"),
        (-0.0, "-0.0"),
        (2.5e-7, "2.5e-7"),
        (5e-324, "5e-324"),
    ],
)
def test_the_documented_examples(value: float, text: str) -> None:
    assert _doc_float_text().float_text(value) == text
    assert canonical_json(value) == text.encode()
    assert f"`{text}`" in DOC.read_text(encoding="utf-8")
