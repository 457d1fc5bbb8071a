"""Command jobs: real child processes run through ``sweepledger run`` (in-process CLI, real
workers), their templates, env overlay, exits, signals, timeouts, output files and artifacts."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from runner_fixtures import assert_every_intent_answered, by_name, cli, events, no_runner_env

from commands.runner.command_job import MARKER_FILE, kill_leftovers
from commands.runner.manifest import load_manifest
from ledger import Ledger
from ledger.processes import pid_started
from schemas import ManifestInvalid

__all__ = ["no_runner_env"]

PY = sys.executable

# The program the tests run: ``tool.py ACTION WORK_DIR [ARGS...]``.
TOOL = r"""
import json, os, signal, subprocess, sys, time

action, work_dir, *rest = sys.argv[1:]
out = os.path.join(work_dir, "out.json")
if action == "echo":        # argv and chosen env vars as the result, a metric
    names = [a[4:] for a in rest if a.startswith("env:")]
    body = {"argv": sys.argv[1:], "env": {n: os.environ.get(n) for n in names},
            "cwd": os.getcwd(), "value": 1.5, "flag": True, "bad": float("inf")}
    json.dump(body, open(out, "w"))
    print("to stdout")
elif action == "fail":      # lots of stderr, then a recognisable tail, then exit 3
    sys.stderr.write("x" * 10000 + "\nTHE END\n")
    sys.exit(3)
elif action == "sigkill":
    os.kill(os.getpid(), signal.SIGKILL)
elif action == "spawn":     # a grandchild, its pid written down, then hang
    child = subprocess.Popen(["sleep", "60"])
    open(os.path.join(work_dir, "grandchild.pid"), "w").write(str(child.pid))
    time.sleep(60)
elif action == "write":     # write ARG as the text of out.json
    open(out, "w").write(rest[0])
elif action == "files":     # a few files for artifact globbing
    os.makedirs(os.path.join(work_dir, "mc"), exist_ok=True)
    for name, text in (("mc/a.json", "{}"), ("mc/b.json", "[1]"), ("mc/skip.txt", "s")):
        open(os.path.join(work_dir, name), "w").write(text)
    json.dump({"n": 3}, open(out, "w"))
elif action == "evidence":  # an evidence pack, intact or not
    pack = os.path.join(work_dir, "pack")
    os.makedirs(pack, exist_ok=True)
    open(os.path.join(pack, "manifest.json"), "w").write("{}")
    open(os.path.join(pack, "data.txt"), "w").write("data")
    import hashlib
    digest = hashlib.sha256(b"data" if rest[0] == "good" else b"other").hexdigest()
    sums = [digest + "  data.txt", hashlib.sha256(b"{}").hexdigest() + "  manifest.json"]
    open(os.path.join(pack, "SHA256SUMS"), "w").write("\n".join(sums) + "\n")
    json.dump({"n": 1}, open(out, "w"))
elif action == "needs":     # ok only once the file ARG exists
    if not os.path.exists(rest[0]):
        sys.exit("not yet")
    json.dump({"n": 2}, open(out, "w"))
