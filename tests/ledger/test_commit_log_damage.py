"""A damaged commit log never costs an acknowledged event: every way of deleting, truncating,
zero-filling or flipping a byte of it ends either in damage (verify fails, writers refuse and
change nothing) or in a recovery after which every acknowledged event is still readable or
kept under ``recovered/``."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from ledger_helpers import COMMITS, LIVE, example_events, sweepledger_executable

from ledger import Ledger, LedgerDamaged
from ledger.commits import RECORD_LEN

Mutation = Callable[[bytes], bytes | None]  # None: delete the log


def _base(root: Path) -> tuple[Ledger, list[bytes]]:
    """Three commits of two events each; returns the ledger and the acknowledged lines."""
    opened = Ledger.open(root, create=True)
    for call in range(3):
        opened.append(example_events(2, start=2 * call))
    return opened, list(opened.read_raw())


def _flip(index: int) -> Mutation:
    return lambda log: log[:index] + bytes([log[index] ^ 0x01]) + log[index + 1 :]


def _mutations(size: int) -> dict[str, Mutation]:
    cases: dict[str, Mutation] = {"delete": lambda log: None}
    cases["zero-fill last record"] = lambda log: log[:-RECORD_LEN] + bytes(RECORD_LEN)
    cases["zero-fill whole log"] = lambda log: bytes(len(log))
    for length in range(size):
        cases[f"truncate to {length}"] = lambda log, n=length: log[:n]
    for index in range(size):
        cases[f"flip byte {index}"] = _flip(index)
    return cases


def _kept_lines(root: Path) -> set[bytes]:
    lines: set[bytes] = set()
    for path in (root / "recovered").glob("*.jsonl"):
        lines.update(line for line in path.read_bytes().split(b"\n") if line)
    return lines


def test_every_commit_log_damage_ends_in_refusal_or_a_lossless_recovery(tmp_path: Path) -> None:
    base, acked = _base(tmp_path / "base")
    log = (base.root / COMMITS).read_bytes()
    assert len(log) == 3 * RECORD_LEN
    outcomes: dict[str, str] = {}
    for number, (name, mutate) in enumerate(_mutations(len(log)).items()):
        root = tmp_path / f"case{number}"
        shutil.copytree(base.root, root)
        mutated = mutate(log)
        if mutated is None:
            (root / COMMITS).unlink()
        else:
            (root / COMMITS).write_bytes(mutated)
        opened = Ledger.open(root)
        before = {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()}
        verified = opened.verify()
        try:
            opened.append([{"type": "x.after", "data": {"case": name}}])
        except LedgerDamaged:
            assert not verified.ok, name  # damage writers refuse is damage verify reports
            after = {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()}
            assert after == before, name  # a refusing writer changed nothing
            outcomes[name] = "refused"
            continue
        readable = set(opened.read_raw())
        lost = [line for line in acked if line not in readable and line not in _kept_lines(root)]
        assert not lost, name
        if opened.verify().ok:
            outcomes[name] = "recovered"
        else:
            # Writers read only the last record (the boundary rests on it alone); damage in an
            # earlier record is reported by verify, before and after.
            assert not verified.ok, name
            outcomes[name] = "reported"
    # The cases the recovery rules name, each ending the way they say.
    assert outcomes["delete"] == "refused"
    assert outcomes["zero-fill last record"] == "recovered"  # a torn end
    assert outcomes["zero-fill whole log"] == "refused"
    assert outcomes[f"truncate to {2 * RECORD_LEN + 50}"] == "recovered"  # a short last record
    assert outcomes[f"flip byte {2 * RECORD_LEN + 10}"] == "refused"  # a full record, bad check
    assert outcomes["flip byte 10"] == "reported"  # an earlier record: verify fails, no loss
    assert set(outcomes.values()) == {"refused", "recovered", "reported"}
    last = range(2 * RECORD_LEN, 3 * RECORD_LEN)
    assert {outcomes[f"flip byte {i}"] for i in last} == {"refused"}  # every byte is checked
    assert {outcomes[f"flip byte {i}"] for i in range(2 * RECORD_LEN)} == {"reported"}


def test_a_writer_keeps_the_lines_of_a_torn_commit(tmp_path: Path) -> None:
    opened, acked = _base(tmp_path / "root")
    log = (opened.root / COMMITS).read_bytes()
    (opened.root / COMMITS).write_bytes(log[: 2 * RECORD_LEN + 40])  # the third call is torn
    opened.append([{"type": "x.after", "data": {}}])
    kept_lines = _kept_lines(opened.root)
    assert set(acked[4:]) <= kept_lines  # the third call's lines, never acknowledged, kept
    kept_logs = list((opened.root / "recovered").glob("*.commits"))
    assert [p.read_bytes() for p in kept_logs] == [log[2 * RECORD_LEN : 2 * RECORD_LEN + 40]]
    (recovered,) = opened.read(types=["ledger.recovered"])
    assert recovered.data["file"] and recovered.data["commit_log_file"]


@pytest.mark.parametrize("damage", ["delete", "flip"])
def test_repair_trust_chain_rebuilds_the_commit_log(tmp_path: Path, damage: str) -> None:
    opened, acked = _base(tmp_path / "root")
    log = (opened.root / COMMITS).read_bytes()
    if damage == "delete":
        (opened.root / COMMITS).unlink()
    else:
        (opened.root / COMMITS).write_bytes(_flip(len(log) - 20)(log) or b"")
    with pytest.raises(LedgerDamaged):
        opened.repair()
    report = opened.repair(trust_chain=True)
    assert report.rebuilt and report.recorded is not None
    assert report.recorded.seq == len(acked) + 1
    assert list(opened.read_raw())[: len(acked)] == acked
    assert opened.verify().ok
    (event,) = opened.read(types=["ledger.recovered"])
    assert event.data["trusted_chain"] is True
    if damage == "flip":  # the damaged log is kept, not deleted
        assert (opened.root / event.data["commit_log_file"]).read_bytes() != log
        assert len((opened.root / event.data["commit_log_file"]).read_bytes()) == len(log)


def test_cli_refuses_a_damaged_ledger_in_one_line(tmp_path: Path) -> None:
    import subprocess

    opened, _ = _base(tmp_path / "root")
    (opened.root / COMMITS).unlink()
    live = (opened.root / LIVE).read_bytes()
    exe = sweepledger_executable()
    verify = subprocess.run(
        [exe, "--root", str(opened.root), "verify"], capture_output=True, check=False
    )
    assert verify.returncode == 1 and b"commit log ledger.commits is missing" in verify.stdout
    for args in (["append", "x.a"], ["seal"], ["repair"]):
        done = subprocess.run(
            [exe, "--root", str(opened.root), *args], capture_output=True, check=False
        )
        assert done.returncode == 2, args
        assert done.stderr.count(b"\n") == 1 and b"missing" in done.stderr, done.stderr
        assert (opened.root / LIVE).read_bytes() == live
    fixed = subprocess.run(
        [exe, "--root", str(opened.root), "repair", "--trust-chain"],
        capture_output=True,
        check=False,
    )
    assert fixed.returncode == 0 and b"rebuilt the commit log" in fixed.stdout
    again = subprocess.run(
        [exe, "--root", str(opened.root), "verify"], capture_output=True, check=False
    )
    assert again.returncode == 0
