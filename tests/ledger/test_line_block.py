"""The vectorised block check (``ledger.line_block``) and the paths of ``verify`` that use it:
it never accepts a block the line-by-line check refuses, and with it (and with the live file
split across processes) the tamper matrix names the same first bad seq."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from ledger_helpers import live_lines
from test_tamper import CASES, build

import ledger.scan as scan
import ledger.verify as verify_module
from ledger import Ledger
from ledger.chain import GENESIS_HASH, check_line, line_hash
from ledger.line_block import block_ok, newline_ends


def _all_ok(lines: list[bytes], seq: int, prev: str) -> bool:
    for line in lines:
        if check_line(line, seq, prev) is not None:
            return False
        prev, seq = line_hash(line), seq + 1
    return True


def _block(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def test_intact_blocks_pass_across_digit_boundaries(tmp_path: Path) -> None:
    opened = build(tmp_path / "root", events=120)
    lines = [line.rstrip(b"\n") for line in live_lines(opened.root)]
    for first in (1, 5, 95, 99):  # seqs 9 -> 10 and 99 -> 100 inside one block
        chunk = lines[first - 1 : first + 15]
        prev = GENESIS_HASH if first == 1 else line_hash(lines[first - 2])
        buf = _block(chunk)
        assert block_ok(buf, newline_ends(buf), first, prev.encode())
        assert not block_ok(buf, newline_ends(buf), first + 1, prev.encode())
        assert not block_ok(buf, newline_ends(buf), first, b"f" * 64)


def test_no_byte_flip_is_accepted_that_the_line_check_refuses(tmp_path: Path) -> None:
    opened = build(tmp_path / "root", events=12)
    lines = [line.rstrip(b"\n") for line in live_lines(opened.root)]
    chunk, prev = lines[8:11], line_hash(lines[7])  # seqs 9, 10, 11
    buf = _block(chunk)
    for position in range(len(buf)):
        for mask in (0x01, 0x20):
            flipped = bytearray(buf)
            flipped[position] ^= mask
            damaged = bytes(flipped)
            ends = newline_ends(damaged)
            if block_ok(damaged, ends, 9, prev.encode()):
                assert _all_ok(damaged.split(b"\n")[:-1], 9, prev), (position, mask)


def test_leading_zero_seq_is_left_to_the_line_check(tmp_path: Path) -> None:
    """A case where the two checks differ: the block check refuses, the line check decides."""
    opened = build(tmp_path / "root", events=3)
    lines = [line.rstrip(b"\n") for line in live_lines(opened.root)]
    odd = lines[0].replace(b'{"seq":1,', b'{"seq":01,', 1)
    buf = _block([odd])
    assert not block_ok(buf, newline_ends(buf), 1, GENESIS_HASH.encode())


@pytest.fixture(params=["vector", "vector+processes"])
def vector_paths(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Force the vectorised check (tiny blocks, so a ledger spans many) and, for the second
    param, the split of the live file across forked processes."""
    monkeypatch.setattr(scan, "VECTOR_MIN_BYTES", 0)
    monkeypatch.setattr(scan, "VECTOR_BLOCK", 1024)
    if request.param == "vector+processes":
        monkeypatch.setattr(verify_module, "PARALLEL_MIN_BYTES", 0)
    return str(request.param)


@pytest.mark.parametrize("tamper", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_tamper_matrix_through_the_vector_paths(
    tmp_path: Path, vector_paths: str, tamper: Callable[[Path], int]
) -> None:
    opened = build(tmp_path / "root")
    clean = opened.verify()
    assert clean.ok and clean.events_checked == 30
    expected = tamper(opened.root)
    report = opened.verify()
    assert report.ok is False
    assert report.first_bad_seq == expected, report


def test_anchor_and_head_through_the_vector_path(tmp_path: Path, vector_paths: str) -> None:
    opened = build(tmp_path / "root", events=60)
    hashes = [line_hash(line.rstrip(b"\n")) for line in live_lines(opened.root)]
    report = opened.verify(anchor=f"33:{hashes[32]}")
    assert report.ok and report.head == f"60:{hashes[-1]}"
    assert not opened.verify(anchor=f"33:{hashes[31]}").ok


def test_a_line_longer_than_the_block_is_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan, "VECTOR_MIN_BYTES", 0)
    monkeypatch.setattr(scan, "VECTOR_BLOCK", 256)
    opened = Ledger.open(tmp_path / "root", create=True)
    opened.append([{"type": "x.big", "data": {"text": "y" * 5000}} for _ in range(3)])
    assert opened.verify().ok
    assert opened.verify().events_checked == 3
