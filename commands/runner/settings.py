"""Run settings and their precedence: CLI > ``SWEEPLEDGER_*`` env > manifest config > defaults.

``resolve_settings`` returns the values and, for each, where it came from, so that
``batch.started`` can record both.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from schemas import EXECUTORS, ManifestConfig, ManifestInvalid

ENV_PREFIX = "SWEEPLEDGER_"
DEFAULTS: dict[str, Any] = {
    "workers": 1,
    "executor": "process",
    "timeout_s": None,
    "seed": 0,
    "max_jobs": None,
    "continue_on_error": True,
    "ray_address": None,
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingInvalid(ManifestInvalid):
    """A setting from the environment or the command line has a bad value."""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _seed(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must be at least 0")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise ValueError("must be a positive number")
    return value


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("must be true or false")


def _executor(text: str) -> str:
    if text not in EXECUTORS:
        raise ValueError(f"must be one of {', '.join(EXECUTORS)}")
    return text


PARSERS: dict[str, Callable[[str], Any]] = {
    "workers": _positive_int,
    "executor": _executor,
    "timeout_s": _positive_float,
    "seed": _seed,
    "max_jobs": _positive_int,
    "continue_on_error": _boolean,
    "ray_address": str,
}


@dataclass(frozen=True)
class Settings:
    """Resolved run settings."""

    workers: int
    executor: str
    timeout_s: float | None
    seed: int
    max_jobs: int | None
    continue_on_error: bool
    ray_address: str | None
    sources: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        """The settings as recorded in ``batch.started.settings``."""
        return {name: getattr(self, name) for name in DEFAULTS}

    def source_list(self) -> list[dict[str, Any]]:
        """One ``{name, value, source}`` row per setting, for ``batch.started.sources``."""
        return [
            {"name": name, "value": getattr(self, name), "source": self.sources[name]}
            for name in DEFAULTS
        ]


def env_name(setting: str) -> str:
    """The environment variable overriding ``setting`` (``SWEEPLEDGER_TIMEOUT_S``)."""
    return ENV_PREFIX + setting.upper()


def resolve_settings(
    cli: Mapping[str, Any],
    config: ManifestConfig,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting by precedence; ``cli`` holds only flags the user gave (not None).

    Raises:
        SettingInvalid: an environment variable does not parse; the message names it.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, default in DEFAULTS.items():
        var = env_name(name)
        manifest_value = getattr(config, name, None)
        if cli.get(name) is not None:
            values[name], sources[name] = cli[name], "cli"
        elif environ.get(var, "") != "":
            try:
                values[name] = PARSERS[name](environ[var])
            except ValueError as e:
                raise SettingInvalid(f"{var}={environ[var]!r}: {e}") from e
            sources[name] = "env"
        elif manifest_value is not None:
            values[name], sources[name] = manifest_value, "manifest"
        else:
            values[name], sources[name] = default, "default"
    return Settings(**values, sources=sources)
