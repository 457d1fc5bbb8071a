"""The scoreboard's gates file: metric thresholds, parity checks and baselines to beat.

```yaml
gates:                        # metric -> bounds; a gate needs min or max (or both)
  sharpe: {min: 0.5}
  max_drawdown: {max: 0.45}
  af_dist: {min: -0.2, required: true}   # required (default): missing fails in strict mode
parity:                       # one check or a list of them
  {metric: sharpe, across: simulator, max_abs_diff: 0.3}
baselines:                    # cells whose `profile` is listed are baselines, never candidates
  profile_values: [market, benchmark, raw_pool_ew]
  beat: {metric: sharpe, margin: 0.05}   # optional
```

Unknown keys are refused at every level, numbers must be finite, bounds ``min <= max``.
``load_gates`` turns any problem into one ``GatesInvalid`` whose one-line message names the
offending key. How the gates are applied lives in ``projections/scoreboard_rules.py``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from schemas.errors import SchemaError

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$"
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
VALUE_ERROR_PREFIX = "Value error, "


class GatesInvalid(SchemaError):
    """A gates file does not match the gates model."""


class _Strict(BaseModel):
    """Every part refuses unknown keys, so a typo is an error rather than a gate never applied."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True, frozen=True)


class MetricGate(_Strict):
    """Bounds on one metric: pass when ``min <= value <= max`` (either bound may be left out)."""

    min: float | None = None
    max: float | None = None
    required: bool = True

    @model_validator(mode="after")
    def _bounds(self) -> MetricGate:
        if self.min is None and self.max is None:
            raise ValueError("a gate needs min or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


class ParityGate(_Strict):
    """A metric may differ by at most ``max_abs_diff`` across the values of one coordinate."""

    metric: Name
    across: Name
    max_abs_diff: float = Field(ge=0.0)

    @property
    def name(self) -> str:
        """The check's name in a scoreboard: ``parity:<metric>:<across>``."""
        return f"parity:{self.metric}:{self.across}"


class Beat(_Strict):
    """A candidate's metric must exceed the best comparable baseline's by more than ``margin``."""

    metric: Name
    margin: float = Field(default=0.0, ge=0.0)

    @property
    def name(self) -> str:
        """The check's name in a scoreboard: ``beat:<metric>``."""
        return f"beat:{self.metric}"


class Baselines(_Strict):
    """Which ``profile`` values are baselines, and what a candidate must beat them on."""

    profile_values: list[Name] = Field(min_length=1)
    beat: Beat | None = None

    @field_validator("profile_values")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        seen: set[str] = set()
        for value in values:
            if value in seen:
                raise ValueError(f"{value!r} is listed twice")
            seen.add(value)
        return values


class Gates(_Strict):
    """A whole gates file."""

    gates: dict[Name, MetricGate] = Field(default_factory=dict)
    parity: list[ParityGate] = Field(default_factory=list)
    baselines: Baselines | None = None

    @field_validator("parity", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @field_validator("parity")
    @classmethod
    def _distinct(cls, checks: list[ParityGate]) -> list[ParityGate]:
        names = [check.name for check in checks]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ValueError(f"{name} is given twice")
        return checks

    @property
    def metrics(self) -> list[str]:
        """Every metric a gate, parity check or beat rule reads, sorted."""
        names = set(self.gates) | {check.metric for check in self.parity}
        if self.baselines is not None and self.baselines.beat is not None:
            names.add(self.baselines.beat.metric)
        return sorted(names)


def _describe(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"] if part != "[key]") or "gates file"
    if first["type"] == "string_pattern_mismatch":
        return f"{where}: {first['input']!r} is not a name (letters, digits, _ . -)"
    if first["type"] == "extra_forbidden":
        return f"{where}: unknown key"
    if first["type"] == "missing":
        return f"{where}: required key is missing"
    message = str(first["msg"]).removeprefix(VALUE_ERROR_PREFIX)
    return f"{where}: {message}"


def load_gates(data: Any, source: str = "gates") -> Gates:
    """Validate a parsed gates file (the mapping its YAML holds).

    Raises:
        GatesInvalid: not a mapping, an unknown key, a wrong type, a bad name, a gate without
            bounds or with ``min > max``; the message is one line starting with ``source``.
    """
    if not isinstance(data, dict):
        raise GatesInvalid(f"{source}: expected a mapping at the top level")
    try:
        return Gates.model_validate(data)
    except ValidationError as e:
        raise GatesInvalid(f"{source}: {_describe(e)}") from e
