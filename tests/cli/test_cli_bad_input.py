"""Every bad input found by fault and fuzz testing is a clean error: one line on stderr, exit 2
(no traceback, no "internal error"), the ledger untouched. Environment failures (the file size
limit, a read-only root) run as real subprocesses, where they can be produced."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ledger_helpers import read_only
from projection_fixtures import run_main

from ledger import Ledger

REPO = Path(__file__).resolve().parents[2]
CLI = (sys.executable, "-c", "import sys; from commands.cli import main; sys.exit(main())")
DEEP = "[" * 100_000 + "]" * 100_000
BIG = "1234567890123456789"  # 19 digits: the line goes to the standard library's parser

Setup = Callable[[Path], list[str]]


def _deep_data(tmp: Path) -> list[str]:
    return ["append", "x.a", "--data", '{"a":' + DEEP + "}"]


def _deep_jsonl(tmp: Path) -> list[str]:
    path = tmp / "deep.jsonl"
    path.write_text('{"type":"x.a","data":{"n":' + BIG + ',"a":' + DEEP + "}}\n")
    return ["append", "--jsonl", str(path)]


def _jsonl_surrogate(tmp: Path) -> list[str]:
    path = tmp / "s.jsonl"
    path.write_text('{"type":"x.a","batch":"\\ud800","data":{"n":' + BIG + "}}\n")
    return ["append", "--jsonl", str(path)]


def _manifest(text: bytes) -> Setup:
    def setup(tmp: Path) -> list[str]:
        path = tmp / "m.yaml"
        path.write_bytes(text)
        return ["run", str(path)]

    return setup


def _anchor_file(tmp: Path) -> list[str]:
    path = tmp / "anchor"
    path.write_bytes(b"\xff\xfe")
    return ["verify", "--anchor-file", str(path)]


def _ingest_batch_id(tmp: Path) -> list[str]:
    run_root = tmp / "runs" / "u1"
    run_root.mkdir(parents=True)
    (run_root / "hypothesis_candidates.json").write_text('{"candidates": []}')
    return ["ingest", "run-roots", str(tmp / "runs"), "--batch-id", "b\udcff"]


BILLION_LAUGHS = (
    b"name: lol\ncallable: m:f\nparams:\n  a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
    + b"".join(
        b"  a%d: &a%d [%s]\n" % (i, i, b", ".join([b"*a%d" % (i - 1)] * 9)) for i in range(1, 10)
    )
)

CASES: dict[str, tuple[Setup, str]] = {
    "deep --data": (_deep_data, "nested deeper than 254 levels"),
    "deep JSONL line with a 19-digit integer": (_deep_jsonl, "nested deeper than 254 levels"),
    "self-referring YAML alias": (
        _manifest(b"name: a\ncallable: m:f\nparams: {p: &a [*a]}\n"),
        "refers to a node inside itself",
    ),
    "manifest jobs a: &a [*a]": (
        _manifest(b"name: a\ncallable: m:f\njobs: &a [*a]\n"),
        "refers to a node inside itself",
    ),
    "billion laughs": (_manifest(BILLION_LAUGHS), "expand past 1,000,000 nodes"),
    "duplicate manifest key": (
        _manifest(b"name: a\ncallable: m:f\nname: b\njobs: [{name: x}]\n"),
        "key 'name' is given twice",
    ),
    "manifest byte 0xff": (_manifest(b"name: a\xff\ncallable: m:f\n"), "not UTF-8"),
    "--batch invalid UTF-8": (
        lambda tmp: ["append", "x.a", "--data", "{}", "--batch", "\udcff"],
        "field 'batch' is not valid UTF-8",
    ),
    "--key encoded surrogate": (
        lambda tmp: ["append", "x.a", "--data", "{}", "--key", "\udced\udca0\udc80"],
        "field 'key' is not valid UTF-8",
    ),
    "--data invalid UTF-8": (
        lambda tmp: ["append", "x.a", "--data", '{"a":"\udcff"}'],
        "--data: not valid UTF-8",
    ),
    "JSONL lone surrogate with a big integer": (_jsonl_surrogate, "lone surrogate"),
    "--anchor-file ff fe": (_anchor_file, "not UTF-8"),
    "ingest --batch-id invalid UTF-8": (_ingest_batch_id, "not UTF-8 text"),
    "type holding a newline": (
        lambda tmp: ["append", "x.a\nb", "--data", "{}"],
        "unknown event type 'x.a\\nb'",
    ),
    "type ending in a newline": (
        lambda tmp: ["append", "x.a\n", "--data", "{}"],
        "unknown event type 'x.a\\n'",
    ),
    "PRAGMA assignment in query": (
        lambda tmp: ["query", "PRAGMA enable_external_access = true"],
        "(SET) statements are refused",
    ),
    "--data @/dev/zero": (
        lambda tmp: ["append", "x.a", "--data", "@/dev/zero"],
        "not a regular file",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: Any, name: str) -> None:
    setup, expected = CASES[name]
    root = tmp_path / "root"
    Ledger.open(root, create=True).append([{"type": "x.seed", "data": {}}])
    before = (root / "ledger.jsonl").read_bytes()
    code, _, err = run_main(capsys, "--root", str(root), *setup(tmp_path))
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert "internal error" not in err and "Traceback" not in err
    assert expected in err, err
    assert (root / "ledger.jsonl").read_bytes() == before
    if name == "PRAGMA assignment in query":
        assert "PRAGMA only" not in err


def test_non_finite_and_duplicates_refused_on_both_paths(tmp_path: Path, capsys: Any) -> None:
    root = tmp_path / "root"
    for text in ['{"a":NaN}', '{"a":1e400}', '{"a":1,"a":2}']:
        code, _, err = run_main(capsys, "--root", str(root), "append", "x.a", "--data", text)
        assert code == 2 and err.startswith("error: --data: "), err
        path = tmp_path / "in.jsonl"
        path.write_text(json.dumps({"type": "x.a"})[:-1] + ',"data":' + text + "}\n")
        code, _, err = run_main(capsys, "--root", str(root), "append", "--jsonl", str(path))
        assert code == 2 and "line 1: " in err, err


# -- the environment: real subprocesses ----------------------------------------------------


def _cli(root: Path, *args: str, preexec: Callable[[], None] | None = None) -> tuple[int, str]:
    result = subprocess.run(
        [*CLI, "--root", str(root), *args],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        preexec_fn=preexec,
        timeout=120,
    )
    return result.returncode, result.stderr


def _small_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


@pytest.mark.parametrize("command", ["append", "seal"])
def test_file_size_limit_is_one_line_naming_the_file(tmp_path: Path, command: str) -> None:
    root = tmp_path / "root"
    ledger = Ledger.open(root, create=True)
    ledger.append([{"type": "x.a", "data": {"pad": "x" * 3000}}])
    args = ["append", "x.a", "--data", json.dumps({"pad": "y" * 3000})]
    if command == "seal":
        ledger.append([{"type": "x.a", "data": {"pad": "z" * 3000}}])
        args = ["seal"]
    code, err = _cli(root, *args, preexec=_small_file_limit)
    assert code == 2, err
    assert err.count("\n") == 1 and "File too large [EFBIG]" in err, err
    assert "ledger.jsonl" in err or "segments/" in err, err
    assert Ledger.open(root).verify().ok


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["append", "x.a", "--data", "{}"], "read-only"),
        (["seal"], "read-only"),
        (["repair"], "read-only"),
        (["rebuild"], "read-only"),
    ],
)
def test_read_only_root_is_reported_as_read_only(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    root = tmp_path / "root"
    Ledger.open(root, create=True).append([{"type": "x.a", "data": {}}])
    with read_only(root) as preexec:
        code, err = _cli(root, *args, preexec=preexec)
    assert code == 2, err
    assert err.count("\n") == 1 and expected in err and "busy" not in err, err
    assert "Permission denied" in err, err
