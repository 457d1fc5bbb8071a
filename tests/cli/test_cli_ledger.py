"""The `sweepledger` ledger commands as real subprocesses: output, exit codes, user errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CliRunner
from ledger_helpers import LIVE, example_events, snapshot

from ledger import Ledger


def one_error_line(stderr: bytes) -> str:
    text = stderr.decode()
    assert text.endswith("\n") and text.count("\n") == 1, text
    assert "Traceback" not in text
    return text


@pytest.mark.parametrize(
    "args",
    [["head"], ["log"], ["log", "--json"], ["verify"], ["verify", "--json"], ["repair"], ["seal"]],
)
def test_read_commands_on_missing_ledger_exit_2(
    tmp_path: Path, cli: CliRunner, args: list[str]
) -> None:
    done = cli(*args, root=tmp_path / "missing")
    assert done.returncode == 2 and done.stdout == b""
    assert "no ledger" in one_error_line(done.stderr)
    assert not (tmp_path / "missing").exists()


def test_init_writes_no_event_and_head_is_genesis(tmp_path: Path, cli: CliRunner) -> None:
    root = tmp_path / "root"
    done = cli("init", root=root)
    assert done.returncode == 0
    assert (root / LIVE).read_bytes() == b""
    head = cli("head", root=root)
    assert (head.returncode, head.stdout) == (0, b"0:" + b"0" * 64 + b"\n")
    assert cli("log", "--json", root=root).stdout == b""
    verify = json.loads(cli("verify", "--json", root=root).stdout)
    assert verify["ok"] and verify["events_checked"] == 0 and verify["head"] == "0:" + "0" * 64


def test_append_creates_ledger_and_prints_receipt(tmp_path: Path, cli: CliRunner) -> None:
    root = tmp_path / "new"
    done = cli(
        "append", "x.note", "--data", '{"text": "hi"}', "--batch", "b", "--key", "k", root=root
    )
    assert done.returncode == 0, done.stderr
    seq, digest = done.stdout.decode().strip().split(":")
    assert seq == "1" and len(digest) == 64
    assert cli("head", root=root).stdout.decode().strip() == f"1:{digest}"
    event = next(Ledger.open(root).read())
    assert (event.type, event.data, event.batch, event.key) == ("x.note", {"text": "hi"}, "b", "k")
    data_file = tmp_path / "payload.json"
    data_file.write_text('{"text": "from file"}')
    done = cli("append", "x.note", "--data", f"@{data_file}", "--cause", "1", root=root)
    assert done.returncode == 0 and done.stdout.startswith(b"2:")
    assert list(Ledger.open(root).read())[1].cause == 1


def test_log_json_prints_lines_exactly_as_stored(tmp_path: Path, cli: CliRunner) -> None:
    opened = Ledger.open(tmp_path / "root", create=True)
    opened.append([*example_events(6, batch="b1"), {"type": "x.other", "data": {"u": "😀"}}])
    done = cli("log", "--json", root=opened.root)
    assert done.stdout == (opened.root / LIVE).read_bytes()
    lines = (opened.root / LIVE).read_bytes().splitlines(keepends=True)
    assert cli("log", "--json", "--since", "5", root=opened.root).stdout == b"".join(lines[5:])
    assert cli("log", "--json", "--type", "x.other", root=opened.root).stdout == lines[6]
    assert cli("log", "--json", "--batch", "b1", root=opened.root).stdout == b"".join(lines[:6])
    human = cli("log", root=opened.root)
    assert human.returncode == 0 and len(human.stdout.splitlines()) == 7
    assert b"x.item [b1]" in human.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["append", "x.note", "--data", "{not json"], ["--data", "invalid JSON"]),
        (["append", "x.note", "--data", "@/nonexistent/file.json"], ["--data", "cannot read"]),
        (["append", "no.such.type", "--data", "{}"], ["no.such.type"]),
        (["append", "trial.outcome", "--data", '{"job_id": "j", "status": "ok"}'], ["duration_s"]),
        (
            [
                "append",
                "trial.outcome",
                "--data",
                '{"job_id": "j", "status": "ok", "duration_s": 1, "bogus": 1}',
            ],
            ["bogus"],
        ),
        (
            ["append", "trial.outcome", "--data", '{"job_id": 5, "status": "ok", "duration_s": 1}'],
            ["job_id"],
        ),
        (["append"], ["TYPE"]),
        (["append", "x.a", "--cause", "5"], ["cause"]),
        (["verify", "--anchor", "12:xyz"], ["anchor", "SEQ:HASH"]),
        (["verify", "--anchor", "notananchor"], ["anchor"]),
        (["verify", "--anchor", f"1:{'A' * 64}"], ["anchor"]),
    ],
)
def test_user_errors_exit_2_with_one_line_and_leave_ledger_untouched(
    tmp_path: Path, cli: CliRunner, args: list[str], words: list[str]
) -> None:
    opened = Ledger.open(tmp_path / "root", create=True)
    opened.append(example_events(3))
    before = snapshot(opened.root)
    done = cli(*args, root=opened.root)
    assert done.returncode == 2, done
    line = one_error_line(done.stderr)
    for word in words:
        assert word in line, line
    assert snapshot(opened.root) == before


def test_bad_anchor_file_exits_2(tmp_path: Path, cli: CliRunner) -> None:
    opened = Ledger.open(tmp_path / "root", create=True)
    opened.append(example_events(2))
    bad = tmp_path / "anchor"
    bad.write_text("garbage\n")
    for args in (["--anchor-file", str(bad)], ["--anchor-file", str(tmp_path / "none")]):
        done = cli("verify", *args, root=opened.root)
        assert done.returncode == 2
        one_error_line(done.stderr)


def test_jsonl_bad_line_exits_2_naming_the_line(tmp_path: Path, cli: CliRunner) -> None:
    opened = Ledger.open(tmp_path / "root", create=True)
    opened.append(example_events(3))
    before = snapshot(opened.root)
    good = [json.dumps({"type": "x.j", "data": {"n": n}}) for n in range(500)]
    cases = {
        "bad payload": (json.dumps({"type": "trial.intent", "data": {"job_id": "j"}}), ["index"]),
        "bad json": ("{oops", ["invalid JSON"]),
        "not object": ("[1, 2]", ["object"]),
        "unknown type": (json.dumps({"type": "nope", "data": {}}), ["nope"]),
        "unknown envelope field": (json.dumps({"type": "x.j", "data": {}, "zz": 1}), ["zz"]),
    }
    for name, (bad, words) in cases.items():
        lines = [*good[:300], "", bad, *good[300:]]  # a blank line before it still counts
        source = tmp_path / "in.jsonl"
        source.write_text("\n".join(lines) + "\n")
        done = cli("append", "--jsonl", str(source), root=opened.root)
        assert done.returncode == 2, name
        line = one_error_line(done.stderr)
        assert "line 302" in line, (name, line)
        for word in words:
            assert word in line, (name, line)
        assert done.stdout == b""
        assert snapshot(opened.root) == before, name


def test_jsonl_from_stdin(tmp_path: Path, cli: CliRunner) -> None:
    root = tmp_path / "root"
    payload = "".join(
        json.dumps({"type": "x.s", "data": {"n": n}, "key": f"k{n}"}) + "\n" for n in range(50)
    )
    done = cli("append", "--jsonl", "-", input=payload.encode(), root=root)
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 50
    assert [e.key for e in Ledger.open(root).read()] == [f"k{n}" for n in range(50)]
    bad = cli("append", "--jsonl", "-", input=b'{"type": "x.s"}\n{bad\n', root=root)
    assert bad.returncode == 2 and "stdin line 2" in one_error_line(bad.stderr)


def test_verify_output_and_exit_codes(tmp_path: Path, cli: CliRunner) -> None:
    opened = Ledger.open(tmp_path / "root", create=True)
    receipts = opened.append(example_events(5))
    done = cli("verify", root=opened.root)
    assert done.returncode == 0
    assert done.stdout.decode() == f"ok: 5 events checked, head 5:{receipts[-1].hash}\n"
    report = json.loads(
        cli("verify", "--json", "--anchor", f"2:{receipts[1].hash}", root=opened.root).stdout
    )
    assert {
        "ok",
        "events_checked",
        "head",
        "first_bad_seq",
        "problem",
        "location",
        "warnings",
    } <= set(report)
    assert report["ok"] and report["first_bad_seq"] is None
    lines = (opened.root / LIVE).read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"item 2", b"item X")
    (opened.root / LIVE).write_bytes(b"".join(lines))
    damaged = cli("verify", root=opened.root)
    assert damaged.returncode == 1 and damaged.stdout.startswith(b"DAMAGED: seq 3:")
    assert cli("seal", root=opened.root).returncode == 1  # damaged ledgers are not sealed


def test_repair_and_seal_commands(tmp_path: Path, cli: CliRunner) -> None:
    opened = Ledger.open(tmp_path / "root", create=True)
    opened.append(example_events(5))
    assert cli("repair", root=opened.root).stdout == b"nothing to repair\n"
    done = cli("seal", root=opened.root)
    assert done.returncode == 0 and b"sealed seq 1..5" in done.stdout
    assert cli("verify", "--deep", root=opened.root).returncode == 0
    assert cli("log", "--json", root=opened.root).stdout.count(b"\n") == 6
