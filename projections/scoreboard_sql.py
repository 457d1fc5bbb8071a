"""The scoreboard's judging query: the rules of ``projections/scoreboard_rules.py`` in DuckDB.

The coordinate names of the batch are known before the query is built (``names``, sorted), so
each coordinate is a column of its own: ``c<k>``, the JSON text of the cell's param
``names[k]`` (NULL when the cell lacks it), all extracted from the params in one
``json_extract`` call. On these columns:

- the gates are column comparisons;
- parity is a window partitioned by the other coordinates' columns (NULL, "absent", is a
  partition value of its own and never equals the text of a JSON value);
- a baseline's best value is grouped by which of its coordinates (except ``profile``) it has
  (``mask``, one ``0``/``1`` per coordinate) and their values; each cell looks up, for every
  mask that occurs, the baselines with its own values on that mask's coordinates;
- the scoreboard order (``pos``) sorts by three primitive columns per coordinate (its class:
  absent, number, string, other; its number; its text), then ``job_id``, then ``index``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from projections.scoreboard_rules import FAIL, PASS, PROFILE, SKIPPED
from projections.tables import json_pointer

if TYPE_CHECKING:
    from schemas import Gates

NUMBER_TYPES = ("BIGINT", "UBIGINT", "DOUBLE", "HUGEINT")


@dataclass(frozen=True)
class CheckSpec:
    """One check column: its name, the metric it reads, and its kind (gate, parity, beat)."""

    name: str
    metric: str
    kind: str


def check_specs(gates: Gates) -> tuple[CheckSpec, ...]:
    """The checks in the rules' order: gates by metric name, parity in file order, beat."""
    specs = [CheckSpec(f"gate:{m}", m, "gate") for m in sorted(gates.gates)]
    specs += [CheckSpec(p.name, p.metric, "parity") for p in gates.parity]
    if gates.baselines is not None and gates.baselines.beat is not None:
        beat = gates.baselines.beat
        specs.append(CheckSpec(beat.name, beat.metric, "beat"))
    return tuple(specs)


def _cells_sql(names: list[str]) -> str:
    """``cells``: the batch's ok jobs with ``c<k>`` (JSON text) and ``t<k>`` (JSON type)."""
    coords = "".join(
        f", CAST(c[{k + 1}] AS VARCHAR) AS c{k}, json_type(c[{k + 1}]) AS t{k}"
        for k in range(len(names))
    )
    extract = ", json_extract(i.params, $paths::VARCHAR[]) AS c" if names else ""
    baseline = "false"
    if PROFILE in names:
        p = names.index(PROFILE)
        baseline = (
            f"coalesce(t{p} = 'VARCHAR' AND json_extract_string(c{p}, '$') "
            f"IN (SELECT unnest($profiles::VARCHAR[])), false)"
        )
    return f"""
cells AS (
    SELECT "index", name, job_id, params, metrics{coords}, {baseline} AS baseline
    FROM (
        SELECT r."index", r.name, r.job_id, i.params, coalesce(o.metrics, MAP {{}}) AS metrics
               {extract}
        FROM report_jobs AS r JOIN intents AS i ON i.seq = r.intent_seq
        JOIN outcomes AS o ON o.seq = r.outcome_seq
        WHERE r.batch = $batch AND r.status = 'ok'
    )
)"""


def _order_sql(names: list[str]) -> str:
    """The scoreboard order: per coordinate its class, number and text; job id; index."""
    numbers = repr(NUMBER_TYPES)
    keys = []
    for k in range(len(names)):
        keys.append(
            f"CASE WHEN c{k} IS NULL THEN 0 WHEN t{k} IN {numbers} THEN 1 "
            f"WHEN t{k} = 'VARCHAR' THEN 2 ELSE 3 END"
        )
        keys.append(f"CASE WHEN t{k} IN {numbers} THEN CAST(c{k} AS DOUBLE) ELSE 0.0 END")
        keys.append(
            f"CASE WHEN t{k} = 'VARCHAR' THEN json_extract_string(c{k}, '$') "
            f"WHEN c{k} IS NULL OR t{k} IN {numbers} THEN '' ELSE c{k} END"
        )
    return ", ".join([*keys, "job_id", '"index"'])


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


