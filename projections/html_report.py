"""The ``html`` projection: a self-contained HTML report per batch and per study.

``batches/<batch>/report.html``: the batch's overview, metric distributions (final ok
outcomes), each varying parameter against the objective, job durations over time, the
leaderboard's top segments and the scoreboard's check pass rates (from
``scoreboard/<batch>/tournament_scoreboard.csv`` when it exists), each section only when its
data exists. ``studies/<study>/report.html``: the Pareto front (from the study's ``pareto``
files) with its promoted winners, and the study batch's sections.

A page names the event it was built from: the batch's last event (for a study, the later of
that and its last ``promotion.decided``), so a page depends only on the events before it
and a full rebuild and a catch-up write the same bytes. Charts are inline SVG
(``projections.charts``), deterministic like every output: no clock, fixed ids.

Pages read the ``report``, ``leaderboard``, ``pareto`` and ``promotion`` projections, so a
rebuild brings those up to date first. A page also shows the scoreboard file present when it
is written (the gates are an input of ``scoreboard``, not of the ledger): run ``report
--html`` again after ``scoreboard`` to refresh it. ``rebuild`` writes the pages only when
asked (``rebuild html``: every batch's page, and every study's): drawing imports matplotlib.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import projections.html_sections as sections
import projections.html_study as study_sections
from projections.html_page import Section, page
from projections.scope import set_scope
from projections.writers import safe_dir_name, write_atomic

if TYPE_CHECKING:
    import duckdb

NAME = "html"
DDL: tuple[str, ...] = ()
TABLES: tuple[str, ...] = ()
REPORT_HTML = "report.html"
# The pages read these projections' tables, and the scoreboard's files (its pass rates).
REQUIRES: tuple[str, ...] = ("report", "leaderboard", "pareto", "promotion", "scoreboard")


def _event_hash(con: duckdb.DuckDBPyConnection, seq: int) -> str:
    row = con.execute("SELECT hash FROM events WHERE seq = ?", [seq]).fetchone()
    return str(row[0]) if row else ""


def batch_anchor(con: duckdb.DuckDBPyConnection, batch: str) -> tuple[int, str] | None:
    """(seq, hash) of the batch's last event, or None when the ledger has no such batch."""
    row = con.execute("SELECT last_seq FROM batches WHERE batch = ?", [batch]).fetchone()
    if row is None or row[0] is None:
        return None
    return int(row[0]), _event_hash(con, int(row[0]))


def study_anchor(con: duckdb.DuckDBPyConnection, study: str) -> tuple[int, str]:
    """(seq, hash) of the last event of the study's batch or of its promotion decisions;
    the database's head when there is neither."""
    row = con.execute(
        """SELECT max(seq) FROM events
           WHERE batch = $study OR (type = 'promotion.decided' AND data->>'study' = $study)""",
        {"study": study},
    ).fetchone()
    seq = row[0] if row and row[0] is not None else None
    if seq is None:
        head = con.execute("SELECT max(seq) FROM events").fetchone()
        seq = head[0] if head and head[0] is not None else 0
    return int(seq), _event_hash(con, int(seq))


def has_jobs(con: duckdb.DuckDBPyConnection, batch: str) -> bool:
    """True when ``batch`` has at least one job in ``report_jobs``."""
    found = con.execute("SELECT 1 FROM report_jobs WHERE batch = ? LIMIT 1", [batch]).fetchone()
    return found is not None


def _batch_sections(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    batch: str,
    anchor: tuple[int, str] | None,
    preferred: str | None = None,
) -> list[Section]:
    """The batch's sections; ``preferred``: the objective to rank by when measured (a
    study's first Pareto objective), before the manifest's."""
    values = sections.metric_values(con, batch)
    measured = preferred is not None and any(v is not None for v in values.get(preferred, []))
    objective = preferred if measured else sections.objective_of(con, batch, values)
    found = [
        sections.overview(con, batch, anchor),
        sections.distributions(batch, values),
        sections.param_views(con, batch, objective),
        sections.durations(con, batch),
        sections.leaderboard(con, batch),
        sections.scoreboard(root, batch),
    ]
    return [s for s in found if s is not None]


def batch_page(con: duckdb.DuckDBPyConnection, root: Path, batch: str) -> str:
    """The ``report.html`` text of ``batch`` (one known to ``batches``)."""
    anchor = batch_anchor(con, batch)
    assert anchor is not None, f"no batch {batch}"
    provenance = sections.anchor_html(*anchor, "the last event of this batch")
    return page(f"Batch report: {batch}", provenance, _batch_sections(con, root, batch, anchor))


def study_page(con: duckdb.DuckDBPyConnection, root: Path, study: str) -> str:
    """The ``report.html`` text of ``study``: its batch's overview, its Pareto front, then the
    rest of its batch's sections."""
    anchor = study_anchor(con, study)
    provenance = sections.anchor_html(*anchor, "the last event of this study's batch or promotions")
    files = study_sections.read_study(con, root, study)
    pareto = study_sections.pareto(study, files)
    batch = batch_anchor(con, study)
    first = files.objectives[0][0] if files.objectives else None
    body = _batch_sections(con, root, study, batch, first) if batch is not None else []
    if pareto is not None:  # after the overview, when there is one
        at = 1 if body and body[0].id == "overview" else 0
        body.insert(at, pareto)
    return page(f"Study report: {study}", provenance, body)


def batch_path(root: Path, batch: str) -> Path:
    """Where the page of ``batch`` is written."""
    return root / "batches" / safe_dir_name(batch) / REPORT_HTML


def study_path(root: Path, study: str) -> Path:
    """Where the page of ``study`` is written."""
    return study_sections.study_folder(root, study) / REPORT_HTML


def is_study(con: duckdb.DuckDBPyConnection, root: Path, study: str) -> bool:
    """True when ``study`` is a batch of the ledger or has a ``pareto.json``."""
    folder = study_sections.study_folder(root, study)
    return batch_anchor(con, study) is not None or (folder / study_sections.PARETO_JSON).is_file()


def update(con: duckdb.DuckDBPyConnection, root: Path, batches: list[str] | None) -> list[Path]:
    """Write the page of each of ``batches`` (None: all) that has jobs, and the study page of
    each whose Pareto frontier is not empty."""
    written = []
    for batch in set_scope(con, batches):
        if has_jobs(con, batch):
            written.append(write_atomic(batch_path(root, batch), batch_page(con, root, batch)))
        if study_sections.has_frontier(root, batch):
            written.append(write_atomic(study_path(root, batch), study_page(con, root, batch)))
    return written
