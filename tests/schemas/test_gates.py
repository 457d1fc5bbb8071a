"""The gates file model: a good file loads, every kind of bad file is refused in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.errors import SchemaError
from schemas.gates import Gates, GatesInvalid, load_gates

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gates.yaml"


def test_the_example_file_loads() -> None:
    gates = load_gates(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))
    assert gates.gates["sharpe"].min == 0.4
    assert gates.gates["af_dist"].required is True
    assert [(p.metric, p.across) for p in gates.parity] == [("sharpe", "simulator")]
    assert gates.baselines is not None
    assert gates.baselines.profile_values == ["market", "benchmark", "raw_pool_ew"]
    assert gates.baselines.beat is not None and gates.baselines.beat.margin == 0.05
    assert "stress_alpha" in gates.metrics


def test_defaults_and_forms() -> None:
    gates = load_gates(
        {
            "gates": {
                "turnover": {"max": 3},
                "sharpe": {"min": 1.0, "max": 1.0, "required": False},
            },
            "parity": [
                {"metric": "sharpe", "across": "simulator", "max_abs_diff": 0},
                {"metric": "sharpe", "across": "engine", "max_abs_diff": 0.5},
            ],
            "baselines": {"profile_values": ["market"]},
        }
    )
    assert gates.gates["turnover"].max == 3.0 and gates.gates["turnover"].required is True
    assert gates.gates["sharpe"].required is False
    assert [p.name for p in gates.parity] == ["parity:sharpe:simulator", "parity:sharpe:engine"]
    assert gates.baselines is not None and gates.baselines.beat is None
    assert load_gates({}) == Gates()
    assert gates.metrics == ["sharpe", "turnover"]


def test_beat_margin_defaults_to_zero() -> None:
    gates = load_gates({"baselines": {"profile_values": ["m"], "beat": {"metric": "sharpe"}}})
    assert gates.baselines is not None and gates.baselines.beat is not None
    assert gates.baselines.beat.margin == 0.0
    assert gates.metrics == ["sharpe"]


BAD: list[tuple[str, Any, str]] = [
    ("not a mapping", [1, 2], "gates: expected a mapping at the top level"),
    ("unknown top key", {"gate": {}}, "gates: gate: unknown key"),
    ("unknown gate key", {"gates": {"sharpe": {"mni": 1}}}, "gates: gates.sharpe.mni: unknown key"),
    ("no bound", {"gates": {"sharpe": {}}}, "gates: gates.sharpe: a gate needs min or max"),
    (
        "required alone",
        {"gates": {"sharpe": {"required": True}}},
        "gates: gates.sharpe: a gate needs min or max",
    ),
    (
        "min above max",
        {"gates": {"sharpe": {"min": 2, "max": 1}}},
        "gates: gates.sharpe: min 2.0 is greater than max 1.0",
    ),
    ("bad metric name", {"gates": {"sharpe ratio": {"min": 1}}}, "'sharpe ratio' is not a name"),
    ("text bound", {"gates": {"sharpe": {"min": "1"}}}, "gates.sharpe.min: Input should be"),
    ("bool bound", {"gates": {"sharpe": {"min": True}}}, "gates.sharpe.min: Input should be"),
    ("nan bound", {"gates": {"sharpe": {"max": float("nan")}}}, "gates.sharpe.max: Input should"),
    ("required text", {"gates": {"sharpe": {"min": 1, "required": "yes"}}}, "required"),
    (
        "parity without across",
        {"parity": {"metric": "sharpe", "max_abs_diff": 0.1}},
        "parity.0.across: required key is missing",
    ),
    (
        "negative tolerance",
        {"parity": {"metric": "sharpe", "across": "simulator", "max_abs_diff": -0.1}},
        "parity.0.max_abs_diff: Input should be greater than or equal to 0",
    ),
    (
        "parity extra key",
        {"parity": {"metric": "sharpe", "across": "simulator", "max_abs_diff": 1, "tol": 1}},
        "parity.0.tol: unknown key",
    ),
    (
        "parity twice",
        {"parity": [{"metric": "s", "across": "x", "max_abs_diff": 1}] * 2},
        "parity: parity:s:x is given twice",
    ),
    (
        "bad axis name",
        {"parity": {"metric": "sharpe", "across": "sim ulator", "max_abs_diff": 1}},
        "parity.0.across: 'sim ulator' is not a name",
    ),
    ("no baselines", {"baselines": {"profile_values": []}}, "baselines.profile_values: List"),
    (
        "baseline twice",
        {"baselines": {"profile_values": ["market", "market"]}},
        "baselines.profile_values: 'market' is listed twice",
    ),
    (
        "beat without metric",
        {"baselines": {"profile_values": ["market"], "beat": {"margin": 0.1}}},
        "baselines.beat.metric: required key is missing",
    ),
    (
        "negative margin",
        {"baselines": {"profile_values": ["market"], "beat": {"metric": "s", "margin": -1}}},
        "baselines.beat.margin: Input should be greater than or equal to 0",
    ),
    (
        "baselines extra key",
        {"baselines": {"profile_values": ["market"], "axis": "profile"}},
        "baselines.axis: unknown key",
    ),
]


@pytest.mark.parametrize(("data", "message"), [(d, m) for _, d, m in BAD], ids=[b[0] for b in BAD])
def test_bad_files_are_refused_in_one_line(data: Any, message: str) -> None:
    with pytest.raises(GatesInvalid) as caught:
        load_gates(data)
    text = str(caught.value)
    assert message in text
    assert text.startswith("gates: ")
    assert "\n" not in text
    assert isinstance(caught.value, SchemaError)


def test_the_source_names_the_file() -> None:
    with pytest.raises(GatesInvalid, match=r"^my/gates.yaml: gates.x: a gate needs min or max$"):
        load_gates({"gates": {"x": {}}}, source="my/gates.yaml")
