"""The scoreboard's files: ``tournament_scoreboard.csv`` (every cell), ``tournament_candidates.csv``
(the candidates, same columns) and ``tournament_scoreboard.md``, under ``scoreboard/<batch>/``.

CSV columns: ``index``, ``name``, ``job_id``, each coordinate (sorted by name), each metric of
the batch (sorted), ``baseline``, ``candidate``, then per check its status (``gate:<metric>``,
``parity:<metric>:<across>``, ``beat:<metric>``: ``pass`` | ``fail`` | ``skipped``, empty for
a beat on a baseline) and, for parity and beat, the reference (``.spread`` / ``.best``). A
coordinate named like a fixed column gets a ``param.`` prefix, a metric named like a fixed
column or coordinate a ``metric.`` prefix.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from projections.scoreboard import Cell, Scoreboard
from projections.scoreboard_rules import FAIL, PASS, SKIPPED
from projections.writers import csv_text, markdown_table, safe_dir_name, write_atomic

SCOREBOARD_CSV = "tournament_scoreboard.csv"
CANDIDATES_CSV = "tournament_candidates.csv"
SCOREBOARD_MD = "tournament_scoreboard.md"
FIXED = ("index", "name", "job_id", "baseline", "candidate")
SHOWN_CANDIDATES = 50
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


def _row(board: Scoreboard, cell: Cell) -> list[Any]:
    by_metric = {c.name: c for c in cell.checks}
    row: list[Any] = [cell.index, cell.name, cell.job_id]
    row += [cell.params.get(c) for c in board.coordinates]
    row += [cell.metrics.get(m) for m in board.metric_names]
    row += [cell.baseline, cell.candidate]
    for spec in board.specs:
        check = by_metric.get(spec.metric if spec.kind == "gate" else spec.name)
        row.append(check.status if check else None)
        if spec.kind in REFERENCE:
            row.append(check.reference if check else None)
    return row


def csv_texts(board: Scoreboard) -> tuple[str, str]:
    """The scoreboard and candidates CSV texts."""
    head = header(board)
    rows = [_row(board, cell) for cell in board.cells]
    candidates = [row for row, cell in zip(rows, board.cells, strict=True) if cell.candidate]
    return csv_text(head, rows), csv_text(head, candidates)


def markdown(board: Scoreboard, gates_sha256: str) -> str:
    """The ``tournament_scoreboard.md`` text."""
    cells = board.cells
    baselines = sum(1 for c in cells if c.baseline)
    candidates = board.candidates
    parts = [f"# Tournament scoreboard: {board.batch}\n"]
    parts.append(
        f"- gates sha256: {gates_sha256}\n"
        f"- mode: {'allow-missing' if board.allow_missing else 'strict'}\n"
        f"- cells: {len(cells)} ({baselines} baselines)\n"
        f"- candidates: {len(candidates)}\n"
    )
    parts.append("## Checks\n")
    tally = Counter((c.name, c.status) for cell in cells for c in cell.checks)
    counts = []
    for spec in board.specs:
        name = spec.metric if spec.kind == "gate" else spec.name
        counts.append((spec.name, tally[name, PASS], tally[name, FAIL], tally[name, SKIPPED]))
    parts.append(markdown_table(["check", "pass", "fail", "skipped"], counts))
    parts.append("## Missing metrics\n")
    parts.append(markdown_table(["metric", "cells lacking it"], sorted(board.missing.items())))
    parts.append(f"## Candidates ({len(candidates)})\n")
    if candidates:
        shown = candidates[:SHOWN_CANDIDATES]
        head = ["index", "name", *board.coordinates]
        parts.append(
            markdown_table(
                head,
                [[c.index, c.name, *(c.params.get(k) for k in board.coordinates)] for c in shown],
            )
        )
        if len(candidates) > SHOWN_CANDIDATES:
            parts.append(
                f"\n... and {len(candidates) - SHOWN_CANDIDATES} more (see {CANDIDATES_CSV})\n"
            )
    else:
        parts.append("None.\n")
    return "\n".join(parts)


def write(root: Path, board: Scoreboard, gates_sha256: str) -> list[Path]:
    """Write the three files of ``board`` under ``<root>/scoreboard/<batch>/``."""
    folder = root / "scoreboard" / safe_dir_name(board.batch)
    scoreboard_csv, candidates_csv = csv_texts(board)
    return [
        write_atomic(folder / SCOREBOARD_CSV, scoreboard_csv),
        write_atomic(folder / CANDIDATES_CSV, candidates_csv),
        write_atomic(folder / SCOREBOARD_MD, markdown(board, gates_sha256)),
    ]
