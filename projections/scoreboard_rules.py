"""The scoreboard's rules as one pure function over cells: the reference the SQL must match.

A cell is ``{"job_id", "name", "params": {coordinate: value}, "metrics": {name: float}}``,
optionally with ``"status"`` (the job's outcome status, ``ok`` when absent). A metric is
*missing* when its key is absent or its value is None or NaN (the ledger stores non-finite
metrics as null).

Checks, in this order on every row:

1. **Gates**, one per metric of ``gates`` in metric-name order: pass when
   ``min <= value <= max`` (bounds inclusive, an absent bound is no bound).
2. **Parity**, one per parity check in file order. The cell's *siblings* are the cells whose
   params equal its own once ``across`` is removed from both (a cell without ``across`` has
   the value "absent"); the group is the cell and its siblings. Pass when
   ``max - min <= max_abs_diff`` over the group's values, so every member of a group gets the
   same answer. Missing when the cell or any sibling lacks the metric, or the cell has no
   sibling: parity is only claimed when every value it speaks of was measured.
3. **Beat** (``baselines.beat``), on non-baseline cells only. A cell is a baseline when its
   ``profile`` is one of ``profile_values``. Baseline B is comparable to cell C when every
   coordinate of B except ``profile`` is also a coordinate of C with an equal value: baselines
   recorded under every engine match on engine too, baselines recorded without an engine
   coordinate serve every engine. Pass when ``value > best + margin``, best being the largest
   value among comparable baselines that have the metric (strict: a tie does not beat).
   Missing when the cell lacks the metric or no comparable baseline has it.

A check that cannot be evaluated is ``fail`` in strict mode, ``skipped`` with
``allow_missing``; a gate with ``required: false`` is always ``skipped`` when missing. Every
check reports whether it was missing. A row is a candidate when it is not a baseline, its
status is ``ok`` and none of its checks failed. ``missing`` counts, for every metric the gates
file reads, the cells lacking it (zero counts included).

Rows are ordered by their coordinates (the union of coordinate names, sorted by name; per
name: absent first, then numbers by value, then strings by code point, then other values by
their canonical JSON), then by ``job_id``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from schemas import Beat, Gates, MetricGate, ParityGate

PROFILE = "profile"
OK = "ok"
PASS, FAIL, SKIPPED = "pass", "fail", "skipped"


@dataclass(frozen=True)
class Check:
    """One check of one row; ``reference`` is the parity spread or the best baseline value."""

    name: str
    metric: str
    status: str
    value: float | None
    reference: float | None = None
    missing: bool = False


@dataclass(frozen=True)
class Row:
    """One cell as judged: its identity, coordinates, metrics and checks."""

    job_id: str
    name: str
    params: dict[str, Any]
    metrics: dict[str, float | None]
    status: str
    baseline: bool
    candidate: bool
    checks: tuple[Check, ...]

    @property
    def failed(self) -> tuple[str, ...]:
        """Names of the checks that failed."""
        return tuple(c.name for c in self.checks if c.status == FAIL)

    @property
    def skipped(self) -> tuple[str, ...]:
        """Names of the checks skipped for a missing metric."""
        return tuple(c.name for c in self.checks if c.status == SKIPPED)


@dataclass(frozen=True)
class ScoreboardResult:
    """Every row in order, the missing-metric counts, and the mode they were judged in."""

    rows: tuple[Row, ...]
    missing: dict[str, int]
    allow_missing: bool

    @property
    def candidates(self) -> tuple[Row, ...]:
        """The candidate rows, in row order."""
        return tuple(row for row in self.rows if row.candidate)


def metric_value(metrics: dict[str, Any], name: str) -> float | None:
    """A metric's value, or None when it is missing (absent, null or NaN)."""
    value = metrics.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _without(params: dict[str, Any], key: str) -> str:
    return _canonical({k: v for k, v in params.items() if k != key})


def _value_key(params: dict[str, Any], name: str) -> tuple[int, float, str]:
    if name not in params:
        return (0, 0.0, "")
    value = params[name]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (1, float(value), "")
    if isinstance(value, str):
        return (2, 0.0, value)
    return (3, 0.0, _canonical(value))


