"""Tamper matrix: every kind of damage to committed bytes makes `verify` fail naming the
first bad seq. Expected seqs are computed from the tamper itself, never from verify's output."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from conftest import CliRunner
from ledger_helpers import (
    COMMITS,
    LIVE,
    commit_record,
    example_events,
    flip,
    head_of,
    live_lines,
    relink,
    stored_hash,
    sweepledger_executable,
    write_live,
)

from ledger import Ledger

EVENTS = 30


def build(root: Path, events: int = EVENTS, start: int = 0) -> Ledger:
    opened = Ledger.open(root, create=True)
    for first in range(start, start + events, 10):
        opened.append(example_events(10, start=first))
    return opened


def verify_json(cli: CliRunner, root: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    done = cli("verify", "--json", *extra, root=root)
    assert done.stderr == b"", done.stderr
    return done.returncode, json.loads(done.stdout)


def _flip_in_line(seq: int, where: Callable[[bytes], int]) -> Callable[[Path], int]:
    def tamper(root: Path) -> int:
        lines = live_lines(root)
        line = bytearray(lines[seq - 1])
        line[where(bytes(line))] ^= 0x01
        lines[seq - 1] = bytes(line)
        write_live(root, lines)
        return seq

    return tamper


def in_data(line: bytes) -> int:
    return line.index(b'"data":') + len(b'"data":') + 3


def in_seq_digits(line: bytes) -> int:
    return len(b'{"seq":')  # the first digit


def in_prev(line: bytes) -> int:
    return line.index(b'"prev":"') + len(b'"prev":"') + 20


def in_hash_hex(line: bytes) -> int:
    return len(line) - 1 - 2 - 10  # inside the 64 hex digits


def in_hash_literal(offset: int) -> Callable[[bytes], int]:
    # offset 0..8 into ,"hash":"
    return lambda line: line.rindex(b',"hash":"') + offset


def in_type(line: bytes) -> int:
    return line.index(b'"type":"') + len(b'"type":"')


def delete(seq: int) -> Callable[[Path], int]:
    def tamper(root: Path) -> int:
        lines = live_lines(root)
        del lines[seq - 1]
        write_live(root, lines)
        return seq

    return tamper


def duplicate(seq: int) -> Callable[[Path], int]:
    def tamper(root: Path) -> int:
        lines = live_lines(root)
        lines.insert(seq, lines[seq - 1])
        write_live(root, lines)
        return seq + 1  # the copy sits where seq+1 belongs

    return tamper


def swap(seq: int) -> Callable[[Path], int]:
    def tamper(root: Path) -> int:
        lines = live_lines(root)
        lines[seq - 1], lines[seq] = lines[seq], lines[seq - 1]
        write_live(root, lines)
        return seq

    return tamper


def splice(seq: int) -> Callable[[Path], int]:
    def tamper(root: Path) -> int:
        other = build(root.parent / "other", start=1000).root
        foreign = live_lines(other)[seq - 1]
        assert json.loads(foreign)["seq"] == seq
        lines = live_lines(root)
        assert foreign != lines[seq - 1]
        lines[seq - 1] = foreign
        write_live(root, lines)
        return seq

    return tamper


CASES: list[tuple[str, Callable[[Path], int]]] = [
    ("flip data byte of 7", _flip_in_line(7, in_data)),
    ("flip data byte of first", _flip_in_line(1, in_data)),
    ("flip data byte of last (committed)", _flip_in_line(EVENTS, in_data)),
    ("flip seq digit of 12", _flip_in_line(12, in_seq_digits)),
    ("flip type of 3", _flip_in_line(3, in_type)),
    ("flip prev of 20", _flip_in_line(20, in_prev)),
    ("flip hash hex of 12", _flip_in_line(12, in_hash_hex)),
    ("flip hash hex of last", _flip_in_line(EVENTS, in_hash_hex)),
    ("flip hash literal comma of 9", _flip_in_line(9, in_hash_literal(0))),
    ("flip hash literal name of 9", _flip_in_line(9, in_hash_literal(3))),
    ("flip hash literal quote of 9", _flip_in_line(9, in_hash_literal(8))),
    ("flip newline of 15", _flip_in_line(15, lambda line: len(line) - 1)),
    ("delete 5", delete(5)),
    ("delete first", delete(1)),
    ("duplicate 9", duplicate(9)),
    ("duplicate last", duplicate(EVENTS)),
    ("swap 14 and 15", swap(14)),
    ("swap 1 and 2", swap(1)),
    ("splice foreign 11", splice(11)),
]


@pytest.mark.parametrize("tamper", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_live_tamper_names_first_bad_seq(tmp_path: Path, tamper: Callable[[Path], int]) -> None:
    opened = build(tmp_path / "root")
    assert opened.verify().ok
    expected = tamper(opened.root)
    report = opened.verify()
    assert report.ok is False
    assert report.first_bad_seq == expected, report
    assert report.problem and report.location and LIVE in report.location


def test_live_tamper_matrix_through_cli_exits_1(tmp_path: Path) -> None:
    """Every case of the matrix through real `sweepledger verify --json` processes (run
    concurrently to keep the suite fast): exit 1 and the same first bad seq."""
    expected: dict[str, int] = {}
    running: dict[str, subprocess.Popen[bytes]] = {}
    for index, (name, tamper) in enumerate(CASES):
        root = build(tmp_path / f"case{index}" / "root").root
        expected[name] = tamper(root)
        argv = [sweepledger_executable(), "--root", str(root), "verify", "--json"]
        running[name] = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for name, process in running.items():
        out, err = process.communicate(timeout=60)
        report = json.loads(out)
        assert (process.returncode, err) == (1, b""), name
        assert (report["ok"], report["first_bad_seq"]) == (False, expected[name]), name
        assert report["problem"] and report["location"], name


def test_splice_is_caught_only_by_prev(tmp_path: Path, cli: CliRunner) -> None:
    root = build(tmp_path / "root").root
    splice(11)(root)
    code, report = verify_json(cli, root)
    assert (code, report["first_bad_seq"]) == (1, 11)
    assert "prev" in report["problem"]


def test_truncated_tail_fails_on_commit_log_without_anchor(tmp_path: Path, cli: CliRunner) -> None:
    root = build(tmp_path / "root").root
    write_live(root, live_lines(root)[:25])
    code, report = verify_json(cli, root)
    assert (code, report["first_bad_seq"]) == (1, 26), report
    assert "26..30" in report["problem"] or "missing" in report["problem"]


def test_truncated_tail_with_consistent_commit_log_caught_by_anchor(
    tmp_path: Path, cli: CliRunner
) -> None:
    root = build(tmp_path / "root").root
    anchor = cli("head", root=root).stdout.decode().strip()
    assert anchor == head_of(root)
    lines = live_lines(root)[:25]
    write_live(root, lines)
    (root / COMMITS).write_bytes(commit_record(25, stored_hash(lines[-1])))
    assert verify_json(cli, root)[0] == 0  # undetectable without an anchor
    code, report = verify_json(cli, root, "--anchor", anchor)
    assert (code, report["ok"], report["first_bad_seq"]) == (1, False, 26), report
    anchor_file = tmp_path / "ledger.anchor"
    anchor_file.write_text(anchor + "\n")
    code, report = verify_json(cli, root, "--anchor-file", str(anchor_file))
    assert (code, report["first_bad_seq"]) == (1, 26)


def rewrite_after(root: Path, k: int) -> None:
    """Change every event after ``k`` and re-chain them and the commit log consistently."""
    lines = live_lines(root)
    prev = stored_hash(lines[k - 1])
    for index in range(k, len(lines)):
        changed = lines[index].replace(b'"text":"item', b'"text":"ITEM')
        assert changed != lines[index]
        lines[index] = relink(changed, prev)
        prev = stored_hash(lines[index])
    write_live(root, lines)
    (root / COMMITS).write_bytes(commit_record(len(lines), prev))


@pytest.mark.parametrize("k", [0, 10, 29])
def test_consistent_rewrite_caught_only_by_anchor(tmp_path: Path, cli: CliRunner, k: int) -> None:
    root = build(tmp_path / "root").root
    anchor = head_of(root)
    rewrite_after(root, k) if k else rewrite_from_genesis(root)
    assert Ledger.open(root).verify().ok  # a consistent rewrite is a valid chain
    code, report = verify_json(cli, root, "--anchor", anchor)
    assert code == 1, report
    # The anchor pins seq 30, the only event verify can prove differs.
    assert report["first_bad_seq"] == EVENTS
    assert "anchor" in report["problem"]


def rewrite_from_genesis(root: Path) -> None:
    lines = live_lines(root)
    prev = "0" * 64
    for index, line in enumerate(lines):
        lines[index] = relink(line.replace(b'"text":"item', b'"text":"ITEM'), prev)
        prev = stored_hash(lines[index])
    write_live(root, lines)
    (root / COMMITS).write_bytes(commit_record(len(lines), prev))


def test_anchor_on_an_intact_earlier_event_still_passes(tmp_path: Path, cli: CliRunner) -> None:
    root = build(tmp_path / "root").root
    anchor = f"10:{stored_hash(live_lines(root)[9])}"
    rewrite_after(root, 20)
    code, report = verify_json(cli, root, "--anchor", anchor)
    assert (code, report["ok"], report["anchor"]) == (0, True, anchor)


def test_anchor_with_wrong_hash_at_existing_seq_fails(tmp_path: Path, cli: CliRunner) -> None:
    root = build(tmp_path / "root").root
    code, report = verify_json(cli, root, "--anchor", f"12:{'ab' * 32}")
    assert (code, report["first_bad_seq"]) == (1, 12)


# -- sealed segments -------------------------------------------------------------------------


def sealed(root: Path) -> tuple[Ledger, Path]:
    opened = build(root)
    report = opened.seal()
    assert report is not None and (report.first_seq, report.last_seq) == (1, EVENTS)
    opened.append(example_events(5, start=500))  # seqs 32..36 after ledger.sealed (31)
    (segment,) = (root / "segments").glob("seg-*.parquet")
    return opened, segment


def expected_segment_seq(segment: Path, original: Any) -> int:
    """First row whose stored values differ from the original table (1-based seq), computed
    with pyarrow directly; an unreadable file is bad from its first row."""
    try:
        table = pq.read_table(segment).to_pylist()
    except Exception:
        return 1
    for row, (now, before) in enumerate(zip(table, original, strict=False)):
        if now != before:
            return row + 1
    return 1  # the bytes differ but every value decodes the same: the segment as a whole


def segment_offsets(size: int) -> list[int]:
    middle = [size * k // 12 for k in range(1, 12)]
    footer = [size - 1, size - 3, size - 5, size - 8, size - 20, size - 60, size - 200]
    return sorted({0, 1, 3, *middle, *footer})


def test_segment_byte_flips_at_many_offsets_fail_verify(tmp_path: Path) -> None:
    opened, segment = sealed(tmp_path / "root")
    pristine = segment.read_bytes()
    original = pq.read_table(segment).to_pylist()
    assert opened.verify().ok and opened.verify(deep=True).ok
    for offset in segment_offsets(len(pristine)):
        segment.write_bytes(pristine)
        flip(segment, offset, 0x20)
        expected = expected_segment_seq(segment, original)
        for deep in (False, True):
            report = opened.verify(deep=deep)
            assert not report.ok, (offset, deep)
            assert report.first_bad_seq == expected, (offset, deep, report)
            assert report.location is not None and segment.name in report.location


@pytest.mark.parametrize("where", ["header magic", "footer magic"])
def test_segment_flip_cli(tmp_path: Path, cli: CliRunner, where: str) -> None:
    _, segment = sealed(tmp_path / "root")
    size = segment.stat().st_size
    offset = 0 if where == "header magic" else size - 2
    original = pq.read_table(segment).to_pylist()
    flip(segment, offset, 0x20)
    expected = expected_segment_seq(segment, original)
    code, report = verify_json(cli, segment.parent.parent)
    assert (code, report["ok"], report["first_bad_seq"]) == (1, False, expected), report
    code, report = verify_json(cli, segment.parent.parent, "--deep")
    assert (code, report["first_bad_seq"]) == (1, expected), report


def test_missing_segment_fails(tmp_path: Path, cli: CliRunner) -> None:
    _, segment = sealed(tmp_path / "root")
    segment.unlink()
    code, report = verify_json(cli, segment.parent.parent)
    assert (code, report["first_bad_seq"]) == (1, 1), report


def test_flip_in_live_tail_after_seal(tmp_path: Path, cli: CliRunner) -> None:
    opened, _ = sealed(tmp_path / "root")
    lines = live_lines(opened.root)
    assert json.loads(lines[2])["seq"] == 33
    _flip_in_line(3, in_data)(opened.root)  # third live line holds seq 33
    code, report = verify_json(cli, opened.root)
    assert (code, report["first_bad_seq"]) == (1, 33), report


def test_flip_in_recorded_segment_digest_names_the_sealed_event(
    tmp_path: Path, cli: CliRunner
) -> None:
    """The segment is intact; the damaged bytes are the ledger.sealed event (seq 31) that
    records its digest, so that event is the first bad one."""
    opened, _ = sealed(tmp_path / "root")
    lines = live_lines(opened.root)
    assert json.loads(lines[0])["type"] == "ledger.sealed"
    _flip_in_line(1, lambda line: line.index(b'"sha256":"') + 12)(opened.root)
    code, report = verify_json(cli, opened.root)
    assert (code, report["first_bad_seq"]) == (1, EVENTS + 1), report


def test_stored_file_name_is_live_jsonl(tmp_path: Path) -> None:
    root = build(tmp_path / "root").root
    assert (root / LIVE).is_file() and (root / COMMITS).stat().st_size == 3 * 97
