"""The batch manifest (seed 003): what to run, with which parameters, under which defaults.

A manifest names what each job runs -- either one callable (``module:function``, called as
``f(params, ctx)``) or one external ``command`` (an argv of templates over the job's params
and context, with its ``env`` overlay and the files its outcome is read from) -- and the jobs
to run it with: explicit ``jobs``, a ``matrix`` (cartesian product of ``axes`` in axis order
over ``base_params``) and/or a ``users_file`` (seed 000: one job per handle). ``steps`` names
the sub-steps every job records through ``ctx.substep`` (e.g. ``[optimize]``): each gets its
own ``<step>.intent`` next to the job's and a ``<step>.outcome``. Only the shape
is checked here; expansion, templates, the users file and importing the callable live in
``commands/``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CALLABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
EXECUTORS: tuple[str, ...] = ("process", "thread", "ray")
Executor = Literal["process", "thread", "ray"]
ManifestKind = Literal["scan", "trial", "optimize", "simulate", "job"]
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
# Keys that only mean something for a command job (refused next to ``callable``).
COMMAND_KEYS: tuple[str, ...] = (
    "shell",
    "env",
    "metrics_from",
    "result_from",
    "artifacts",
    "verify_evidence",
)


class _Strict(BaseModel):
    """Manifest parts refuse unknown keys, so a typo is an error rather than a silent default."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class ManifestConfig(_Strict):
    """Batch defaults; each may be overridden by ``SWEEPLEDGER_*`` variables and CLI flags."""

    workers: int | None = Field(default=None, ge=1, le=1024)
    executor: Executor | None = None
    timeout_s: float | None = Field(default=None, gt=0)
    seed: int | None = Field(default=None, ge=0)
    max_jobs: int | None = Field(default=None, ge=1)
    continue_on_error: bool | None = None


class JobSpec(_Strict):
    """One explicit job: a unique name and its parameters (over the manifest's ``params``)."""

    name: str = Field(min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)


class MatrixSpec(_Strict):
    """A grid: one job per combination of ``axes`` values (first axis varies slowest)."""

    base_params: dict[str, Any] = Field(default_factory=dict)
    axes: dict[str, list[Any]] = Field(min_length=1)


class OutputFile(_Strict):
    """A JSON file a command writes in its work dir, and the dotted key path of the value to
    take from it (the whole document without one)."""

    path: str = Field(min_length=1)
    key: str | None = Field(default=None, min_length=1)


Direction = Literal["max", "min"]


class StudySpec(_Strict):
    """What ``sweepledger study`` searches and what ``pareto`` ranks by.

    ``space``: each searched parameter's ``[low, high]`` box (sampled uniformly, mutated
    inside it). ``objectives``: metric name -> ``max`` or ``min``, in the order they are
    reported (default: maximize ``mean_pnl``, minimize ``kill_prob_ci_upper`` and
    ``drawdown_cvar``).
    """

    space: dict[str, list[float]] = Field(default_factory=dict)
    objectives: dict[str, Direction] | None = None

    @field_validator("space")
    @classmethod
    def _boxes(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        for name, box in value.items():
            if len(box) != 2 or not box[0] < box[1]:
                raise ValueError(f"space.{name}: expected [low, high] with low < high")
        return value

    @field_validator("objectives")
    @classmethod
    def _some(cls, value: dict[str, Direction] | None) -> dict[str, Direction] | None:
        if value is not None and not value:
            raise ValueError("objectives: name at least one metric")
        return value


class Manifest(_Strict):
    """A batch manifest as written by the user, before expansion."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")
    callable: str | None = Field(default=None, pattern=CALLABLE_PATTERN)
    command: list[str] | str | None = None
    shell: bool = False
    env: dict[str, str | int | float | bool] = Field(default_factory=dict)
    metrics_from: OutputFile | None = None
    result_from: OutputFile | None = None
    artifacts: list[str] = Field(default_factory=list)
    verify_evidence: str | None = Field(default=None, min_length=1)
    kind: ManifestKind | None = None
    setup: str | None = Field(default=None, pattern=CALLABLE_PATTERN)
    config: ManifestConfig = Field(default_factory=ManifestConfig)
    params: dict[str, Any] = Field(default_factory=dict)
    jobs: list[JobSpec] = Field(default_factory=list)
    matrix: MatrixSpec | None = None
    users_file: str | None = Field(default=None, min_length=1)
    study: StudySpec | None = None
    steps: list[ManifestKind] = Field(default_factory=list)

    @field_validator("metrics_from", "result_from", mode="before")
    @classmethod
    def _path_alone(cls, value: Any) -> Any:
        """``metrics_from: FILE`` is short for ``metrics_from: {path: FILE}``."""
        return {"path": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_target(self) -> Manifest:
        """Exactly one of ``callable`` and ``command``; command keys only with a command."""
        if (self.callable is None) == (self.command is None):
            raise ValueError("give exactly one of callable and command")
        if self.command is None:
            given = [key for key in COMMAND_KEYS if key in self.model_fields_set]
            if given:
                raise ValueError(f"{given[0]} is only allowed with command")
            return self
        if self.setup is not None:
            raise ValueError("setup is only allowed with callable")
        if self.shell and not isinstance(self.command, str):
            raise ValueError("command must be one string with shell: true")
        if not self.shell and isinstance(self.command, str):
            raise ValueError("command must be a list of arguments (or set shell: true)")
        if not self.command:
            raise ValueError("command must not be empty")
        for key in self.env:
            if not re.fullmatch(ENV_NAME_PATTERN, key):
                raise ValueError(f"env: {key!r} is not a valid variable name")
        return self

    @field_validator("steps")
    @classmethod
    def _distinct_steps(cls, steps: list[str]) -> list[str]:
        for i, step in enumerate(steps):
            if step in steps[:i]:
                raise ValueError(f"step {step!r} is listed twice")
        return steps
