"""``query``: run one SQL statement against the projection database in a read-only sandbox.

The connection is opened read-only with external access disabled (no file reads or writes,
no ATTACH, no INSTALL/LOAD, no extension autoloading) and the configuration locked, so the
statement can see only the projection tables. Only SELECT-like statements are accepted; a
timer interrupts a statement that runs past its timeout.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from projections.engine import connect
from projections.errors import QueryFailed, QueryRefused, QueryTimeout

DEFAULT_TIMEOUT_S = 60.0
SANDBOX_SETTINGS = (
    "SET enable_external_access = false",
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET lock_configuration = true",
)
ALLOWED = {"SELECT", "EXPLAIN", "PRAGMA"}


@dataclass
class QueryResult:
    """Column names and types, the rows fetched, and whether more rows were left out."""

    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool


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


def run_query(
    root: Path, sql: str, timeout_s: float = DEFAULT_TIMEOUT_S, limit: int | None = None
) -> QueryResult:
    """Run ``sql`` read-only; fetch at most ``limit`` rows (all when None).

    Raises:
        QueryRefused: not a single read-only statement, or it touches files/extensions.
        QueryFailed: DuckDB rejected it (its message, on one line).
        QueryTimeout: it ran past ``timeout_s``.
    """
    import duckdb

    con = connect(root, read_only=True)
    timer: threading.Timer | None = None
    timed_out = threading.Event()
    try:
        for setting in SANDBOX_SETTINGS:
            con.execute(setting)
        _statement(con, sql)

        def interrupt() -> None:
            timed_out.set()
            con.interrupt()

        timer = threading.Timer(timeout_s, interrupt)
        timer.daemon = True
        timer.start()
        try:
            result = con.execute(sql)
            columns = [d[0] for d in result.description or []]
            types = [str(d[1]) for d in result.description or []]
            if limit is None:
                rows = result.fetchall()
                truncated = False
            else:
                rows = result.fetchmany(limit + 1)
                truncated = len(rows) > limit
                rows = rows[:limit]
        except duckdb.PermissionException as e:
            raise QueryRefused(f"refused by the query sandbox: {_one_line(e)}") from e
        except duckdb.Error as e:
            if timed_out.is_set():
                raise QueryTimeout(f"query timed out after {timeout_s:g} s") from e
            message = _one_line(e)
            if "external access" in message.lower() or "disabled" in message.lower():
                raise QueryRefused(f"refused by the query sandbox: {message}") from e
            raise QueryFailed(message) from e
        return QueryResult(columns, types, rows, truncated)
    finally:
        if timer is not None:
            timer.cancel()
        con.close()


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
