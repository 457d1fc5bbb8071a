"""The base tables of the projection database and the SQL that fills them from new events.

``events`` is filled from the ledger's relations (the view ``_raw``); the tables derived from
it read the new events from the view ``_new`` (seq > the cursor, payloads upgraded), so a
catch-up only touches what is new. ``FILLS`` holds, per table, the SELECT giving its new rows
in the table's column order. ``batches`` is re-aggregated for the batches the new events
touched (listed in the temporary table ``_touched``).
"""

from __future__ import annotations

from schemas import KINDS

INTENT_TYPES: tuple[str, ...] = tuple(f"{kind}.intent" for kind in KINDS)
OUTCOME_TYPES: tuple[str, ...] = tuple(f"{kind}.outcome" for kind in KINDS)
BATCH_TYPES: tuple[str, ...] = ("batch.started", "batch.finished", "batch.resumed")


def _in_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def json_pointer(name: str) -> str:
    """The RFC 6901 pointer to the top-level member ``name`` (for DuckDB's ``json_extract``,
    whatever characters the name holds)."""
    return "/" + name.replace("~", "~0").replace("/", "~1")


INTENTS_IN = _in_list(INTENT_TYPES)
OUTCOMES_IN = _in_list(OUTCOME_TYPES)

# Compression is named up front for the long text columns: left to choose, DuckDB tries every
# string compression on every column segment, which doubled the cost of writing ``events``.
# Hashes (random hex) are stored as they are: zstd halves them but costs more CPU than the
# rest of the events table's compression (1M events: +60 MB on disk, ~0.2 s less a rebuild).
ZSTD = "USING COMPRESSION zstd"
RAW = "USING COMPRESSION uncompressed"

DDL: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS _meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    "CREATE TABLE IF NOT EXISTS _cursors (name VARCHAR PRIMARY KEY, seq BIGINT, hash VARCHAR)",
    f"""CREATE TABLE IF NOT EXISTS events (
        seq BIGINT, ts VARCHAR, type VARCHAR, v INTEGER, batch VARCHAR, key VARCHAR,
        cause BIGINT, data JSON {ZSTD}, prev VARCHAR {RAW}, hash VARCHAR {RAW})""",
    f"""CREATE TABLE IF NOT EXISTS intents (
        seq BIGINT, ts VARCHAR, type VARCHAR, kind VARCHAR, batch VARCHAR, key VARCHAR,
        job_id VARCHAR {ZSTD}, "index" BIGINT, name VARCHAR {ZSTD}, callable VARCHAR,
        params JSON {ZSTD}, seed BIGINT)""",
    f"""CREATE TABLE IF NOT EXISTS outcomes (
        seq BIGINT, ts VARCHAR, type VARCHAR, kind VARCHAR, batch VARCHAR, key VARCHAR,
        cause BIGINT, job_id VARCHAR {ZSTD}, status VARCHAR, duration_s DOUBLE,
        metrics MAP(VARCHAR, DOUBLE), non_finite VARCHAR[], result JSON {ZSTD},
        artifacts VARCHAR[], error_type VARCHAR, error_message VARCHAR {ZSTD},
        error_traceback VARCHAR {ZSTD},
        "index" BIGINT, name VARCHAR {ZSTD})""",
    f"""CREATE TABLE IF NOT EXISTS metrics (
        seq BIGINT, batch VARCHAR, kind VARCHAR, job_id VARCHAR {ZSTD}, name VARCHAR,
        value DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS artifacts (
        seq BIGINT, ts VARCHAR, batch VARCHAR, sha256 VARCHAR, size BIGINT, name VARCHAR,
        media_type VARCHAR, job_id VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS batches (
        batch VARCHAR, name VARCHAR, created_at VARCHAR, started_seq BIGINT, jobs BIGINT,
        executor VARCHAR, workers BIGINT, host VARCHAR, pid BIGINT, process_start VARCHAR,
        finished_seq BIGINT, finished_at VARCHAR, attempted BIGINT, succeeded BIGINT,
        failed BIGINT, duration_s DOUBLE, interrupted BOOLEAN, resumed BIGINT,
        last_resumed_seq BIGINT, state VARCHAR, intents BIGINT, outcomes BIGINT, ok BIGINT,
        first_seq BIGINT, last_seq BIGINT)""",
)

BASE_TABLES: tuple[str, ...] = (
    "events",
    "intents",
    "outcomes",
    "metrics",
    "artifacts",
    "batches",
)

SELECT_EVENTS = """
SELECT seq, ts, type, v, batch, key, cause, data, prev, hash FROM _raw
"""

SELECT_INTENTS = f"""
SELECT seq, ts, type, split_part(type, '.', 1), batch, key,
       j.job_id, j."index", j.name, j.callable, j.params, j.seed
FROM (
    SELECT *, json_transform(data, '{{"job_id": "VARCHAR", "index": "BIGINT",
        "name": "VARCHAR", "callable": "VARCHAR", "params": "JSON", "seed": "BIGINT"}}') AS j
    FROM _new WHERE type IN {INTENTS_IN}
)
"""

