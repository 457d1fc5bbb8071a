"""Promotion budgets: the limits a candidate must meet, per risk tier, to be promoted.

A budgets file maps tier names to three limits::

    conservative:
      max_kill_prob: 0.05       # kill_prob_ci_upper must be <= this
      max_drawdown_cvar: 500.0  # drawdown_cvar must be <= this
      min_mean_pnl: 10.0        # mean_pnl must be >= this

The tiers may also sit under a single top-level ``tiers`` key (the ``Budgets`` model's own
shape); a file whose only top-level key is ``tiers`` is read that way. Tier names become
directory names, so they are limited to letters, digits, ``_``, ``-`` and ``.`` (not first).

``load_budgets(text)`` reads the file's text itself, since this layer imports no YAML library:
JSON, or the part of YAML a budgets file needs (block mappings of plain or quoted scalars,
``#`` comments, a leading ``---``), read as PyYAML's safe loader reads it. Anything else (lists,
flow mappings, anchors, tags, tabs, multi-line values, repeated keys) is refused with its line
number. A caller that has parsed the file already calls ``budgets_from_data``.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from schemas.errors import SchemaError

TIERS_KEY = "tiers"
TIER_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$"
TierName = Annotated[str, StringConstraints(pattern=TIER_NAME_PATTERN, max_length=64)]

_COMMENT = re.compile(r"(?:^|\s)#.*$")
_KEY_LINE = re.compile(
    r"^(?P<indent> *)(?P<key>'[^']*'|\"[^\"\\]*\"|[^\s'\"#:\-?][^:]*?|-[^\s:][^:]*?)"
    r"\s*:(?:\s+(?P<value>.*?))?\s*$"
)
# PyYAML's (YAML 1.1) resolvers for the scalars a budgets file holds.
_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_FLOAT = re.compile(
    r"^(?:[-+]?[0-9][0-9]*\.[0-9]*(?:[eE][-+][0-9]+)?|\.[0-9]+(?:[eE][-+][0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_BOOLS = {
    **dict.fromkeys(("true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"), True),
    **dict.fromkeys(("false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"), False),
}
_NULLS = frozenset(("~", "null", "Null", "NULL"))
_UNSUPPORTED_STARTS = ("[", "{", "&", "*", "!", "|", ">", "%", "@", "`")


class BudgetsInvalid(SchemaError):
    """A budgets file is unreadable or does not match the budgets model."""


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


def load_budgets(text: str, source: str = "budgets") -> Budgets:
    """Read a budgets file's text (JSON or block-mapping YAML) and validate it.

    Raises:
        BudgetsInvalid: unreadable text (with its line number) or an invalid budget.
    """
    if text.lstrip().startswith("{"):
        try:
            raw = json.loads(text, parse_constant=_refuse_constant)
        except ValueError as e:
            raise BudgetsInvalid(f"{source}: not valid JSON: {e}") from e
    else:
        raw = _read_block_mapping(text, source)
    return budgets_from_data(raw, source)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a budget can hold")


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


def _read_block_mapping(text: str, source: str) -> dict[str, Any]:
    """Nested ``key: value`` mappings by indentation, as YAML block mappings."""
    root: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = [(0, root)]
    opened: tuple[dict[str, Any], str] | None = None  # a ``key:`` awaiting a nested mapping
    seen_content = False
    for number, raw in enumerate(text.splitlines(), start=1):
        where = f"{source} line {number}"
        line = _COMMENT.sub("", raw).rstrip()
        if not line:
            continue
        if not seen_content and line == "---":
            seen_content = True
            continue
        seen_content = True
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise BudgetsInvalid(f"{where}: tabs are not allowed for indentation")
        match = _KEY_LINE.match(line)
        if match is None:
            raise BudgetsInvalid(f"{where}: expected 'key: value' (block mappings only)")
        indent = len(match["indent"])
        if opened is not None and indent > stack[-1][0]:
            child: dict[str, Any] = {}
            opened[0][opened[1]] = child
            stack.append((indent, child))
        opened = None
        while len(stack) > 1 and indent < stack[-1][0]:
            stack.pop()
        if indent != stack[-1][0]:
            raise BudgetsInvalid(f"{where}: indentation does not match any enclosing key")
        mapping = stack[-1][1]
        key = _unquote(match["key"])
        if key in mapping:
            raise BudgetsInvalid(f"{where}: key {key!r} is repeated")
        value = match["value"]
        if value:
            mapping[key] = _scalar(value, where)
        else:
            mapping[key] = None
            opened = (mapping, key)
    return root


def _unquote(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return token[1:-1]
    return token


def _scalar(token: str, where: str) -> Any:
    """A plain or quoted scalar, resolved as YAML 1.1 (PyYAML) resolves it."""
    if token.startswith(_UNSUPPORTED_STARTS) or token.startswith("- "):
        raise BudgetsInvalid(f"{where}: only plain values are supported, got {token!r}")
    if token[0] in "'\"":
        if len(token) < 2 or token[-1] != token[0] or "\\" in token or token[0] in token[1:-1]:
            raise BudgetsInvalid(f"{where}: unsupported quoted value {token!r}")
        return token[1:-1]
    if token in _NULLS:
        return None
    if token in _BOOLS:
        return _BOOLS[token]
    if _INT.match(token):
        return int(token)
    if _FLOAT.match(token):
        special = token.lower().lstrip("+-")
        if special in (".inf", ".nan"):
            return float(token.lower().replace(".", ""))  # "-.inf" -> "-inf", ".nan" -> "nan"
        return float(token)
    if ": " in token or token.endswith(":"):
        raise BudgetsInvalid(f"{where}: a value may not hold a nested 'key: value'")
    return token