def _parity_sql(i: int, names: list[str], across: str, strict: bool, max_abs_diff: float) -> str:
    """Parity check ``i``: a cell's group is the cells with its other coordinates."""
    value = f"metrics[$m{i}]"
    others = ", ".join(f"c{k}" for k, n in enumerate(names) if n != across)
    window = f"OVER (PARTITION BY {others})" if others else "OVER ()"
    complete = f"(count(*) {window} >= 2 AND count({value}) {window} = count(*) {window})"
    spread = f"(max({value}) {window} - min({value}) {window})"
    lacking = FAIL if strict else SKIPPED
    return (
        f"CASE WHEN NOT {complete} THEN '{lacking}' "
        f"WHEN {spread} <= {float(max_abs_diff)!r}::DOUBLE THEN '{PASS}' ELSE '{FAIL}' END "
        f"AS s{i}, CASE WHEN {complete} THEN {spread} END AS r{i}, NOT {complete} AS x{i}"
    )


def _best_sql(i: int, names: list[str]) -> str:
    """``best``: per non-baseline cell, the largest metric ``$m<i>`` among the baselines
    whose coordinates (except profile) it has, with equal values."""
    others = [k for k, n in enumerate(names) if n != PROFILE]
    mask = " || ".join(f"CASE WHEN c{k} IS NULL THEN '0' ELSE '1' END" for k in others) or "''"
    keys = "".join(f", coalesce(c{k}, '') AS b{k}" for k in others)
    wanted = "".join(
        f", CASE WHEN substr(m.mask, {j + 1}, 1) = '1' THEN c.c{k} ELSE '' END AS b{k}"
        for j, k in enumerate(others)
    )
    using = ", ".join(["mask", *(f"b{k}" for k in others)])
    return f"""
bl AS (
    SELECT {mask} AS mask{keys}, max(metrics[$m{i}]) AS best
    FROM cells WHERE baseline AND metrics[$m{i}] IS NOT NULL GROUP BY ALL
),
wanted AS (
    SELECT c."index", m.mask{wanted}
    FROM cells AS c CROSS JOIN (SELECT DISTINCT mask FROM bl) AS m WHERE NOT c.baseline
),
best AS (
    SELECT wanted."index", max(bl.best) AS best
    FROM wanted JOIN bl USING ({using}) GROUP BY wanted."index"
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


def judge_query(
    gates: Gates, allow_missing: bool, names: list[str]
) -> tuple[str, tuple[CheckSpec, ...]]:
    """The SQL judging every cell of a batch whose coordinate names are ``names`` (sorted;
    parameters from ``judge_params``) and its check columns. A row per cell: ``pos``
    (scoreboard order), ``index``, ``name``, ``job_id``, ``params``, ``c<k>`` per coordinate,
    ``metrics``, ``baseline``, ``candidate``, and per check ``s<i>`` (status; NULL for a beat
    on a baseline), ``r<i>`` (reference) and ``x<i>`` (missing)."""
    strict = not allow_missing
    specs = check_specs(gates)
    columns = []
    ctes = [_cells_sql(names)]
    join = ""
    for i, spec in enumerate(specs):
        if spec.kind == "gate":
            columns.append(_gate_sql(i, gates, spec.metric, strict))
        elif spec.kind == "parity":
            parity = next(p for p in gates.parity if p.name == spec.name)
            columns.append(_parity_sql(i, names, parity.across, strict, parity.max_abs_diff))
        else:
            assert gates.baselines is not None and gates.baselines.beat is not None
            columns.append(_beat_sql(i, gates.baselines.beat.margin, strict))
            ctes.append(_best_sql(i, names))
            join = 'LEFT JOIN best USING ("index")'
    statuses = " OR ".join(f"s{i} = '{FAIL}'" for i in range(len(specs))) or "false"
    coords = "".join(f", c{k}" for k in range(len(names)))
    checks = "".join(f", s{i}, r{i}, x{i}" for i in range(len(specs)))
    sql = f"""WITH {",".join(ctes)},
judged AS (
    SELECT cells.*{"".join(f", {c}" for c in columns)} FROM cells {join}
)
SELECT row_number() OVER (ORDER BY {_order_sql(names)}) AS pos, "index", name, job_id,
       params{coords}, metrics, baseline,
       NOT baseline AND NOT coalesce({statuses}, false) AS candidate{checks}
FROM judged"""
    return sql, specs


def judge_params(
    gates: Gates, specs: tuple[CheckSpec, ...], batch: str, names: list[str]
) -> dict[str, Any]:
    """The parameters of ``judge_query``."""
    params: dict[str, Any] = {"batch": batch}
    if names:
        params["paths"] = [json_pointer(n) for n in names]
    if PROFILE in names:
        params["profiles"] = list(gates.baselines.profile_values) if gates.baselines else []
    for i, spec in enumerate(specs):
        params[f"m{i}"] = spec.metric
    return params
