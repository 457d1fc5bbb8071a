"""``query``: run one SQL statement against the projection database in a read-only sandbox.

The connection is opened read-only with external access disabled (no file reads or writes,
no ATTACH, no INSTALL/LOAD, no extension autoloading) and the configuration locked, so the
statement can see only the projection tables. Only SELECT-like statements are accepted; a
timer interrupts a statement that runs past its timeout, which counts from the start, waiting
for the database included.

Rows are fetched in batches (``QueryStream.batches``): a result of any size is written with
one batch in memory. A query never waits for other readers (``reads.open_current``); when
the database is behind the ledger and another process has it open, it is read as it stands
and ``QueryStream.freshness`` says by how much.
"""

from __future__ import annotations

import json
import threading
import time as clock
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from projections.engine import Freshness
from projections.errors import ProjectionError, QueryFailed, QueryRefused, QueryTimeout
from projections.reads import open_current
from projections.writers import csv_rows

DEFAULT_TIMEOUT_S = 60.0
BATCH_ROWS = 10_000
SANDBOX_SETTINGS = (
    "SET enable_external_access = false",
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET lock_configuration = true",
)
ALLOWED = {"SELECT", "EXPLAIN", "PRAGMA"}


def _one_line(error: BaseException) -> str:
    text = str(error).strip()
    return " ".join(text.split()) if text else type(error).__name__


def _statement(con: Any, sql: str) -> Any:
    try:
        statements = con.extract_statements(sql)
    except Exception as e:
        raise QueryFailed(_one_line(e)) from e
    if len(statements) != 1:
        raise QueryRefused(f"query takes exactly one SQL statement, got {len(statements)}")
    statement = statements[0]
    kind = str(statement.type).rsplit(".", 1)[-1].upper()
    if kind not in ALLOWED:
        words = str(getattr(statement, "query", "") or sql).split()
        shown = words[0].upper() if words else kind
        # ``PRAGMA name = value`` is DuckDB's spelling of SET: name it as what it does.
        what = f"{shown} statements" if shown == kind else f"{shown} ... ({kind}) statements"
        raise QueryRefused(
            f"{what} are refused: the query sandbox is read-only "
            "(SELECT, EXPLAIN and PRAGMA calls that read, such as PRAGMA table_info)"
        )
    return statement


@dataclass
class QueryResult:
    """Column names and types, the rows fetched, and whether more rows were left out."""

    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool
    freshness: Freshness | None = None


@dataclass
class QueryStream:
    """A running statement: its columns, how current the database read is, and its rows in
    batches (``truncated`` is known once they have been read)."""

    columns: list[str]
    types: list[str]
    freshness: Freshness
    _result: Any = field(repr=False)
    _limit: int | None
    _translate: Callable[[BaseException], ProjectionError] = field(repr=False)
    truncated: bool = False

    def batches(self, size: int = BATCH_ROWS) -> Iterator[list[tuple[Any, ...]]]:
        """The rows, at most ``size`` at a time and ``limit`` in all.

        Raises:
            QueryTimeout: the statement ran past its timeout while rows were read.
            QueryFailed: DuckDB failed while producing them.
        """
        import duckdb

        left = self._limit
        while True:
            want = size if left is None else min(size, left + 1)
            try:
                rows = self._result.fetchmany(want)
            except duckdb.Error as e:
                raise self._translate(e) from e
            if not rows:
                return
            if left is not None:
                if len(rows) > left:  # the one row past the limit only says there are more
                    self.truncated = True
                    if left:
                        yield rows[:left]
                    return
                left -= len(rows)
            yield rows


def _translate(
    timed_out: threading.Event, timeout_s: float
) -> Callable[[BaseException], ProjectionError]:
    """How a DuckDB error of the statement reads to the user."""

    def translate(error: BaseException) -> ProjectionError:
        import duckdb

        if isinstance(error, duckdb.PermissionException):
            return QueryRefused(f"refused by the query sandbox: {_one_line(error)}")
        if timed_out.is_set():
            return QueryTimeout(f"query timed out after {timeout_s:g} s")
        message = _one_line(error)
        if "external access" in message.lower() or "disabled" in message.lower():
            return QueryRefused(f"refused by the query sandbox: {message}")
        return QueryFailed(message)

    return translate


