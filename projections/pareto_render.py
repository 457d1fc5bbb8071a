"""``trials.jsonl`` bytes straight from DuckDB: every line is rendered by SQL
(``pareto_sql.TRIAL_LINE``), fetched as one Arrow string column in file order, and each
study's file is the slice of that column's data buffer its lines occupy.

An Arrow string array keeps its values back to back in one buffer, so lines that each end with
a newline already are the file: no Python string per line, no join, no ``encode``.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np

from projections.pareto_sql import TRIAL_LINE
from projections.scope import IN_BATCHES

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

# File order: batch, then job order (index, a trial without an intent last), then seq.
_LINES = f"""
SELECT batch, line FROM (
    SELECT batch, "index", seq, {TRIAL_LINE} AS line FROM study_trials WHERE {IN_BATCHES}
) WHERE line IS NOT NULL
ORDER BY batch, "index" NULLS LAST, seq
"""


def trials_jsonl(con: duckdb.DuckDBPyConnection, batches: list[str]) -> dict[str, bytes]:
    """The ``trials.jsonl`` bytes of each of ``batches`` that has trials (UTF-8)."""
    import pyarrow.compute as pc

    table = con.sql(_LINES, params={"batches": batches}).to_arrow_table()
    out: dict[str, bytes] = {}
    for names, lines in zip(table.column("batch").chunks, table.column("line").chunks, strict=True):
        count = len(names)
        if count == 0:
            continue
        changed = pc.not_equal(names.slice(1), names.slice(0, count - 1))
        starts = np.flatnonzero(changed.to_numpy(zero_copy_only=False)) + 1
        bounds = [0, *map(int, starts), count]
        for lo, hi in itertools.pairwise(bounds):
            name = str(names[lo].as_py())
            piece = _data_slice(lines, lo, hi)
            out[name] = out[name] + piece if name in out else piece  # a study split by chunks
    return out


def _data_slice(lines: pa.Array, lo: int, hi: int) -> bytes:
    """The bytes of string values ``lo`` to ``hi`` (exclusive) of ``lines``, back to back."""
    import pyarrow as pa

    if lines.null_count:
        raise ValueError("a trials.jsonl line is null")
    if pa.types.is_large_string(lines.type):
        width = np.int64
    elif pa.types.is_string(lines.type):
        width = np.int32
    else:  # pragma: no cover - DuckDB exports VARCHAR as string (or large_string)
        raise TypeError(f"unexpected Arrow type for lines: {lines.type}")
    _, offsets_buffer, data = lines.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=width)
    start = int(offsets[lines.offset + lo])
    stop = int(offsets[lines.offset + hi])
    return data[start:stop].to_pybytes()
