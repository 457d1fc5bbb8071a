"""The plain-dict validators generated from the payload models (``schemas.plain``) agree with
the models: same accepted payloads with the same fields, and never accept what a model refuses."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from ledger import canonical_json
from schemas import CATALOG, ErrorInfo, SegmentInfo
from schemas.plain import plain_list_validator

SEGMENT = {"segment": "s.parquet", "first_seq": 1, "last_seq": 2, "sha256": "c" * 64, "size": 9}
EXAMPLES: dict[str, dict[str, Any]] = {
    "batch.started": {
        "name": "b",
        "manifest": {"jobs": [1, 2.5, None]},
        "manifest_sha256": "d" * 64,
        "jobs": 2,
        "executor": "local",
        "workers": 1,
        "code": {"git_commit": None, "dirty": True},
        "argv": ["run"],
    },
    "batch.finished": {"attempted": 1, "succeeded": 1, "failed": 0, "duration_s": 2.0},
    "batch.resumed": {"resumed_from": 1, "skipped": 0, "remaining": 3},
    "candidate.proposed": {"candidate_id": "c", "study": "s", "origin": "random", "score": 1},
    "artifact.recorded": {"sha256": "a" * 64, "size": 3, "name": "f.txt"},
    "promotion.decided": {
        "study": "s",
        "tier": "t",
        "candidate_id": "c",
        "trial_id": "t1",
        "candidate_hash": "h",
        "metrics": {"m": 1.5, "n": None},
        "seeds": [1, 2],
    },
    "ledger.recovered": {"truncated_bytes": 1, "truncated_sha256": "b" * 64},
    "ledger.sealed": {**SEGMENT, "segments": [SEGMENT]},
    "ledger.checkpoint": {
        "ledger_id": "c" * 64,
        "size": 3,
        "root": "d" * 64,
        "key_id": "e" * 16,
        "signature": "f" * 128,
    },
    "trial.intent": {"job_id": "j", "index": 0, "name": "n", "callable": "m:f", "params": {"x": 1}},
    "trial.outcome": {
        "job_id": "j",
        "status": "error",
        "duration_s": 0.5,
        "metrics": {"loss": 0.25},
        "result": {"curve": [1, 2]},
        "error": {"type": "E", "message": "m"},
    },
}
ODD_VALUES: list[Any] = [
    True,
    False,
    "5",
    5,
    -1,
    0,
    2**70,
    5.0,
    -0.5,
    math.nan,
    math.inf,
    None,
    "",
    "ok",
    "a" * 64,
    [],
    ["x", 1],
    {},
    {"x": 1.5},
    {"type": "E", "message": "m", "extra": 1},
    [SEGMENT],
    [{**SEGMENT, "size": "9"}],
    ErrorInfo(type="E", message="m"),
    SegmentInfo.model_validate(SEGMENT),
]


def model_result(model: type[BaseModel], payload: Any) -> dict[str, Any] | None:
    try:
        return model.model_validate(payload).model_dump()
    except ValidationError:
        return None


def plain_result(model: type[BaseModel], payload: Any) -> dict[str, Any] | None:
    validator = plain_list_validator(model)
    assert validator is not None
    try:
        (validated,) = validator.validate_python([payload])
    except ValidationError:
        return None
    assert isinstance(validated, dict)
    return validated


def test_every_catalog_type_has_an_example_and_a_plain_validator() -> None:
    assert {CATALOG[t] for t in EXAMPLES} == set(CATALOG.values())
    for model in set(CATALOG.values()):
        assert plain_list_validator(model) is not None, model


@pytest.mark.parametrize("kind", list(EXAMPLES))
def test_examples_give_the_models_fields(kind: str) -> None:
    model = CATALOG[kind]
    expected = model_result(model, EXAMPLES[kind])
    assert expected is not None
    got = plain_result(model, EXAMPLES[kind])
    assert got is not None and canonical_json(got) == canonical_json(expected)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(list(EXAMPLES)),
    pick=st.integers(min_value=0, max_value=1000),
    value=st.sampled_from(ODD_VALUES),
    drop=st.booleans(),
)
def test_plain_never_accepts_what_the_model_refuses(
    kind: str, pick: int, value: Any, drop: bool
) -> None:
    """Change, drop or add one field: the plain validator accepts exactly when the model does
    (except model instances, which only the model takes) and its fields encode the same."""
    model = CATALOG[kind]
    names = [*sorted(model.model_fields), "unknown_field"]
    name = names[pick % len(names)]
    payload = dict(EXAMPLES[kind])
    if drop:
        payload.pop(name, None)
    else:
        payload[name] = value
    expected = model_result(model, payload)
    got = plain_result(model, payload)
    if got is None and isinstance(value, BaseModel) and not drop:
        return  # a nested model instance: callers fall back to the model
    assert (got is None) == (expected is None), (kind, name, value, drop)
    if got is not None:  # a default may be a nested model instance: compare stored bytes
        assert canonical_json(got) == canonical_json(expected), (kind, name, value, drop)
