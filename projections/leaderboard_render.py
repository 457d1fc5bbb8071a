"""The leaderboard's JSON and Markdown rendered by DuckDB: SQL expressions that give, byte
for byte, what ``json.dumps`` (separators ", " and ": ") and ``writers.markdown_table`` give for
the same values, so hundreds of thousands of objects never pass through Python one by one.
Floats are DuckDB's shortest round-trip text, which is ``repr``'s.
"""

from __future__ import annotations

# json.dumps escapes these with their short forms and every other character below U+0020 as
# \u00xx in lowercase hex; DuckDB's to_json writes uppercase hex.
_SHORT_ESCAPES = {8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}


def python_escaped(expr: str) -> str:
    """SQL for the body of ``json.dumps(text, ensure_ascii=False)`` of a VARCHAR expression."""
    out = f"replace(replace({expr}, '\\', '\\\\'), '\"', '\\\"')"
    for code in range(32):
        escape = _SHORT_ESCAPES.get(code, f"\\u{code:04x}")
        out = f"replace({out}, chr({code}), '{escape}')"
    return out


def js(expr: str) -> str:
    """SQL for a JSON string (or null) of a VARCHAR expression, as ``json.dumps`` writes it.

    DuckDB's ``to_json`` agrees with ``json.dumps`` except in the hex case of control-character
    escapes, so text holding a control character takes the slower, exact path.
    """
    return (
        f"CASE WHEN {expr} IS NULL THEN 'null' "
        f"WHEN regexp_matches({expr}, '[\\x00-\\x1f]') "
        f"THEN '\"' || {python_escaped(expr)} || '\"' "
        f"ELSE to_json({expr}) END"
    )


def jn(expr: str) -> str:
    """SQL for a JSON number (or null) of a numeric expression: DuckDB's shortest round-trip
    text, as ``repr`` writes it."""
    return f"coalesce(CAST({expr} AS VARCHAR), 'null')"


def count_used(expr: str) -> str:
    """SQL for a count: an integral value as an integer (as Python writes an int), else ``jn``."""
    return (
        f"CASE WHEN {expr} = floor({expr}) AND abs({expr}) < 9007199254740992 "
        f"THEN CAST(CAST({expr} AS BIGINT) AS VARCHAR) ELSE {jn(expr)} END"
    )


# One top candidate (a struct ``c`` of ``_RANKED``) as JSON text, laid out like ``json.dumps``.
TOP_ITEM = (
    "'{\"segment_key\": ' || "
    + js("c.segment_key")
    + " || ', \"weighting\": ' || "
    + js("c.weighting")
    + " || ', \"avg_clv_pct\": ' || "
    + jn("c.avg_clv_pct")
    + " || ', \"beat_close_rate\": ' || "
    + jn("c.beat_close_rate")
    + " || ', \"weight_used\": ' || "
    + jn("c.weight_used")
    + " || ', \"count_used\": ' || "
    + count_used("c.count_used")
    + " || '}'"
)


def md(expr: str) -> str:
    """A Markdown table cell (see ``writers.markdown_table``) for a VARCHAR expression."""
    return (
        f"replace(replace(replace(replace({expr}, '\\', '\\\\'), '|', '\\|'), "
        "chr(13), ' '), chr(10), ' ')"
    )


# Per user (a row ``u`` of ``leaderboard_users``): its ``per_user_results`` object, its
# ``batch_manifest`` entry and its Markdown row.
USER_ITEM = (
    "'{\"index\": ' || "
    + jn('u."index"')
    + " || ', \"user\": ' || "
    + js('u."user"')
    + " || ', \"job_id\": ' || "
    + js("u.job_id")
    + " || ', \"status\": ' || "
    + js("u.status")
    + " || ', \"run_root\": ' || "
    + js("u.run_root")
    + ' || \', "coverage": {"candidates": \' || u.candidates'
    + " || ', \"segments\": ' || u.segments"
    + " || ', \"notional_usable\": ' || u.notional_usable"
    + " || ', \"count_usable\": ' || u.count_usable"
    + " || CASE WHEN u.coverage IS NULL THEN '' "
    + "ELSE ', \"reported\": ' || CAST(u.coverage AS VARCHAR) END || '}'"
    + " || ', \"top_candidates\": ' || u.top_candidates"
    + " || CASE WHEN u.status = 'ok' THEN '' ELSE ', \"error\": {\"type\": ' || "
    + js("u.error_type")
    + " || ', \"message\": ' || "
    + js("u.error_message")
    + " || '}' END || '}'"
)
MANIFEST_ITEM = (
    "'{\"index\": ' || "
    + jn('u."index"')
    + " || ', \"user\": ' || "
    + js('u."user"')
    + " || ', \"status\": ' || "
    + js("u.status")
    + " || ', \"run_root\": ' || "
    + js("u.run_root")
    + " || '}'"
)
MD_ROW = (
    "'| ' || CAST(u.\"index\" AS VARCHAR)"
    + " || ' | ' || "
    + md("coalesce(u.\"user\", '')")
    + " || ' | ' || "
    + md("coalesce(u.status, '')")
    + " || ' | ' || u.candidates"
    + " || ' | ' || "
    + md("coalesce(u.run_root, '-')")
    + " || ' |'"
)
