"""The SQL of the ``pareto`` projection: a study's trial rows from the base tables, and each
trial's ``trials.jsonl`` line.

``study_trials`` is a view: every trial job's latest ``trial.outcome`` with its intent,
computed from the base tables when read, so an update copies no trial. Only the frontier is
stored (``study_frontier``: the seqs of the outcomes on it). An update computes the frontier
of its batches from ``objective_values`` (the objective columns of their valid trials, nothing
else), replaces their rows of ``study_frontier``, and renders their files from
``RENDERED_TRIALS`` (the view's rows of the update's batches only, every one off the frontier:
the render does not wait for it, ``pareto_render`` marks the frontier's lines);
``FRONTIER_TRIALS`` gives a batch's frontier rows without computing the others.
"""

from __future__ import annotations

from projections.leaderboard_render import jn, python_escaped
from projections.scope import IN_BATCHES
from projections.stats import Z_95

KILL_METRIC = "kill_prob_ci_upper"

# A DOUBLE literal: DuckDB reads a bare decimal literal as DECIMAL, computed exactly.
_Z = f"CAST('{Z_95!r}' AS DOUBLE)"
_Z2 = f"({_Z} * {_Z})"
# stats.wilson_upper, operation for operation (IEEE doubles round the same in both).
_WILSON = f"""CASE WHEN t = 0 OR k = t THEN 1.0
     ELSE least(1.0, (k + {_Z2} / 2 + {_Z} * sqrt(k * (t - k) / t + {_Z2} / 4))
                     / (t + {_Z2})) END"""


# Each trial job's latest outcome, of the batches ``where`` selects.
def _last(where: str) -> str:
    return f"""
last AS (
    SELECT max(seq) AS seq FROM outcomes
    WHERE type = 'trial.outcome' AND {where}
    GROUP BY batch, job_id
)"""


ANY_BATCH = "batch IS NOT NULL"
IN_SCOPE = "batch IN (SELECT batch FROM _scope)"
# The frontier of the batch ``$batch``, as ``study_frontier`` holds it.
_FRONT_OF_BATCH = "last AS (SELECT seq FROM study_frontier WHERE batch = $batch)"
ON_FRONTIER = "seq IN (SELECT seq FROM study_frontier)"


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


def _trials(last: str, on_frontier: str = "c.seq IN (SELECT seq FROM study_frontier)") -> str:
    """Per trial of ``last`` (a CTE of outcome seqs): ``batch, seq, hash, index, job_id, name,
    candidate_id, trial_id, status, evidence_verified, valid, on_frontier, metrics, params,
    result, intent_seq, seed`` (``study_trials``' columns), ``on_frontier`` as the SQL
    ``on_frontier`` gives it (default: from ``study_frontier``).

    ``trial_id`` pads the index to four digits as Python's ``f"{index:04d}"`` does (a longer
    index is kept whole). The events' hashes and the intents' columns are narrowed to the
    trials first (semi-joins), so each join keeps the narrow side in its hash table and
    streams the outcomes' payload through: the other way round, every metrics map and result
    is copied into a hash table.
    """
    return f"""
WITH {last},
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
       {on_frontier} AS on_frontier,
       c.em AS metrics, c.params, c.result, c.intent_seq, c.seed
FROM c
"""


# Every trial of every batch, computed from the base tables when read: nothing is copied.
STUDY_TRIALS_VIEW = f"CREATE VIEW IF NOT EXISTS study_trials AS {_trials(_last(ANY_BATCH))}"
# The trials of the batches ``$batches``, none on the frontier (nor reading it).
RENDERED_TRIALS = _trials(_last(IN_BATCHES), on_frontier="false")
# The frontier trials of ``$batch``.
FRONTIER_TRIALS = _trials(_FRONT_OF_BATCH)


def _objectives(count: int) -> str:
    return ", ".join(f"coalesce(em[$o{i}], 'NaN'::DOUBLE) AS o{i}" for i in range(count))


def objective_values(count: int) -> str:
    """SQL for the valid trials of the batches ``$batches`` (of ``_scope``): ``study`` (the
    batch's 1-based position in ``$batches``: a number, not a string per trial), seq, ``o0``...:
    objective ``i`` is metric ``$o<i>``, NaN when null; by study, then seq. Only the outcomes
    are read: validity and metrics need neither the intent nor the hash."""
    return f"""WITH {_last(IN_SCOPE)}, {_latest("last JOIN outcomes AS o USING (seq)")}
               SELECT CAST(list_position($batches::VARCHAR[], batch) AS INTEGER) AS study,
                      seq, {_objectives(count)} FROM latest
               WHERE status = 'ok' AND verified
                     AND batch IN (SELECT unnest($batches::VARCHAR[]))
               ORDER BY study, seq"""


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
