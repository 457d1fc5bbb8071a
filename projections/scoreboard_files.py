"""The scoreboard's files: ``tournament_scoreboard.csv`` (every cell), ``tournament_candidates.csv``
(the candidates, same columns) and ``tournament_scoreboard.md``, under ``scoreboard/<batch>/``.

CSV columns: ``index``, ``name``, ``job_id``, each coordinate (sorted by name), each metric of
the batch (sorted), ``baseline``, ``candidate``, then per check its status (``gate:<metric>``,
``parity:<metric>:<across>``, ``beat:<metric>``: ``pass`` | ``fail`` | ``skipped``, empty for
a beat on a baseline) and, for parity and beat, the reference (``.spread`` / ``.best``). A
coordinate named like a fixed column gets a ``param.`` prefix, a metric named like a fixed
column or coordinate a ``metric.`` prefix. Fields are written as ``writers.csv_text`` writes
values (floats by ``repr``, None empty, booleans ``true``/``false``, other JSON compact with
sorted keys) and quoted by ``writers.csv_field``'s rule; the rows are rendered and joined by
DuckDB from ``_judged`` (the coordinates' texts, few distinct ones, rendered in Python).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from projections.scoreboard import JUDGED, SHOWN_CANDIDATES, Scoreboard
from projections.writers import (
    cell,
    csv_cell_sql,
    csv_field,
    csv_text,
    markdown_table,
    safe_dir_name,
    write_atomic,
)

if TYPE_CHECKING:
    import duckdb

SCOREBOARD_CSV = "tournament_scoreboard.csv"
CANDIDATES_CSV = "tournament_candidates.csv"
SCOREBOARD_MD = "tournament_scoreboard.md"
FIXED = ("index", "name", "job_id", "baseline", "candidate")
REFERENCE = {"parity": "spread", "beat": "best"}


def header(board: Scoreboard) -> list[str]:
    """The CSV header of ``board``."""
    coords = [f"param.{c}" if c in FIXED else c for c in board.coordinates]
    taken = set(FIXED) | set(coords)
    metrics = [f"metric.{m}" if m in taken else m for m in board.metric_names]
    checks: list[str] = []
    for spec in board.specs:
        checks.append(spec.name)
        if spec.kind in REFERENCE:
            checks.append(f"{spec.name}.{REFERENCE[spec.kind]}")
    return [*FIXED[:3], *coords, *metrics, *FIXED[3:], *checks]


def _coordinate_texts(con: duckdb.DuckDBPyConnection, count: int) -> list[dict[str, str]]:
    """Per coordinate ``c<k>`` of ``_judged``, each JSON text it takes -> its CSV field
    (``csv_field(cell(value))``)."""
    if not count:
        return []
    rows = con.execute(
        " UNION ALL ".join(
            f"SELECT DISTINCT {k}, c{k} FROM {JUDGED} WHERE c{k} IS NOT NULL" for k in range(count)
        )
    ).fetchall()
    texts: list[dict[str, str]] = [{} for _ in range(count)]
    for k, raw in rows:
        texts[k][str(raw)] = csv_field(cell(json.loads(raw)))
    return texts


def _row_sql(board: Scoreboard) -> str:
    """One CSV row of ``_judged`` (without its line end), in ``header`` order."""
    fields = [csv_cell_sql('"index"', numeric=True), csv_cell_sql("name"), csv_cell_sql("job_id")]
    fields += [
        f"coalesce(map($ck{k}::VARCHAR[], $cv{k}::VARCHAR[])[c{k}], '')"
        for k in range(len(board.coordinates))
    ]
    fields += [
        csv_cell_sql(f"metrics[$m{i}]", numeric=True) for i in range(len(board.metric_names))
    ]
    fields += ["CASE WHEN baseline THEN 'true' ELSE 'false' END"]
    fields += ["CASE WHEN candidate THEN 'true' ELSE 'false' END"]
    for i, spec in enumerate(board.specs):
        fields.append(f"coalesce(s{i}, '')")
        if spec.kind in REFERENCE:
            fields.append(csv_cell_sql(f"r{i}", numeric=True))
    # concat_ws builds the line in one allocation (every field is non-NULL, none is skipped)
    return f"concat_ws(',', {', '.join(fields)})"


def csv_texts(con: duckdb.DuckDBPyConnection, board: Scoreboard) -> tuple[str, str]:
    """The scoreboard and candidates CSV texts, rendered from ``_judged`` (left by ``judge``
    on ``con``) in one query: each row by SQL, joined in ``pos`` order by ``string_agg``."""
    params: dict[str, Any] = {}
    for k, known in enumerate(_coordinate_texts(con, len(board.coordinates))):
        params |= {f"ck{k}": list(known), f"cv{k}": list(known.values())}
    params |= {f"m{i}": name for i, name in enumerate(board.metric_names)}
    row = con.execute(
        f"""SELECT coalesce(string_agg(line, '' ORDER BY pos), ''),
                   coalesce(string_agg(line, '' ORDER BY pos) FILTER (WHERE candidate), '')
            FROM (SELECT pos, candidate, {_row_sql(board)} || chr(10) AS line FROM {JUDGED})""",
        params,
    ).fetchone()
    assert row is not None  # an aggregate without GROUP BY always gives one row
    head = csv_text(header(board), [])
    return head + str(row[0]), head + str(row[1])


def markdown(board: Scoreboard, gates_sha256: str) -> str:
    """The ``tournament_scoreboard.md`` text."""
    candidates = len(board.candidate_names)
    parts = [f"# Tournament scoreboard: {board.batch}\n"]
    parts.append(
        f"- gates sha256: {gates_sha256}\n"
        f"- mode: {'allow-missing' if board.allow_missing else 'strict'}\n"
        f"- cells: {board.cell_count} ({board.baseline_count} baselines)\n"
        f"- candidates: {candidates}\n"
    )
    parts.append("## Checks\n")
    counts = [(spec.name, *tally) for spec, tally in zip(board.specs, board.tallies, strict=True)]
    parts.append(markdown_table(["check", "pass", "fail", "skipped"], counts))
    parts.append("## Missing metrics\n")
    parts.append(markdown_table(["metric", "cells lacking it"], sorted(board.missing.items())))
    parts.append(f"## Candidates ({candidates})\n")
    if candidates:
        head = ["index", "name", *board.coordinates]
        shown = [
            [c.index, c.name, *(c.params.get(k) for k in board.coordinates)]
            for c in board.shown_candidates
        ]
        parts.append(markdown_table(head, shown))
        if candidates > SHOWN_CANDIDATES:
            parts.append(f"\n... and {candidates - SHOWN_CANDIDATES} more (see {CANDIDATES_CSV})\n")
    else:
        parts.append("None.\n")
    return "\n".join(parts)


def write(root: Path, board: Scoreboard, csvs: tuple[str, str], gates_sha256: str) -> list[Path]:
    """Write the three files of ``board`` (``csvs``: from ``csv_texts``) under
    ``<root>/scoreboard/<batch>/``."""
    folder = root / "scoreboard" / safe_dir_name(board.batch)
    return [
        write_atomic(folder / SCOREBOARD_CSV, csvs[0]),
        write_atomic(folder / CANDIDATES_CSV, csvs[1]),
        write_atomic(folder / SCOREBOARD_MD, markdown(board, gates_sha256)),
    ]
