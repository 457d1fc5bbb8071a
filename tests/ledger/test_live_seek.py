"""Seeking a seq in the live file by bisection finds the same line a linear scan finds."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_helpers import event_table

from ledger import Ledger
from ledger.live import iter_lines, seek_seq


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sizes=st.lists(st.integers(0, 3000), min_size=1, max_size=300), target=st.integers(0, 320))
def test_seek_matches_linear_scan(tmp_path_factory, sizes: list[int], target: int) -> None:
    ledger = Ledger.open(tmp_path_factory.mktemp("seek"), create=True)
    ledger.append([{"type": "x.pad", "data": {"pad": "p" * size}} for size in sizes])
    path, stop = ledger.live_path, ledger.live_path.stat().st_size
    expected = next(
        (
            offset
            for offset, line in iter_lines(path, 0, stop)
            if int(line[7 : line.index(b",")]) >= target
        ),
        stop,
    )
    assert seek_seq(path, 0, stop, target) == expected
    if 1 <= target <= len(sizes):
        assert ledger.hash_at(target) == event_table(ledger, since=target - 1)["hash"][0].as_py()
        assert [e.seq for e in ledger.read(since=target - 1)][:1] == [target]