SELECT_OUTCOMES = f"""
SELECT n.seq, n.ts, n.type, split_part(n.type, '.', 1), n.batch, n.key, n.cause,
       n.j.job_id, n.j.status, n.j.duration_s, n.j.metrics, n.j.non_finite, n.j.result,
       n.j.artifacts, n.j.error.type, n.j.error.message, n.j.error.traceback,
       i."index", i.name
FROM (
    SELECT *, json_transform(data, '{{"job_id": "VARCHAR", "status": "VARCHAR",
        "duration_s": "DOUBLE", "metrics": "MAP(VARCHAR, DOUBLE)", "non_finite": ["VARCHAR"],
        "result": "JSON", "artifacts": ["VARCHAR"],
        "error": {{"type": "VARCHAR", "message": "VARCHAR", "traceback": "VARCHAR"}}}}') AS j
    FROM _new WHERE type IN {OUTCOMES_IN}
) AS n
LEFT JOIN intents AS i ON i.seq = n.cause AND i.type IN {INTENTS_IN}
"""

SELECT_METRICS = """
SELECT seq, batch, kind, job_id, e.key, e.value
FROM (SELECT seq, batch, kind, job_id, unnest(map_entries(metrics)) AS e
      FROM outcomes WHERE seq > $since AND metrics IS NOT NULL)
"""

SELECT_ARTIFACTS = """
SELECT seq, ts, batch, j.sha256, j.size, j.name, j.media_type, j.job_id
FROM (
    SELECT *, json_transform(data, '{"sha256": "VARCHAR", "size": "BIGINT", "name": "VARCHAR",
        "media_type": "VARCHAR", "job_id": "VARCHAR"}') AS j
    FROM _new WHERE type = 'artifact.recorded'
)
"""

# In dependency order: outcomes look up their intents, metrics unpack the new outcomes.
FILLS: dict[str, str] = {
    "events": SELECT_EVENTS,
    "intents": SELECT_INTENTS,
    "outcomes": SELECT_OUTCOMES,
    "metrics": SELECT_METRICS,
    "artifacts": SELECT_ARTIFACTS,
}

TOUCHED = """
CREATE OR REPLACE TEMP TABLE _touched AS
SELECT DISTINCT batch FROM _new WHERE batch IS NOT NULL
"""

REFRESH_BATCHES = """
DELETE FROM batches WHERE batch IN (SELECT batch FROM _touched);
INSERT INTO batches
WITH ev AS (
    SELECT seq, ts, type, batch, data FROM events
    WHERE batch IN (SELECT batch FROM _touched)
),
span AS (SELECT batch, min(seq) AS first_seq, max(seq) AS last_seq FROM ev GROUP BY batch),
st AS (
    SELECT batch, min(seq) AS started_seq, arg_min(ts, seq) AS created_at,
           arg_min(data, seq) AS first_data, arg_max(data, seq) AS last_data
    FROM ev WHERE type = 'batch.started' GROUP BY batch
),
fin AS (
    SELECT batch, max(seq) AS finished_seq, arg_max(ts, seq) AS finished_at,
           arg_max(data, seq) AS data
    FROM ev WHERE type = 'batch.finished' GROUP BY batch
),
res AS (
    SELECT batch, count(*) AS resumed, max(seq) AS last_resumed_seq
    FROM ev WHERE type = 'batch.resumed' GROUP BY batch
),
ic AS (
    SELECT batch, count(*) AS n FROM intents
    WHERE batch IN (SELECT batch FROM _touched) GROUP BY batch
),
oc AS (
    SELECT batch, count(*) AS n, count(*) FILTER (WHERE status = 'ok') AS ok FROM outcomes
    WHERE batch IN (SELECT batch FROM _touched) GROUP BY batch
)
SELECT span.batch,
       st.first_data->>'name', st.created_at, st.started_seq,
       CAST(st.first_data->>'jobs' AS BIGINT), st.last_data->>'executor',
       CAST(st.last_data->>'workers' AS BIGINT), st.last_data->>'host',
       TRY_CAST(st.last_data->>'pid' AS BIGINT), st.last_data->>'process_start',
       fin.finished_seq, fin.finished_at,
       CAST(fin.data->>'attempted' AS BIGINT), CAST(fin.data->>'succeeded' AS BIGINT),
       CAST(fin.data->>'failed' AS BIGINT), CAST(fin.data->>'duration_s' AS DOUBLE),
       CAST(fin.data->>'interrupted' AS BOOLEAN),
       coalesce(res.resumed, 0), res.last_resumed_seq,
       CASE WHEN fin.finished_seq IS NOT NULL
                 AND fin.finished_seq > coalesce(res.last_resumed_seq, 0)
            THEN 'finished' ELSE 'open' END,
       coalesce(ic.n, 0), coalesce(oc.n, 0), coalesce(oc.ok, 0),
       span.first_seq, span.last_seq
FROM span
LEFT JOIN st USING (batch) LEFT JOIN fin USING (batch) LEFT JOIN res USING (batch)
LEFT JOIN ic USING (batch) LEFT JOIN oc USING (batch)
"""
