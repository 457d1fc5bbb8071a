"""root, prove, check-proof, keygen, checkpoint and verify --pubkey as real processes.

The processes run this checkout's CLI (``python -c`` with the repository on PYTHONPATH), from a
working directory of the test's choosing: check-proof runs where no ledger exists.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from ledger_helpers import (
    COMMITS,
    commit_record,
    example_events,
    live_lines,
    read_only,
    relink,
    snapshot,
    stored_hash,
    write_live,
)

from commands.cli import cli
from ledger import Ledger
from ledger.merkle import leaf_hash, root

REPO = Path(__file__).resolve().parents[2]
MAIN = "import sys; from commands.cli import main; sys.exit(main(sys.argv[1:]))"

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    """``run(*args, root=None, cwd=tmp_path)``: the CLI as a process; never raises on exit codes."""

    def call(
        *args: str | Path,
        root: Path | None = None,
        cwd: Path | None = None,
        preexec: Callable[[], None] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-c", MAIN]
        if root is not None:
            argv += ["--root", str(root)]
        env = {k: v for k, v in os.environ.items() if k != "SWEEPLEDGER_ROOT"}
        env["PYTHONPATH"] = str(REPO)
        return subprocess.run(
            [*argv, *map(str, args)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=cwd or tmp_path,
            preexec_fn=preexec,
        )

    return call


def build(root_dir: Path, events: int) -> Ledger:
    ledger = Ledger.open(root_dir, create=True)
    for start in range(0, events, 10):
        ledger.append(example_events(min(10, events - start), start=start))
    return ledger


def lines_of(ledger: Ledger) -> list[bytes]:
    return list(ledger.read_raw())


def signed_ledger(tmp_path: Path, run: Run) -> tuple[Ledger, Path, Path]:
    """25 events, checkpoint (seq 26), 9 more, seal, checkpoint (seq 37, size 36)."""
    done = run("keygen", "--out", tmp_path / "ci")
    assert done.returncode == 0, done.stderr
    ledger = build(tmp_path / "root", 25)
    assert run("checkpoint", "--key", tmp_path / "ci.key", root=ledger.root).returncode == 0
    ledger.append(example_events(9, start=100))
    ledger.seal()
    done = run("checkpoint", "--key", tmp_path / "ci.key", root=ledger.root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("37:")
    return ledger, tmp_path / "ci.key", tmp_path / "ci.pub"


def test_root_prints_size_and_reference_root(tmp_path: Path, run: Run) -> None:
    ledger = build(tmp_path / "root", 17)
    leaves = [leaf_hash(line) for line in lines_of(ledger)]
    done = run("root", root=ledger.root)
    assert (done.returncode, done.stdout) == (0, f"17:{root(leaves).hex()}\n"), done.stderr
    done = run("root", "--at", "5", root=ledger.root)
    assert done.stdout == f"5:{root(leaves[:5]).hex()}\n"
    done = run("root", "--at", "18", root=ledger.root)
    assert done.returncode == 2 and "head is 17" in done.stderr


def test_root_and_prove_on_a_read_only_root_write_nothing(tmp_path: Path, run: Run) -> None:
    """Someone else's ledger: the tree is built privately; the answers are the same."""
    ledger = build(tmp_path / "root", 13)
    leaves = [leaf_hash(line) for line in lines_of(ledger)]
    before = snapshot(ledger.root)
    with read_only(ledger.root) as preexec:
        tree = run("root", root=ledger.root, preexec=preexec)
        proof = run("prove", "6", "--json", root=ledger.root, preexec=preexec)
        refused = run("append", "x.a", "--data", "{}", root=ledger.root, preexec=preexec)
    assert (tree.returncode, tree.stdout) == (0, f"13:{root(leaves).hex()}\n"), tree.stderr
    assert proof.returncode == 0, proof.stderr
    assert json.loads(proof.stdout)["root"] == root(leaves).hex()
    assert refused.returncode == 2  # the modes really bound the child
    assert snapshot(ledger.root) == before and not (ledger.root / "merkle").exists()
    (tmp_path / "proof.json").write_text(proof.stdout)
    assert run("check-proof", tmp_path / "proof.json").returncode == 0


def test_keygen_refuses_to_overwrite(tmp_path: Path, run: Run) -> None:
    assert run("keygen", "--out", tmp_path / "k").returncode == 0
    key = (tmp_path / "k.key").read_bytes()
    assert (tmp_path / "k.key").stat().st_mode & 0o777 == 0o600
    done = run("keygen", "--out", tmp_path / "k")
    assert done.returncode == 2 and "refusing to overwrite" in done.stderr
    assert (tmp_path / "k.key").read_bytes() == key


