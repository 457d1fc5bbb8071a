"""Command jobs: run an external program for a job and read its outcome from the files it
leaves in its work dir. Produces the same outcome payloads as a callable job.

One job, step by step (in the worker, like a callable):

1. A work dir left by an earlier attempt of the same job (``--resume``) is moved aside to
   ``<job_id>.previous-<n>``, so no stale file is ever read as this attempt's output.
2. The argv and the ``env`` overlay are rendered from their templates (``templating``) and the
   program starts in a session of its own (``start_new_session``; ``/bin/sh -c`` only with
   ``shell: true``), stdin from /dev/null, stdout and stderr into ``stdout.txt`` and
   ``stderr.txt`` in the work dir. A marker file names its process group, so that the driver
   can kill what a dead worker left running (``kill_leftovers``); if the driver itself dies,
   the worker kills the group before it exits, and the program gets SIGKILL when its parent
   dies (``lifeline``).
3. When it exits, or runs past ``timeout_s``, its whole process group is SIGKILLed (the
   leader is not reaped before that, so the group id cannot have been reused).
4. Exit 0: metrics from ``metrics_from`` (the numeric values of a JSON object), result from
   ``result_from``, ``result.evidence_verified`` from ``verify_evidence``. A non-zero exit is
   ``error``, a signal ``crashed``, the timeout ``timeout``, each with the last 4 KiB of
   stderr in the message. A missing or unreadable output file is ``error`` naming the file.
5. Non-empty stdout/stderr and every file matching ``artifacts`` are stored as artifacts,
   whatever the status.

Imports only the standard library and the runner's worker-side modules (``ledger`` lazily).
"""

from __future__ import annotations

import contextlib
import json
import math
import mimetypes
import os
import select
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any, Protocol

from commands.runner.lifeline import command_preexec, track_group, untrack_group
from commands.runner.templating import TemplateError, render, template_values
from commands.runner.workdirs import link_by_name, work_dir_of

SHELL = "/bin/sh"
STDOUT_FILE = "stdout.txt"
STDERR_FILE = "stderr.txt"
MARKER_FILE = ".sweepledger-pgid"
STDERR_TAIL_BYTES = 4096
PREVIOUS_SUFFIX = ".previous-"
POLL_MAX_S = 0.05
TEXT_MEDIA_TYPE = "text/plain"


class OutputFileError(Exception):
    """A file the outcome is read from is missing, not JSON, or lacks the key."""


class JobContext(Protocol):
    """What a command job needs of ``job.JobContext``: the job's identity and ``artifact``."""

    root: Path
    batch: str
    job_id: str
    name: str
    index: int
    seed: int

    def artifact(
        self, path: str | Path, name: str | None = None, media_type: str | None = None
    ) -> str: ...


@dataclass(frozen=True)
class OutputSpec:
    """``metrics_from`` / ``result_from``: a JSON file under the work dir and a key path."""

    path: str
    key: str | None = None


@dataclass(frozen=True)
class CommandSpec:
    """What every worker needs to run a batch's command jobs (picklable)."""

    argv: tuple[str, ...]  # templates; with ``shell`` a single script
    shell: bool
    env: tuple[tuple[str, str], ...]  # (name, template)
    cwd: str
    metrics_from: OutputSpec | None = None
    result_from: OutputSpec | None = None
    artifacts: tuple[str, ...] = ()
    verify_evidence: str | None = None
    timeout_s: float | None = None

    def templates(self) -> list[str]:
        """Every template of the command (argv items, then env values)."""
        return [*self.argv, *(value for _, value in self.env)]

    def rendered(self, values: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
        """The argv to execute and the env overlay, for one job's template values.

        Raises:
            TemplateError: an unknown name or a bad format spec.
        """
        argv = [render(item, values) for item in self.argv]
        if self.shell:
            argv = [SHELL, "-c", argv[0]]
        return argv, {name: render(value, values) for name, value in self.env}


def job_values(
    params: Mapping[str, Any],
    root: Path | str,
    batch: str,
    job_id: str,
    name: str,
    index: int,
    seed: int,
) -> dict[str, str]:
    """The template values of one job (the same in the driver and in the worker)."""
    work_dir = str(work_dir_of(root, batch, job_id))
    return template_values(
        params, seed=seed, work_dir=work_dir, job_id=job_id, name=name, index=index, batch=batch
    )


# -- running -------------------------------------------------------------------------------


def _fresh_work_dir(work_dir: Path) -> None:
    """Create the work dir, moving an earlier attempt's files aside (never deleting them)."""
    if work_dir.is_dir() and any(work_dir.iterdir()):
        n = 1
        while (aside := work_dir.with_name(f"{work_dir.name}{PREVIOUS_SUFFIX}{n}")).exists():
            n += 1
        work_dir.rename(aside)
    work_dir.mkdir(parents=True, exist_ok=True)


def _start_ticks(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot (Linux ``/proc``), or None."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _wait_exit(pid: int, timeout_s: float | None) -> bool:
    """Wait until ``pid`` exits, without reaping it; False if ``timeout_s`` passed first."""
    if timeout_s is None:
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        return True
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        return _poll_exit(pid, timeout_s)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(max(0, math.ceil(timeout_s * 1000))))
    finally:
        os.close(fd)


def _poll_exit(pid: int, timeout_s: float) -> bool:
    """``_wait_exit`` where pidfds are not available: poll with a growing nap."""
    deadline = time.monotonic() + timeout_s
    nap = 0.001
    while True:
        if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(nap, left))
        nap = min(POLL_MAX_S, nap * 2)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _stderr_tail(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - STDERR_TAIL_BYTES))
            tail = f.read()
    except OSError:
        return ""
    text = tail.decode("utf-8", errors="replace")
    return ("..." if size > STDERR_TAIL_BYTES else "") + text


