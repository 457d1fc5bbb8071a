"""structlog configuration: one place, stderr only, JSON lines or human-readable. It applies
when something first logs (``ledger.logs``): a command that never logs never imports
structlog."""

from __future__ import annotations

import logging
import sys
from functools import partial
from typing import TYPE_CHECKING

from ledger import logs

if TYPE_CHECKING:
    import structlog

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


def _stderr_logger(*_args: object) -> structlog.PrintLogger:
    """A logger on whatever ``sys.stderr`` is when it logs (not when logging was configured),
    so a redirected or replaced stderr is honoured and a closed one is never written to."""
    import structlog

    return structlog.PrintLogger(file=sys.stderr)


def configure_logging(json_lines: bool = False, level: str = "warning") -> None:
    """Send structlog output to stderr: JSON lines with ``json_lines``, else console style.

    Logging defaults to warnings only, so a failing command prints just its one-line error.
    """
    logs.configure(partial(_configure, json_lines, level))


def _configure(json_lines: bool, level: str) -> None:
    import structlog

    renderer: structlog.typing.Processor
    if json_lines:
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS.get(level, logging.WARNING)),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
