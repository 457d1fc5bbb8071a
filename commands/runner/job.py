"""The worker side of a job, shared by every executor: ``ctx``, calling ``f(params, ctx)``,
and turning what it returned (or raised) into a ready-to-append outcome payload.

Runs in worker processes, threads and Ray actors, so it imports only the standard library,
``schemas`` and (lazily, for artifacts) ``ledger``.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path
from typing import Any

from commands.runner.command_job import CommandSpec, run_command, work_dir_of
from schemas import SchemaError, validate_payloads

MAX_TRACEBACK_CHARS = 16_000
RESERVED_PREFIXES = ("batch.", "ledger.", "artifact.")
RESERVED_SUFFIXES = (".intent", ".outcome")
RESULT_KEYS = frozenset({"metrics", "result", "status"})
RETURNABLE_STATUSES = ("ok", "empty", "skipped")
STEP_STATUSES = ("ok", "empty", "error")

# What a driver sends: (index, job_id, name, params, seed).
Task = tuple[int, str, str, dict[str, Any], int]
# What comes back: (index, outcome payload, artifacts, emitted (type, data) events); the
# emitted events end with the ``<step>.outcome`` payloads the job recorded (``ctx.substep``).
Done = tuple[int, dict[str, Any], list[dict[str, Any]], list[tuple[str, dict[str, Any]]]]


@dataclass(frozen=True)
class WorkerSpec:
    """What every worker needs to run jobs of one batch (picklable): a callable, or a
    command when ``command`` is set (then ``callable_ref`` and ``setup_ref`` are None)."""

    callable_ref: str | None
    setup_ref: str | None
    kind: str
    batch: str
    root: str
    sys_path: tuple[str, ...] = ()
    command: CommandSpec | None = None
    steps: tuple[str, ...] = ()


def import_ref(ref: str) -> Callable[..., Any]:
    """Import ``module:function``."""
    module_name, _, attr = ref.partition(":")
    target: Callable[..., Any] = getattr(importlib.import_module(module_name), attr)
    return target


def error_info(exc: BaseException, prefix: str = "", skip_frames: int = 0) -> dict[str, Any]:
    """An ``ErrorInfo`` payload for an exception, with a bounded traceback."""
    frames = exc.__traceback__
    for _ in range(skip_frames):
        frames = frames.tb_next if frames is not None and frames.tb_next is not None else frames
    tb = "".join(traceback.format_exception(type(exc), exc, frames))
    if len(tb) > MAX_TRACEBACK_CHARS:
        tb = "...\n" + tb[-MAX_TRACEBACK_CHARS:]
    return {"type": type(exc).__qualname__, "message": prefix + str(exc), "traceback": tb}


def failed_outcome(
    job_id: str, status: str, message: str, duration_s: float = 0.0
) -> dict[str, Any]:
    """An outcome payload for a job that did not return (timeout, crash, interrupt)."""
    return {
        "job_id": job_id,
        "status": status,
        "duration_s": max(0.0, duration_s),
        "error": {"type": status, "message": message, "traceback": None},
    }


@dataclass
class JobContext:
    """What a job gets as ``ctx``: its identity, seed, work dir, worker state and recorders."""

    job_id: str
    name: str
    index: int
    seed: int
    batch: str
    state: Any
    root: Path
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    steps: tuple[str, ...] = ()
    substeps: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _work_dir: Path | None = None

    @property
    def work_dir(self) -> Path:
        """A private directory for this job's files (created on first use)."""
        if self._work_dir is None:
            self._work_dir = work_dir_of(self.root, self.batch, self.job_id)
            self._work_dir.mkdir(parents=True, exist_ok=True)
        return self._work_dir

    def artifact(
        self, path: str | Path, name: str | None = None, media_type: str | None = None
    ) -> str:
        """Store a file in the blob store (recorded as ``artifact.recorded``); returns sha256."""
        from ledger import Ledger

        source = Path(path)
        if not source.is_absolute() and not source.exists():
            source = self.work_dir / source
        digest = Ledger(self.root).blobs.put(source)  # no I/O until put
        self.artifacts.append(
            {
                "sha256": digest,
                "size": source.stat().st_size,
                "name": name or source.name,
                "media_type": media_type or "application/octet-stream",
                "job_id": self.job_id,
            }
        )
        return digest

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        """Record one of the job's own events (e.g. ``candidate.proposed``); the driver appends it.

        Raises:
            SchemaError: the type is reserved or unknown, or the payload does not validate.
        """
        if event_type.startswith(RESERVED_PREFIXES) or event_type.endswith(RESERVED_SUFFIXES):
            raise SchemaError(f"jobs may not emit {event_type!r} events")
        self.events.append((event_type, validate_payloads(event_type, [data])[0]))

    def substep(
        self,
        kind: str,
        status: str,
        detail: str | None = None,
        duration_s: float = 0.0,
        metrics: dict[str, float] | None = None,
        result: dict[str, Any] | None = None,
    ) -> None:
        """Record how one of the job's declared sub-steps (manifest ``steps``) ended.

        The driver appended ``<kind>.intent`` before the job started; this becomes its
        ``<kind>.outcome``. ``status`` is ``ok``, ``empty`` or ``error``; ``detail`` is the
        error message of an ``error``, else ``result.detail``. Kept even when the job itself
        fails afterwards.

        Raises:
            SchemaError: the step is not declared, already recorded, or the status is unknown.
        """
        if kind not in self.steps:
            raise SchemaError(f"step {kind!r} is not declared under the manifest's steps")
        if any(k == kind for k, _ in self.substeps):
            raise SchemaError(f"step {kind!r} was already recorded")
        if status not in STEP_STATUSES:
            raise SchemaError(f"a step's status must be one of {', '.join(STEP_STATUSES)}")
        data: dict[str, Any] = {
            "job_id": self.job_id,
            "status": status,
            "duration_s": max(0.0, float(duration_s)),
            "metrics": _metrics(metrics or {}),
        }
        if status == "error":
            data["error"] = {"type": f"{kind}_error", "message": detail or "", "traceback": None}
        elif detail is not None:
            result = {**(result or {}), "detail": detail}
        if result:
            data["result"] = _jsonable(result)
        event_type = f"{kind}.outcome"
        self.substeps.append((event_type, validate_payloads(event_type, [data])[0]))