def _with_tail(message: str, tail: str) -> str:
    return f"{message}; stderr (last 4 KiB):\n{tail}" if tail.strip() else message


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


@dataclass
class _Exit:
    """How the program ended."""

    returncode: int
    timed_out: bool


def _execute(spec: CommandSpec, argv: list[str], overlay: dict[str, str], work_dir: Path) -> _Exit:
    """Run the program to its end (or the timeout) and kill what is left of its group."""
    marker = work_dir / MARKER_FILE
    env = {**os.environ, **overlay} if overlay else None
    with (
        open(work_dir / STDOUT_FILE, "wb") as out,
        open(work_dir / STDERR_FILE, "wb") as err,
    ):
        proc = subprocess.Popen(
            argv,
            cwd=spec.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            preexec_fn=command_preexec,  # dies with its parent (the worker, or the driver)
        )
    track_group(proc.pid)
    try:
        marker.write_text(
            json.dumps(
                {"host": socket.gethostname(), "sid": proc.pid, "ticks": _start_ticks(proc.pid)}
            )
        )
        exited = _wait_exit(proc.pid, spec.timeout_s)
    finally:
        # The leader is still unreaped (a zombie at most), so its group id is still its own.
        _kill_group(proc.pid)
        untrack_group(proc.pid)
        returncode = proc.wait()
    marker.unlink(missing_ok=True)
    return _Exit(returncode, timed_out=not exited)


# -- reading the outcome -------------------------------------------------------------------


def _read_json(work_dir: Path, spec: OutputSpec, what: str) -> Any:
    where = f"{what} {spec.path}"
    try:
        raw = (work_dir / spec.path).read_bytes()
    except FileNotFoundError as e:
        raise OutputFileError(f"{where}: the file is missing") from e
    except OSError as e:
        raise OutputFileError(f"{where}: {e.strerror or e}") from e
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise OutputFileError(f"{where}: not JSON ({e})") from e
    if spec.key is not None:
        for part in spec.key.split("."):
            if not isinstance(value, dict) or part not in value:
                raise OutputFileError(f"{where}: no key {spec.key!r}")
            value = value[part]
    return value


def _metrics_from(work_dir: Path, spec: OutputSpec) -> dict[str, float]:
    value = _read_json(work_dir, spec, "metrics_from")
    if not isinstance(value, dict):
        raise OutputFileError(
            f"metrics_from {spec.path}: expected a JSON object, got {type(value).__name__}"
        )
    return {
        str(key): float(item)
        for key, item in value.items()
        if isinstance(item, Real) and not isinstance(item, bool)
    }


def _evidence(work_dir: Path, relative: str) -> dict[str, Any]:
    from ledger import verify_evidence

    report = verify_evidence(work_dir / relative)
    if report.ok:
        return {"evidence_verified": True}
    return {"evidence_verified": False, "evidence_problems": report.problems[:20]}


