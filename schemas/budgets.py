"""Promotion budgets: the limits a candidate must meet, per risk tier, to be promoted.

A budgets file maps tier names to three limits::

    conservative:
      max_kill_prob: 0.05       # kill_prob_ci_upper must be <= this
      max_drawdown_cvar: 500.0  # drawdown_cvar must be <= this
      min_mean_pnl: 10.0        # mean_pnl must be >= this

The tiers may also sit under a single top-level ``tiers`` key (the ``Budgets`` model's own
shape); a file whose only top-level key is ``tiers`` is read that way. Tier names become
directory names, so they are limited to letters, digits, ``_``, ``-`` and ``.`` (not first).

Reading the file is the caller's job (``commands.runner.budgets_file`` reads it with PyYAML's
safe loader); ``budgets_from_data`` validates what was read.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from schemas.errors import BudgetsInvalid

TIERS_KEY = "tiers"
TIER_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$"
TierName = Annotated[str, StringConstraints(pattern=TIER_NAME_PATTERN, max_length=64)]


class Tier(BaseModel):
    """One tier's limits; a candidate passes when it meets all three."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    max_kill_prob: float = Field(ge=0.0, le=1.0)
    max_drawdown_cvar: float = Field(ge=0.0)
    min_mean_pnl: float

    def admits(self, mean_pnl: float, drawdown_cvar: float, kill_prob_ci_upper: float) -> bool:
        """Whether metrics meet this tier (bounds inclusive; NaN never does)."""
        return (
            kill_prob_ci_upper <= self.max_kill_prob
            and drawdown_cvar <= self.max_drawdown_cvar
            and mean_pnl >= self.min_mean_pnl
        )


class Budgets(BaseModel):
    """Every tier's limits, by tier name."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    tiers: dict[TierName, Tier] = Field(min_length=1)


DEFAULT_BUDGETS = Budgets(
    tiers={
        "conservative": Tier(max_kill_prob=0.05, max_drawdown_cvar=500.0, min_mean_pnl=10.0),
        "balanced": Tier(max_kill_prob=0.10, max_drawdown_cvar=1000.0, min_mean_pnl=20.0),
        "aggressive": Tier(max_kill_prob=0.15, max_drawdown_cvar=2000.0, min_mean_pnl=30.0),
    }
)


def budgets_from_data(raw: Any, source: str = "budgets") -> Budgets:
    """Validate an already parsed budgets file (either shape).

    Raises:
        BudgetsInvalid: not a mapping, an unknown or missing key, a bad value or tier name.
    """
    if not isinstance(raw, dict) or not raw:
        raise BudgetsInvalid(f"{source}: expected a mapping of tier names to limits")
    data = raw if set(raw) == {TIERS_KEY} else {TIERS_KEY: raw}
    try:
        return Budgets.model_validate(data)
    except ValidationError as e:
        raise BudgetsInvalid(f"{source}: {_describe(e)}") from e


def _describe(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    if first["loc"][-1:] == ("[key]",):
        return f"tier name {first['loc'][-2]!r}: {first['msg']}"
    where = ".".join(str(part) for part in first["loc"] if part != TIERS_KEY) or "budgets"
    if first["type"] == "extra_forbidden":
        return f"{where}: unknown key"
    if first["type"] == "missing":
        return f"{where}: required key is missing"
    return f"{where}: {first['msg']}"
