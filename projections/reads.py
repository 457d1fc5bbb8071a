"""What commands read from the projection database, each after bringing it up to date: gaps,
the batches, a batch's leaderboard document, a batch's report text, a batch's scoreboard, two
batches' parity, a study's frontier and trials, the HTML report pages; ``open_current``, the
read-only connection of ``query``, which never waits for other readers; and an as-of state's
directory."""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger import BatchNotFound
from projections.engine import Freshness, connect, db_path, freshness, open_if_current
from projections.errors import ProjectionBusy, StudyNotFound
from projections.rebuild import RebuildResult, is_current, rebuild, rebuilding

CLOSEST_N = 3
CLOSEST_CUTOFF = 0.5

if TYPE_CHECKING:
    from collections.abc import Sequence

    import duckdb

    from projections.parity import ParityReport
    from projections.scoreboard import Scoreboard
    from schemas import Gates


def ensure_current(root: Path, names: Sequence[str] | None = None) -> RebuildResult | None:
    """Rebuild (incrementally) only when the ledger head is past the database's cursor; with
    ``names``, only when one of those projections is behind it, and only them.

    Raises:
        LedgerNotFound: no ledger at ``root``.
    """
    if is_current(root, names or ()):
        return None
    return rebuild(root, None if names is None else list(names))


