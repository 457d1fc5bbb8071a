"""Committed events as DuckDB relations of the caller's connection (the projection engine's
bulk path).

The ledger says where the events are (``Ledger.bulk_source``: segments and a live byte
range); here DuckDB reads the sealed segments (``read_parquet``) and a large, clean live range
(its CSV reader) itself, inside the caller's query, with no copy through Arrow; a small live
part (or one followed by an uncommitted tail) is read by Python and handed over as lines.

The relations are read when the caller's query runs, not when they are made: an append or a
seal in between can leave rows out (never add or alter one), so a caller counts the rows it got
against ``EventParts.last_seq``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.files import BulkSource
from ledger.live import iter_lines
from ledger.live_arrow import BULK_MIN_BYTES, lines_relation, live_relation
from ledger.segments import EVENT_COLUMNS

if TYPE_CHECKING:
    import duckdb

    from ledger.store import Ledger

__all__ = ["EventParts", "event_relations", "source_relations"]

_COLUMNS = ", ".join(EVENT_COLUMNS)


@dataclass(frozen=True)
class EventParts:
    """Relations (each with ``EVENT_COLUMNS``, unordered) that together hold every committed
    event with ``since < seq <= last_seq``, once."""

    since: int
    last_seq: int
    relations: list[duckdb.DuckDBPyRelation]


def _segment_relation(
    con: duckdb.DuckDBPyConnection, path: str, since: int, upto: int
) -> duckdb.DuckDBPyRelation:
    quoted = path.replace("'", "''")
    return con.sql(
        f"SELECT {_COLUMNS} FROM read_parquet('{quoted}') WHERE seq > {since:d} AND seq <= {upto:d}"
    )


def event_relations(
    ledger: Ledger, con: duckdb.DuckDBPyConnection, since: int = 0, upto: int | None = None
) -> EventParts:
    """The committed events ``since < seq <= upto`` (default: up to the head) as relations of
    ``con``: with ``upto``, the ledger as it was when it ended there."""
    return source_relations(ledger.bulk_source(since, upto), con)


def source_relations(source: BulkSource, con: duckdb.DuckDBPyConnection) -> EventParts:
    """The events a ``BulkSource`` describes as relations of ``con``: DuckDB reads a large,
    clean live range itself; a small one (or one before an uncommitted tail) is read here."""
    relations = [
        _segment_relation(con, str(path), source.since, source.last_seq) for path in source.segments
    ]
    if source.live_end > source.live_begin:
        size = source.live_end - source.live_begin
        if source.live_clean and size >= BULK_MIN_BYTES:
            relations.append(
                live_relation(con, source.live_path, source.live_floor, source.last_seq)
            )
        else:
            lines = [
                line for _, line in iter_lines(source.live_path, source.live_begin, source.live_end)
            ]
            relations.append(lines_relation(con, lines))
    return EventParts(source.since, source.last_seq, relations)
