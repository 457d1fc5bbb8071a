"""Shared fixtures: example ledgers in ``tmp_path`` and the installed CLI as a real process."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from ledger_helpers import example_events, sweepledger_executable

from ledger import Ledger

LedgerFactory = Callable[..., Ledger]


@pytest.fixture
def ledger(tmp_path: Path) -> LedgerFactory:
    """Factory: ``ledger(n=10, name="root", per_call=None)`` -> a Ledger in ``tmp_path`` holding
    ``n`` example events, appended in calls of ``per_call`` events (default: one call)."""

    def make(n: int = 10, name: str = "root", per_call: int | None = None) -> Ledger:
        opened = Ledger.open(tmp_path / name, create=True)
        step = per_call or max(n, 1)
        for start in range(0, n, step):
            opened.append(example_events(min(step, n - start), start=start))
        return opened

    return make


CliRunner = Callable[..., subprocess.CompletedProcess[bytes]]


@pytest.fixture
def cli() -> CliRunner:
    """Run the installed ``sweepledger`` as a subprocess: ``cli(*args, input=b"", root=PATH)``.

    Returns the CompletedProcess with bytes stdout/stderr; never raises on a non-zero exit.
    """
    executable = sweepledger_executable()

    def run(
        *args: str | Path, input: bytes | None = None, root: Path | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        argv = [executable]
        if root is not None:
            argv += ["--root", str(root)]
        argv += [str(a) for a in args]
        env = {k: v for k, v in os.environ.items() if k != "SWEEPLEDGER_ROOT"}
        return subprocess.run(argv, input=input, capture_output=True, timeout=120, env=env)

    return run
