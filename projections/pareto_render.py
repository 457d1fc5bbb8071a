"""``trials.jsonl`` bytes straight from DuckDB: every line is rendered by SQL
(``pareto_sql.TRIAL_LINE``), fetched as one Arrow string column in file order, and each
study's file is the slice of that column's data buffer its lines occupy.

An Arrow string array keeps its values back to back in one buffer, so lines that each end with
a newline already are the file: no Python string per line, no join, no ``encode``.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np

from projections.pareto_sql import SCOPED_TRIALS, TRIAL_LINE

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

# File order: study (its position in ``$batches``, 1-based), then job order (index, a trial
# without an intent last), then seq.
_LINES = f"""
SELECT list_position($batches::VARCHAR[], batch) AS study, {TRIAL_LINE} AS line
FROM ({SCOPED_TRIALS}) WHERE batch IN (SELECT unnest($batches::VARCHAR[]))
ORDER BY study, "index" NULLS LAST, seq
"""


def trials_jsonl(con: duckdb.DuckDBPyConnection, batches: list[str]) -> dict[str, memoryview]:
    """The ``trials.jsonl`` bytes of each of ``batches`` that has trials (UTF-8), as views of
    the fetched Arrow buffers (no copy unless a study spans two record batches)."""
    table = con.sql(_LINES, params={"batches": batches}).to_arrow_table()
    pieces: dict[str, list[memoryview]] = {}
    chunks = zip(table.column("study").chunks, table.column("line").chunks, strict=True)
    for studies, lines in chunks:
        positions = studies.to_numpy()
        starts = np.flatnonzero(positions[1:] != positions[:-1]) + 1
        bounds = [0, *map(int, starts), positions.size] if positions.size else []
        for lo, hi in itertools.pairwise(bounds):
            name = batches[int(positions[lo]) - 1]
            pieces.setdefault(name, []).append(_data_slice(lines, lo, hi))
    return {
        name: parts[0] if len(parts) == 1 else memoryview(b"".join(parts))
        for name, parts in pieces.items()
    }


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
