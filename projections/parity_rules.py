"""Parity of two batches' per-job outputs, record by record and field by field (pure).

``compare(a_jobs, b_jobs, exact, tol)`` takes, per side, job key -> list of records (e.g. a
replay job's ``result.trades``) and applies these rules:

- Jobs are matched by key. A job on one side only is one mismatch (``missing_in_a`` or
  ``missing_in_b``) and its records are not compared.
- Per job, the record counts are compared (``count``), then the records at the same index, up
  to the shorter list.
- Per record pair, every field present in either record, by name. A field present in one
  record only is ``missing_field``. A field named in ``exact`` must be equal (``exact``). Two
  numbers (int or float; a bool is not a number) pass when ``abs(a - b) <= tol``: absolute
  tolerance, and a difference of exactly ``tol`` passes (``tolerance``). Anything else must
  be equal (``value``). Two NaNs count as equal; an infinity equals only itself. A bool never
  equals a number. Nested lists and objects are compared with ``==``.
- Mismatches are ordered by job key, then job-level ones (index ``None``) before records, then
  record index, then field name: a total order, since no two mismatches share all three.
  The first ``limit`` are kept; ``total_mismatches`` counts them all.

``parity_json`` and ``parity_markdown`` render a result deterministically (sorted keys; in
JSON, non-finite numbers become the strings ``NaN``, ``Infinity``, ``-Infinity``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from projections.writers import markdown_table

DEFAULT_LIMIT = 100
# Field names of job-level mismatches; no record field is expected to be named like this.
COUNT_FIELD = "(count)"
JOB_FIELD = "(job)"

MismatchKind = Literal[
    "missing_in_a", "missing_in_b", "count", "missing_field", "exact", "tolerance", "value"
]
JobStatus = Literal["identical", "different", "missing_in_a", "missing_in_b"]
Records = Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Mismatch:
    """One difference: ``index`` is the record's position, ``None`` for a job-level one."""

    job: str
    index: int | None
    field: str
    kind: MismatchKind
    a: Any
    b: Any


@dataclass(frozen=True)
class JobParity:
    """One job's summary: record counts per side (``None`` when absent) and mismatches."""

    job: str
    a_records: int | None
    b_records: int | None
    mismatches: int
    status: JobStatus


