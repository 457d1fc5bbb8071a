"""The scoreboard as a projection: its files are recorded, rebuilt and checked like every output.

A scoreboard depends on the ledger and on an input the ledger does not hold: the gates file
(and ``--allow-missing``) the ``scoreboard`` command was given. The command keeps that input
in ``ledger.duckdb`` beside the record of the files it wrote (``scoreboard_inputs``: the gates
file's text and SHA-256 and the mode, one row per batch, the last run's), as every command
with such an input does (``projections.outputs``: ``command_transaction``, ``render_stored``,
``copy_inputs``). From there ``rebuild`` renders the scoreboard again when its batch gets new
events, puts back a file deleted or edited since, and ``rebuild --check`` compares the files
with what the ledger and that input imply.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import projections.outputs as outputs
from projections.comments import Comments

if TYPE_CHECKING:
    import duckdb

    from projections.scoreboard import Scoreboard
    from schemas import Gates

NAME = "scoreboard"
INPUTS = "scoreboard_inputs"
DDL: tuple[str, ...] = (
    f"""CREATE TABLE IF NOT EXISTS {INPUTS} (
        batch VARCHAR PRIMARY KEY, gates VARCHAR, gates_sha256 VARCHAR, allow_missing BOOLEAN)""",
)
TABLES: tuple[str, ...] = ()  # the inputs are not derived from the ledger: never cleared
REQUIRES: tuple[str, ...] = ("report",)  # judges ``report_jobs``
COMMENTS: Comments = {
    INPUTS: (
        "the scoreboard command's last input per batch, from which rebuild renders its files",
        {
            "batch": "the judged batch",
            "gates": "the gates file's text (UTF-8)",
            "gates_sha256": "the SHA-256 (hex) of the gates file's bytes",
            "allow_missing": "true when run with --allow-missing, false for strict",
        },
    )
}


def parse_gates(raw: bytes, where: str) -> Gates:
    """The gates of a gates file's bytes; ``where`` names it in messages.

    Raises:
        GatesInvalid: not UTF-8, bad YAML, or content refused by ``load_gates``.
    """
    import yaml

    from schemas import GatesInvalid, load_gates

    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        mark = getattr(e, "problem_mark", None)
        line = f" line {mark.line + 1}:" if mark is not None else ""
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise GatesInvalid(f"{where}:{line} {problem}") from e
    return load_gates(data, where)


def _render(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    batch: str,
    gates: Gates,
    digest: str,
    allow_missing: bool,
) -> tuple[Scoreboard, list[Path]]:
    import projections.scoreboard as scoreboard
    import projections.scoreboard_files as scoreboard_files

    board = scoreboard.judge(con, batch, gates, allow_missing)
    csvs = scoreboard_files.csv_texts(con, board)
    return board, scoreboard_files.write(root, board, csvs, digest)


def judge_and_record(
    con: duckdb.DuckDBPyConnection, root: Path, batch: str, raw: bytes, allow_missing: bool
) -> tuple[Scoreboard, list[Path], str]:
    """The ``scoreboard`` command on a current read-write database: judge ``batch`` against
    the gates file's bytes ``raw``, write its files, and keep the input and the files' record,
    all in one transaction. Returns the scoreboard, the files and the gates' SHA-256.

    Raises:
        GatesInvalid, GatesUnusable: as ``parse_gates`` and ``scoreboard.judge``.
        BatchNotFound: no such batch, or it has no jobs.
    """
    from ledger import BatchNotFound

    gates = parse_gates(raw, "gates")
    digest = hashlib.sha256(raw).hexdigest()
    with outputs.command_transaction(con, root, NAME) as written:
        if con.execute("SELECT 1 FROM report_jobs WHERE batch = ?", [batch]).fetchone() is None:
            raise BatchNotFound(f"no batch {batch!r} with jobs in the ledger")
        con.execute(
            f"INSERT OR REPLACE INTO {INPUTS} VALUES (?, ?, ?, ?)",
            [batch, raw.decode("utf-8"), digest, allow_missing],
        )
        board, files = _render(con, root, batch, gates, digest, allow_missing)
        written.extend(files)
    return board, written, digest


def update(con: duckdb.DuckDBPyConnection, root: Path, batches: list[str] | None) -> list[Path]:
    """Render again the scoreboards of ``batches`` (None: all) that were ever judged, from
    their stored input (``outputs.render_stored``)."""

    def render(row: tuple[Any, ...]) -> list[Path] | None:
        batch, text, digest, allow_missing = row
        if batches is not None and batch not in batches:
            return None
        gates = parse_gates(str(text).encode("utf-8"), f"stored gates of {batch}")
        return _render(con, root, str(batch), gates, str(digest), bool(allow_missing))[1]

    return outputs.render_stored(con, INPUTS, "batch", render)
