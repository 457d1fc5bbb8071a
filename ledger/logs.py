"""structlog loggers for every module, without paying structlog's import (about a third of a
fast command's start-up) in a command that never logs.

The application (the CLI) says how log lines look with ``configure``; that takes effect when
structlog is first imported through ``get_logger``, or at once if it already is. Every module
logs through ``get_logger`` (tests/test_architecture.py holds that), so no line is ever
written before the configuration applies.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

_pending: Callable[[], None] | None = None


def configure(apply: Callable[[], None]) -> None:
    """Run ``apply`` (which configures structlog) now if structlog is imported, else when
    ``get_logger`` first imports it."""
    global _pending
    if "structlog" in sys.modules:
        _pending = None
        apply()
    else:
        _pending = apply


def get_logger(name: str | None = None) -> Any:
    """A structlog logger (``structlog.get_logger(name)``), configured as the application
    said."""
    global _pending
    import structlog

    if _pending is not None:
        apply, _pending = _pending, None
        apply()
    return structlog.get_logger(name) if name is not None else structlog.get_logger()