def _order(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = sorted({name for cell in cells for name in cell["params"]})
    return sorted(
        cells,
        key=lambda c: (tuple(_value_key(c["params"], n) for n in names), c["job_id"]),
    )


def _unevaluable(
    name: str, metric: str, value: float | None, strict: bool, reference: float | None = None
) -> Check:
    return Check(name, metric, FAIL if strict else SKIPPED, value, reference, missing=True)


def gate_check(metric: str, gate: MetricGate, value: float | None, allow_missing: bool) -> Check:
    """A min/max gate on one value."""
    if value is None:
        return _unevaluable(metric, metric, None, gate.required and not allow_missing)
    ok = (gate.min is None or value >= gate.min) and (gate.max is None or value <= gate.max)
    return Check(metric, metric, PASS if ok else FAIL, value)


def parity_checks(
    cells: list[dict[str, Any]], parity: ParityGate, allow_missing: bool
) -> list[Check]:
    """The parity check of every cell, in the order given: one answer per sibling group."""
    groups: dict[str, list[int]] = {}
    for position, cell in enumerate(cells):
        groups.setdefault(_without(cell["params"], parity.across), []).append(position)
    values = [metric_value(cell["metrics"], parity.metric) for cell in cells]
    checks: list[Check | None] = [None] * len(cells)
    for members in groups.values():
        present = [v for v in (values[i] for i in members) if v is not None]
        complete = len(members) >= 2 and len(present) == len(members)
        spread = max(present) - min(present) if complete else None
        for i in members:
            if spread is None:
                checks[i] = _unevaluable(parity.name, parity.metric, values[i], not allow_missing)
            else:
                status = PASS if spread <= parity.max_abs_diff else FAIL
                checks[i] = Check(parity.name, parity.metric, status, values[i], spread)
    return [check for check in checks if check is not None]


class BaselineIndex:
    """Baseline values of one metric, looked up by a cell's coordinates."""

    def __init__(self, baselines: Iterable[dict[str, Any]], metric: str) -> None:
        # coordinate names of a baseline (minus profile) -> their values -> best value
        self._best: dict[tuple[str, ...], dict[str, float]] = {}
        for cell in baselines:
            value = metric_value(cell["metrics"], metric)
            if value is None:
                continue
            coords = {k: v for k, v in cell["params"].items() if k != PROFILE}
            by_values = self._best.setdefault(tuple(sorted(coords)), {})
            key = _canonical(coords)
            by_values[key] = max(value, by_values.get(key, value))

    def best(self, params: dict[str, Any]) -> float | None:
        """The largest value among baselines comparable to a cell with ``params``."""
        found: list[float] = []
        for names, by_values in self._best.items():
            if all(n in params for n in names):
                value = by_values.get(_canonical({n: params[n] for n in names}))
                if value is not None:
                    found.append(value)
        return max(found) if found else None


def beat_check(beat: Beat, value: float | None, best: float | None, allow_missing: bool) -> Check:
    """A non-baseline cell against the best comparable baseline."""
    if value is None or best is None:
        return _unevaluable(beat.name, beat.metric, value, not allow_missing, best)
    status = PASS if value > best + beat.margin else FAIL
    return Check(beat.name, beat.metric, status, value, best)


def evaluate(cells: list[dict[str, Any]], gates: Gates, allow_missing: bool) -> ScoreboardResult:
    """Judge every cell against the gates (see the module docstring for the exact rules)."""
    ordered = _order(cells)
    baseline_profiles = set(gates.baselines.profile_values) if gates.baselines else set()

    def is_baseline(cell: dict[str, Any]) -> bool:
        return cell["params"].get(PROFILE) in baseline_profiles

    parity = [parity_checks(ordered, p, allow_missing) for p in gates.parity]
    beat = gates.baselines.beat if gates.baselines else None
    index = BaselineIndex(filter(is_baseline, ordered), beat.metric) if beat else None
    rows = []
    for position, cell in enumerate(ordered):
        metrics = cell["metrics"]
        checks = [
            gate_check(m, gates.gates[m], metric_value(metrics, m), allow_missing)
            for m in sorted(gates.gates)
        ]
        checks += [per_cell[position] for per_cell in parity]
        baseline = is_baseline(cell)
        if beat is not None and index is not None and not baseline:
            value = metric_value(metrics, beat.metric)
            checks.append(beat_check(beat, value, index.best(cell["params"]), allow_missing))
        status = str(cell.get("status", OK))
        candidate = not baseline and status == OK and all(c.status != FAIL for c in checks)
        rows.append(
            Row(
                job_id=cell["job_id"],
                name=cell["name"],
                params=cell["params"],
                metrics=metrics,
                status=status,
                baseline=baseline,
                candidate=candidate,
                checks=tuple(checks),
            )
        )
    missing = {
        m: sum(1 for c in ordered if metric_value(c["metrics"], m) is None) for m in gates.metrics
    }
    return ScoreboardResult(rows=tuple(rows), missing=missing, allow_missing=allow_missing)
