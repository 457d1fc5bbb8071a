"""Committed events as DuckDB relations of the caller's connection (the projection engine's
bulk path).

``Ledger.arrow`` hands events over as one Arrow table, which a DuckDB caller then copies into
its own tables: on a million events the copy through Arrow costs as much as the parse. Here
DuckDB reads the sealed segments (``read_parquet``) and a large, clean live file (its CSV and
JSON readers) itself, inside the caller's query; a small live part (or one followed by an
uncommitted tail) is read by Python and handed over as a list of lines.

The relations are read when the caller's query runs, not when they are made: an append or a
seal in between can leave rows out (never add or alter one), so a caller counts the rows it got
against ``EventParts.last_seq``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.live import iter_lines, seek_seq
from ledger.live_arrow import BULK_MIN_BYTES, lines_relation, live_relation
from ledger.segments import EVENT_COLUMNS, list_segments

if TYPE_CHECKING:
    import duckdb

    from ledger.store import Ledger

__all__ = ["EventParts", "event_relations"]

_COLUMNS = ", ".join(EVENT_COLUMNS)


@dataclass(frozen=True)
class EventParts:
    """Relations (each with ``EVENT_COLUMNS``, unordered) that together hold every committed
    event with ``since < seq <= last_seq``, once."""

    since: int
    last_seq: int
    relations: list[duckdb.DuckDBPyRelation]


def _segment_relation(
    con: duckdb.DuckDBPyConnection, path: str, since: int
) -> duckdb.DuckDBPyRelation:
    quoted = path.replace("'", "''")
    return con.sql(f"SELECT {_COLUMNS} FROM read_parquet('{quoted}') WHERE seq > {since:d}")


def event_relations(ledger: Ledger, con: duckdb.DuckDBPyConnection, since: int = 0) -> EventParts:
    """The committed events after ``since`` as relations of ``con``."""
    segments = [s for s in list_segments(ledger.root) if s.last_seq > since]
    relations = [_segment_relation(con, str(s.path), since) for s in segments]
    last = max([since, *(s.last_seq for s in segments)])
    state = ledger.state() if ledger.exists() else None
    if state is not None and state.boundary and state.commit and state.commit.seq > last:
        floor, last = last, state.commit.seq
        begin = seek_seq(ledger.live_path, state.start, state.boundary, floor + 1)
        if state.boundary == state.size and state.boundary - begin >= BULK_MIN_BYTES:
            relations.append(live_relation(con, ledger.live_path, floor, last))
        else:
            lines = [line for _, line in iter_lines(ledger.live_path, begin, state.boundary)]
            relations.append(lines_relation(con, lines))
    return EventParts(since, last, relations)
