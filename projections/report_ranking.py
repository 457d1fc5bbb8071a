"""The ranking section of ``report.md``: which jobs (and so which params) were best.

Jobs are ranked by one metric, in the direction of the batch manifest's ``objective``
(``{metric: loss, direction: min}``, recorded in ``batch.started``) or of ``report --sort-by
METRIC[:asc|desc]``: values first (ascending for ``min``, descending for ``max``, ties by
index), then jobs whose value was recorded as null because it was not finite, shown ``null*``
with a footnote. Jobs without the metric (failed, or never reporting it) are counted, not
ranked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from projections.scope import IN_BATCHES
from projections.writers import cell, markdown_table

if TYPE_CHECKING:
    import duckdb

RANKED_N = 20
DIRECTIONS = ("min", "max")
NULL_MARK = "null*"
NULL_NOTE = "\\* `null`: the value was not finite (NaN or Infinity) and is stored as null.\n"


@dataclass(frozen=True)
class Objective:
    """The metric to rank by and whether lower (``min``) or higher (``max``) is better."""

    metric: str
    direction: str


def parse_sort_by(text: str) -> Objective:
    """``METRIC``, ``METRIC:asc`` or ``METRIC:desc`` (asc ranks lowest first, as ``min``);
    a bare metric ranks highest first.

    Raises:
        ValueError: an empty metric name.
    """
    metric, _, order = text.rpartition(":")
    if order.lower() in ("asc", "desc") and metric:
        return Objective(metric, "min" if order.lower() == "asc" else "max")
    if not text:
        raise ValueError("--sort-by needs a metric name")
    return Objective(text, "max")


def objectives(con: duckdb.DuckDBPyConnection, batches: list[str]) -> dict[str, Objective]:
    """The ``objective`` each batch's manifest recorded (batches without one are left out)."""
    rows = con.execute(
        f"""SELECT b.batch, e.data->'$.manifest.objective'->>'metric',
                   e.data->'$.manifest.objective'->>'direction'
            FROM batches AS b JOIN events AS e ON e.seq = b.started_seq
            WHERE b.{IN_BATCHES}""",
        {"batches": batches},
    ).fetchall()
    return {
        str(batch): Objective(str(metric), str(direction))
        for batch, metric, direction in rows
        if metric is not None and direction in DIRECTIONS
    }


def ranking_section(con: duckdb.DuckDBPyConnection, batch: str, objective: Objective) -> str:
    """The ``## Ranking`` section of ``batch``'s report for ``objective``."""
    order = "ASC" if objective.direction == "min" else "DESC"
    rows = con.execute(
        f"""SELECT r."index", r.name, o.metrics[$metric], i.params
            FROM report_jobs AS r JOIN outcomes AS o ON o.seq = r.outcome_seq
            LEFT JOIN intents AS i ON i.seq = r.intent_seq
            WHERE r.batch = $batch AND map_contains(o.metrics, $metric)
            ORDER BY o.metrics[$metric] IS NULL, o.metrics[$metric] {order}, r."index",
                     r.intent_seq
            LIMIT {RANKED_N}""",
        {"batch": batch, "metric": objective.metric},
    ).fetchall()
    counts = con.execute(
        """SELECT count(*), count(*) FILTER (WHERE map_contains(o.metrics, $metric))
           FROM report_jobs AS r LEFT JOIN outcomes AS o ON o.seq = r.outcome_seq
           WHERE r.batch = $batch""",
        {"batch": batch, "metric": objective.metric},
    ).fetchone()
    total, with_metric = (int(counts[0]), int(counts[1])) if counts else (0, 0)
    better = "lower" if objective.direction == "min" else "higher"
    parts = [
        f"## Ranking by {objective.metric} ({objective.direction}: {better} is better)\n",
    ]
    if not rows:
        parts.append(f"No job reported {objective.metric}.\n")
        return "\n".join(parts)
    shown = [
        (rank, index, name, NULL_MARK if value is None else cell(value), _params_text(params))
        for rank, (index, name, value, params) in enumerate(rows, start=1)
    ]
    parts.append(markdown_table(["rank", "index", "name", objective.metric, "params"], shown))
    notes = []
    if with_metric > len(rows):
        notes.append(f"Top {len(rows)} of {with_metric} ranked jobs.\n")
    if total > with_metric:
        notes.append(f"{total - with_metric} jobs without {objective.metric} are not ranked.\n")
    if any(value is None for _, _, value, _ in rows):
        notes.append(NULL_NOTE)
    if notes:
        parts.append("".join(notes))
    return "\n".join(parts)


def _params_text(params: Any) -> str:
    """A job's params as ``name=value`` pairs in name order (values as in summary.csv)."""
    import json

    loaded = json.loads(params) if isinstance(params, str) else params
    if not isinstance(loaded, dict):
        return _value(loaded)
    return ", ".join(f"{k}={_value(loaded[k])}" for k in sorted(loaded))


def _value(value: Any) -> str:
    return "null" if value is None else cell(value)


NO_OBJECTIVE = (
    "## Ranking\n\nNo objective: give the manifest `objective: {metric: NAME, direction: "
    "min|max}`, or run `sweepledger report --sort-by METRIC[:asc|desc]`.\n"
)
