"""The SQL of the ``pareto`` projection: a study's trial rows from the base tables, and each
trial's ``trials.jsonl`` line.

``TRIALS`` selects, for the batches of ``_floor`` (the update's batches, each with the last
seq its rows already hold), one row per trial job whose latest ``trial.outcome`` came after
that seq, in ``study_trials``' column order. A batch with no rows yet gets its frontier from
``new_objective_values`` before its rows are inserted, once, never updated: an ``UPDATE`` of
rows inserted in the same transaction sends the whole insert through DuckDB's write-ahead log
instead of writing it straight to the database file. A batch that already has rows gets only
its new trials inserted, then its frontier from ``stored_objective_values`` and
``MARK_FRONTIER`` on the rows whose flag changed.
"""

from __future__ import annotations

from projections.leaderboard_render import jn, python_escaped
from projections.stats import Z_95

KILL_METRIC = "kill_prob_ci_upper"

# A DOUBLE literal: DuckDB reads a bare decimal literal as DECIMAL, computed exactly.
_Z = f"CAST('{Z_95!r}' AS DOUBLE)"
_Z2 = f"({_Z} * {_Z})"
# stats.wilson_upper, operation for operation (IEEE doubles round the same in both).
_WILSON = f"""CASE WHEN t = 0 OR k = t THEN 1.0
     ELSE least(1.0, (k + {_Z2} / 2 + {_Z} * sqrt(k * (t - k) / t + {_Z2} / 4))
                     / (t + {_Z2})) END"""

# Per batch of the update, the last seq its rows in ``study_trials`` hold (0: none yet). A
# job's outcome after it is newer than the job's row (rows hold each job's latest outcome).
FLOORS = """
CREATE OR REPLACE TEMP TABLE _floor AS
SELECT s.batch, coalesce(max(t.seq), 0) AS seq
FROM _scope AS s LEFT JOIN study_trials AS t USING (batch) GROUP BY s.batch
"""

# The rows of jobs that have a newer outcome than their row.
DELETE_SUPERSEDED = """
DELETE FROM study_trials AS t USING (
    SELECT DISTINCT o.batch, o.job_id FROM outcomes AS o JOIN _floor AS f
        ON f.batch = o.batch AND o.seq > f.seq
    WHERE o.type = 'trial.outcome' AND f.seq > 0
) AS n
WHERE t.batch = n.batch AND t.job_id = n.job_id
"""

# Each trial job's latest outcome after its batch's floor (``_floor``).
_LAST = """
last AS (
    SELECT max(o.seq) AS seq FROM outcomes AS o JOIN _floor AS f
        ON f.batch = o.batch AND o.seq > f.seq
    WHERE o.type = 'trial.outcome'
    GROUP BY o.batch, o.job_id
)"""


def _latest(source: str, extra: str = "") -> str:
    """The CTE ``latest``: the outcomes of ``source`` (``o``, joined to ``last``) and the
    ``extra`` columns, with ``em``, their metrics plus the Wilson bound when absent, and
    ``verified``."""
    return f"""
latest AS (
    SELECT *, coalesce(TRY_CAST(result->'evidence_verified' AS BOOLEAN), false) AS verified,
           CASE WHEN map_contains(m, '{KILL_METRIC}') THEN m
                WHEN k IS NOT NULL AND t IS NOT NULL AND k >= 0 AND k <= t
                     AND k = floor(k) AND t = floor(t)
                THEN map_concat(m, MAP {{'{KILL_METRIC}': ({_WILSON})}})
                ELSE m END AS em
    FROM (
        SELECT o.*{extra}, coalesce(o.metrics, MAP {{}}) AS m,
               TRY_CAST(o.metrics['kills'] AS DOUBLE) AS k,
               TRY_CAST(o.metrics['total_runs'] AS DOUBLE) AS t
        FROM {source}
    )
)"""


# Per trial: ``batch, seq, hash, index, job_id, name, candidate_id, trial_id, status,
# evidence_verified, valid, metrics, params, result, intent_seq, seed``. ``trial_id`` pads the
# index to four digits as Python's ``f"{index:04d}"`` does (a longer index is kept whole).
# The events' hashes and the intents' columns are narrowed to the trials first (semi-joins),
# so each join keeps the narrow side in its hash table and streams the outcomes' payload
# through: the other way round, every metrics map and result is copied into a hash table.
TRIALS = f"""
WITH {_LAST},
hashes AS (SELECT seq, hash FROM events WHERE seq IN (SELECT seq FROM last)),
i AS (
    SELECT seq, params, seed, "index" FROM intents
    WHERE seq IN (SELECT cause FROM outcomes WHERE seq IN (SELECT seq FROM last))
),
{_latest("outcomes AS o JOIN hashes AS h ON h.seq = o.seq", ", h.hash")},
c AS (
    SELECT l.*, i.params, i.seq AS intent_seq, i.seed, i."index" AS job_index,
           coalesce(l.result->>'candidate_id', i.params->>'candidate_id', l.job_id) AS cid
    FROM latest AS l LEFT JOIN i ON i.seq = l.cause
)
SELECT c.batch, c.seq, c.hash, c.job_index AS "index", c.job_id, c.name,
       c.cid AS candidate_id,
       CASE WHEN c.job_index IS NULL THEN 'trial_' || c.job_id
            ELSE 'trial_' || format('{{:04d}}', c.job_index) || '_' || c.cid END AS trial_id,
       c.status, c.verified AS evidence_verified,
       coalesce(c.status = 'ok' AND c.verified, false) AS valid,
       c.em AS metrics, c.params, c.result, c.intent_seq, c.seed
FROM c
"""