@contextmanager
def open_query(
    root: Path, sql: str, timeout_s: float = DEFAULT_TIMEOUT_S, limit: int | None = None
) -> Iterator[QueryStream]:
    """Start ``sql`` read-only; its rows are read from the stream yielded, at most ``limit``
    (all when None). ``timeout_s`` bounds everything from the call on: waiting for the
    database, the statement, and reading its rows.

    Raises:
        QueryRefused: not a single read-only statement, or it touches files/extensions.
        QueryFailed: DuckDB rejected it (its message, on one line).
        QueryTimeout: it ran past ``timeout_s``.
        ProjectionBusy: the database was being written for all of ``timeout_s``.
    """
    import duckdb

    started = clock.monotonic()
    con, fresh = open_current(root, wait_s=timeout_s)
    timer: threading.Timer | None = None
    timed_out = threading.Event()
    translate = _translate(timed_out, timeout_s)
    try:
        for setting in SANDBOX_SETTINGS:
            con.execute(setting)
        _statement(con, sql)
        left_s = timeout_s - (clock.monotonic() - started)
        if left_s <= 0:
            raise QueryTimeout(f"query timed out after {timeout_s:g} s")

        def interrupt() -> None:
            timed_out.set()
            con.interrupt()

        timer = threading.Timer(left_s, interrupt)
        timer.daemon = True
        timer.start()
        try:
            result = con.execute(sql)
        except duckdb.Error as e:
            raise translate(e) from e
        description = result.description or []
        yield QueryStream(
            columns=[d[0] for d in description],
            types=[str(d[1]) for d in description],
            freshness=fresh,
            _result=result,
            _limit=limit,
            _translate=translate,
        )
    finally:
        if timer is not None:
            timer.cancel()
        con.close()


def run_query(
    root: Path, sql: str, timeout_s: float = DEFAULT_TIMEOUT_S, limit: int | None = None
) -> QueryResult:
    """Run ``sql`` read-only and hold its rows (at most ``limit``; all when None); see
    ``open_query``, which streams them instead."""
    with open_query(root, sql, timeout_s, limit) as stream:
        rows = [row for batch in stream.batches() for row in batch]
        return QueryResult(stream.columns, stream.types, rows, stream.truncated, stream.freshness)


def json_value(value: Any, type_name: str = "") -> Any:
    """A fetched DuckDB value as plain JSON data (JSON columns parsed, dates as ISO text)."""
    if value is None:
        return None
    if type_name == "JSON" and isinstance(value, str):
        return json.loads(value)
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return str(value)


def rows_as_json(result: QueryResult) -> str:
    """One JSON array of row objects."""
    objects = [
        {c: json_value(v, t) for c, t, v in zip(result.columns, result.types, row, strict=True)}
        for row in result.rows
    ]
    return json.dumps(objects, ensure_ascii=False, allow_nan=False) + "\n"


def json_chunks(stream: QueryStream) -> Iterator[str]:
    """The ``rows_as_json`` text of a stream, one piece per batch of rows."""
    yield "["
    for pieces, rows in enumerate(stream.batches()):
        text = ", ".join(
            json.dumps(
                {
                    c: json_value(v, t)
                    for c, t, v in zip(stream.columns, stream.types, row, strict=True)
                },
                ensure_ascii=False,
                allow_nan=False,
            )
            for row in rows
        )
        yield ", " + text if pieces else text
    yield "]\n"


def csv_chunks(stream: QueryStream) -> Iterator[str]:
    """The ``writers.csv_text`` text of a stream: the header, then one piece per batch."""
    yield csv_rows([stream.columns], plain=True)
    for rows in stream.batches():
        yield csv_rows(rows)