def test_verify_pubkey_passes_then_catches_consistent_forgery(tmp_path: Path, run: Run) -> None:
    done = run("keygen", "--out", tmp_path / "ci")
    ledger = build(tmp_path / "root", 20)
    assert run("checkpoint", "--key", tmp_path / "ci.key", root=ledger.root).returncode == 0
    ledger.append(example_events(3, start=100))
    done = run("verify", "--pubkey", tmp_path / "ci.pub", root=ledger.root)
    assert done.returncode == 0 and "1 checkpoints signed by key" in done.stdout, done.stdout
    # Rewrite event 4's data and re-chain everything after it, commit log included.
    lines = live_lines(ledger.root)
    prev = stored_hash(lines[2])
    for index in range(3, len(lines)):
        line = lines[index]
        if index == 3:
            line = line.replace(b'"text":"item', b'"text":"ITEM')
        lines[index] = relink(line, prev)
        prev = stored_hash(lines[index])
    write_live(ledger.root, lines)
    (ledger.root / COMMITS).write_bytes(commit_record(len(lines), prev))
    assert run("verify", root=ledger.root).returncode == 0
    done = run("verify", "--pubkey", tmp_path / "ci.pub", "--json", root=ledger.root)
    report = json.loads(done.stdout)
    assert (done.returncode, report["ok"], report["first_bad_seq"]) == (1, False, 21), report
    assert "checkpoint seq 21" in report["problem"]


def test_verify_with_wrong_key_fails_naming_it(tmp_path: Path, run: Run) -> None:
    ledger, _, _ = signed_ledger(tmp_path, run)
    run("keygen", "--out", tmp_path / "stranger")
    done = run("verify", "--pubkey", tmp_path / "stranger.pub", "--json", root=ledger.root)
    report = json.loads(done.stdout)
    assert done.returncode == 1 and report["key_id"] in report["problem"]
    done = run("verify", "--pubkey", tmp_path / "stranger.pub", root=ledger.root)
    assert done.returncode == 1 and "no checkpoint is signed by key" in done.stdout


def test_sealed_checkpoints_verify(tmp_path: Path, run: Run) -> None:
    ledger, _, public = signed_ledger(tmp_path, run)
    done = run("verify", "--deep", "--pubkey", public, "--json", root=ledger.root)
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["checkpoints_checked"] == 2, report


def proof_file(run: Run, ledger: Ledger, where: Path, *args: str) -> Path:
    done = run("prove", *args, "--json", root=ledger.root)
    assert done.returncode == 0, done.stderr
    where.mkdir(exist_ok=True)
    path = where / "proof.json"
    path.write_text(done.stdout)
    return path


