"""``verify`` while a writer holds the ledger lock says "a seal/append is in progress" instead
of warning of an interrupted seal or uncommitted bytes; without the lock, the same bytes are
warned of as a crash's leftovers. The lock is held by a real second process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ledger import Ledger
from ledger.lock import lock_is_held
from ledger.verify import IN_PROGRESS

HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


@contextmanager
def lock_held_elsewhere(root: Path) -> Iterator[None]:
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root / "ledger.lock")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdin is not None
        try:
            assert holder.stdout.readline().strip() == "held"
            yield
        finally:
            holder.stdin.close()
            holder.wait(timeout=30)


def _append_in_flight(root: Path) -> None:
    """Bytes of an append that has written its lines but not yet its commit record."""
    with open(root / "ledger.jsonl", "ab") as f:
        f.write(b'{"seq":2,"ts":"2026-01-01T00:00:00.000000Z","type":"x.a"')


def _seal_in_flight(root: Path) -> None:
    """A seal that has written its segment but not yet committed its event."""
    (root / "segments").mkdir(exist_ok=True)
    (root / "segments" / "sealing.tmp").write_bytes(b"PAR1")


@pytest.mark.parametrize(
    ("make", "crash_warning"),
    [(_append_in_flight, "uncommitted bytes"), (_seal_in_flight, "interrupted seal")],
)
def test_verify_during_a_writer_says_in_progress(
    tmp_path: Path, make: object, crash_warning: str
) -> None:
    ledger = Ledger.open(tmp_path, create=True)
    ledger.append([{"type": "x.a", "data": {}}])
    make(tmp_path)  # type: ignore[operator]
    with lock_held_elsewhere(tmp_path):
        assert lock_is_held(tmp_path / "ledger.lock")
        report = ledger.verify()
        assert report.ok and report.in_progress
        assert report.warnings == [IN_PROGRESS]
        assert "seal/append is in progress" in IN_PROGRESS
    assert not lock_is_held(tmp_path / "ledger.lock")
    report = ledger.verify()
    assert report.ok and not report.in_progress
    assert any(crash_warning in warning for warning in report.warnings), report.warnings
    assert "traces" not in report.to_dict()


def test_clean_ledger_with_the_lock_held_has_no_warning(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path, create=True)
    ledger.append([{"type": "x.a", "data": {}}])
    with lock_held_elsewhere(tmp_path):
        report = ledger.verify()
    assert report.ok and report.warnings == []
