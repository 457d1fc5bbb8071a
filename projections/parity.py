"""The ``parity`` projection (seed 001): two batches' per-job results compared record by record.

A side is a batch's jobs whose final outcome (``report_jobs``: the last outcome of each job
index) is ``ok``. Jobs are matched by name, or by the value of the param named by ``key`` (a
string as it is, any other value as compact JSON). A job's records are ``result.<field>`` of
that outcome, which must be a list of JSON objects; ``parity_rules.compare`` applies the rules
(counts, exact fields, absolute numeric tolerance). A job whose final outcome is not ``ok`` is
not compared: it is listed under its side's ``jobs_not_ok`` and, having no records, reported
as missing on that side.

Besides the verdict, the files record what each side cost, to show the speedup of one way of
computing the same records over another (focused over full replay):

- ``bars_processed``: the sum of the ``bars_processed`` metric over the side's compared jobs
  (null when none has it) and the ratio a / b;
- ``wall_time``: the sum of the same outcomes' ``duration_s`` and the ratio a / b. It comes
  from the events like everything else, so the files are a function of the ledger (the same
  bytes every time the command runs), but it is a measurement: running the same jobs again
  records other times. It is kept in one place per file (the JSON key ``wall_time``, the
  Markdown row starting ``| wall time``) so that comparisons of parity files from different
  runs can leave exactly that out.

Files: ``parity/<A>_vs_<B>.json`` and ``.md`` (batch ids made safe as file names), rewritten
by every ``sweepledger parity`` run. The key, field, tolerance and exact fields are the
command's inputs, kept with the files' record (``projections.parity_projection``), from which
``rebuild`` writes the files again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from projections.errors import ParityUnusable
from projections.parity_rules import (
    DEFAULT_LIMIT,
    Mismatch,
    ParityResult,
    compare,
    parity_json,
    parity_markdown,
)
from projections.tables import json_pointer
from projections.writers import fmt_number, json_text, markdown_table, safe_dir_name, write_atomic

if TYPE_CHECKING:
    import duckdb

NAME = "parity"
BARS_METRIC = "bars_processed"
WALL_TIME_NOTE = (
    "measured: the sum of the compared outcomes' duration_s; it varies from run to run of "
    "the same jobs, unlike everything else in this file"
)
SHOWN_IN_ERROR = 3

JOBS = """
SELECT r."index", r.name, r.status, json_extract(i.params, $key) AS key, o.duration_s,
       o.metrics[$bars] AS bars,
       CASE WHEN r.status = 'ok' THEN json_extract(o.result, $field) END AS records
FROM report_jobs AS r JOIN intents AS i ON i.seq = r.intent_seq
LEFT JOIN outcomes AS o ON o.seq = r.outcome_seq
WHERE r.batch = $batch ORDER BY r."index", r.intent_seq
"""


@dataclass(frozen=True)
class Side:
    """One batch as compared: its ok jobs' records by key, the jobs left out, their cost."""

    batch: str
    records: dict[str, list[dict[str, Any]]]
    not_ok: tuple[tuple[str, str], ...]  # (job key, final status), by key
    bars_processed: float | None
    wall_s: float


@dataclass(frozen=True)
class ParityReport:
    """Two sides, how their jobs were matched and which records were compared, the result."""

    a: Side
    b: Side
    key: str | None
    field: str
    result: ParityResult


def _key_text(raw: str) -> str:
    value = json.loads(raw)
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _records(batch: str, job: str, field: str, raw: str | None) -> list[dict[str, Any]]:
    value = None if raw is None else json.loads(raw)
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        what = "missing" if value is None else "not a list of objects"
        raise ParityUnusable(
            f"batch {batch!r}, job {job!r}: result.{field} of its ok outcome is {what}"
        )
    return value


def read_side(con: duckdb.DuckDBPyConnection, batch: str, key: str | None, field: str) -> Side:
    """One batch's side of the comparison (the database must be current).

    Raises:
        ParityUnusable: a job lacks the ``key`` param, two jobs share a key, or an ok job's
            ``result.<field>`` is not a list of objects.
    """
    params = {
        "batch": batch,
        "key": json_pointer(key or ""),
        "bars": BARS_METRIC,
        "field": json_pointer(field),
    }
    rows = con.execute(JOBS, params).fetchall()
    records: dict[str, list[dict[str, Any]]] = {}
    not_ok: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    bars: list[float] = []
    wall = 0.0
    for index, name, status, raw_key, duration_s, bars_processed, raw_records in rows:
        if key is None:
            job = str(name)
        elif raw_key is None:
            raise ParityUnusable(f"batch {batch!r}: job {name!r} has no param {key!r} (--key)")
        else:
            job = _key_text(raw_key)
        if job in seen:
            what = "name" if key is None else f"param {key!r}"
            raise ParityUnusable(
                f"batch {batch!r}: jobs {seen[job]} and {index} share the {what} {job!r}; "
                "match them by a param that tells them apart (--key)"
            )
        seen[job] = int(index)
        if status != "ok":
            not_ok.append((job, str(status)))
            continue
        records[job] = _records(batch, job, field, raw_records)
        wall += float(duration_s or 0.0)
        if bars_processed is not None:
            bars.append(float(bars_processed))
    return Side(
        batch=batch,
        records=records,
        not_ok=tuple(sorted(not_ok)),
        bars_processed=sum(bars) if bars else None,
        wall_s=wall,
    )