# The rows of ``TRIALS`` with ``on_frontier`` (``_front``: the seqs on a frontier), in
# ``study_trials``' column order.
INSERT_TRIALS = f"""
INSERT INTO study_trials
SELECT batch, seq, hash, "index", job_id, name, candidate_id, trial_id, status,
       evidence_verified, valid, seq IN (SELECT seq FROM _front), metrics, params, result,
       intent_seq, seed
FROM ({TRIALS})
"""


def _objectives(count: int, metrics: str) -> str:
    return ", ".join(f"coalesce({metrics}[$o{i}], 'NaN'::DOUBLE) AS o{i}" for i in range(count))


def new_objective_values(count: int) -> str:
    """SQL for the valid trials about to be inserted for the batches ``$batches`` (batch, seq,
    ``o0``...): objective ``i`` is metric ``$o<i>``, NaN when null; by batch, then seq. Only
    the outcomes are read: validity and metrics need neither the intent nor the hash."""
    return f"""WITH {_LAST}, {_latest("last JOIN outcomes AS o USING (seq)")}
               SELECT batch, seq, {_objectives(count, "em")} FROM latest
               WHERE status = 'ok' AND verified
                     AND batch IN (SELECT unnest($batches::VARCHAR[]))
               ORDER BY batch, seq"""


def stored_objective_values(count: int) -> str:
    """``new_objective_values`` of the valid trials ``study_trials`` holds."""
    return f"""SELECT batch, seq, {_objectives(count, "metrics")} FROM study_trials
               WHERE valid AND batch IN (SELECT unnest($batches::VARCHAR[]))
               ORDER BY batch, seq"""


# Set ``on_frontier`` from ``_front`` for the batches ``$batches``, touching only the rows
# whose flag changes (an update rewrites the rows it touches in the write-ahead log).
MARK_FRONTIER = """
UPDATE study_trials SET on_frontier = NOT on_frontier
WHERE batch IN (SELECT unnest($batches::VARCHAR[]))
  AND on_frontier <> (seq IN (SELECT seq FROM _front))
"""


def json_string(expr: str) -> str:
    """SQL for ``json.dumps(value, ensure_ascii=False)`` of a VARCHAR expression (``null`` for
    NULL).

    DuckDB's ``to_json`` escapes a string as ``json.dumps`` does (``\\"``, ``\\\\`` and
    ``\\b \\t \\n \\f \\r``), except the other control characters, which it writes as
    ``\\u00XX`` in uppercase hex where Python writes lowercase: text whose ``to_json`` holds
    ``\\u`` takes ``leaderboard_render``'s exact (slower) path.
    """
    return (
        f"coalesce(CASE WHEN contains(to_json({expr}), '\\u') "
        f"THEN '\"' || {python_escaped(expr)} || '\"' ELSE to_json({expr}) END, 'null')"
    )


def _line(*pieces: str) -> str:
    """One ``concat`` of every piece: a chain of ``||`` copies the growing line once per
    piece."""
    return "concat(" + ", ".join(pieces) + ")"


# One trial of ``study_trials`` as its ``trials.jsonl`` line (newline included), laid out like
# ``json.dumps``; metrics, params and result are DuckDB's compact JSON text of them. Every
# piece is non-null: ``concat`` would leave a NULL out silently.
TRIAL_LINE = _line(
    "'{\"trial_id\": '",
    json_string("trial_id"),
    "', \"candidate_id\": '",
    json_string("candidate_id"),
    "', \"job_id\": '",
    json_string("job_id"),
    "', \"index\": '",
    jn('"index"'),
    "', \"name\": '",
    json_string("name"),
    "', \"seq\": '",
    jn("seq"),
    "', \"status\": '",
    json_string("status"),
    "', \"valid\": '",
    "CAST(valid AS VARCHAR)",
    "', \"on_frontier\": '",
    "CAST(on_frontier AS VARCHAR)",
    "', \"metrics\": '",
    "coalesce(to_json(metrics), 'null')",
    "', \"params\": '",
    "coalesce(CAST(params AS VARCHAR), 'null')",
    "', \"result\": '",
    "coalesce(CAST(result AS VARCHAR), 'null')",
    "'}'",
    "chr(10)",
)
