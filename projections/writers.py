"""Shared, deterministic writers: JSON, CSV, Markdown and plain-text tables, atomic files.

Floats are written with ``repr`` (shortest round-trip form) everywhere, None as an empty
cell (CSV) or ``null`` (JSON), so the same values always give the same bytes.

The files themselves are written by ``projections.files`` (atomic, recorded); its names are
imported here too, where the projections have always found them.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from projections.files import BackgroundWrites as BackgroundWrites
from projections.files import Output as Output
from projections.files import OutputLog as OutputLog
from projections.files import PieceStream as PieceStream
from projections.files import recording as recording
from projections.files import write_atomic as write_atomic
from projections.files import write_atomic_pieces as write_atomic_pieces

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,99}\Z")


def cell(value: Any) -> str:
    """One value as text: floats by ``repr``, None as empty, containers as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def _compact(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, allow_nan=False)


class JsonLines(list[str]):
    """A JSON array whose items are already rendered as compact JSON text."""


def _pretty(obj: Any, depth: int, indent: str, out: list[str]) -> None:
    """Append the text of ``obj`` to ``out`` in pieces (joined once: long documents are
    copied once, not once per nesting level)."""
    inner = indent + "  "
    if isinstance(obj, JsonLines):
        if depth > 0 and obj:
            out += ("[\n", inner, (",\n" + inner).join(obj), "\n", indent, "]")
        else:
            out += ("[", ", ".join(obj), "]")
    elif depth > 0 and isinstance(obj, dict) and obj:
        out.append("{\n")
        for i, (key, value) in enumerate(obj.items()):
            out += (",\n" if i else "", inner, _compact(str(key)), ": ")
            _pretty(value, depth - 1, inner, out)
        out += ("\n", indent, "}")
    elif depth > 0 and isinstance(obj, list) and obj:
        out.append("[\n")
        for i, value in enumerate(obj):
            out += (",\n" if i else "", inner)
            _pretty(value, depth - 1, inner, out)
        out += ("\n", indent, "]")
    else:
        out.append(_compact(obj))


def json_text(obj: Any, depth: int = 2) -> str:
    """JSON (UTF-8, no NaN) indented for its first ``depth`` levels, one compact line per
    deeper value (so a list of records reads one record per line), with a final newline.

    Only the C encoder is used below ``depth``: indenting everything is ~10x slower.
    """
    out: list[str] = []
    _pretty(obj, depth, "", out)
    out.append("\n")
    return "".join(out)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """RFC 4180 CSV with ``\\n`` line ends."""
    return csv_rows([header], plain=True) + csv_rows(rows)


def csv_rows(rows: Iterable[Sequence[Any]], plain: bool = False) -> str:
    """The CSV lines of ``rows`` alone (no header), as ``csv_text`` writes them: a large
    result is written batch by batch. ``plain``: the values are already text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows if plain else ([cell(v) for v in row] for row in rows))
    return buffer.getvalue()


# The characters that get a CSV field quoted: ``csv.writer``'s minimal quoting with ``\n``
# line ends quotes the delimiter, the quote and ``\n``; ``\r`` is quoted too, so that no
# reader takes a bare carriage return inside a field for the end of a row.
CSV_QUOTED = ',"\r\n'
CSV_QUOTED_REGEX = '[,"\r\n]'


def csv_field(text: str) -> str:
    """One CSV field from its text: quoted (inner quotes doubled) when it holds a character
    of ``CSV_QUOTED``, else as it is; the same rule as ``csv_cell_sql``."""
    if any(c in text for c in CSV_QUOTED):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_cell_sql(expr: str, numeric: bool = False) -> str:
    """SQL rendering one CSV field like ``csv_field(cell(value))``: NULL empty, a DOUBLE by its
    shortest round-trip text (DuckDB's cast gives Python's ``repr``). A ``numeric`` field's
    text never holds a comma, quote or line break, so it is never quoted."""
    text = f"coalesce(CAST({expr} AS VARCHAR), '')"
    if numeric:
        return text
    return (
        f"CASE WHEN regexp_matches({text}, '{CSV_QUOTED_REGEX}') "
        f"THEN '\"' || replace({text}, '\"', '\"\"') || '\"' ELSE {text} END"
    )


def _md_cell(value: Any) -> str:
    text = value if isinstance(value, str) else cell(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table (pipes and newlines in cells escaped)."""
    lines = ["| " + " | ".join(_md_cell(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines.extend("| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows)
    return "\n".join(lines) + "\n"


def text_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell, for terminals."""
    cells = [[cell(v).replace("\n", " ") for v in row] for row in rows]
    widths = [len(h) for h in header]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    out.extend(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )
    return "\n".join(out) + "\n"


def fmt_number(value: float | int | None, digits: int = 4) -> str:
    """A number for Markdown: fixed decimals for floats, ``-`` for None."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def safe_dir_name(name: str) -> str:
    """A directory name for a batch id: itself when harmless, else a sanitized form + hash."""
    if SAFE_NAME.match(name) and name not in {".", ".."}:
        return name
    import hashlib

    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]
    stem = re.sub(r"[^A-Za-z0-9._\-]", "_", name).strip("._")[:60] or "batch"
    return f"{stem}-{digest}"