"""


def _manifest(folder: Path, body: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tool.py").write_text(TOOL, encoding="utf-8")
    path = folder / "manifest.yaml"
    path.write_text(yaml.safe_dump({"name": "cmd", **body}, sort_keys=False), encoding="utf-8")
    return path


def _run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: dict[str, Any], *args: str
) -> tuple[int, str, Path]:
    path = _manifest(tmp_path / "m", body)
    root = tmp_path / "root"
    argv = ["--root", str(root), "run", str(path), "--batch-id", "b", *args]
    code, _, err = cli(argv, capsys)
    return code, err, root


def _intents(root: Path, batch: str = "b") -> dict[str, dict[str, Any]]:
    return {e.data["name"]: e.data for e in events(root, batch) if e.type.endswith(".intent")}


def _literal(text: str) -> str:
    """``text`` as a template that renders to itself."""
    return text.replace("{", "{{").replace("}", "}}")


def _gone(pid: int, within_s: float = 5.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if pid_started(pid) is None:  # no such process, or a zombie waiting for its reaper
            return True
        time.sleep(0.05)
    return False


def test_templates_render_params_seed_and_work_dir_and_env_is_recorded_and_seen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    body = {
        "command": [PY, "tool.py", "echo", "{work_dir}", "{x}", "{flag}", "{seed}", "{name}",
                    "{index}", "{job_id}", "{batch}", "{{literal}}", "env:HEDGE", "env:N"],
        "env": {"HEDGE": "band={x}", "N": 4},
        "result_from": "out.json",
        "metrics_from": "out.json",
        "jobs": [{"name": "first", "params": {"x": 0.1, "flag": True}},
                 {"name": "second", "params": {"x": 1e-05, "flag": False}}],
        "config": {"workers": 2, "seed": 7},
    }  # fmt: skip
    code, _, root = _run(tmp_path, capsys, body)
    assert code == 0
    intents, outcomes = _intents(root), by_name(root, "b")
    for name, x, flag in (("first", "0.1", "true"), ("second", "1e-05", "false")):
        intent, outcome = intents[name], outcomes[name]
        work_dir = str(root.resolve() / "work" / "b" / intent["job_id"])
        expected = ["echo", work_dir, x, flag, str(intent["seed"]), name, str(intent["index"]),
                    intent["job_id"], "b", "{literal}", "env:HEDGE", "env:N"]  # fmt: skip
        assert intent["callable"] is None
        assert intent["command"] == [PY, "tool.py", *expected]
        assert intent["env"] == {"HEDGE": f"band={x}", "N": "4"}
        assert outcome["status"] == "ok"
        assert outcome["result"]["argv"] == expected  # what ran is what the intent says
        assert outcome["result"]["env"] == {"HEDGE": f"band={x}", "N": "4"}
        assert outcome["result"]["cwd"] == str((tmp_path / "m").resolve())
        # numbers become metrics (bools and strings do not); infinity is null + non_finite
        assert outcome["metrics"] == {"value": 1.5, "bad": None}
        assert outcome["non_finite"] == ["metrics.bad", "result.bad"]
    stdout = [e.data for e in events(root, "b") if e.type == "artifact.recorded"]
    assert {a["name"] for a in stdout} == {"stdout.txt"}  # an empty stderr is not stored
    blob = Ledger.open(root).blobs.read(stdout[0]["sha256"])
    assert blob == b"to stdout\n"


def test_a_param_value_is_one_argument_never_shell_syntax(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    victim = tmp_path / "pwned"
    nasty = f"; touch {victim} && echo $(touch {victim}) `touch {victim}` | rm -rf /"
    body = {
        "command": [PY, "tool.py", "echo", "{work_dir}", "{v}"],
        "result_from": "out.json",
        "jobs": [{"name": "j", "params": {"v": nasty}}],
    }
    code, _, root = _run(tmp_path, capsys, body)
    assert code == 0
    assert by_name(root, "b")["j"]["result"]["argv"][2] == nasty
    assert not victim.exists()


def test_shell_true_runs_one_script_with_sh(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    body = {
        "command": "printf '{{\"n\": %s}}' {n} > {work_dir}/out.json && echo piped | cat",
        "shell": True,
        "metrics_from": "out.json",
        "jobs": [{"name": "j", "params": {"n": 4}}],
    }
    code, _, root = _run(tmp_path, capsys, body)
    assert code == 0
    intent = _intents(root)["j"]
    assert intent["command"][:2] == ["/bin/sh", "-c"] and "'{\"n\": %s}' 4 " in intent["command"][2]
    assert by_name(root, "b")["j"]["metrics"] == {"n": 4.0}


def test_non_zero_exit_is_an_error_with_the_stderr_tail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    body = {"command": [PY, "tool.py", "fail", "{work_dir}"], "jobs": [{"name": "j"}]}
    code, _, root = _run(tmp_path, capsys, body)
    assert code == 1
    outcome = by_name(root, "b")["j"]
    assert outcome["status"] == "error"
    assert outcome["error"]["type"] == "CommandFailed"
    message = outcome["error"]["message"]
    assert message.startswith("command exited with code 3; stderr (last 4 KiB):\n...")
    assert message.endswith("THE END\n") and len(message) < 4096 + 100
    names = [e.data["name"] for e in events(root, "b") if e.type == "artifact.recorded"]
    assert names == ["stderr.txt"]  # kept whatever the status
    assert len(outcome["artifacts"]) == 1


def test_killed_by_a_signal_is_crashed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    body = {"command": [PY, "tool.py", "sigkill", "{work_dir}"], "jobs": [{"name": "j"}]}
    code, _, root = _run(tmp_path, capsys, body)
    assert code == 1
    outcome = by_name(root, "b")["j"]
    assert outcome["status"] == "crashed"
    assert outcome["error"]["message"] == "command killed by SIGKILL"


@pytest.mark.parametrize("executor", ["process", "thread"])
def test_timeout_kills_the_whole_process_group(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None, executor: str
) -> None:
    body = {
        "command": [PY, "tool.py", "spawn", "{work_dir}"],
        "jobs": [{"name": "j"}],
        "config": {"timeout_s": 1.0, "executor": executor},
    }
    started = time.monotonic()
    code, _, root = _run(tmp_path, capsys, body)
    assert code == 1 and time.monotonic() - started < 20
    outcome = by_name(root, "b")["j"]
    assert outcome["status"] == "timeout"
    assert "its process group was killed" in outcome["error"]["message"]
    work_dir = root / "work" / "b" / outcome["job_id"]
    grandchild = int((work_dir / "grandchild.pid").read_text())
    assert _gone(grandchild), "the command's child outlived the timeout"
    assert not (work_dir / MARKER_FILE).exists()


@pytest.mark.parametrize(
    ("text", "spec", "expected"),
    [
        (None, "out.json", "metrics_from out.json: the file is missing"),
        ("{not json", "out.json", "metrics_from out.json: not JSON"),
        ('{"a": 1}', {"path": "out.json", "key": "mc.summary"}, "no key 'mc.summary'"),
        ("[1, 2]", "out.json", "expected a JSON object, got list"),
    ],
)
def test_a_bad_metrics_file_is_an_error_naming_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    no_runner_env: None,
    text: str | None,
    spec: Any,
    expected: str,
) -> None:
    command = [PY, "tool.py", "write", "{work_dir}", _literal(text)] if text else [PY, "-c", "pass"]
    body = {"command": command, "metrics_from": spec, "jobs": [{"name": "j"}]}
    code, _, root = _run(tmp_path, capsys, body)
    assert code == 1
    outcome = by_name(root, "b")["j"]
    assert outcome["status"] == "error"
    assert outcome["error"]["type"] == "OutputFileError"
    assert expected in outcome["error"]["message"]


def test_metrics_and_result_from_a_key_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    text = '{"mc": {"summary": {"mean_pnl": 4.5, "runs": 50, "tier": "x"}}, "other": [1]}'
    body = {
        "command": [PY, "tool.py", "write", "{work_dir}", _literal(text)],
        "metrics_from": {"path": "out.json", "key": "mc.summary"},
        "result_from": {"path": "out.json", "key": "other"},
        "jobs": [{"name": "j"}],
    }
    code, _, root = _run(tmp_path, capsys, body)
    assert code == 0
    outcome = by_name(root, "b")["j"]
    assert outcome["metrics"] == {"mean_pnl": 4.5, "runs": 50.0}
    assert outcome["result"] == [1]


def test_artifacts_are_globbed_stored_and_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    body = {
        "command": [PY, "tool.py", "files", "{work_dir}"],
        "artifacts": ["mc/*.json", "out.json", "mc/a.json", "nothing/*"],
        "jobs": [{"name": "j"}],
    }
    code, _, root = _run(tmp_path, capsys, body)
    assert code == 0
    recorded = [e.data for e in events(root, "b") if e.type == "artifact.recorded"]
    assert [a["name"] for a in recorded] == ["mc/a.json", "mc/b.json", "out.json"]  # once each
    assert recorded[0]["media_type"] == "application/json"
    outcome = by_name(root, "b")["j"]
    assert outcome["artifacts"] == [a["sha256"] for a in recorded]
    blobs = Ledger.open(root).blobs
    for artifact, content in zip(recorded, (b"{}", b"[1]", b'{"n": 3}'), strict=True):
        assert artifact["sha256"] == hashlib.sha256(content).hexdigest()
        assert blobs.read(artifact["sha256"]) == content


@pytest.mark.parametrize(("pack", "verified"), [("good", True), ("bad", False)])
def test_verify_evidence_sets_evidence_verified(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    no_runner_env: None,
    pack: str,
    verified: bool,
) -> None:
    body = {
        "command": [PY, "tool.py", "evidence", "{work_dir}", pack],
        "result_from": "out.json",
        "verify_evidence": "pack",
        "jobs": [{"name": "j"}],
    }
    code, _, root = _run(tmp_path, capsys, body)
    assert code == 0  # a failed pack is a fact about the result, not a failed job
    result = by_name(root, "b")["j"]["result"]
    assert result["n"] == 1 and result["evidence_verified"] is verified
    if not verified:
        assert result["evidence_problems"] == ["data.txt: sha256 mismatch"]


def test_a_missing_evidence_pack_is_not_verified(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    body = {"command": [PY, "-c", "pass"], "verify_evidence": "pack", "jobs": [{"name": "j"}]}
    code, _, root = _run(tmp_path, capsys, body)
    assert code == 0
    assert by_name(root, "b")["j"]["result"]["evidence_verified"] is False


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"command": [PY, "{nope}"]}, "job 'j': command '{nope}': unknown template name {nope}"),
        ({"command": [PY], "env": {"A": "{nope}"}}, "unknown template name {nope}"),
        ({"command": [PY, "{x.real}"]}, "only plain names are allowed"),
        ({"command": [PY, "{}"]}, "positional field"),
        ({"command": [PY, "{seed:d}"]}, "Unknown format code 'd'"),
        ({"command": [PY, "{x"]}, "expected '}' before end of string"),
        ({"command": [PY, "{seed}"], "params": {"seed": 1}}, "both a param and the job's seed"),
        ({"command": [PY], "callable": "m:f"}, "give exactly one of callable and command"),
        ({"command": "echo hi"}, "command must be a list of arguments (or set shell: true)"),
        ({"command": ["echo"], "shell": True}, "command must be one string with shell: true"),
        ({"command": []}, "command must not be empty"),
        ({"callable": "m:f", "env": {"A": "1"}}, "env is only allowed with command"),
        ({"command": [PY], "env": {"A=B": "1"}}, "'A=B' is not a valid variable name"),
        ({"command": [PY], "artifacts": ["../*"]}, "artifacts: '../*' must be a path inside"),
        ({"command": [PY], "metrics_from": "/etc/passwd"}, "metrics_from: '/etc/passwd' must"),
        (
            {"command": [PY], "metrics_from": {"key": "a"}},
            "metrics_from.path: required key is missing",
        ),
    ],
)
def test_bad_command_manifests_exit_2_with_the_ledger_untouched(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    no_runner_env: None,
    body: dict[str, Any],
    expected: str,
) -> None:
    root = tmp_path / "root"
    Ledger.open(root, create=True)  # an existing ledger stays exactly as it was
    before = sorted((p.relative_to(root), p.read_bytes()) for p in root.rglob("*") if p.is_file())
    code, err, _ = _run(tmp_path, capsys, {"jobs": [{"name": "j", "params": {"x": 1}}], **body})
    assert code == 2
    assert expected in err and len(err.strip().splitlines()) == 1, err
    after = sorted((p.relative_to(root), p.read_bytes()) for p in root.rglob("*") if p.is_file())
    assert after == before


def test_job_ids_cover_the_command_and_its_env(tmp_path: Path) -> None:
    def ids(**body: Any) -> str:
        path = _manifest(tmp_path / str(len(list(tmp_path.iterdir()))), {
            "jobs": [{"name": "j", "params": {"x": 1}}], **body})  # fmt: skip
        return load_manifest(path).jobs[0].job_id

    base = ids(command=[PY, "a"])
    assert base == ids(command=[PY, "a"])
    assert base != ids(command=[PY, "b"])
    assert base != ids(command=[PY, "a"], env={"A": "1"})
    assert base != ids(command=f"{PY} a", shell=True)
    path = tmp_path / "callable.yaml"
    path.write_text(yaml.safe_dump({"name": "c", "callable": "os:getcwd", "jobs": [
        {"name": "j", "params": {"x": 1}}]}))  # fmt: skip
    assert base != load_manifest(path).jobs[0].job_id


def test_resume_reruns_failed_command_jobs_in_a_fresh_work_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    flag = tmp_path / "flag"
    body = {
        "command": [PY, "tool.py", "needs", "{work_dir}", str(flag)],
        "metrics_from": "out.json",
        "matrix": {"axes": {"i": [1, 2, 3]}},
    }
    code, _, root = _run(tmp_path, capsys, body, "--workers", "2")
    assert code == 1 and {o["status"] for o in by_name(root, "b").values()} == {"error"}
    first = by_name(root, "b")["matrix_i1"]
    assert "not yet" in first["error"]["message"]
    flag.write_text("")
    path = tmp_path / "m" / "manifest.yaml"
    argv = ["--root", str(root), "run", str(path), "--resume", "b", "--retry-failed"]
    code, _, _ = cli(argv, capsys)
    assert code == 0
    assert_every_intent_answered(root, "b")
    assert {o["status"] for o in by_name(root, "b").values()} == {"ok"}
    work = root / "work" / "b"
    assert (work / f"{first['job_id']}.previous-1" / "stderr.txt").read_text() == "not yet\n"
    assert (work / first["job_id"] / "stderr.txt").read_text() == ""  # this attempt's own
    # a changed command is refused on resume
    body["command"] = [PY, "tool.py", "needs", "{work_dir}", str(flag), "extra"]
    _manifest(tmp_path / "m", body)
    code, _, err = cli(["--root", str(root), "run", str(path), "--resume", "b"], capsys)
    assert code == 2 and "command" in err and "differs" in err


def test_a_command_that_cannot_start_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    body = {"command": [str(tmp_path / "no-such-program")], "jobs": [{"name": "j"}]}
    code, _, root = _run(tmp_path, capsys, body)
    assert code == 1
    outcome = by_name(root, "b")["j"]
    assert outcome["status"] == "error" and "cannot start" in outcome["error"]["message"]


def test_kill_leftovers_kills_the_session_a_dead_worker_left(tmp_path: Path) -> None:
    """What the driver does after Ctrl-C: the marker names the session; all of it dies."""
    script = "import subprocess, time; subprocess.Popen(['sleep', '60']); time.sleep(60)"
    proc = subprocess.Popen([PY, "-c", script], start_new_session=True)
    try:
        ticks = int(Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        marker = {"host": os.uname().nodename, "sid": proc.pid, "ticks": ticks}
        (tmp_path / MARKER_FILE).write_text(json.dumps(marker))
        deadline = time.monotonic() + 10
        members: list[int] = []
        while len(members) < 2 and time.monotonic() < deadline:  # wait for the grandchild
            members = [p for p in map(int, filter(str.isdigit, os.listdir("/proc")))
                       if _sid(p) == proc.pid]  # fmt: skip
            time.sleep(0.05)
        assert len(members) == 2
        assert kill_leftovers(tmp_path) == 2
        assert proc.wait(5) == -signal.SIGKILL
        assert all(_gone(pid) for pid in members)
        assert not (tmp_path / MARKER_FILE).exists()
        assert kill_leftovers(tmp_path) == 0  # no marker: nothing to do
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _sid(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[3])
    except (OSError, ValueError, IndexError):
        return None


def test_template_check_is_a_manifest_error(tmp_path: Path) -> None:
    path = _manifest(tmp_path, {"command": [PY, "{missing}"], "jobs": [{"name": "j"}]})
    with pytest.raises(ManifestInvalid, match=r"unknown template name \{missing\}"):
        load_manifest(path)


PARITY_JOBS = [
    {"name": "ok", "params": {"do": "echo"}},
    {"name": "fail", "params": {"do": "fail"}},
    {"name": "sigkill", "params": {"do": "sigkill"}},
    {"name": "files", "params": {"do": "files"}},
]


def test_every_executor_records_the_same_command_outcomes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    """Same job ids, statuses, metrics, results (bar paths), errors and artifacts on
    process, thread and (when installed) Ray."""
    executors = ["process", "thread"]
    try:
        import ray
    except ImportError:  # Ray is optional: process and thread are still compared
        ray = None
    if ray is not None:
        executors.append("ray")
        # Ray's workers import this checkout's runner, as the forked workers do.
        repo = str(Path(__file__).resolve().parents[2])
        runtime_env = {"env_vars": {"PYTHONPATH": repo}}
        ray.init(num_cpus=2, include_dashboard=False, configure_logging=False,
                 log_to_driver=False, runtime_env=runtime_env)  # fmt: skip
    body = {
        "command": [PY, "tool.py", "{do}", "{work_dir}"],
        "metrics_from": "out.json",
        "artifacts": ["mc/*"],
        "jobs": PARITY_JOBS,
    }
    path = _manifest(tmp_path / "m", body)
    root = tmp_path / "root"
    try:
        for executor in executors:
            argv = ["--root", str(root), "run", str(path), "--workers", "2",
                    "--executor", executor, "--batch-id", executor]  # fmt: skip
            code, _, err = cli(argv, capsys)
            assert code == 1, err
    finally:
        if ray is not None:
            ray.shutdown()

    def seen(batch: str) -> dict[str, tuple[Any, ...]]:
        rows = {}
        for name, data in by_name(root, batch).items():
            message = (data["error"] or {}).get("message")
            rows[name] = (data["job_id"], data["status"], data["metrics"], data["artifacts"],
                          message)  # fmt: skip
        return rows

    expected = seen("process")
    assert {name: row[1] for name, row in expected.items()} == {
        "ok": "ok", "fail": "error", "sigkill": "crashed", "files": "ok"}  # fmt: skip
    for executor in executors[1:]:
        assert seen(executor) == expected, executor
