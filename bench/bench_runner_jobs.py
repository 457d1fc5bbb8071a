"""Bench workloads for bench/bench_runner.py (copied next to the generated manifests)."""

from __future__ import annotations

import time
from typing import Any


def burn(n: int) -> int:
    """A fixed amount of pure-Python CPU work."""
    total = 0
    for i in range(n):
        total += i * i
    return total


def cpu(params: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """``n`` iterations of CPU work (calibrated by the bench to a few milliseconds)."""
    return {"metrics": {"v": float(burn(params["n"]) % 1000)}}


def noop(params: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Nothing at all: measures the runner and the ledger."""
    return {"metrics": {"i": params["i"]}}


def sleep(params: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Wait ``ms`` milliseconds without using the CPU."""
    time.sleep(params["ms"] / 1000.0)
    return {"metrics": {"i": params["i"]}}
