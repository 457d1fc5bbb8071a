"""Budgets: both file shapes, the seed's table, the PyYAML reader, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from commands.runner.budgets_file import parse_budgets, read_budgets
from schemas import DEFAULT_BUDGETS, Budgets, BudgetsInvalid, Tier, budgets_from_data
from schemas.errors import SchemaError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "budgets.yaml"

# The users' own budgets.yaml, as their pipeline documents it.
USERS_FILE = """\
conservative:
  max_kill_prob: 0.05
  max_drawdown_cvar: 500.0
  min_mean_pnl: 10.0

balanced:
  max_kill_prob: 0.10
  max_drawdown_cvar: 1000.0
  min_mean_pnl: 20.0

aggressive:
  max_kill_prob: 0.15
  max_drawdown_cvar: 2000.0
  min_mean_pnl: 30.0
"""


def test_default_budgets_are_the_users_table() -> None:
    assert list(DEFAULT_BUDGETS.tiers) == ["conservative", "balanced", "aggressive"]
    assert DEFAULT_BUDGETS.tiers["conservative"] == Tier(
        max_kill_prob=0.05, max_drawdown_cvar=500.0, min_mean_pnl=10.0
    )
    assert DEFAULT_BUDGETS.tiers["balanced"].max_drawdown_cvar == 1000.0
    assert DEFAULT_BUDGETS.tiers["aggressive"].min_mean_pnl == 30.0


def test_the_users_file_loads() -> None:
    assert parse_budgets(USERS_FILE) == DEFAULT_BUDGETS


def test_the_example_file_is_the_default_table() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert parse_budgets(text) == DEFAULT_BUDGETS
    assert budgets_from_data(yaml.safe_load(text)) == DEFAULT_BUDGETS


def test_the_wrapped_shape_and_json_load_too() -> None:
    wrapped = "---\ntiers:\n    only:   # four-space indent\n" + "".join(
        f"        {k}: {v}\n"
        for k, v in {"max_kill_prob": 0.2, "max_drawdown_cvar": 3, "min_mean_pnl": -5}.items()
    )
    budgets = parse_budgets(wrapped)
    assert budgets.tiers == {
        "only": Tier(max_kill_prob=0.2, max_drawdown_cvar=3.0, min_mean_pnl=-5.0)
    }
    assert parse_budgets(DEFAULT_BUDGETS.model_dump_json()) == DEFAULT_BUDGETS
    assert parse_budgets(json.dumps(DEFAULT_BUDGETS.model_dump()["tiers"])) == DEFAULT_BUDGETS


finite = st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False)
names = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,20}", fullmatch=True)
tiers = st.fixed_dictionaries(
    {
        "max_kill_prob": st.floats(0.0, 1.0) | st.sampled_from([0, 1]),
        "max_drawdown_cvar": st.floats(0.0, 1e9) | st.integers(0, 10**6),
        "min_mean_pnl": finite | st.integers(-(10**6), 10**6),
    }
)


@given(st.dictionaries(names, tiers, min_size=1, max_size=5), st.booleans())
def test_any_dumped_table_reads_back(table: dict[str, dict[str, float]], wrapped: bool) -> None:
    data = {"tiers": table} if wrapped else table
    budgets = parse_budgets(yaml.safe_dump(data, default_flow_style=False))
    assert budgets.model_dump()["tiers"] == {
        name: {key: float(value) for key, value in limits.items()} for name, limits in table.items()
    }


def test_a_file_is_read_and_a_missing_one_named(tmp_path: Path) -> None:
    assert read_budgets(EXAMPLE) == DEFAULT_BUDGETS
    with pytest.raises(BudgetsInvalid, match=r"nope\.yaml"):
        read_budgets(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected a mapping"),
        ("just text\n", "expected a mapping"),
        ("- conservative\n", "expected a mapping"),
        ("a:\n\tmax_kill_prob: 1\n", "line 2: found character that cannot start"),
        ("a: [1, 2\n", "line 2:"),
        ("a:\n  b: 1\n c: 2\n", "line 3:"),
        ('{"a": {"max_kill_prob": NaN}}', "a.max_kill_prob: Input should be a valid number"),
    ],
)
def test_unreadable_files_name_the_line(text: str, message: str) -> None:
    with pytest.raises(BudgetsInvalid) as info:
        parse_budgets(text, "budgets.yaml")
    assert str(info.value).startswith("budgets.yaml") and message in str(info.value)


def tier_text(name: str = "t", **limits: str) -> str:
    values = {"max_kill_prob": "0.1", "max_drawdown_cvar": "100.0", "min_mean_pnl": "1.0"}
    values.update(limits)
    return f"{name}:\n" + "".join(f"  {k}: {v}\n" for k, v in values.items() if v != "-")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            tier_text(max_kill_prob="1.5"),
            "t.max_kill_prob: Input should be less than or equal to 1",
        ),
        (tier_text(max_kill_prob="-0.1"), "t.max_kill_prob: Input should be greater than"),
        (tier_text(max_drawdown_cvar="-1.0"), "t.max_drawdown_cvar: Input should be greater"),
        (tier_text(max_kill_prob="'0.1'"), "t.max_kill_prob: Input should be a valid number"),
        (tier_text(max_kill_prob="true"), "t.max_kill_prob: Input should be a valid number"),
        (tier_text(min_mean_pnl=".nan"), "t.min_mean_pnl: Input should be a finite number"),
        (tier_text(max_drawdown_cvar=".inf"), "t.max_drawdown_cvar: Input should be a finite"),
        (tier_text(min_mean_pnl="-"), "t.min_mean_pnl: required key is missing"),
        (tier_text(max_kill_pro="0.1"), "t.max_kill_pro: unknown key"),
        (tier_text(name="../up"), "tier name '../up'"),
        ("tiers:\n  t: 1\n", "t: Input should be"),
        ("t:\n", "t: Input should be"),
    ],
)
def test_invalid_budgets_say_which_key(text: str, message: str) -> None:
    with pytest.raises(BudgetsInvalid) as info:
        parse_budgets(text, "b.yaml")
    assert message in str(info.value)
    assert isinstance(info.value, SchemaError)


def test_tier_admits_with_inclusive_bounds() -> None:
    tier = DEFAULT_BUDGETS.tiers["balanced"]
    assert tier.admits(mean_pnl=20.0, drawdown_cvar=1000.0, kill_prob_ci_upper=0.10)
    assert not tier.admits(mean_pnl=19.99, drawdown_cvar=10.0, kill_prob_ci_upper=0.0)
    assert not tier.admits(mean_pnl=50.0, drawdown_cvar=1000.01, kill_prob_ci_upper=0.0)
    assert not tier.admits(mean_pnl=50.0, drawdown_cvar=10.0, kill_prob_ci_upper=0.11)
    assert not tier.admits(mean_pnl=float("nan"), drawdown_cvar=10.0, kill_prob_ci_upper=0.0)


def test_models_are_strict_and_frozen() -> None:
    with pytest.raises(ValueError):
        Budgets.model_validate({"tiers": {}})
    with pytest.raises(ValueError):
        Tier.model_validate({"max_kill_prob": "0.1", "max_drawdown_cvar": 1, "min_mean_pnl": 1})
    with pytest.raises(ValueError):
        DEFAULT_BUDGETS.tiers["balanced"].min_mean_pnl = 0.0  # type: ignore[misc]