@contextlib.contextmanager
def current_connection(
    root: Path, names: Sequence[str] | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to read the projection database once it is current (``ensure_current``):
    the read-only connection that found it current, else the rebuild's own connection once
    it has caught up (read before the rebuild lets the database go). One connection where
    ``ensure_current`` then ``connect`` took two or three.

    Raises:
        LedgerNotFound: no ledger at ``root``.
    """
    con = open_if_current(root, names or ())
    if con is None:
        with rebuilding(root, None if names is None else list(names)) as (con, _):
            yield con
        return
    try:
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def as_of_state(root: Path, seq: int, directory: Path | None = None) -> Iterator[Path]:
    """The directory of an as-of state at ``seq`` (its ``ledger.duckdb`` for ``open_query``),
    built or brought forward first: ``directory`` when given (kept afterwards, reused by the
    next call at the same seq), else a temporary directory removed on exit.

    Raises:
        AsOfRefused: ``seq`` is beyond the head, or ``directory`` cannot hold the state.
    """
    if directory is not None:
        rebuild(root, as_of=seq, out=directory)
        yield directory.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="sweepledger-as-of-") as scratch:
        rebuild(root, as_of=seq, out=Path(scratch))
        yield Path(scratch)


def _try_read_only(root: Path) -> duckdb.DuckDBPyConnection | None:
    """The database opened read-only at once, or None (missing, or a writer holds it)."""
    if not db_path(root).exists():
        return None
    try:
        return connect(root, read_only=True, wait_s=0)
    except ProjectionBusy:
        return None


def open_current(root: Path, wait_s: float) -> tuple[duckdb.DuckDBPyConnection, Freshness]:
    """A read-only connection to the projection database, caught up with the ledger first
    when this process can take the database for writing.

    DuckDB lets many processes open a database read-only at once, but one opens it for
    writing only when no other process has it open. So readers never wait for readers:

    - current: opened read-only at once, whoever else is reading;
    - behind and nobody else has it open: caught up here, then opened read-only;
    - behind while other processes read it: opened as it stands; ``Freshness.behind`` says by
      how many events (the caller tells the user);
    - another process writing it, or it cannot be read as it stands while others hold it:
      tried again until ``wait_s`` seconds have passed.

    Raises:
        LedgerNotFound: no ledger at ``root``.
        ProjectionBusy: no usable read-only connection within ``wait_s`` seconds.
    """
    from ledger import Ledger

    ledger = Ledger.open(root)
    deadline = time.monotonic() + wait_s
    delay = 0.02
    catch_up = True
    while True:
        con = _try_read_only(root)
        if con is not None:
            fresh = freshness(con, ledger)
            if fresh is not None and (fresh.behind == 0 or not catch_up):
                return con, fresh
            con.close()
        if catch_up:
            catch_up = False  # once: events appended meanwhile are left for the next read
            # Busy: another process has it open; read it as it stands, or wait.
            with contextlib.suppress(ProjectionBusy):
                rebuild(root, wait_s=0)
            continue
        now = time.monotonic()
        if now >= deadline:
            what = "is being written by" if con is None else "needs a rebuild but is open in"
            raise ProjectionBusy(
                f"projection database {db_path(root)} {what} another process (waited {wait_s:g} s)"
            )
        time.sleep(min(delay, deadline - now))
        delay = min(delay * 2, 0.5)
        catch_up = True  # the other process may be gone: try the catch-up again


def list_gaps(root: Path, batch: str | None = None) -> list[dict[str, Any]]:
    """Every gap after bringing the database up to date (liveness checked now).

    Raises:
        BatchNotFound: ``batch`` has no events.
    """
    from projections.gaps import find_gaps

    with current_connection(root) as con:
        if batch is not None:
            _require_batch(con, batch)
        return find_gaps(con, batch)


def list_batches(root: Path) -> list[dict[str, Any]]:
    """Every batch, oldest first: state, planned and final job counts, started, resumable
    (see ``projections.batches``), after bringing the database up to date.

    Raises:
        LedgerNotFound: no ledger at ``root``.
    """
    from projections.batches import batch_rows

    with current_connection(root) as con:
        return batch_rows(con)


def _require_batch(con: Any, batch: str) -> None:
    """Refuse a batch id the ledger does not hold, naming the closest ids it does hold."""
    import difflib

    if con.execute("SELECT 1 FROM batches WHERE batch = ?", [batch]).fetchone() is None:
        ids = [str(r[0]) for r in con.execute("SELECT batch FROM batches").fetchall()]
        close = difflib.get_close_matches(batch, ids, CLOSEST_N, CLOSEST_CUTOFF)
        hint = f"; closest: {', '.join(close)}" if close else ""
        raise BatchNotFound(f"no batch {batch!r} in the ledger{hint}")


def leaderboard_document(root: Path, batch: str | None = None, top: int = 20) -> dict[str, Any]:
    """The hypothesis leaderboard of ``batch`` (default: the latest batch with scans).

    Raises:
        BatchNotFound: no such batch, or it has no scan outcomes.
    """
    import projections.leaderboard_docs as leaderboard_docs

    with current_connection(root) as con:
        if batch is None:
            row = con.execute(
                """SELECT u.batch FROM leaderboard_users AS u JOIN batches AS b USING (batch)
                   ORDER BY b.first_seq DESC, u.batch LIMIT 1"""
            ).fetchone()
            if row is None:
                raise BatchNotFound("no batch with scan outcomes in the ledger")
            batch = str(row[0])
        _require_batch(con, batch)
        found = con.execute("SELECT 1 FROM leaderboard_users WHERE batch = ?", [batch]).fetchone()
        if found is None:
            raise BatchNotFound(f"batch {batch!r} has no scan outcomes")
        segments = leaderboard_docs.segments_from_table(con, batch)
        return leaderboard_docs.document(con, batch, segments, top)


def leaderboard_markdown(doc: dict[str, Any], top: int = 20) -> str:
    """The Markdown rendering of a leaderboard document."""
    import projections.leaderboard_docs as leaderboard_docs

    return leaderboard_docs.markdown(doc, top)


def report_text(
    root: Path, batch: str | None = None, as_csv: bool = False, sort_by: str | None = None
) -> str:
    """The ``report.md`` (or ``summary.csv``) text of ``batch`` (default: the latest batch);
    ``sort_by`` (``METRIC[:asc|desc]``) ranks the jobs instead of the manifest's objective.

    Raises:
        BatchNotFound: no such batch, or it has no jobs.
    """
    import projections.report as report
    from projections.report_ranking import parse_sort_by

    with current_connection(root) as con:
        if batch is None:
            row = con.execute(
                """SELECT r.batch FROM report_jobs AS r JOIN batches AS b USING (batch)
                   ORDER BY b.first_seq DESC, r.batch LIMIT 1"""
            ).fetchone()
            if row is None:
                raise BatchNotFound("no batch with jobs in the ledger")
            batch = str(row[0])
        if con.execute("SELECT 1 FROM report_jobs WHERE batch = ?", [batch]).fetchone() is None:
            raise BatchNotFound(f"no batch {batch!r} with jobs in the ledger")
        if as_csv:
            return report.summary_csv(con, batch)
        return report.report_markdown(con, batch, parse_sort_by(sort_by) if sort_by else None)


def pareto_document(root: Path, study: str) -> dict[str, Any]:
    """The ``pareto.json`` object of ``study`` (after bringing the database up to date).

    Raises:
        StudyNotFound: the study has no trial outcomes.
    """
    import projections.pareto as pareto

    with current_connection(root, [pareto.NAME]) as con:
        _require_study(con, study)
        objectives = pareto.study_objectives(con, [study])[study]
        return pareto.frontier_document(con, study, objectives)


def study_trials(root: Path, study: str) -> list[dict[str, Any]]:
    """Every trial of ``study`` (its ``trials.jsonl`` objects, in job order), after bringing
    the database up to date; each also carries its outcome ``hash``, ``intent_seq`` and
    ``seed``.

    Raises:
        StudyNotFound: the study has no trial outcomes.
    """
    import json

    from projections.pareto import NAME

    with current_connection(root, [NAME]) as con:
        _require_study(con, study)
        rows = con.execute(
            """SELECT trial_id, candidate_id, job_id, "index", name, seq, status, valid,
                      on_frontier, evidence_verified, to_json(metrics), CAST(params AS VARCHAR),
                      CAST(result AS VARCHAR), hash, intent_seq, seed
               FROM study_trials WHERE batch = ? ORDER BY "index" NULLS LAST, seq""",
            [study],
        ).fetchall()
    keys = [
        "trial_id",
        "candidate_id",
        "job_id",
        "index",
        "name",
        "seq",
        "status",
        "valid",
        "on_frontier",
        "evidence_verified",
        "metrics",
        "params",
        "result",
        "hash",
        "intent_seq",
        "seed",
    ]
    out = []
    for row in rows:
        item = dict(zip(keys, row, strict=True))
        for key in ("metrics", "params", "result"):
            item[key] = json.loads(item[key]) if item[key] is not None else None
        out.append(item)
    return out


def _require_study(con: Any, study: str) -> None:
    # A batch has rows in the ``study_trials`` view when it has a trial outcome; asked of the
    # outcomes directly, the view's trials are not computed for a yes or no.
    found = con.execute(
        "SELECT 1 FROM outcomes WHERE type = 'trial.outcome' AND batch = ? LIMIT 1", [study]
    ).fetchone()
    if found is None:
        raise StudyNotFound(f"no trial outcomes recorded for study {study!r}")


def read_gates(path: Path) -> tuple[Gates, str]:
    """Read a gates YAML file; returns the gates and the sha256 of its bytes.

    Raises:
        GatesInvalid: unreadable file, bad YAML, or content refused by ``load_gates``.
    """
    import hashlib

    from projections.scoreboard_projection import parse_gates

    raw = _read_gates_bytes(path)
    return parse_gates(raw, f"gates {path}"), hashlib.sha256(raw).hexdigest()


def _read_gates_bytes(path: Path) -> bytes:
    from schemas import GatesInvalid

    try:
        return path.read_bytes()
    except OSError as e:
        raise GatesInvalid(f"gates {path}: {e.strerror or e}") from e


def scoreboard_report(
    root: Path, batch: str, gates_path: Path, allow_missing: bool = False
) -> tuple[Scoreboard, list[Path], str]:
    """Judge ``batch`` against the gates file and write ``scoreboard/<batch>/``; returns the
    scoreboard, the files written and the gates file's sha256. The gates and the mode are
    kept in the projection database with the record of the files, so ``rebuild`` keeps them
    current and ``rebuild --check`` covers them (``projections.scoreboard_projection``).

    The files are written even when the strict scoreboard fails for missing metrics (the
    caller decides the exit code from ``Scoreboard.failed_for_missing``).

    Raises:
        GatesInvalid: the gates file cannot be used.
        GatesUnusable: strict mode and a gated metric no cell has.
        BatchNotFound: no such batch, or it has no jobs.
    """
    from projections.scoreboard_projection import judge_and_record, parse_gates

    raw = _read_gates_bytes(gates_path)
    parse_gates(raw, f"gates {gates_path}")  # refused before the database is touched
    ensure_current(root)
    con = connect(root)
    try:
        return judge_and_record(con, root, batch, raw, allow_missing)
    finally:
        con.close()


def parity_report(
    root: Path,
    a: str,
    b: str,
    key: str | None = None,
    field: str = "trades",
    tol: float = 0.0,
    exact: Sequence[str] = (),
) -> tuple[ParityReport, list[Path]]:
    """Compare batch ``a``'s per-job results with batch ``b``'s (rules in
    ``projections.parity``) and write ``parity/<a>_vs_<b>.json`` and ``.md``; returns the
    report and the files written, whatever the verdict (the caller decides the exit code).
    The rules are kept in the projection database with the record of the files, so
    ``rebuild`` keeps them current and ``rebuild --check`` covers them
    (``projections.parity_projection``).

    Raises:
        BatchNotFound: either batch has no jobs.
        ParityUnusable: a job lacks the ``key`` param, two jobs of a batch share a key, an ok
            job's ``result.<field>`` is not a list of objects, or ``tol`` is not a finite
            number >= 0.
    """
    from projections.parity_projection import compare_and_record

    ensure_current(root)
    con = connect(root)
    try:
        return compare_and_record(con, root, a, b, key, field, tol, exact)
    finally:
        con.close()


def _latest_batch_with_jobs(con: Any) -> str:
    row = con.execute(
        """SELECT r.batch FROM report_jobs AS r JOIN batches AS b USING (batch)
           ORDER BY b.first_seq DESC, r.batch LIMIT 1"""
    ).fetchone()
    if row is None:
        raise BatchNotFound("no batch with jobs in the ledger")
    return str(row[0])


def write_batch_html(root: Path, batch: str | None = None) -> Path:
    """Write ``batches/<batch>/report.html`` (default: the latest batch) and return its path.

    Raises:
        BatchNotFound: no such batch, or it has no jobs.
    """
    import projections.html_report as html_report

    with current_connection(root) as con:
        if batch is None:
            batch = _latest_batch_with_jobs(con)
        if not html_report.has_jobs(con, batch):
            raise BatchNotFound(f"no batch {batch!r} with jobs in the ledger")
        text = html_report.batch_page(con, root, batch)
    return _write_page(root, html_report.batch_path(root, batch), text)


def write_study_html(root: Path, study: str) -> Path:
    """Write ``studies/<study>/report.html`` and return its path.

    Raises:
        BatchNotFound: the ledger has no batch ``study`` and there is no
            ``studies/<study>/pareto.json``.
    """
    import projections.html_report as html_report

    with current_connection(root) as con:
        if not html_report.is_study(con, root, study):
            raise BatchNotFound(
                f"no study {study!r}: no batch of that id and no studies/{study}/pareto.json"
            )
        text = html_report.study_page(con, root, study)
    return _write_page(root, html_report.study_path(root, study), text)


def _write_page(root: Path, path: Path, text: str) -> Path:
    """Write a page and record it as an output of the ``html`` projection, in one
    transaction, as ``rebuild html`` records its pages: ``rebuild --check`` does not count it
    as an extra file, and ``rebuild --check html`` / ``rebuild html`` check and restore it."""
    import projections.html_report as html_report
    import projections.outputs as outputs
    from projections.engine import connect
    from projections.writers import write_atomic

    con = connect(root)
    try:
        with outputs.command_transaction(con, root, html_report.NAME) as written:
            written.append(write_atomic(path, text))
    finally:
        con.close()
    return path
