"""Parity as a projection: its files are recorded, rebuilt and checked like every output.

A parity file depends on the ledger (two batches' outcomes) and on the ``parity`` command's
rules, which the ledger does not hold: the key, the field, the tolerance and the exact fields.
The command keeps them in ``ledger.duckdb`` beside the record of the files it wrote
(``parity_inputs``: one row per file stem ``<A>_vs_<B>``, the last run's), as every command with
such an input does (``projections.outputs``: ``command_transaction``, ``render_stored``,
``copy_inputs``). From there ``rebuild`` compares the batches again when either gets new events,
puts back a file deleted or edited since, and ``rebuild --check`` compares the files with what
the ledger and those rules imply.

The row is keyed by the file stem, not by the two batch ids: two pairs whose ids are made the
same file name (``a_vs_b`` + ``c`` and ``a`` + ``b_vs_c``) write the same files, and the last
run's rules are the ones those files hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import projections.outputs as outputs
import projections.parity as parity
from projections.comments import Comments

if TYPE_CHECKING:
    import duckdb

NAME = parity.NAME
INPUTS = "parity_inputs"
DDL: tuple[str, ...] = (
    f"""CREATE TABLE IF NOT EXISTS {INPUTS} (
        file_stem VARCHAR PRIMARY KEY, batch_a VARCHAR, batch_b VARCHAR, key_param VARCHAR,
        field VARCHAR, tol DOUBLE, exact VARCHAR[])""",
)
TABLES: tuple[str, ...] = ()  # the inputs are not derived from the ledger: never cleared
REQUIRES: tuple[str, ...] = ("report",)  # reads ``report_jobs``
COMMENTS: Comments = {
    INPUTS: (
        "the parity command's last input per pair of files, from which rebuild renders them",
        {
            "file_stem": "the files' name without extension: parity/<file_stem>.json and .md",
            "batch_a": "the batch compared as side a",
            "batch_b": "the batch compared as side b",
            "key_param": "the param jobs are matched by (--key), null for the job name",
            "field": "the result member holding each job's records (--field)",
            "tol": "the absolute tolerance for numbers (--tol)",
            "exact": "the record fields that must be equal (--exact), in the order given",
        },
    )
}


def compare_and_record(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    a: str,
    b: str,
    key: str | None,
    field: str,
    tol: float,
    exact: Sequence[str],
) -> tuple[parity.ParityReport, list[Path]]:
    """The ``parity`` command on a current read-write database: compare batch ``a`` with
    batch ``b``, write their files, and keep the rules and the files' record, all in one
    transaction. Returns the report and the files, whatever the verdict.

    Raises:
        BatchNotFound: either batch has no jobs.
        ParityUnusable: as ``parity.parity``.
    """
    from ledger import BatchNotFound

    with outputs.command_transaction(con, root, NAME) as written:
        for batch in (a, b):
            found = con.execute("SELECT 1 FROM report_jobs WHERE batch = ?", [batch]).fetchone()
            if found is None:
                raise BatchNotFound(f"no batch {batch!r} with jobs in the ledger")
        report = parity.parity(con, a, b, key, field, tol, exact)
        con.execute(
            f"INSERT OR REPLACE INTO {INPUTS} VALUES (?, ?, ?, ?, ?, ?, ?)",
            [parity.file_stem(a, b), a, b, key, field, tol, list(exact)],
        )
        written.extend(parity.write(root, report))
    return report, written


def update(con: duckdb.DuckDBPyConnection, root: Path, batches: list[str] | None) -> list[Path]:
    """Compare again the stored pairs with a batch among ``batches`` (None: all), with their
    stored rules (``outputs.render_stored``)."""

    def render(row: tuple[Any, ...]) -> list[Path] | None:
        _, a, b, key, field, tol, exact = row
        if batches is not None and a not in batches and b not in batches:
            return None
        report = parity.parity(con, str(a), str(b), key, str(field), float(tol), list(exact))
        return parity.write(root, report)

    return outputs.render_stored(con, INPUTS, "file_stem", render)
