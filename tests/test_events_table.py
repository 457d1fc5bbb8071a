"""Arrow tables built by the C++ JSON reader match the per-line reference decoding."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import Ledger
from ledger.segments import arrow_schema, events_table, rows_from_lines

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    events=st.lists(
        st.fixed_dictionaries(
            {
                "batch": st.none() | TEXT,
                "key": st.none() | TEXT,
                "data": st.dictionaries(
                    TEXT, st.integers() | TEXT | st.floats(allow_nan=False), max_size=4
                ),
            }
        ),
        min_size=1,
        max_size=20,
    )
)
def test_fast_table_matches_reference(tmp_path_factory, events) -> None:
    root: Path = tmp_path_factory.mktemp("ledger")
    ledger = Ledger.open(root, create=True)
    ledger.append([{"type": "x.prop", **event} for event in events])
    lines = list(ledger.read_raw())
    reference = pa.table(rows_from_lines(lines), schema=arrow_schema())
    assert events_table(lines, with_raw=True).equals(reference)
    assert ledger.arrow().equals(reference.drop_columns(["raw"]))


@pytest.mark.parametrize("since", [0, 7, 39])
def test_bulk_reader_matches_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, since: int
) -> None:
    monkeypatch.setattr("ledger.live_arrow.BULK_MIN_BYTES", 0)
    ledger = Ledger.open(tmp_path / "bulk", create=True)
    ledger.append(
        [
            {
                "type": "x.bulk",
                "batch": 'b\u00e9\u2713,"data":',
                "key": None if i % 3 else f"k/{i}",
                "data": {"i": i, "s": '\u00e9\n\t"x"', "f": i / 7},
            }
            for i in range(40)
        ]
    )
    lines = list(ledger.read_raw(since))
    reference = pa.table(rows_from_lines(lines), schema=arrow_schema()).drop_columns(["raw"])
    assert ledger.arrow(since).equals(reference)
