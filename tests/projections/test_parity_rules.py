"""``projections.parity_rules``: job matching, counts, fields, tolerance edges, exact fields,
ordering and the deterministic renderings."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.parity_rules import compare, parity_json, parity_markdown


def _trade(i: int, **over: Any) -> dict[str, Any]:
    base = {"side": "long", "entry_bar": i, "price": 100.0 + i, "pnl": 0.5, "reason": "stop"}
    return {**base, **over}


def _jobs(n: int = 3) -> dict[str, list[dict[str, Any]]]:
    return {"SYM00": [_trade(i) for i in range(n)], "SYM01": [_trade(i + 10) for i in range(n)]}


def _where(result: Any) -> list[tuple[Any, ...]]:
    return [(m.job, m.index, m.field, m.kind) for m in result.mismatches]


def test_identical_batches_are_identical() -> None:
    result = compare(_jobs(), _jobs(), ["side"], 0.0)
    assert result.identical and result.total_mismatches == 0 and result.mismatches == ()
    assert [(j.job, j.a_records, j.b_records, j.status) for j in result.jobs] == [
        ("SYM00", 3, 3, "identical"),
        ("SYM01", 3, 3, "identical"),
    ]


def test_a_count_mismatch_is_reported_then_the_common_records_compared() -> None:
    b = _jobs()
    b["SYM00"] = b["SYM00"][:2]
    b["SYM00"][1]["reason"] = "target"
    result = compare(_jobs(), b, [], 0.0)
    assert not result.identical
    assert _where(result) == [("SYM00", None, "(count)", "count"), ("SYM00", 1, "reason", "value")]
    assert (result.mismatches[0].a, result.mismatches[0].b) == (3, 2)
    assert result.jobs[0].status == "different" and result.jobs[0].mismatches == 2


def test_a_field_mismatch_names_job_index_field_and_both_values() -> None:
    b = _jobs()
    b["SYM01"][2]["side"] = "short"
    result = compare(_jobs(), b, [], 0.0)
    (m,) = result.mismatches
    assert (m.job, m.index, m.field, m.kind, m.a, m.b) == (
        "SYM01",
        2,
        "side",
        "value",
        "long",
        "short",
    )


def test_a_field_present_on_one_side_only_is_a_mismatch() -> None:
    b = _jobs()
    del b["SYM00"][0]["reason"]
    b["SYM00"][1]["extra"] = None  # present with a null is still present
    result = compare(_jobs(), b, [], 0.0)
    assert _where(result) == [
        ("SYM00", 0, "reason", "missing_field"),
        ("SYM00", 1, "extra", "missing_field"),
    ]


@pytest.mark.parametrize(
    ("a", "b", "tol", "passes"),
    [
        (1.0, 1.5, 0.5, True),  # exactly tol (all exactly representable)
        (1.5, 1.0, 0.5, True),  # either direction
        (1.0, 1.5 + 2**-40, 0.5, False),  # tol + epsilon
        (1.0, 1.0, 0.0, True),  # tol 0 means equal
        (1.0, 1.0 + 2**-52, 0.0, False),
        (100, 100.25, 0.25, True),  # an int and a float are both numbers
        (-0.0, 0.0, 0.0, True),
    ],
)
def test_tolerance_is_absolute_and_inclusive(a: float, b: float, tol: float, passes: bool) -> None:
    result = compare({"j": [{"pnl": a}]}, {"j": [{"pnl": b}]}, [], tol)
    assert result.identical is passes
    if not passes:
        assert _where(result) == [("j", 0, "pnl", "tolerance")]


def test_tolerance_is_not_relative() -> None:
    big = compare({"j": [{"x": 1e9}]}, {"j": [{"x": 1e9 + 1.0}]}, [], 0.5)
    assert not big.identical  # a relative tolerance of 0.5 would pass this


def test_exact_fields_ignore_the_tolerance() -> None:
    a, b = {"j": [{"entry_bar": 5, "price": 1.0}]}, {"j": [{"entry_bar": 6, "price": 1.5}]}
    loose = compare(a, b, [], 10.0)
    assert loose.identical
    strict = compare(a, b, ["entry_bar"], 10.0)
    assert _where(strict) == [("j", 0, "entry_bar", "exact")]
    assert compare({"j": [{"n": 1}]}, {"j": [{"n": 1.0}]}, ["n"], 0.0).identical


def test_bools_are_not_numbers_and_nan_equals_nan() -> None:
    assert not compare({"j": [{"f": True}]}, {"j": [{"f": 1}]}, [], 1.0).identical
    assert not compare({"j": [{"f": False}]}, {"j": [{"f": 0.0}]}, ["f"], 0.0).identical
    nan = float("nan")
    assert compare({"j": [{"x": nan}]}, {"j": [{"x": nan}]}, [], 0.0).identical
    assert not compare({"j": [{"x": nan}]}, {"j": [{"x": 1.0}]}, [], 1e9).identical
    inf = math.inf
    assert compare({"j": [{"x": inf}]}, {"j": [{"x": inf}]}, [], 0.0).identical
    assert not compare({"j": [{"x": inf}]}, {"j": [{"x": -inf}]}, [], 1e300).identical


def test_jobs_on_one_side_only_are_mismatches() -> None:
    a, b = _jobs(), _jobs()
    a["ONLY_A"] = [_trade(1)]
    b["ONLY_B"] = []  # even with no records
    result = compare(a, b, [], 0.0)
    assert _where(result) == [
        ("ONLY_A", None, "(job)", "missing_in_b"),
        ("ONLY_B", None, "(job)", "missing_in_a"),
    ]
    by_job = {j.job: (j.a_records, j.b_records, j.status) for j in result.jobs}
    assert by_job["ONLY_A"] == (1, None, "missing_in_b")
    assert by_job["ONLY_B"] == (None, 0, "missing_in_a")


def test_mismatches_are_ordered_by_job_index_field_and_capped_but_all_counted() -> None:
    a = {"b": [_trade(0), _trade(1)], "a": [_trade(0)]}
    b = {
        "b": [_trade(0, side="short", pnl=9.0), _trade(1, price=0.0)],
        "a": [_trade(0), _trade(0)],
    }
    result = compare(a, b, [], 0.0)
    assert _where(result) == [
        ("a", None, "(count)", "count"),
        ("b", 0, "pnl", "tolerance"),
        ("b", 0, "side", "value"),
        ("b", 1, "price", "tolerance"),
    ]
    capped = compare(a, b, [], 0.0, limit=2)
    assert capped.total_mismatches == 4 and _where(capped) == _where(result)[:2]
    assert compare(b, a, [], 0.0).total_mismatches == 4  # symmetric in what it finds


def test_bad_tolerance_and_limit_are_refused() -> None:
    for tol in (-1e-9, math.nan, math.inf):
        with pytest.raises(ValueError, match="tol"):
            compare({}, {}, [], tol)
    with pytest.raises(ValueError, match="limit"):
        compare({}, {}, [], 0.0, limit=-1)


def _a_result() -> Any:
    b = _jobs()
    b["SYM00"][1]["pnl"] = math.inf
    b["SYM01"][0]["reason"] = "a|b\nc"
    b["NEW"] = [_trade(0)]
    return compare(_jobs(), b, ["side", "entry_bar"], 1e-9)


def test_parity_json_is_plain_sorted_and_stable() -> None:
    document = parity_json(_a_result())
    text = json.dumps(document, allow_nan=False)  # no NaN or Infinity leaks out
    assert list(document) == sorted(document)
    assert document["identical"] is False and document["total_mismatches"] == 3
    assert document["exact"] == ["entry_bar", "side"] and document["tol_kind"] == "absolute"
    assert document["mismatches"][1]["b"] == "Infinity"
    assert all(list(m) == sorted(m) for m in document["mismatches"] + document["jobs"])
    assert json.dumps(parity_json(_a_result()), allow_nan=False) == text


def test_parity_markdown_states_the_verdict_and_rules_and_escapes_cells() -> None:
    text = parity_markdown(_a_result())
    assert text == parity_markdown(_a_result())
    assert "verdict: **DIFFERENT**" in text and "|a - b| <= 1e-09 passes" in text
    assert "| NEW | - | 1 | 1 | missing_in_a |" in text
    assert "| NEW | - | (job) | missing_in_a | null | 1 |" in text
    assert "| SYM00 | 1 | pnl | tolerance | 0.5 | Infinity |" in text  # not the string
    assert '| SYM01 | 0 | reason | value | "stop" | "a\\|b\\\\nc" |' in text  # one line
    clean = parity_markdown(compare(_jobs(), _jobs(), [], 0.0))
    assert "verdict: **identical**" in clean and "First mismatches" not in clean


@given(
    st.dictionaries(
        st.sampled_from(["j1", "j2", "j3"]),
        st.lists(st.fixed_dictionaries({"x": st.integers(0, 3), "y": st.sampled_from("ab")})),
    ),
    st.dictionaries(
        st.sampled_from(["j1", "j2", "j3"]),
        st.lists(st.fixed_dictionaries({"x": st.integers(0, 3), "y": st.sampled_from("ab")})),
    ),
)
def test_identical_exactly_when_the_job_maps_are_equal(
    a: dict[str, list[dict[str, Any]]], b: dict[str, list[dict[str, Any]]]
) -> None:
    result = compare(a, b, ["y"], 0.0)
    assert result.identical == (a == b)
    keys = [(m.job, -1 if m.index is None else m.index, m.field) for m in result.mismatches]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_fields_are_compared_in_name_order_not_insertion_order() -> None:
    names = [chr(c) for c in range(ord("z"), ord("a") - 1, -1)]
    a = {"j": [{name: 0 for name in names}]}
    b = {"j": [{name: 1 for name in reversed(names)}]}
    result = compare(a, b, [], 0.0)
    assert [m.field for m in result.mismatches] == sorted(names)