def test_inclusion_proof_checks_without_the_ledger(tmp_path: Path, run: Run) -> None:
    ledger, _, public = signed_ledger(tmp_path, run)
    elsewhere = tmp_path / "auditor"
    path = proof_file(run, ledger, elsewhere, "7")
    proof = json.loads(path.read_text())
    assert (proof["seq"], proof["size"], proof["checkpoint"]["seq"]) == (7, 36, 37)
    lines = lines_of(ledger)
    leaves = [leaf_hash(line) for line in lines]
    assert proof["leaf_hash"] == leaves[6].hex()
    assert proof["root"] == root(leaves[:36]).hex()
    (elsewhere / "event.jsonl").write_bytes(lines[6] + b"\n")
    (elsewhere / "ci.pub").write_bytes(public.read_bytes())
    ledger_gone = tmp_path / "root-moved"
    ledger.root.rename(ledger_gone)  # nothing of the ledger is reachable any more
    done = run(
        "check-proof", "proof.json", "--pubkey", "ci.pub", "--line", "event.jsonl", cwd=elsewhere
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "checkpoint seq 37 (size 36) signed by key" in done.stdout


@pytest.mark.parametrize("field", ["leaf_hash", "path", "root", "signature", "seq", "size"])
def test_flipped_byte_in_proof_fails(tmp_path: Path, run: Run, field: str) -> None:
    ledger, _, public = signed_ledger(tmp_path, run)
    path = proof_file(run, ledger, tmp_path / "auditor", "7")
    proof: dict[str, Any] = json.loads(path.read_text())
    if field == "path":
        proof["path"][1] = _flip_hex(proof["path"][1])
    elif field == "signature":
        proof["checkpoint"]["signature"] = _flip_hex(proof["checkpoint"]["signature"])
    elif field in ("seq", "size"):
        proof[field] = proof[field] ^ 1
    else:
        proof[field] = _flip_hex(proof[field])
    path.write_text(json.dumps(proof))
    done = run("check-proof", path, "--pubkey", public, cwd=tmp_path / "auditor")
    assert done.returncode == 1, done.stdout
    assert done.stdout.startswith("INVALID: ")


def _flip_hex(text: str) -> str:
    """``text`` with its 11th hex digit's lowest bit flipped (still lowercase hex)."""
    digit = int(text[10], 16) ^ 1
    return text[:10] + f"{digit:x}" + text[11:]


def test_raw_byte_flips_in_proof_file_fail(tmp_path: Path, run: Run) -> None:
    ledger, _, public = signed_ledger(tmp_path, run)
    path = proof_file(run, ledger, tmp_path / "auditor", "3")
    original = path.read_bytes()
    # The checkpoint's seq is a label for people, outside the signed text: flips there pass.
    label = original.index(b'"seq": ', original.index(b'"checkpoint"'))
    unsigned = range(label, original.index(b"}", label))
    for offset in [*range(0, len(original), max(1, len(original) // 23)), len(original) - 3]:
        if offset in unsigned:
            continue
        data = bytearray(original)
        data[offset] ^= 0x01
        path.write_bytes(bytes(data))
        done = run("check-proof", path, "--pubkey", public)
        if json.dumps(_loads_or_none(bytes(data))) == json.dumps(_loads_or_none(original)):
            continue  # a flip that does not change the document (e.g. in whitespace)
        assert done.returncode == 1, (offset, done.stdout, done.stderr)


def _loads_or_none(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def test_wrong_line_and_wrong_key_fail(tmp_path: Path, run: Run) -> None:
    ledger, _, _ = signed_ledger(tmp_path, run)
    path = proof_file(run, ledger, tmp_path / "auditor", "7")
    (tmp_path / "other.jsonl").write_bytes(lines_of(ledger)[7] + b"\n")
    done = run("check-proof", path, "--line", tmp_path / "other.jsonl")
    assert done.returncode == 1 and "event 8" in done.stdout
    run("keygen", "--out", tmp_path / "stranger")
    done = run("check-proof", path, "--pubkey", tmp_path / "stranger.pub")
    assert done.returncode == 1 and "not by key" in done.stdout


def test_consistency_between_checkpoints(tmp_path: Path, run: Run) -> None:
    ledger, _, public = signed_ledger(tmp_path, run)
    path = proof_file(run, ledger, tmp_path / "auditor", "--consistency", "25", "36")
    proof = json.loads(path.read_text())
    assert (proof["old_checkpoint"]["seq"], proof["new_checkpoint"]["seq"]) == (26, 37)
    done = run("check-proof", path, "--pubkey", public)
    assert done.returncode == 0, done.stdout
    assert done.stdout.count("signed by key") == 2
    # The first checkpoint as printed by `log --json`, given explicitly.
    log = run("log", "--type", "ledger.checkpoint", "--json", root=ledger.root)
    (tmp_path / "cp.json").write_text(log.stdout.splitlines()[0])
    done = run("check-proof", path, "--pubkey", public, "--checkpoint", tmp_path / "cp.json")
    assert done.returncode == 0 and "checkpoint seq 26 (size 25)" in done.stdout, done.stdout
    proof["old_root"] = _flip_hex(proof["old_root"])
    path.write_text(json.dumps(proof))
    done = run("check-proof", path, "--pubkey", public)
    assert done.returncode == 1, done.stdout


def test_prove_defaults_to_latest_checkpoint_then_head(tmp_path: Path, run: Run) -> None:
    ledger = build(tmp_path / "root", 12)
    done = run("prove", "3", "--json", root=ledger.root)
    assert json.loads(done.stdout)["size"] == 12
    assert "checkpoint" not in json.loads(done.stdout)
    run("keygen", "--out", tmp_path / "ci")
    run("checkpoint", "--key", tmp_path / "ci.key", root=ledger.root)
    ledger.append(example_events(4, start=40))
    proof = json.loads(run("prove", "3", "--json", root=ledger.root).stdout)
    assert (proof["size"], proof["checkpoint"]["seq"]) == (12, 13)
    proof = json.loads(run("prove", "3", "--size", "17", "--json", root=ledger.root).stdout)
    assert proof["size"] == 17 and "checkpoint" not in proof
    done = run("prove", "13", "--size", "12", root=ledger.root)
    assert done.returncode == 2 and "not in the tree of size 12" in done.stderr


def test_usage_errors_exit_2() -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["prove"]).exit_code == 2
    assert runner.invoke(cli, ["prove", "3", "--consistency", "1", "2"]).exit_code == 2
    assert runner.invoke(cli, ["check-proof", "x.json", "--checkpoint", "c.json"]).exit_code == 2