def _store_artifacts(spec: CommandSpec, ctx: JobContext, work_dir: Path) -> None:
    """Store non-empty stdout/stderr and every file matching ``artifacts`` (sorted, once)."""
    seen: set[Path] = set()
    for stream in (STDOUT_FILE, STDERR_FILE):
        path = work_dir / stream
        if path.is_file() and path.stat().st_size > 0:
            seen.add(path)
            ctx.artifact(path, name=stream, media_type=TEXT_MEDIA_TYPE)
    for pattern in spec.artifacts:
        for path in sorted(work_dir.glob(pattern)):
            if path in seen or not path.is_file() or path.name == MARKER_FILE:
                continue
            seen.add(path)
            relative = path.relative_to(work_dir).as_posix()
            media_type = mimetypes.guess_type(path.name)[0]
            ctx.artifact(path, name=relative, media_type=media_type)


def _failure(job_id: str, status: str, kind: str, message: str) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "status": status,
        "duration_s": 0.0,
        "error": {"type": kind, "message": message, "traceback": None},
    }


def run_command(spec: CommandSpec, ctx: JobContext, params: Mapping[str, Any]) -> dict[str, Any]:
    """Run one command job; returns its outcome payload (``duration_s`` left to the caller).

    Never raises for the job's own failures (a bad exit, a signal, a missing output file);
    artifacts are recorded through ``ctx`` whatever the status.
    """
    work_dir = work_dir_of(ctx.root, ctx.batch, ctx.job_id)
    values = job_values(params, ctx.root, ctx.batch, ctx.job_id, ctx.name, ctx.index, ctx.seed)
    try:
        argv, overlay = spec.rendered(values)
    except TemplateError as e:
        return _failure(ctx.job_id, "error", "TemplateError", str(e))
    _fresh_work_dir(work_dir)
    link_by_name(work_dir, ctx.name)
    try:
        ended = _execute(spec, argv, overlay, work_dir)
    except OSError as e:
        return _failure(ctx.job_id, "error", type(e).__name__, f"cannot start {argv[0]!r}: {e}")
    outcome = _judge(spec, ctx.job_id, ended, work_dir)
    _store_artifacts(spec, ctx, work_dir)
    return outcome


def _judge(spec: CommandSpec, job_id: str, ended: _Exit, work_dir: Path) -> dict[str, Any]:
    """The outcome of a finished program: its exit, then the files it left."""
    code = ended.returncode
    if ended.timed_out:
        message = f"job ran past timeout_s={spec.timeout_s:g} and its process group was killed"
        return _failure(
            job_id, "timeout", "timeout", _with_tail(message, _stderr_tail(work_dir / STDERR_FILE))
        )
    if code < 0:
        message = f"command killed by {_signal_name(-code)}"
        return _failure(
            job_id, "crashed", "crashed", _with_tail(message, _stderr_tail(work_dir / STDERR_FILE))
        )
    if code > 0:
        message = f"command exited with code {code}"
        return _failure(
            job_id,
            "error",
            "CommandFailed",
            _with_tail(message, _stderr_tail(work_dir / STDERR_FILE)),
        )
    outcome: dict[str, Any] = {"job_id": job_id, "status": "ok", "duration_s": 0.0}
    try:
        if spec.metrics_from is not None:
            outcome["metrics"] = _metrics_from(work_dir, spec.metrics_from)
        result = None
        if spec.result_from is not None:
            result = _read_json(work_dir, spec.result_from, "result_from")
        if spec.verify_evidence is not None:
            if result is not None and not isinstance(result, dict):
                raise OutputFileError(
                    "result_from must give a JSON object when verify_evidence is set"
                )
            result = {**(result or {}), **_evidence(work_dir, spec.verify_evidence)}
    except OutputFileError as e:
        return _failure(job_id, "error", "OutputFileError", str(e))
    if result is not None:
        outcome["result"] = result
    return outcome


# -- the driver's clean-up -----------------------------------------------------------------


def _session_members(sid: int, since_ticks: int) -> list[int]:
    """Live processes of session ``sid`` started no earlier than its leader did."""
    members: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return members
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and int(fields[19]) >= since_ticks and fields[0] != "Z":
            members.append(int(entry))
    return members


def kill_leftovers(work_dir: Path) -> int:
    """Kill what a command job left running when its worker died under it (Ctrl-C, a crash,
    the executor's timeout): the processes of the session named by its marker file, if on
    this host. Returns how many were killed."""
    marker = work_dir / MARKER_FILE
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return 0
    killed = 0
    if recorded.get("host") == socket.gethostname() and isinstance(recorded.get("ticks"), int):
        for pid in _session_members(int(recorded["sid"]), recorded["ticks"]):
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
    marker.unlink(missing_ok=True)
    return killed
