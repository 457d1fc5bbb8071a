"""The batch manifest (seed 003): what to run, with which parameters, under which defaults.

A manifest names one callable (``module:function``, called as ``f(params, ctx)``) and the jobs
to call it with: explicit ``jobs``, a ``matrix`` (cartesian product of ``axes`` in axis order
over ``base_params``) and/or a ``users_file`` (seed 000: one job per handle). ``steps`` names
the sub-steps every job records through ``ctx.substep`` (e.g. ``[optimize]``): each gets its
own ``<step>.intent`` next to the job's and a ``<step>.outcome``. Only the shape is checked
here; expansion, the users file and importing the callable live in ``commands/``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

CALLABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
EXECUTORS: tuple[str, ...] = ("process", "thread", "ray")
Executor = Literal["process", "thread", "ray"]
ManifestKind = Literal["scan", "trial", "optimize", "simulate", "job"]


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


class Manifest(_Strict):
    """A batch manifest as written by the user, before expansion."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")
    callable: str = Field(pattern=CALLABLE_PATTERN)
    kind: ManifestKind | None = None
    setup: str | None = Field(default=None, pattern=CALLABLE_PATTERN)
    config: ManifestConfig = Field(default_factory=ManifestConfig)
    params: dict[str, Any] = Field(default_factory=dict)
    jobs: list[JobSpec] = Field(default_factory=list)
    matrix: MatrixSpec | None = None
    users_file: str | None = Field(default=None, min_length=1)
    steps: list[ManifestKind] = Field(default_factory=list)

    @field_validator("steps")
    @classmethod
    def _distinct_steps(cls, steps: list[str]) -> list[str]:
        for i, step in enumerate(steps):
            if step in steps[:i]:
                raise ValueError(f"step {step!r} is listed twice")
        return steps
