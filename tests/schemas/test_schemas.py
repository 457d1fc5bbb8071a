"""Property tests: canonical encoding round trips through the ledger, non-finite floats, and
payload validation naming the offending field."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ledger_helpers import snapshot

from ledger import InvalidEvent, Ledger, canonical_json, loads
from schemas import CATALOG, PayloadInvalid, UnknownEventType, validate_payloads

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=20)  # no lone surrogates
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**130), max_value=2**130)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
    | st.sampled_from(["\x00\x01\x1f\x7f", "😀🎉", "\u2028\u2029", "e\u0301", "\\\"'"])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=25,
)
payloads = st.dictionaries(text.filter(lambda k: k != "non_finite"), json_values, max_size=6)


def nested(depth: int) -> Any:
    value: Any = "leaf ✓"
    for level in range(depth):
        value = {f"k{level}": value, "n": level} if level % 2 else [value, level, 2**70]
    return value


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    return Ledger.open(tmp_path_factory.mktemp("schemas") / "root", create=True)


def roundtrip(opened: Ledger, data: dict[str, Any], kind: str = "x.prop") -> dict[str, Any]:
    (receipt,) = opened.append([{"type": kind, "data": data}])
    (event,) = opened.read(since=receipt.seq - 1)
    assert (event.seq, event.hash) == receipt
    return event.data


@SETTINGS
@given(payload=payloads)
def test_free_payload_round_trips_through_the_ledger(
    shared: Ledger, payload: dict[str, Any]
) -> None:
    encoded = canonical_json(payload)
    assert loads(encoded) == payload
    assert canonical_json(loads(encoded)) == encoded  # a fixed point: bytes are deterministic
    assert roundtrip(shared, payload) == payload


@SETTINGS
@given(payload=payloads)
def test_encoding_ignores_key_order(payload: dict[str, Any]) -> None:
    reordered = dict(reversed(list(payload.items())))
    assert canonical_json(reordered) == canonical_json(payload)


@SETTINGS
@given(depth=st.integers(min_value=1, max_value=50))
def test_deep_nesting_round_trips(shared: Ledger, depth: int) -> None:
    payload = {"deep": nested(depth)}
    assert roundtrip(shared, payload) == payload


@SETTINGS
@given(value=st.integers(min_value=2**64, max_value=2**200) | st.integers(max_value=-(2**64)))
def test_huge_ints_stay_exact(shared: Ledger, value: int) -> None:
    payload = {"big": value, "list": [value, 1.5], "f": 0.1}
    stored = roundtrip(shared, payload)
    assert stored == payload and type(stored["big"]) is int


@SETTINGS
@given(
    values=st.dictionaries(
        st.text("abcdefgh", min_size=1, max_size=4),
        st.floats(allow_nan=True, allow_infinity=True),
        min_size=1,
        max_size=6,
    )
)
def test_non_finite_floats_stored_as_null_and_listed(
    shared: Ledger, values: dict[str, float]
) -> None:
    bad = [k for k, v in values.items() if not math.isfinite(v)]
    stored = roundtrip(shared, {"m": values, "top": float("nan")})
    assert stored["top"] is None
    assert stored["non_finite"] == ["m." + k for k in bad] + ["top"]
    for key, value in values.items():
        assert stored["m"][key] == (value if math.isfinite(value) else None)


OUTCOME = {"job_id": "j1", "status": "ok", "duration_s": 1.5}


def test_outcome_metrics_and_result_non_finite(shared: Ledger) -> None:
    data = {
        **OUTCOME,
        "metrics": {"loss": float("nan"), "acc": 0.9, "gain": float("-inf")},
        "result": {"curve": [1.0, float("inf")], "ok": True},
    }
    stored = roundtrip(shared, data, kind="trial.outcome")
    assert stored["metrics"] == {"loss": None, "acc": 0.9, "gain": None}
    assert stored["result"] == {"curve": [1.0, None], "ok": True}
    assert stored["non_finite"] == ["metrics.loss", "metrics.gain", "result.curve.1"]
    raw = next(shared.read_raw(since=shared.head().seq - 1))
    assert b"NaN" not in raw and b"Infinity" not in raw


@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [
        (
            "trial.intent",
            {
                "job_id": "j",
                "index": 0,
                "name": "n",
                "callable": "m:f",
                "params": {"lr": float("nan")},
            },
            "data.params.lr",
        ),
        (
            "batch.finished",
            {"attempted": 1, "succeeded": 1, "failed": 0, "duration_s": float("inf")},
            "duration_s",
        ),
    ],
)
def test_non_finite_refused_where_not_listed(
    shared: Ledger, kind: str, data: dict[str, Any], field: str
) -> None:
    before = snapshot(shared.root)
    with pytest.raises(InvalidEvent, match=field.replace(".", r"\.")):
        shared.append([{"type": kind, "data": data}])
    assert snapshot(shared.root) == before


VALID: dict[str, dict[str, Any]] = {
    "trial.outcome": OUTCOME,
    "scan.intent": {"job_id": "j", "index": 0, "name": "n", "callable": "m:f"},
    "batch.finished": {"attempted": 1, "succeeded": 1, "failed": 0, "duration_s": 2.0},
    "batch.resumed": {"resumed_from": 1, "skipped": 0, "remaining": 3},
    "artifact.recorded": {"sha256": "a" * 64, "size": 3, "name": "f.txt"},
    "ledger.recovered": {"truncated_bytes": 1, "truncated_sha256": "b" * 64},
}


@pytest.mark.parametrize("kind", list(VALID))
def test_valid_payloads_accepted(kind: str) -> None:
    assert kind in CATALOG
    (dumped,) = validate_payloads(kind, [VALID[kind]])
    assert {k: dumped[k] for k in VALID[kind]} == VALID[kind]


@SETTINGS
@given(kind=st.sampled_from(list(VALID)), name=st.text("abcxyz_", min_size=1, max_size=8))
def test_unknown_fields_refused_naming_them(kind: str, name: str) -> None:
    extra = f"zz_{name}"
    with pytest.raises(PayloadInvalid, match=f"data.{extra}"):
        validate_payloads(kind, [{**VALID[kind], extra: 1}])


WRONG = [[1, 2], {"a": 1}, "text", -5, None]


@SETTINGS
@given(
    kind=st.sampled_from(list(VALID)),
    pick=st.integers(min_value=0, max_value=100),
    wrong=st.sampled_from(WRONG),
)
def test_wrong_types_refused_naming_the_field(kind: str, pick: int, wrong: Any) -> None:
    fields = sorted(VALID[kind])
    field = fields[pick % len(fields)]
    assume(type(wrong) is not type(VALID[kind][field]))
    assume(not (field == "callable" and wrong is None))  # a command job's intent has none
    with pytest.raises(PayloadInvalid) as caught:
        validate_payloads(kind, [{**VALID[kind], field: wrong}])
    assert str(caught.value).startswith(f"data.{field}"), (str(caught.value), field)


@pytest.mark.parametrize("wrong", [True, "5"])
@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("batch.finished", "attempted"),
        ("trial.outcome", "duration_s"),
        ("artifact.recorded", "size"),
    ],
)
def test_bools_and_numeric_strings_refused_for_numbers(kind: str, field: str, wrong: Any) -> None:
    """A JSON ``true`` or ``"5"`` where the catalog says number is a wrong type: it must be
    refused naming the field, not silently stored as 1 / 5."""
    with pytest.raises(PayloadInvalid, match=rf"^data\.{field}"):
        validate_payloads(kind, [{**VALID[kind], field: wrong}])


def test_wrong_type_through_append_names_field_and_writes_nothing(shared: Ledger) -> None:
    before = snapshot(shared.root)
    with pytest.raises(InvalidEvent) as caught:
        shared.append(
            [
                {"type": "x.ok", "data": {}},
                {"type": "trial.outcome", "data": {**OUTCOME, "duration_s": "slow"}},
            ]
        )
    assert str(caught.value).startswith("event 2:") and "data.duration_s" in str(caught.value)
    assert snapshot(shared.root) == before


def test_unknown_type_refused() -> None:
    with pytest.raises(UnknownEventType, match=r"trial\.nope"):
        validate_payloads("trial.nope", [{}])


def test_schema_export_writes_one_file_per_type(tmp_path: Path) -> None:
    from schemas import export_json_schemas

    written = export_json_schemas(tmp_path / "out")
    names = {p.name for p in written}
    assert names == {f"{k}.schema.json" for k in CATALOG} | {"x.schema.json"}
    outcome = json.loads((tmp_path / "out" / "trial.outcome.schema.json").read_text())
    assert outcome["additionalProperties"] is False and "non_finite" in outcome["properties"]
