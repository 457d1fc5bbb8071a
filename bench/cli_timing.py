"""Timing one whole ``sweepledger`` process running this checkout's code, for the bench scripts
(imported by them as a sibling module: a script's own folder is first on ``sys.path``)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# What the ``sweepledger`` console script runs (``pyproject.toml``), from this checkout.
MAIN = "import sys; from commands.program import run; sys.exit(run())"


def cli_seconds(root: Path, *args: str) -> float:
    """Wall time of one CLI process running this checkout's code (its exit must be 0)."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", MAIN, "--root", str(root), *args],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    return time.perf_counter() - start


def best(root: Path, *args: str, repeats: int, before: Callable[[], object] | None = None) -> float:
    """The least of ``repeats`` runs of ``cli_seconds``, ``before`` called (untimed) before
    each."""
    times = []
    for _ in range(repeats):
        if before is not None:
            before()
        times.append(cli_seconds(root, *args))
    return min(times)
