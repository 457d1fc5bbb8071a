"""The ``scoreboard`` projection (seed 004): a tournament batch's cells judged against gates.

The cells are the batch's jobs whose final outcome (``report_jobs``: the last outcome of each
job index) is ``ok``; a cell's coordinates are its params, its metrics its outcome's. The
rules are exactly those of ``projections/scoreboard_rules.py`` (its docstring is the
specification, its ``evaluate`` the reference a test checks this SQL against), computed in one
DuckDB query: the gates as column comparisons, parity as window aggregates over the cells
grouped by their other coordinates, baselines by a join on the coordinates each baseline has.

The gates file is an input of the command, not of the ledger: ``rebuild`` does not know it.
``sweepledger scoreboard`` brings the database up to date, judges the batch and rewrites
``scoreboard/<batch>/`` every time it runs; the Markdown names the sha256 of the gates used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from projections.errors import GatesUnusable
from projections.scoreboard_rules import FAIL, PASS, PROFILE, SKIPPED, Check

if TYPE_CHECKING:
    import duckdb

    from schemas import Gates

NAME = "scoreboard"
ABSENT = ""  # a coordinate's text when the cell lacks it: never the text of a JSON value
NUMBER_TYPES = ("BIGINT", "UBIGINT", "DOUBLE", "HUGEINT")


@dataclass(frozen=True)
class CheckSpec:
    """One check column: its name, the metric it reads, and its kind (gate, parity, beat)."""

    name: str
    metric: str
    kind: str


@dataclass(frozen=True)
class Cell:
    """One judged cell, in scoreboard order."""

    index: int
    name: str
    job_id: str
    params: dict[str, Any]
    metrics: dict[str, float | None]
    baseline: bool
    candidate: bool
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class Scoreboard:
    """Every cell in order, the check columns, the missing-metric counts, and the mode."""

    batch: str
    cells: tuple[Cell, ...]
    specs: tuple[CheckSpec, ...]
    coordinates: tuple[str, ...]
    metric_names: tuple[str, ...]
    missing: dict[str, int]
    allow_missing: bool

    @property
    def candidates(self) -> tuple[Cell, ...]:
        """The candidate cells, in order."""
        return tuple(cell for cell in self.cells if cell.candidate)

    def failed_for_missing(self) -> dict[str, int]:
        """Metrics whose absence failed a check (strict mode), with the cells lacking each."""
        metrics = {
            check.metric
            for cell in self.cells
            for check in cell.checks
            if check.missing and check.status == FAIL
        }
        return {m: self.missing.get(m, 0) for m in sorted(metrics)}


def check_specs(gates: Gates) -> tuple[CheckSpec, ...]:
    """The checks in the rules' order: gates by metric name, parity in file order, beat."""
    specs = [CheckSpec(f"gate:{m}", m, "gate") for m in sorted(gates.gates)]
    specs += [CheckSpec(p.name, p.metric, "parity") for p in gates.parity]
    if gates.baselines is not None and gates.baselines.beat is not None:
        beat = gates.baselines.beat
        specs.append(CheckSpec(beat.name, beat.metric, "beat"))
    return tuple(specs)


CELLS = """
cells AS (
    SELECT r."index", r.name, r.job_id, i.params, coalesce(o.metrics, MAP {}) AS metrics
    FROM report_jobs AS r JOIN intents AS i ON i.seq = r.intent_seq
    JOIN outcomes AS o ON o.seq = r.outcome_seq
    WHERE r.batch = $batch AND r.status = 'ok'
),
coords AS (
    SELECT c.job_id, j.key AS name, CAST(j.value AS VARCHAR) AS txt, j.type AS jtype
    FROM cells AS c, json_each(c.params) AS j
),
maps AS (
    SELECT job_id, map_from_entries(list((name, txt))) AS txt,
           map_from_entries(list((name, {
               'cls': CASE WHEN jtype IN %(numbers)s THEN 1 WHEN jtype = 'VARCHAR' THEN 2
                           ELSE 3 END,
               'num': CASE WHEN jtype IN %(numbers)s THEN CAST(txt AS DOUBLE) ELSE 0.0 END,
               'str': CASE WHEN jtype = 'VARCHAR' THEN json_extract_string(txt, '$')
                           WHEN jtype IN %(numbers)s THEN '' ELSE txt END}))) AS sortable
    FROM coords GROUP BY job_id
),
base AS (
    SELECT c.*, coalesce(m.txt, MAP {}) AS txt,
           list_transform($names, lambda n: coalesce(
               m.sortable[n], {'cls': 0, 'num': 0.0, 'str': ''})) AS sortkey,
           coalesce(m.txt['%(profile)s'] IN (SELECT unnest($profiles::VARCHAR[])), false)
               AS baseline
    FROM cells AS c LEFT JOIN maps AS m USING (job_id)
)"""


