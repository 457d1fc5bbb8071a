"""SQL of the ``leaderboard`` projection: entries of the latest ok scan per user, per batch."""

from __future__ import annotations

from projections.comments import Comments
from projections.leaderboard_render import TOP_ITEM
from projections.scope import IN_BATCHES
from projections.tables import ZSTD

ENTRY_SHAPE = (
    '{"segment_key": "VARCHAR", "weighting": "VARCHAR", '
    '"denominators": {"weight_used": "DOUBLE", "count_used": "DOUBLE"}, '
    '"metrics": {"avg_clv_pct": "DOUBLE", "beat_close_rate": "DOUBLE"}, "examples": "JSON"}'
)

TOP_PER_USER = 3


DDL: tuple[str, ...] = (
    f"""CREATE TABLE IF NOT EXISTS leaderboard_users (
        batch VARCHAR, "index" BIGINT, outcome_seq BIGINT, job_id VARCHAR {ZSTD},
        "user" VARCHAR {ZSTD}, status VARCHAR, run_root VARCHAR, error_type VARCHAR,
        error_message VARCHAR, coverage JSON, candidates BIGINT, segments BIGINT,
        notional_usable BIGINT, count_usable BIGINT, top_candidates JSON {ZSTD})""",
    f"""CREATE TABLE IF NOT EXISTS leaderboard_entries (
        batch VARCHAR, "index" BIGINT, entry BIGINT, "user" VARCHAR {ZSTD}, segment_key VARCHAR,
        weighting VARCHAR, weight_used DOUBLE, count_used DOUBLE, avg_clv_pct DOUBLE,
        beat_close_rate DOUBLE, examples JSON)""",
    """CREATE TABLE IF NOT EXISTS leaderboard_segments (
        batch VARCHAR, segment_key VARCHAR, users_with_segment BIGINT, total_count DOUBLE,
        total_notional_weight_used DOUBLE, notional_weighted_avg_clv_pct DOUBLE,
        notional_weighted_beat_close_rate DOUBLE, count_weighted_avg_clv_pct DOUBLE,
        count_weighted_beat_close_rate DOUBLE, median_avg_clv_pct DOUBLE,
        p25_avg_clv_pct DOUBLE, p75_avg_clv_pct DOUBLE, iqr_avg_clv_pct DOUBLE,
        examples JSON)""",
)
TABLES: tuple[str, ...] = ("leaderboard_users", "leaderboard_entries", "leaderboard_segments")
_CLV = "avg_clv_pct"
COMMENTS: Comments = {
    "leaderboard_users": (
        "the leaderboard projection: one row per scan job (user) of a batch, its latest outcome",
        {
            "batch": "batch id",
            "index": "the scan job's position in its manifest",
            "outcome_seq": "seq of its latest outcome",
            "job_id": "the scan job's id",
            "user": "the user (result.user, else the user param, job name or job id)",
            "status": "the outcome's status",
            "run_root": "the scan's run root (result.run_root or the run_root param)",
            "error_type": "the outcome's error type",
            "error_message": "the outcome's error message",
            "coverage": "result.coverage as the scan reported it (JSON)",
            "candidates": "number of hypothesis entries",
            "segments": "number of distinct segment keys among them",
            "notional_usable": "entries weighting=notional with weight_used > 0",
            "count_usable": "entries weighting=count with count_used > 0",
            "top_candidates": f"the user's top entries by {_CLV} desc, then segment_key (JSON)",
        },
    ),
    "leaderboard_entries": (
        "one row per hypothesis entry of an ok scan (result.hypothesis_candidates)",
        {
            "batch": "batch id",
            "index": "the scan job's position in its manifest",
            "entry": "position of the entry in the scan's list (1-based)",
            "user": "the user",
            "segment_key": "the hypothesis segment",
            "weighting": "notional or count",
            "weight_used": "denominators.weight_used",
            "count_used": "denominators.count_used",
            "avg_clv_pct": "metrics.avg_clv_pct",
            "beat_close_rate": "metrics.beat_close_rate",
            "examples": "the entry's examples (JSON)",
        },
    ),
    "leaderboard_segments": (
        "one row per segment_key of a batch: weighted combines across users",
        {
            "batch": "batch id",
            "segment_key": "the hypothesis segment",
            "users_with_segment": "distinct users with an entry for it",
            "total_count": "sum of count_used over all its entries (DOUBLE: it may be fractional)",
            "total_notional_weight_used": "sum of weight_used over its notional entries",
            "notional_weighted_avg_clv_pct": f"sum({_CLV} * weight_used) / sum(weight_used)",
            "notional_weighted_beat_close_rate": "sum(rate * weight_used) / sum(weight_used)",
            "count_weighted_avg_clv_pct": f"sum({_CLV} * count_used) / sum(count_used)",
            "count_weighted_beat_close_rate": "sum(rate * count_used) / sum(count_used)",
            "median_avg_clv_pct": f"median of the per-user mean {_CLV}",
            "p25_avg_clv_pct": f"25th percentile of the per-user mean {_CLV}",
            "p75_avg_clv_pct": f"75th percentile of the per-user mean {_CLV}",
            "iqr_avg_clv_pct": "p75 - p25",
            "examples": "up to 3 entries' examples (JSON)",
        },
    ),
}

