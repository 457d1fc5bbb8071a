"""``trials.jsonl`` bytes straight from DuckDB: every line is rendered by SQL
(``pareto_sql.TRIAL_LINE``), fetched as one Arrow string column in file order, and each
study's file is the slice of that column's data buffer its lines occupy.

An Arrow string array keeps its values back to back in one buffer, so lines that each end with
a newline already are the file: no Python string per line, no join, no ``encode``. The
result is fetched a record batch at a time and each batch's bytes handed on as they arrive,
so the file can be written while DuckDB converts the next batch, and the process holds a few
batches rather than a second copy of every line.

The lines are rendered without the frontier (``pareto_sql.RENDERED_TRIALS``: every trial
``"on_frontier": false``), so the query need not wait for it: the frontier is asked for when
the first record batch is in hand, and the lines of its trials are handed over marked
(``true``), each one a piece of its own between the slices of the others.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from projections.pareto_sql import RENDERED_TRIALS, TRIAL_LINE

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

# Lines per fetched record batch: pieces of a few MB, enough for the writer to keep up.
PIECE_ROWS = 8192

# File order: study (its position in ``$batches``, 1-based), then job order (index, a trial
# without an intent last), then seq.
_LINES = f"""
SELECT list_position($batches::VARCHAR[], batch) AS study, seq, {TRIAL_LINE} AS line
FROM ({RENDERED_TRIALS})
ORDER BY study, "index" NULLS LAST, seq
"""
# A valid trial's line as rendered, and as it reads on the frontier. The fields before it are
# numbers, booleans and JSON strings (a quote inside one is escaped), so its first occurrence
# is the field itself.
OFF_FRONTIER = b'"valid": true, "on_frontier": false'
ON_FRONTIER = b'"valid": true, "on_frontier": true'


def trials_jsonl_pieces(
    con: duckdb.DuckDBPyConnection,
    batches: list[str],
    frontier: Callable[[], npt.ArrayLike],
    rows: int | None = None,
) -> Iterator[tuple[str, bytes | memoryview]]:
    """The ``trials.jsonl`` bytes (UTF-8) of each of ``batches`` that has trials, in pieces of
    at most ``rows`` (default ``PIECE_ROWS``) lines as DuckDB hands them over:
    ``(batch, piece)``, a batch's pieces one after another and in file order, the batches in
    the order given. ``frontier()`` gives the seqs of the trials on the frontiers of
    ``batches``; it is called once, when the first record batch is in hand (the caller may
    compute it meanwhile), and their lines are marked.

    Each piece is a view of a fetched Arrow buffer (no copy), or a marked line; it keeps that
    record batch alive until dropped, so a consumer writing pieces as they come holds a few
    in memory, not the whole file. No other query may run on ``con`` until the iterator is
    exhausted.
    """
    reader = con.sql(_LINES, params={"batches": batches}).to_arrow_reader(rows or PIECE_ROWS)
    front: npt.NDArray[np.int64] | None = None
    for record_batch in reader:
        if front is None:
            front = np.asarray(frontier(), dtype=np.int64)
        positions = record_batch.column(0).to_numpy()
        marked = np.flatnonzero(np.isin(record_batch.column(1).to_numpy(), front))
        lines = record_batch.column(2)
        starts = np.flatnonzero(positions[1:] != positions[:-1]) + 1
        bounds = [0, *map(int, starts), positions.size] if positions.size else []
        for lo, hi in itertools.pairwise(bounds):
            batch = batches[int(positions[lo]) - 1]
            inside = marked[(marked >= lo) & (marked < hi)]
            for piece in _marked_pieces(lines, lo, hi, inside.tolist()):
                yield batch, piece


def _marked_pieces(
    lines: pa.Array, lo: int, hi: int, marked: list[int]
) -> Iterator[bytes | memoryview]:
    """The bytes of string values ``lo`` to ``hi`` (exclusive) of ``lines``, the values at
    ``marked`` (ascending, within the range) marked on the frontier.

    Raises:
        ValueError: a marked line is not a valid trial's line.
    """
    for line in marked:
        if lo < line:
            yield _data_slice(lines, lo, line)
        text = bytes(_data_slice(lines, line, line + 1))
        if OFF_FRONTIER not in text:
            raise ValueError(f"a frontier trial's line is not a valid trial's: {text[:80]!r}")
        yield text.replace(OFF_FRONTIER, ON_FRONTIER, 1)
        lo = line + 1
    if lo < hi:
        yield _data_slice(lines, lo, hi)


def _data_slice(lines: pa.Array, lo: int, hi: int) -> memoryview:
    """The bytes of string values ``lo`` to ``hi`` (exclusive) of ``lines``, back to back."""
    import pyarrow as pa

    if lines.null_count:
        raise ValueError("a trials.jsonl line is null")
    if pa.types.is_large_string(lines.type):
        width: type[np.signedinteger[Any]] = np.int64
    elif pa.types.is_string(lines.type):
        width = np.int32
    else:  # pragma: no cover - DuckDB exports VARCHAR as string (or large_string)
        raise TypeError(f"unexpected Arrow type for lines: {lines.type}")
    _, offsets_buffer, data = lines.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=width)
    start = int(offsets[lines.offset + lo])
    stop = int(offsets[lines.offset + hi])
    return memoryview(data)[start:stop]
