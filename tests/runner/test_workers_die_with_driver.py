"""Nothing a batch started outlives a killed driver: after ``kill -9`` of ``sweepledger run``,
its worker processes, command-job programs and their children, the reaper and a local Ray's
processes (GCS, raylet, its agents, the actors) are gone within a few seconds. Real
processes: the driver is the CLI in a subprocess; every process below it is found through
/proc before the kill (a Ray agent's environment is overwritten by its process title, so the
tree, not an environment marker, is what tells this test's processes apart)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLI = (sys.executable, "-c", "import sys; from commands.cli import main; sys.exit(main())")
SURVIVAL_LIMIT_S = 5.0
START_TIMEOUT_S = 120.0

SLEEPY = """
import os, time
from pathlib import Path

def nap(params, ctx):
    Path(params["pid_dir"], str(os.getpid())).write_text(f"{os.getpid()} {os.getppid()}")
    time.sleep(600)
"""

# Writes "pid ppid" (its worker is its parent), then sleeps.
PY_COMMAND = (
    "import os, sys, time; "
    "open(sys.argv[1] + '/' + str(os.getpid()), 'w').write('%d %d' % (os.getpid(), os.getppid())); "
    "time.sleep(600)"
)
# A shell whose child (the background sleep) is a grandchild of the worker.
SHELL_COMMAND = "sleep 600 & echo $! $$ > {pid_dir}/$$; wait"


def _manifest(folder: Path, kind: str, executor: str, pid_dir: Path) -> Path:
    (folder / "sleepy.py").write_text(SLEEPY)
    head = f"name: orphans\nconfig: {{workers: 2, executor: {executor}}}\n"
    head += f"params: {{pid_dir: {str(pid_dir)!r}}}\n"
    if kind == "callable":
        body = "callable: sleepy:nap\n"
    elif kind == "command":
        body = f"command: [{sys.executable!r}, -c, {PY_COMMAND!r}, '{{pid_dir}}']\n"
    else:
        body = f"shell: true\ncommand: {SHELL_COMMAND!r}\n"
    path = folder / "m.yaml"
    path.write_text(head + body + "matrix: {axes: {i: [1, 2]}}\n")
    return path


def _alive(pid: int) -> bool:
    """Running, not a zombie (a dead process its new parent has not reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat.rsplit(b")", 1)[1].split()[0] != b"Z"


def _pids(pid_dir: Path) -> set[int]:
    found: set[int] = set()
    for entry in pid_dir.iterdir():
        text = entry.read_text().split()
        found.update(int(word) for word in text if word.isdigit())
    return found


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (workers, a fork server, commands, their children)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _kill_all(pids: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(
    ("executor", "kind"),
    [
        ("process", "callable"),
        ("process", "command"),
        ("process", "shell"),
        ("thread", "command"),
        ("thread", "shell"),  # the script's background child: killed by the reaper
        ("ray", "command"),  # Ray's agents: killed by the reaper; the actors: lifeline
    ],
)
def test_no_worker_survives_a_killed_driver(tmp_path: Path, executor: str, kind: str) -> None:
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    manifest = _manifest(tmp_path, kind, executor, pid_dir)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with (tmp_path / "driver.log").open("wb") as log:
        driver = subprocess.Popen(
            [*CLI, "--root", str(tmp_path / "root"), "run", str(manifest)],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=log,
        )
    pids: set[int] = set()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not any(pid_dir.iterdir()):
            assert driver.poll() is None, (tmp_path / "driver.log").read_text()
            assert time.monotonic() < deadline, "jobs did not start"
            time.sleep(0.1)
        time.sleep(0.3)  # the files are written: let the shells' children start too
        pids = (_pids(pid_dir) | _descendants(driver.pid)) - {driver.pid}
        assert pids and all(_alive(pid) for pid in pids)
        driver.kill()
        driver.wait()
        deadline = time.monotonic() + SURVIVAL_LIMIT_S
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = sorted(pid for pid in pids if _alive(pid))
        assert not survivors, f"alive {SURVIVAL_LIMIT_S} s after the driver died: {survivors}"
    finally:
        driver.kill()
        driver.wait()
        _kill_all(pids)