def _jsonable(value: Any) -> Any:
    """Round-trip through JSON so the driver only ever sees plain types (numpy via tolist)."""

    def default(obj: Any) -> Any:
        if hasattr(obj, "tolist"):
            return obj.tolist()
        raise TypeError(f"result value of type {type(obj).__name__} is not JSON-serializable")

    return json.loads(json.dumps(value, default=default))


def _metrics(raw: Any) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise TypeError(f"metrics must be a dict of numbers, got {type(raw).__name__}")
    out: dict[str, float] = {}
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, Real):
            raise TypeError(f"metric {key!r} must be a number, got {type(value).__name__}")
        out[str(key)] = float(value)
    return out


def outcome_from_return(job_id: str, returned: Any, duration_s: float) -> dict[str, Any]:
    """Turn what a job returned into an outcome payload (``None`` -> ``empty``)."""
    if returned is None:
        return {"job_id": job_id, "status": "empty", "duration_s": duration_s}
    if not isinstance(returned, dict):
        raise TypeError(f"a job must return a dict or None, got {type(returned).__name__}")
    if returned.keys() & RESULT_KEYS:
        extra = sorted(str(k) for k in returned.keys() - RESULT_KEYS)
        if extra:
            raise TypeError(f"unexpected keys next to metrics/result: {', '.join(extra)}")
        status = returned.get("status", "ok")
        if status not in RETURNABLE_STATUSES:
            raise ValueError(f"status must be one of {', '.join(RETURNABLE_STATUSES)}")
        metrics = _metrics(returned.get("metrics") or {})
        result = returned.get("result")
    else:
        status, metrics, result = "ok", _metrics(returned), None
    outcome: dict[str, Any] = {
        "job_id": job_id,
        "status": status,
        "duration_s": duration_s,
        "metrics": metrics,
    }
    if result is not None:
        outcome["result"] = _jsonable(result)
    return outcome