def parity(
    con: duckdb.DuckDBPyConnection,
    a: str,
    b: str,
    key: str | None = None,
    field: str = "trades",
    tol: float = 0.0,
    exact: Sequence[str] = (),
    limit: int = DEFAULT_LIMIT,
) -> ParityReport:
    """Compare batch ``a`` with batch ``b`` (the database must be current).

    Raises:
        ParityUnusable: the sides cannot be read (``read_side``), or ``tol`` is negative or
            not finite.
    """
    side_a, side_b = read_side(con, a, key, field), read_side(con, b, key, field)
    try:
        result = compare(side_a.records, side_b.records, exact, tol, limit)
    except ValueError as e:
        raise ParityUnusable(f"parity: {e}") from e
    return ParityReport(side_a, side_b, key, field, result)


def _number(value: float | None) -> float | int | None:
    """An integral float as an int (bars are counts), anything else as it is."""
    if value is not None and value.is_integer():
        return int(value)
    return value


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b is not None and b > 0 else None


def _side_document(side: Side) -> dict[str, Any]:
    return {
        "batch": side.batch,
        "jobs_compared": len(side.records),
        "jobs_not_ok": [{"job": job, "status": status} for job, status in side.not_ok],
    }


def document(report: ParityReport) -> dict[str, Any]:
    """The ``.json`` document: ``parity_json`` of the result plus the sides and their cost."""
    a, b = report.a, report.b
    doc = parity_json(report.result)
    doc.update(
        {
            "a": _side_document(a),
            "b": _side_document(b),
            "match_by": "name" if report.key is None else f"params.{report.key}",
            "records": f"result.{report.field}",
            "bars_processed": {
                "a": _number(a.bars_processed),
                "a_over_b": _ratio(a.bars_processed, b.bars_processed),
                "b": _number(b.bars_processed),
                "metric": BARS_METRIC,
            },
            "wall_time": {
                "a_over_b": _ratio(a.wall_s, b.wall_s),
                "a_s": a.wall_s,
                "b_s": b.wall_s,
                "note": WALL_TIME_NOTE,
            },
        }
    )
    return dict(sorted(doc.items()))


def _side_fact(name: str, side: Side) -> str:
    left_out = f", {len(side.not_ok)} not ok" if side.not_ok else ""
    return f"{name}: batch `{side.batch}` ({len(side.records)} jobs compared{left_out})"


def markdown(report: ParityReport) -> str:
    """The ``.md`` text: the sides, the verdict and mismatches, the cost, the jobs left out."""
    a, b = report.a, report.b
    match = "job name" if report.key is None else f"param `{report.key}`"
    facts = [
        _side_fact("a", a),
        _side_fact("b", b),
        f"records: `result.{report.field}` of each job's final ok outcome, matched by {match}",
    ]
    text = parity_markdown(report.result, f"Parity: {a.batch} vs {b.batch}", facts)
    bars_ratio = _ratio(a.bars_processed, b.bars_processed)
    wall_ratio = _ratio(a.wall_s, b.wall_s)
    cost = [
        [
            f"bars processed (metric {BARS_METRIC})",
            _or_dash(_number(a.bars_processed)),
            _or_dash(_number(b.bars_processed)),
            fmt_number(bars_ratio, 2),
        ],
        [
            "wall time s (sum of duration_s; measured, varies run to run)",
            fmt_number(a.wall_s, 3),
            fmt_number(b.wall_s, 3),
            fmt_number(wall_ratio, 2),
        ],
    ]
    text += "\n## Cost\n\n" + markdown_table(["measure", "a", "b", "a / b"], cost)
    left_out = [("a", job, status) for job, status in a.not_ok]
    left_out += [("b", job, status) for job, status in b.not_ok]
    if left_out:
        text += "\n## Jobs not compared (final outcome not ok)\n\n"
        text += markdown_table(["side", "job", "status"], left_out)
    return text


def _or_dash(value: float | int | None) -> str:
    return "-" if value is None else repr(value)


def file_stem(a: str, b: str) -> str:
    """``<A>_vs_<B>``, each batch id made safe as a file name."""
    return f"{safe_dir_name(a)}_vs_{safe_dir_name(b)}"


def write(root: Path, report: ParityReport) -> list[Path]:
    """Write ``parity/<A>_vs_<B>.json`` and ``.md`` under ``root``."""
    stem = root / NAME / file_stem(report.a.batch, report.b.batch)
    return [
        write_atomic(stem.with_name(stem.name + ".json"), json_text(document(report))),
        write_atomic(stem.with_name(stem.name + ".md"), markdown(report)),
    ]


def _where(m: Mismatch) -> str:
    """``JOB[INDEX].FIELD (kind: a vs b)``; a job-level mismatch is ``JOB (kind: a vs b)``."""
    values = f"{json.dumps(m.a, default=str)} vs {json.dumps(m.b, default=str)}"
    place = m.job if m.index is None else f"{m.job}[{m.index}].{m.field}"
    return f"{place} ({m.kind}: {values})"


def mismatch_summary(report: ParityReport) -> str:
    """One line: how many mismatches, and where the first ones are (job, index, field)."""
    result = report.result
    first = "; ".join(_where(m) for m in result.mismatches[:SHOWN_IN_ERROR])
    more = " ..." if result.total_mismatches > SHOWN_IN_ERROR else ""
    return (
        f"batches {report.a.batch!r} and {report.b.batch!r} differ: "
        f"{result.total_mismatches} mismatches; first: {first}{more}"
    )