def _gate_sql(i: int, gates: Gates, metric: str, strict: bool) -> str:
    gate = gates.gates[metric]
    value = f"metrics[$m{i}]"
    bounds = []
    if gate.min is not None:
        bounds.append(f"{value} >= {float(gate.min)!r}::DOUBLE")
    if gate.max is not None:
        bounds.append(f"{value} <= {float(gate.max)!r}::DOUBLE")
    lacking = FAIL if gate.required and strict else SKIPPED
    return (
        f"CASE WHEN {value} IS NULL THEN '{lacking}' "
        f"WHEN {' AND '.join(bounds)} THEN '{PASS}' ELSE '{FAIL}' END "
        f"AS s{i}, NULL::DOUBLE AS r{i}, {value} IS NULL AS x{i}"
    )


def _group_sql(i: int) -> str:
    """Parity check ``i``'s group: the cell's other coordinates (absent ones included)."""
    return (
        f"list_transform(list_filter($names, lambda n: n != $across{i}), "
        f"lambda n: coalesce(txt[n], '{ABSENT}')) AS g{i}"
    )


def _parity_sql(i: int, strict: bool, max_abs_diff: float) -> str:
    value = f"metrics[$m{i}]"
    window = f"OVER (PARTITION BY g{i})"
    complete = f"(count(*) {window} >= 2 AND count({value}) {window} = count(*) {window})"
    spread = f"(max({value}) {window} - min({value}) {window})"
    lacking = FAIL if strict else SKIPPED
    return (
        f"CASE WHEN NOT {complete} THEN '{lacking}' "
        f"WHEN {spread} <= {float(max_abs_diff)!r}::DOUBLE THEN '{PASS}' ELSE '{FAIL}' END "
        f"AS s{i}, CASE WHEN {complete} THEN {spread} END AS r{i}, NOT {complete} AS x{i}"
    )


BEST = """
bl AS (
    SELECT sig, list_transform(sig, lambda n: txt[n]) AS key, max(metrics[$m%(i)d]) AS best
    FROM (SELECT *, list_filter(list_sort(map_keys(txt)), lambda n: n != '%(profile)s') AS sig
          FROM base WHERE baseline)
    WHERE metrics[$m%(i)d] IS NOT NULL GROUP BY sig, key
),
wanted AS (
    SELECT b.job_id, s.sig, list_transform(s.sig, lambda n: b.txt[n]) AS key
    FROM base AS b CROSS JOIN (SELECT DISTINCT sig FROM bl) AS s WHERE NOT b.baseline
),
best AS (
    SELECT wanted.job_id, max(bl.best) AS best
    FROM wanted JOIN bl USING (sig, key) GROUP BY wanted.job_id
)"""


def _beat_sql(i: int, margin: float, strict: bool) -> str:
    value = f"metrics[$m{i}]"
    lacking = FAIL if strict else SKIPPED
    return (
        f"CASE WHEN baseline THEN NULL WHEN {value} IS NULL OR best.best IS NULL "
        f"THEN '{lacking}' WHEN {value} > best.best + {float(margin)!r}::DOUBLE THEN '{PASS}' "
        f"ELSE '{FAIL}' END AS s{i}, CASE WHEN NOT baseline THEN best.best END AS r{i}, "
        f"CASE WHEN NOT baseline THEN {value} IS NULL OR best.best IS NULL END AS x{i}"
    )


def judge_query(gates: Gates, allow_missing: bool) -> tuple[str, tuple[CheckSpec, ...]]:
    """The SQL judging every cell (parameters ``$batch``, ``$names``, ``$profiles``,
    ``$m<i>``), ordered as the scoreboard, and its check columns."""
    strict = not allow_missing
    specs = check_specs(gates)
    columns = []
    for i, spec in enumerate(specs):
        if spec.kind == "gate":
            columns.append(_gate_sql(i, gates, spec.metric, strict))
        elif spec.kind == "parity":
            parity = next(p for p in gates.parity if p.name == spec.name)
            columns.append(_parity_sql(i, strict, parity.max_abs_diff))
        else:
            assert gates.baselines is not None and gates.baselines.beat is not None
            columns.append(_beat_sql(i, gates.baselines.beat.margin, strict))
    subs = {"numbers": repr(NUMBER_TYPES), "profile": PROFILE}
    ctes = [CELLS % subs]
    beat = [i for i, spec in enumerate(specs) if spec.kind == "beat"]
    join = ""
    if beat:
        ctes.append(BEST % {"i": beat[0], "profile": PROFILE})
        join = "LEFT JOIN best USING (job_id)"
    groups = [_group_sql(i) for i, spec in enumerate(specs) if spec.kind == "parity"]
    statuses = " OR ".join(f"s{i} = '{FAIL}'" for i in range(len(specs))) or "false"
    sql = f"""WITH {",".join(ctes)},
keyed AS (
    SELECT base.*, {", ".join(groups) or "NULL AS g"} FROM base
),
judged AS (
    SELECT keyed.*, {", ".join(columns) or "NULL AS none"} FROM keyed {join}
)
SELECT "index", name, job_id, CAST(params AS VARCHAR), metrics, baseline,
       NOT baseline AND NOT coalesce({statuses}, false) AS candidate,
       {", ".join(f"s{i}, r{i}, x{i}" for i in range(len(specs))) or "NULL"}
FROM judged ORDER BY sortkey, job_id"""
    return sql, specs