@dataclass(frozen=True)
class ParityResult:
    """The outcome of ``compare``: the first ``limit`` mismatches and every job's summary."""

    identical: bool
    tol: float
    exact: tuple[str, ...]
    limit: int
    total_mismatches: int
    mismatches: tuple[Mismatch, ...]
    jobs: tuple[JobParity, ...]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(a: Any, b: Any) -> bool:
    """``a == b``, except that a bool never equals a number and NaN equals NaN."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _within(a: float, b: float, tol: float) -> bool:
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return _equal(float(a), float(b))
    return abs(a - b) <= tol


def _field_kind(
    field: str, a: Any, b: Any, exact: frozenset[str], tol: float
) -> MismatchKind | None:
    """Which rule ``field`` breaks with values ``a`` and ``b``, or None if they agree."""
    if field in exact:
        return None if _equal(a, b) else "exact"
    if _is_number(a) and _is_number(b):
        return None if _within(a, b, tol) else "tolerance"
    return None if _equal(a, b) else "value"


def _record_mismatches(
    job: str,
    index: int,
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    exact: frozenset[str],
    tol: float,
) -> list[Mismatch]:
    out = []
    for field in sorted(set(a) | set(b)):
        if field not in a or field not in b:
            out.append(Mismatch(job, index, field, "missing_field", a.get(field), b.get(field)))
            continue
        kind = _field_kind(field, a[field], b[field], exact, tol)
        if kind is not None:
            out.append(Mismatch(job, index, field, kind, a[field], b[field]))
    return out


def _job_mismatches(
    job: str, a: Records, b: Records, exact: frozenset[str], tol: float
) -> list[Mismatch]:
    """Every mismatch of one job present on both sides, in the documented order."""
    out = []
    if len(a) != len(b):
        out.append(Mismatch(job, None, COUNT_FIELD, "count", len(a), len(b)))
    for index, (record_a, record_b) in enumerate(zip(a, b, strict=False)):
        out.extend(_record_mismatches(job, index, record_a, record_b, exact, tol))
    return out


def compare(
    a_jobs: Mapping[str, Records],
    b_jobs: Mapping[str, Records],
    exact: Sequence[str],
    tol: float,
    limit: int = DEFAULT_LIMIT,
) -> ParityResult:
    """Compare two batches' records job by job (rules in the module docstring).

    Raises:
        ValueError: ``tol`` is negative or not finite, or ``limit`` is negative.
    """
    if not math.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    exact_set = frozenset(exact)
    kept: list[Mismatch] = []
    jobs: list[JobParity] = []
    total = 0
    for job in sorted(set(a_jobs) | set(b_jobs)):
        summary, found = _compare_job(job, a_jobs.get(job), b_jobs.get(job), exact_set, tol)
        jobs.append(summary)
        total += len(found)
        kept.extend(found[: max(0, limit - len(kept))])
    return ParityResult(
        identical=total == 0,
        tol=tol,
        exact=tuple(sorted(exact_set)),
        limit=limit,
        total_mismatches=total,
        mismatches=tuple(kept),
        jobs=tuple(jobs),
    )


def _compare_job(
    job: str, a: Records | None, b: Records | None, exact: frozenset[str], tol: float
) -> tuple[JobParity, list[Mismatch]]:
    if a is None or b is None:
        kind: Literal["missing_in_a", "missing_in_b"] = (
            "missing_in_a" if a is None else "missing_in_b"
        )
        count_a = None if a is None else len(a)
        count_b = None if b is None else len(b)
        return JobParity(job, count_a, count_b, 1, kind), [
            Mismatch(job, None, JOB_FIELD, kind, count_a, count_b)
        ]
    found = _job_mismatches(job, a, b, exact, tol)
    status: JobStatus = "different" if found else "identical"
    return JobParity(job, len(a), len(b), len(found), status), found


def _json_safe(value: Any) -> Any:
    """Plain JSON: sorted object keys, tuples as lists, non-finite floats as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {str(k): _json_safe(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def parity_json(result: ParityResult) -> dict[str, Any]:
    """The result as a JSON-ready object with sorted keys at every level."""
    document = {
        "identical": result.identical,
        "tol": result.tol,
        "tol_kind": "absolute",
        "exact": list(result.exact),
        "limit": result.limit,
        "total_mismatches": result.total_mismatches,
        "mismatches": [
            {"job": m.job, "index": m.index, "field": m.field, "kind": m.kind, "a": m.a, "b": m.b}
            for m in result.mismatches
        ],
        "jobs": [
            {
                "job": j.job,
                "a_records": j.a_records,
                "b_records": j.b_records,
                "mismatches": j.mismatches,
                "status": j.status,
            }
            for j in result.jobs
        ],
    }
    safe: dict[str, Any] = _json_safe(document)
    return safe


def _value_text(value: Any) -> str:
    """Compact JSON; a non-finite number shows bare (``Infinity``), unlike the string."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _or_dash(value: int | None) -> str:
    return "-" if value is None else str(value)


def parity_markdown(result: ParityResult, title: str = "Parity", facts: Sequence[str] = ()) -> str:
    """A Markdown report: ``# title``, the ``facts`` (one bullet each), verdict, rules,
    per-job table and the first mismatches."""
    verdict = "identical" if result.identical else "DIFFERENT"
    shown = len(result.mismatches)
    lines = [
        f"# {title}",
        "",
        *(f"- {fact}" for fact in facts),
        f"- verdict: **{verdict}**",
        f"- numeric tolerance: absolute, |a - b| <= {result.tol!r} passes",
        f"- exact fields: {', '.join(result.exact) or '-'}",
        f"- mismatches: {result.total_mismatches} (first {shown} shown)",
        "",
        "## Jobs",
        "",
    ]
    job_rows = [
        [j.job, _or_dash(j.a_records), _or_dash(j.b_records), j.mismatches, j.status]
        for j in result.jobs
    ]
    text = "\n".join(lines) + "\n"
    text += markdown_table(["job", "records a", "records b", "mismatches", "status"], job_rows)
    if result.mismatches:
        rows = [
            [m.job, _or_dash(m.index), m.field, m.kind, _value_text(m.a), _value_text(m.b)]
            for m in result.mismatches
        ]
        text += "\n## First mismatches\n\n"
        text += markdown_table(["job", "index", "field", "kind", "a", "b"], rows)
    return text
