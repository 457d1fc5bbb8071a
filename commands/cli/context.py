"""What every command gets from the global options."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AppContext:
    """Global options resolved once: the ledger root and whether to show tracebacks."""

    root: Path
    debug: bool = False