def _params(
    gates: Gates, specs: tuple[CheckSpec, ...], batch: str, names: list[str]
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "batch": batch,
        "names": names,
        "profiles": [
            json.dumps(p) for p in (gates.baselines.profile_values if gates.baselines else [])
        ],
    }
    for i, spec in enumerate(specs):
        params[f"m{i}"] = spec.metric
        if spec.kind == "parity":
            params[f"across{i}"] = next(p for p in gates.parity if p.name == spec.name).across
    return params


def _coordinate_names(con: duckdb.DuckDBPyConnection, batch: str) -> list[str]:
    rows = con.execute(
        """SELECT DISTINCT unnest(json_keys(i.params)) AS n
           FROM report_jobs AS r JOIN intents AS i ON i.seq = r.intent_seq
           WHERE r.batch = $batch AND r.status = 'ok' ORDER BY n""",
        {"batch": batch},
    ).fetchall()
    return [str(r[0]) for r in rows]


def _metric_counts(con: duckdb.DuckDBPyConnection, batch: str) -> tuple[int, dict[str, int]]:
    """How many cells there are and how many of them have each metric (non-null)."""
    total = con.execute(
        "SELECT count(*) FROM report_jobs WHERE batch = $batch AND status = 'ok'",
        {"batch": batch},
    ).fetchone()
    rows = con.execute(
        """SELECT m.name, count(m.value) FROM report_jobs AS r
           JOIN metrics AS m ON m.seq = r.outcome_seq
           WHERE r.batch = $batch AND r.status = 'ok' GROUP BY m.name ORDER BY m.name""",
        {"batch": batch},
    ).fetchall()
    return int(total[0]) if total else 0, {str(n): int(c) for n, c in rows}


def judge(
    con: duckdb.DuckDBPyConnection, batch: str, gates: Gates, allow_missing: bool
) -> Scoreboard:
    """Judge the cells of ``batch`` (the database must be current).

    Raises:
        GatesUnusable: strict mode and a gated metric that no cell of the batch has.
    """
    total, have = _metric_counts(con, batch)
    if not allow_missing and total:
        required = {m for m, g in gates.gates.items() if g.required}
        required |= {p.metric for p in gates.parity}
        if gates.baselines is not None and gates.baselines.beat is not None:
            required.add(gates.baselines.beat.metric)
        absent = sorted(m for m in required if not have.get(m))
        if absent:
            raise GatesUnusable(
                f"no cell of batch {batch!r} has metric {absent[0]!r} (gated in strict mode; "
                f"the batch's metrics: {', '.join(sorted(have)) or 'none'})"
            )
    names = _coordinate_names(con, batch)
    sql, specs = judge_query(gates, allow_missing)
    rows = con.execute(sql, _params(gates, specs, batch, names)).fetchall()
    cells = tuple(_cell(row, specs) for row in rows)
    missing = {m: total - have.get(m, 0) for m in gates.metrics}
    return Scoreboard(
        batch=batch,
        cells=cells,
        specs=specs,
        coordinates=tuple(names),
        metric_names=tuple(sorted(have)),
        missing=missing,
        allow_missing=allow_missing,
    )


def _cell(row: tuple[Any, ...], specs: tuple[CheckSpec, ...]) -> Cell:
    index, name, job_id, params, metrics, baseline, candidate = row[:7]
    metrics = dict(metrics or {})
    checks = []
    for i, spec in enumerate(specs):
        status, reference, missing = row[7 + 3 * i : 10 + 3 * i]
        if status is None:  # beat on a baseline: not a check of that row
            continue
        check_name = spec.metric if spec.kind == "gate" else spec.name
        value = metrics.get(spec.metric)
        checks.append(Check(check_name, spec.metric, status, value, reference, bool(missing)))
    return Cell(
        index=int(index),
        name=str(name),
        job_id=str(job_id),
        params=json.loads(params),
        metrics=metrics,
        baseline=bool(baseline),
        candidate=bool(candidate),
        checks=tuple(checks),
    )
