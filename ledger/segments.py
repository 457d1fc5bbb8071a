"""Sealed Parquet segments: immutable files holding each event's exact bytes plus typed columns.

Only this module knows the segment format. A segment is named
``seg-<first seq:012d>-<last seq:012d>.parquet`` under ``<root>/segments/``; its rows are events
in seq order with the columns of ``SEGMENT_COLUMNS``. ``raw`` is the stored line without its
newline; every other column is derived from it. pyarrow is imported lazily.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.chain import check_line, line_hash, line_prev
from ledger.encoding import data_text, decode_fields

if TYPE_CHECKING:
    import pyarrow as pa

SEGMENT_DIR = "segments"
SEGMENT_NAME = re.compile(r"^seg-(\d{12})-(\d{12})\.parquet$")
TMP_SUFFIX = ".tmp"
ROW_GROUP_ROWS = 65536
HASH_BLOCK = 1 << 20
SEGMENT_COLUMNS = ("seq", "ts", "type", "v", "batch", "key", "cause", "data", "prev", "hash", "raw")
EVENT_COLUMNS = SEGMENT_COLUMNS[:-1]


@dataclass(frozen=True)
class SegmentFile:
    """A final segment file on disk and the seq range its name declares."""

    path: Path
    first_seq: int
    last_seq: int

    @property
    def name(self) -> str:
        return self.path.name


def segment_name(first_seq: int, last_seq: int) -> str:
    """The file name of the segment holding ``first_seq..last_seq``."""
    return f"seg-{first_seq:012d}-{last_seq:012d}.parquet"


def list_segments(root: Path) -> list[SegmentFile]:
    """Final segment files under ``root``, oldest first (temporary files are ignored)."""
    directory = root / SEGMENT_DIR
    if not directory.is_dir():
        return []
    found = []
    for entry in os.scandir(directory):
        match = SEGMENT_NAME.match(entry.name)
        if match:
            found.append(SegmentFile(Path(entry.path), int(match[1]), int(match[2])))
    return sorted(found, key=lambda s: s.first_seq)


def file_sha256(path: Path) -> tuple[str, int]:
    """SHA-256 hex and size of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(HASH_BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def arrow_schema() -> pa.Schema:
    """The Arrow schema of a segment file."""
    import pyarrow as pa

    return pa.schema(
        [
            ("seq", pa.int64()),
            ("ts", pa.string()),
            ("type", pa.string()),
            ("v", pa.int32()),
            ("batch", pa.string()),
            ("key", pa.string()),
            ("cause", pa.int64()),
            ("data", pa.string()),
            ("prev", pa.string()),
            ("hash", pa.string()),
            ("raw", pa.binary()),
        ]
    )


def rows_from_lines(lines: Iterable[bytes]) -> dict[str, list[Any]]:
    """Typed column values derived from stored lines (newline stripped)."""
    columns: dict[str, list[Any]] = {name: [] for name in SEGMENT_COLUMNS}
    for line in lines:
        fields = decode_fields(line)
        for name in ("seq", "ts", "type", "v", "batch", "key", "cause", "prev", "hash"):
            columns[name].append(fields[name])
        columns["data"].append(data_text(line).decode("utf-8"))
        columns["raw"].append(line)
    return columns


def _envelope_table(lines: list[bytes]) -> pa.Table:
    """Envelope columns parsed by Arrow's C++ JSON reader; ``data`` is sliced from the bytes."""
    import pyarrow as pa
    import pyarrow.json as pj

    schema = arrow_schema()
    envelope = pa.schema([f for f in schema if f.name not in ("data", "raw")])
    parsed = pj.read_json(
        pa.BufferReader(b"\n".join(lines)),
        read_options=pj.ReadOptions(block_size=1 << 24, use_threads=False),
        parse_options=pj.ParseOptions(explicit_schema=envelope, unexpected_field_behavior="ignore"),
    )
    data = pa.array([data_text(line).decode("utf-8") for line in lines], pa.string())
    return parsed.add_column(EVENT_COLUMNS.index("data"), "data", data).select(EVENT_COLUMNS)


def events_table(lines: list[bytes], with_raw: bool = False) -> pa.Table:
    """An Arrow table of events from stored lines (the ``raw`` column only on request)."""
    import pyarrow as pa

    schema = arrow_schema()
    if not lines:
        table = schema.empty_table()
        return table if with_raw else table.drop_columns(["raw"])
    try:
        table = _envelope_table(lines).cast(schema.remove(schema.get_field_index("raw")))
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
        columns = rows_from_lines(lines)
        del columns["raw"]
        table = pa.table(columns, schema=schema.remove(schema.get_field_index("raw")))
    if with_raw:
        table = table.append_column(schema.field("raw"), pa.array(lines, pa.binary()))
    return table


def read_table(path: Path, since: int = 0, columns: Iterable[str] = EVENT_COLUMNS) -> pa.Table:
    """Rows of a segment with seq > ``since``, in seq order."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=list(columns))
    if since > 0:
        table = table.filter(pc.greater(table["seq"], since))
    return table


def iter_raw(path: Path, since: int = 0) -> Iterator[bytes]:
    """Stored lines of a segment with seq > ``since`` (newline stripped), in seq order."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    for batch in parquet.iter_batches(columns=["seq", "raw"], batch_size=ROW_GROUP_ROWS):
        seqs = batch.column(0).to_pylist()
        raws = batch.column(1).to_pylist()
        for seq, raw in zip(seqs, raws, strict=True):
            if seq > since:
                yield raw


def iter_raw_blocks(path: Path, since: int = 0) -> Iterator[tuple[int, list[bytes]]]:
    """``(first seq, lines)`` per row group of a segment, rows with seq > ``since`` only."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    for batch in parquet.iter_batches(columns=["seq", "raw"], batch_size=ROW_GROUP_ROWS):
        seqs = batch.column(0)
        if not len(seqs) or seqs[len(seqs) - 1].as_py() <= since:
            continue
        first = seqs[0].as_py()
        skip = max(0, since - first + 1)
        yield first + skip, batch.column(1).slice(skip).to_pylist()


def raw_at(path: Path, seq: int) -> bytes | None:
    """The stored line of the row holding ``seq`` in a segment, or None."""
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["seq", "raw"], filters=[("seq", "=", seq)])
    if table.num_rows != 1:
        return None
    found = table["raw"][0].as_py()
    return bytes(found) if found is not None else None


def hash_at(path: Path, seq: int) -> str | None:
    """The hash column of the row holding ``seq`` in a segment, or None."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["seq", "hash"], filters=[("seq", "=", seq)])
    if table.num_rows != 1:
        return None
    found = pc.first(table["hash"]).as_py()
    return str(found) if found is not None else None


def _typed_problem(stored: dict[str, list[Any]], i: int, raw: bytes) -> str | None:
    """What differs between row ``i``'s typed columns and its ``raw`` bytes; None if nothing."""
    try:
        derived = rows_from_lines([raw])
    except ValueError as e:
        return f"event bytes do not decode ({e})"
    for name in EVENT_COLUMNS:
        if stored[name][i] != derived[name][0]:
            return f"typed column {name!r} differs from the event bytes"
    return None


@dataclass(frozen=True)
class DeepProblem:
    """The first row of a segment that does not check out."""

    seq: int
    row: int
    problem: str


def deep_check(path: Path, first_seq: int, prev: str | None) -> tuple[DeepProblem | None, str]:
    """Re-check every row: hash chain of ``raw`` and typed columns against ``raw``.

    ``prev`` is the hash the first row must link to; None takes the first row's own ``prev``.

    Returns:
        The first problem (or None) and the hash of the last row checked.
    """
    import pyarrow.parquet as pq

    expected = first_seq
    row = 0
    try:
        parquet = pq.ParquetFile(path)
        for batch in parquet.iter_batches(batch_size=ROW_GROUP_ROWS):
            stored = batch.to_pydict()
            for i, raw in enumerate(stored["raw"]):
                if prev is None:
                    prev = line_prev(raw)
                problem = check_line(raw, expected, prev) or _typed_problem(stored, i, raw)
                if problem is not None:
                    return DeepProblem(expected, row, problem), prev or ""
                prev = line_hash(raw)
                expected += 1
                row += 1
    except Exception as e:  # any decoding failure of a damaged file is a finding, not a crash
        problem = f"segment unreadable: {type(e).__name__}: {e}"
        return DeepProblem(expected, row, problem), prev or ""
    return None, prev or ""
