"""Job callables for the runner tests: each behaves according to its params."""

from __future__ import annotations

import os
import signal
import sys
import time
import uuid
from typing import Any


def setup() -> dict[str, Any]:
    """Per-worker state: a token unique to this call, so tests can count set-ups."""
    return {"pid": os.getpid(), "token": uuid.uuid4().hex}


def failing_setup() -> None:
    raise RuntimeError("no model file")


def work(params: dict[str, Any], ctx: Any) -> Any:
    """Do what ``params["do"]`` says (default: return metrics derived from params)."""
    do = params.get("do", "ok")
    if "sleep" in params:
        time.sleep(params["sleep"])
    if do == "ok":
        x = float(params.get("x", 1))
        return {"metrics": {"score": x * 2, "seed_mod": ctx.seed % 7}, "result": {"x": x}}
    if do == "bare":
        return {"a": 1, "b": 2.5}
    if do == "empty":
        return None
    if do == "error":
        raise ValueError(f"bad value {params.get('x')}")
    if do == "exit":
        os._exit(3)
    if do == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if do == "hang":
        time.sleep(3600)
    if do == "nan":
        return {"metrics": {"good": 1.0, "bad": float("nan"), "inf": float("inf")}}
    if do == "emit":
        ctx.emit(
            "candidate.proposed",
            {"candidate_id": f"c{params.get('x', 0)}", "study": "s", "origin": "random"},
        )
        return {"metrics": {"n": 1}}
    if do == "artifact":
        path = ctx.work_dir / "out.txt"
        path.write_text(f"hello {params.get('x', 0)}\n", encoding="utf-8")
        ctx.artifact(path, name="out.txt", media_type="text/plain")
        return {"metrics": {"n": 1}}
    if do == "state":
        return {"result": {"pid": ctx.state["pid"], "token": ctx.state["token"]}}
    if do == "print":
        print("JOB-SAYS-HI", flush=True)
        return {"metrics": {"n": 1}}
    if do == "sys_exit":
        sys.exit(4)
    if do == "echo":
        return {"result": {"pad": params["pad"]}}
    if do == "huge":
        return {"result": {"blob": "x" * (17 * 1024 * 1024)}}
    if do == "step":  # record the declared optimize step as params["step"] says
        ctx.substep("optimize", params.get("step", "ok"), params.get("detail"))
        if params.get("then") == "error":
            raise RuntimeError("failed after its step")
        return {"metrics": {"n": 1}}
    if do == "bad_return":
        return [1, 2, 3]
    raise AssertionError(f"unknown do={do}")


def spin(params: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Burn ``ms`` milliseconds of CPU (for the bench and throughput tests)."""
    end = time.perf_counter() + params.get("ms", 5) / 1000.0
    n = 0
    while time.perf_counter() < end:
        n += 1
    return {"metrics": {"i": params.get("i", 0)}}
