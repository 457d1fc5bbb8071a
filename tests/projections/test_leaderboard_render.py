"""The SQL-side rendering of the leaderboard gives the same bytes as ``json.dumps`` (as the
writers call it) and ``writers.markdown_table`` on awkward values."""

from __future__ import annotations

import json
import math

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.leaderboard_render import TOP_ITEM, count_used, jn, js, md
from projections.writers import markdown_table

AWKWARD_TEXT = [
    "",
    "plain",
    'quote " and backslash \\',
    "tab\tnewline\ncr\r",
    "\x00\x01\x1f control \x0b\x1b\x7f \b\f",
    "backslash-u text \\u001A is not an escape",
    "unicode é ✓ 😀 \u2028\u2029",
    "pipe | in | cell",
    "</script>",
]
AWKWARD_FLOATS = [
    0.0,
    -0.0,
    1.0,
    0.1,
    1 / 3,
    1e-7,
    1.5e300,
    -2.5e-300,
    123456789.125,
    1e16,
    2.0**53,
]


def _eval(expr: str, value: object, sql_type: str) -> str:
    con = duckdb.connect()
    row = con.execute(f"SELECT {expr} FROM (SELECT CAST(? AS {sql_type}) AS x)", [value]).fetchone()
    assert row is not None
    return str(row[0])


@pytest.mark.parametrize("text", [*AWKWARD_TEXT, None])
def test_js_is_json_dumps(text: str | None) -> None:
    assert _eval(js("x"), text, "VARCHAR") == json.dumps(text, ensure_ascii=False)


@pytest.mark.parametrize("number", [*AWKWARD_FLOATS, None])
def test_jn_is_json_dumps(number: float | None) -> None:
    assert _eval(jn("x"), number, "DOUBLE") == json.dumps(number)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_js_is_json_dumps_on_any_text(text: str) -> None:
    assert _eval(js("x"), text, "VARCHAR") == json.dumps(text, ensure_ascii=False)


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_jn_round_trips_like_repr(number: float) -> None:
    assert _eval(jn("x"), number, "DOUBLE") == json.dumps(number)


@pytest.mark.parametrize("number", [0.0, 3.0, 12.0, 2.0**52, 2.5, 1e300, None])
def test_count_used_writes_integral_values_as_ints(number: float | None) -> None:
    expected = json.dumps(
        int(number) if number is not None and number.is_integer() and number < 2**53 else number
    )
    assert _eval(count_used("x"), number, "DOUBLE") == expected


@pytest.mark.parametrize("text", AWKWARD_TEXT)
def test_md_is_a_markdown_table_cell(text: str) -> None:
    table = markdown_table(["h"], [[text]])
    cell_line = table.split("\n")[2]
    assert "| " + _eval(md("x"), text, "VARCHAR") + " |" == cell_line


def test_top_item_is_json_dumps_of_the_candidate() -> None:
    con = duckdb.connect()
    rows = [
        ('k|"é\n', "notional", 1 / 3, 0.5, 2.0, 3.0),
        ("seg", None, None, -0.0, 1e300, 2.5),
    ]
    for key, weighting, clv, beat, weight, count in rows:
        struct = (
            "{'segment_key': CAST($1 AS VARCHAR), 'weighting': CAST($2 AS VARCHAR), "
            "'avg_clv_pct': CAST($3 AS DOUBLE), 'beat_close_rate': CAST($4 AS DOUBLE), "
            "'weight_used': CAST($5 AS DOUBLE), 'count_used': CAST($6 AS DOUBLE)}"
        )
        got = con.execute(
            f"SELECT {TOP_ITEM} FROM (SELECT {struct} AS c)",
            [key, weighting, clv, beat, weight, count],
        ).fetchone()
        assert got is not None
        expected = {
            "segment_key": key,
            "weighting": weighting,
            "avg_clv_pct": clv,
            "beat_close_rate": beat,
            "weight_used": weight,
            "count_used": int(count) if math.floor(count) == count else count,
        }
        assert got[0] == json.dumps(expected, ensure_ascii=False)
        assert json.loads(got[0]) == expected