# The latest outcome of each scan job in scope, its ``result`` parsed once (typed) for
# every use: user, run root, coverage and the candidate entries. ``coverage`` stays JSON so a
# JSON null stays the JSON value null; a result that is not an object parses to nulls.
PARSE_SCANS = f"""
CREATE OR REPLACE TEMP TABLE _scan AS
WITH last AS (
    SELECT batch, "index", max(seq) AS seq FROM outcomes
    WHERE kind = 'scan' AND batch IN (SELECT batch FROM _scope) AND "index" IS NOT NULL
    GROUP BY batch, "index"
)
SELECT o.batch, o."index", o.seq, o.job_id, o.name, o.cause, o.status, o.error_type,
       o.error_message,
       json_transform(o.result, '{{"user": "VARCHAR", "run_root": "VARCHAR", "coverage": "JSON",
           "hypothesis_candidates": [{ENTRY_SHAPE}]}}') AS r
FROM last JOIN outcomes AS o ON o.seq = last.seq
"""

# A user's candidate entries (an ok outcome's; none otherwise) as structs with their
# position in the list, entries that are not objects (all-null structs) left out; each
# struct sorts by the top-candidates order: avg_clv_pct desc (nulls last), segment_key, entry.
_RANKED = """
CASE WHEN o.status = 'ok' THEN coalesce(list_filter(list_transform(o.r.hypothesis_candidates,
    lambda x, i: struct_pack(no_avg := x.metrics.avg_clv_pct IS NULL,
        neg_avg := coalesce(-x.metrics.avg_clv_pct, 0), segment_key := x.segment_key,
        entry := i, weighting := x.weighting, avg_clv_pct := x.metrics.avg_clv_pct,
        beat_close_rate := x.metrics.beat_close_rate,
        weight_used := x.denominators.weight_used, count_used := x.denominators.count_used)),
    lambda x: x.segment_key IS NOT NULL), []) ELSE [] END
"""

# Coverage and top candidates come from each user's own list (list functions per row: no
# grouping or window over all the entries).
REFRESH_USERS = f"""
DELETE FROM leaderboard_users WHERE batch IN (SELECT batch FROM _scope);
INSERT INTO leaderboard_users
SELECT batch, "index", seq, job_id, "user", status, run_root, error_type, error_message,
       coverage, len(cs), len(list_distinct(list_transform(cs, lambda c: c.segment_key))),
       len(list_filter(cs, lambda c: c.weighting = 'notional' AND c.weight_used > 0)),
       len(list_filter(cs, lambda c: c.weighting = 'count' AND c.count_used > 0)),
       '[' || array_to_string(list_transform(list_slice(list_sort(cs), 1, {TOP_PER_USER}),
                                             lambda c: {TOP_ITEM}), ', ') || ']'
FROM (
    SELECT o.batch, o."index", o.seq, o.job_id,
           coalesce(o.r.user, i.params->>'user', o.name, o.job_id) AS "user",
           o.status, coalesce(o.r.run_root, i.params->>'run_root') AS run_root,
           o.error_type, o.error_message, o.r.coverage AS coverage, {_RANKED} AS cs
    FROM _scan AS o LEFT JOIN intents AS i ON i.seq = o.cause
)
"""