class JobRunner:
    """Runs tasks in one worker: imports the callable, runs ``setup`` once, calls jobs."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.root = Path(spec.root)
        self._event_type = f"{spec.kind}.outcome"
        for entry in reversed(spec.sys_path):
            if entry not in sys.path:
                sys.path.insert(0, entry)
        self._fn: Callable[..., Any] | None = None
        self._state: Any = None
        self._setup_error: dict[str, Any] | None = None
        self._ready = False

    def prepare(self) -> None:
        """Import the callable and run ``setup`` (once); failures are reported per job."""
        if self._ready:
            return
        self._ready = True
        if self.spec.command is not None or self.spec.callable_ref is None:
            return
        try:
            self._fn = import_ref(self.spec.callable_ref)
        except Exception as e:
            self._setup_error = error_info(e, f"cannot import {self.spec.callable_ref}: ")
            return
        if self.spec.setup_ref is not None:
            try:
                self._state = import_ref(self.spec.setup_ref)()
            except Exception as e:
                self._setup_error = error_info(e, f"setup {self.spec.setup_ref} failed: ")

    def run(self, task: Task) -> Done:
        """Run one task; never raises for the job's own failures."""
        self.prepare()
        index, job_id, name, params, seed = task
        ctx = JobContext(
            job_id,
            name,
            index,
            seed,
            self.spec.batch,
            self._state,
            self.root,
            steps=self.spec.steps,
        )
        start = time.perf_counter()
        if self.spec.command is not None:
            return self._run_command(self.spec.command, ctx, params, start)
        if self._setup_error is not None or self._fn is None:
            error = self._setup_error or {"type": "RuntimeError", "message": "no callable"}
            outcome = {"job_id": job_id, "status": "error", "duration_s": 0.0, "error": error}
            return index, outcome, [], []
        try:
            returned = self._fn(dict(params), ctx)
            duration = time.perf_counter() - start
            outcome = outcome_from_return(job_id, returned, duration)
            outcome = validate_payloads(self._event_type, [outcome])[0]
        except (Exception, SystemExit) as e:  # sys.exit() in a job is its failure, not ours
            duration = time.perf_counter() - start
            outcome = {
                "job_id": job_id,
                "status": "error",
                "duration_s": duration,
                "error": error_info(e, skip_frames=1),  # start at the job, not this frame
            }
            ctx.events.clear()  # a failed job's own events are not recorded; its files are
        if ctx.artifacts:
            outcome["artifacts"] = [a["sha256"] for a in ctx.artifacts]
        return index, outcome, ctx.artifacts, [*ctx.events, *ctx.substeps]

    def _run_command(
        self, command: CommandSpec, ctx: JobContext, params: dict[str, Any], start: float
    ) -> Done:
        """A command job: the same outcome payloads, validated the same way."""
        try:
            outcome = run_command(command, ctx, params)
            outcome["duration_s"] = time.perf_counter() - start
            outcome = validate_payloads(self._event_type, [outcome])[0]
        except Exception as e:  # e.g. storing an artifact failed: the job's failure
            outcome = {
                "job_id": ctx.job_id,
                "status": "error",
                "duration_s": time.perf_counter() - start,
                "error": error_info(e),
            }
        if ctx.artifacts:
            outcome["artifacts"] = [a["sha256"] for a in ctx.artifacts]
        return ctx.index, outcome, ctx.artifacts, [*ctx.substeps]