# Entries that are not objects come out as all-null structs and are dropped.
REFRESH_ENTRIES = """
DELETE FROM leaderboard_entries WHERE batch IN (SELECT batch FROM _scope);
INSERT INTO leaderboard_entries
WITH lists AS (
    SELECT u.batch, u."index", u."user", s.r.hypothesis_candidates AS items
    FROM leaderboard_users AS u JOIN _scan AS s ON s.seq = u.outcome_seq
    WHERE u.batch IN (SELECT batch FROM _scope) AND u.status = 'ok'
),
flat AS (
    SELECT batch, "index", "user", unnest(items) AS e, generate_subscripts(items, 1) AS entry
    FROM lists WHERE items IS NOT NULL
)
SELECT batch, "index", entry, "user", e.segment_key, e.weighting,
       e.denominators.weight_used, e.denominators.count_used,
       e.metrics.avg_clv_pct, e.metrics.beat_close_rate, e.examples
FROM flat WHERE e.segment_key IS NOT NULL
"""


# Contributors to the weighted combines, ordered by (batch, segment_key) like SEGMENT_FACTS;
# sums are taken exactly in Python (fsum).
CONTRIBUTIONS = f"""
SELECT weighting = 'notional' AND weight_used > 0 AS notional,
       weighting = 'count' AND count_used > 0 AS counted,
       weight_used, count_used, avg_clv_pct, beat_close_rate
FROM leaderboard_entries WHERE {IN_BATCHES}
ORDER BY batch, segment_key, "index", entry
"""

# Everything per segment that needs no float sum across users: distinct users, entries,
# examples, and the two neighbours (and the fraction between them) of each quantile of the
# per-user avg_clv_pct (a user's value: the mean of its entries' values, summed in sorted
# order).
QUANTILES: tuple[float, ...] = (0.25, 0.5, 0.75)

SEGMENT_FACTS = f"""
WITH per_user AS (
    SELECT batch, segment_key, "user",
           list_sum(list_sort(list(avg_clv_pct))) / count(avg_clv_pct) AS v
    FROM leaderboard_entries WHERE {IN_BATCHES} AND avg_clv_pct IS NOT NULL
    GROUP BY batch, segment_key, "user"
),
sorted AS (
    SELECT batch, segment_key, list_sort(list(v)) AS vs, count(*) AS n
    FROM per_user GROUP BY batch, segment_key
),
picks AS (
    SELECT batch, segment_key, n, vs, q, (n - 1) * q AS pos, floor((n - 1) * q)::BIGINT AS k
    FROM sorted, (SELECT unnest([0.25, 0.5, 0.75]) AS q)
),
quant AS (
    SELECT batch, segment_key,
           list(struct_pack(lo := vs[k + 1], hi := vs[least(k + 2, n)], frac := pos - k)
                ORDER BY q) AS qs
    FROM picks GROUP BY batch, segment_key
),
ex AS (
    SELECT batch, segment_key,
           list_slice(list(examples ORDER BY "index", entry)
                      FILTER (WHERE json_array_length(examples) > 0), 1, 3) AS examples
    FROM leaderboard_entries WHERE {IN_BATCHES} GROUP BY batch, segment_key
),
users AS (
    SELECT batch, segment_key, count(DISTINCT "user") AS users, count(*) AS entries
    FROM leaderboard_entries WHERE {IN_BATCHES} GROUP BY batch, segment_key
)
SELECT users.batch, users.segment_key, users.users, quant.qs, ex.examples, users.entries
FROM users LEFT JOIN quant USING (batch, segment_key) LEFT JOIN ex USING (batch, segment_key)
ORDER BY users.batch, users.segment_key
"""
