"""``explain``: the tree of facts behind a seq, a job, a leaderboard segment, a scoreboard cell
and a promotion; unknown targets; ``--proof`` paths that verify (RFC 9162) without the ledger."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from projection_fixtures import run_batch, run_main, scan_jobs

from ledger import Ledger, generate_keys, load_private_key, load_public_key, make_checkpoint, merkle
from ledger.proofs import check_proof
from schemas import NewEvent

REPO = Path(__file__).resolve().parents[2]
GIT = "0123456789abcdef0123456789abcdef01234567"
MANIFEST_SHA = hashlib.sha256(b"manifest").hexdigest()


def _candidate(cid: str, origin: str = "random", parents: list[str] | None = None) -> NewEvent:
    data = {
        "candidate_id": cid,
        "study": "mc",
        "params": {"x": len(cid)},
        "origin": origin,
        "parents": parents or [],
        "generation": 1 if parents else 0,
    }
    return NewEvent(type="candidate.proposed", data=data, key=f"candidate/{cid}")


def _trial(led: Ledger, batch: str, index: int, cid: str, blobs: list[bytes]) -> dict[str, int]:
    """Intent, artifacts (caused by the intent) and outcome of the trial of candidate ``cid``
    (its job id, as ``study`` makes them). Returns the seqs by role."""
    data = {
        "job_id": cid,
        "index": index,
        "name": f"c_{cid}",
        "callable": "commands.workloads.montecarlo:evaluate",
        "params": {"x": len(cid)},
        "seed": 7,
    }
    key = f"trial/{cid}"
    (intent,) = led.append([NewEvent(type="trial.intent", data=data, batch=batch, key=key)])
    shas = [led.blobs.put(blob) for blob in blobs]
    artifacts = [
        NewEvent(
            type="artifact.recorded",
            data={"sha256": sha, "size": len(blob), "name": f"out{i}.bin", "job_id": cid},
            batch=batch,
            key=key,
            cause=intent.seq,
        )
        for i, (sha, blob) in enumerate(zip(shas, blobs, strict=True))
    ]
    result = {
        "job_id": cid,
        "status": "ok",
        "duration_s": 0.5,
        "metrics": {"mean_pnl": 1.5 + index},
        "artifacts": shas,
    }
    outcome = NewEvent(type="trial.outcome", data=result, batch=batch, key=key, cause=intent.seq)
    receipts = led.append([*artifacts, outcome])
    return {"intent": intent.seq, "outcome": receipts[-1].seq, "artifacts": receipts[0].seq}


@pytest.fixture
def study(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """Candidates (c2 a mutation of c0 and c1), a trial batch with artifacts, a scan batch, a
    signed checkpoint, then a promotion decided after it."""
    root = tmp_path / "root"
    led = Ledger.open(root, create=True)
    marks: dict[str, Any] = {}
    marks["c0"], marks["c1"] = (r.seq for r in led.append([_candidate("c0"), _candidate("c1")]))
    (c2,) = led.append([_candidate("c2", "mutation", ["c0", "c1"])])
    marks["c2"] = c2.seq
    started = {
        "name": "mc-trials",
        "manifest": {"name": "mc-trials"},
        "manifest_sha256": MANIFEST_SHA,
        "jobs": 2,
        "executor": "process",
        "workers": 1,
        "code": {"git_commit": GIT, "dirty": False},
    }
    (batch,) = led.append([NewEvent(type="batch.started", data=started, batch="t1")])
    marks["batch"] = batch.seq
    marks["t0"] = _trial(led, "t1", 0, "c0", [b"zero"])
    marks["t2"] = _trial(led, "t1", 1, "c2", [b"alpha", b"beta"])
    users = [
        ("ann", "ok", [_entry("seg-a", 0.5), _entry("seg-b", 0.1)]),
        ("bob", "ok", [_entry("seg-a", 0.2)]),
        ("cat", "ok", [_entry("seg-b", 0.3)]),
    ]
    marks["scans"] = run_batch(led, "s1", scan_jobs(users), kind="scan")
    generate_keys(tmp_path / "ci")
    marks["checkpoint"] = make_checkpoint(led, load_private_key(tmp_path / "ci.key"))
    decided = {
        "study": "mc",
        "tier": "small",
        "candidate_id": "c2",
        "trial_id": "c2",
        "candidate_hash": hashlib.sha256(b"preset").hexdigest(),
        "metrics": {"mean_pnl": 2.5},
        "git_commit": GIT,
    }
    old = {**decided, "candidate_id": "c0", "trial_id": "c0"}
    marks["old_decision"] = led.append([NewEvent(type="promotion.decided", data=old)])[0].seq
    marks["decision"] = led.append([NewEvent(type="promotion.decided", data=decided)])[0].seq
    return root, marks


def _entry(key: str, clv: float) -> dict[str, Any]:
    return {
        "segment_key": key,
        "weighting": "count",
        "denominators": {"weight_used": 1.0, "count_used": 2.0},
        "metrics": {"avg_clv_pct": clv, "beat_close_rate": 0.5},
        "examples": [],
    }


def _explain(capsys: Any, root: Path, *args: str) -> dict[str, Any]:
    code, out, err = run_main(capsys, "--root", str(root), "explain", *args)
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    return doc


def _child(node: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [c for c in node["children"] if c["role"] == role]


def _check_trial(node: dict[str, Any], marks: dict[str, Any], led: Ledger) -> None:
    """The c2 trial's outcome: intent -> candidate (parents c0, c1) + batch; artifacts."""
    t2 = marks["t2"]
    assert (node["role"], node["seq"], node["type"]) == ("outcome", t2["outcome"], "trial.outcome")
    assert node["hash"] == led.hash_at(t2["outcome"])
    assert node["facts"]["status"] == "ok" and node["facts"]["metrics"] == {"mean_pnl": 2.5}
    (intent,) = _child(node, "intent")
    assert intent["seq"] == t2["intent"] and intent["facts"]["job_id"] == "c2"
    artifacts = _child(node, "artifact")
    shas = [hashlib.sha256(b).hexdigest() for b in (b"alpha", b"beta")]
    assert [a["facts"]["sha256"] for a in artifacts] == shas == node["facts"]["artifacts"]
    (candidate,) = _child(intent, "candidate")
    assert (candidate["seq"], candidate["facts"]["candidate_id"]) == (marks["c2"], "c2")
    parents = _child(candidate, "parent")
    assert [(p["seq"], p["facts"]["candidate_id"]) for p in parents] == [
        (marks["c0"], "c0"),
        (marks["c1"], "c1"),
    ]
    (batch,) = _child(intent, "batch")
    assert batch["seq"] == marks["batch"] and batch["type"] == "batch.started"
    assert batch["facts"]["manifest_sha256"] == MANIFEST_SHA
    assert batch["facts"]["git_commit"] == GIT


def test_explain_job_by_id_bare_id_and_seq(study: tuple[Path, dict[str, Any]], capsys: Any) -> None:
    root, marks = study
    led = Ledger.open(root)
    doc = _explain(capsys, root, "job:c2")
    assert (doc["target"], doc["kind"]) == ("job:c2", "job")
    _check_trial(doc["tree"], marks, led)
    assert _explain(capsys, root, "c2")["tree"] == doc["tree"]
    outcome = str(marks["t2"]["outcome"])
    for target in (outcome, f"seq:{outcome}"):
        by_seq = _explain(capsys, root, target)
        assert by_seq["kind"] == "seq"
        _check_trial({**by_seq["tree"], "role": "outcome"}, marks, led)
    # an intent's seq: the intent and what it rests on
    intent = _explain(capsys, root, str(marks["t2"]["intent"]))["tree"]
    assert intent["type"] == "trial.intent"
    assert [c["role"] for c in intent["children"]] == ["candidate", "batch"]


def test_explain_promotion_rests_on_outcome_and_candidate(
    study: tuple[Path, dict[str, Any]], capsys: Any
) -> None:
    root, marks = study
    led = Ledger.open(root)
    doc = _explain(capsys, root, "promotion:mc/small")
    decision = doc["tree"]
    assert doc["kind"] == "promotion"
    assert (decision["role"], decision["seq"]) == ("decision", marks["decision"])  # the latest
    assert decision["facts"]["candidate_id"] == "c2"
    (outcome,) = _child(decision, "outcome")
    _check_trial(outcome, marks, led)
    # the candidate, already shown (with its parents) under the outcome's intent, is shown
    # once more without being expanded twice
    (again,) = _child(decision, "candidate")
    assert again["seq"] == marks["c2"] and again["repeated"] and again["children"] == []


def test_explain_segment_and_cell(study: tuple[Path, dict[str, Any]], capsys: Any) -> None:
    root, marks = study
    doc = _explain(capsys, root, "segment:s1/seg-a")
    segment = doc["tree"]
    assert (doc["kind"], segment["role"], segment["seq"]) == ("segment", "segment", None)
    assert segment["facts"]["users_with_segment"] == 2
    users = [c["facts"]["job_id"] for c in segment["children"]]
    assert [c["role"] for c in segment["children"]] == ["scan outcome", "scan outcome"]
    intents = [_child(c, "intent")[0] for c in segment["children"]]
    assert [i["facts"]["params"]["user"] for i in intents] == ["ann", "bob"]
    assert [i["seq"] for i in intents] == marks["scans"][:2] and len(set(users)) == 2
    cell = _explain(capsys, root, "cell:t1/c_c2")
    assert cell["kind"] == "cell" and cell["tree"]["facts"] == {"batch": "t1", "name": "c_c2"}
    _check_trial(cell["tree"]["children"][0], marks, Ledger.open(root))
    data = {"job_id": "c9", "index": 2, "name": "c_c9", "callable": None, "params": {}}
    (unanswered,) = Ledger.open(root).append([NewEvent(type="trial.intent", data=data, batch="t1")])
    (node,) = _explain(capsys, root, "cell:t1/c_c9")["tree"]["children"]
    assert (node["role"], node["seq"]) == ("intent", unanswered.seq)


@pytest.mark.parametrize(
    "target, words",
    [
        ("nosuchjob", "names nothing"),
        ("job:nosuchjob", "names nothing"),
        ("999999", "no event at seq 999999"),
        ("seq:abc", "not a seq"),
        ("segment:s1/seg-z", "no leaderboard segment"),
        ("segment:s1", "segment:<batch>/<segment key>"),
        ("cell:t1/nobody", "no job 'nobody'"),
        ("promotion:mc/large", "no promotion.decided"),
    ],
)
def test_unknown_target_is_one_line_exit_2(
    study: tuple[Path, dict[str, Any]], capsys: Any, target: str, words: str
) -> None:
    root, _ = study
    code, out, err = run_main(capsys, "--root", str(root), "explain", target)
    assert code == 2 and out == "" and words in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node]
    for child in node["children"]:
        found.extend(_nodes(child))
    return found


def test_explain_proof_paths_verify(
    study: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: Any
) -> None:
    root, marks = study
    led = Ledger.open(root)
    checkpoint = marks["checkpoint"]
    public_key = load_public_key(tmp_path / "ci.pub")
    doc = _explain(capsys, root, "promotion:mc/small", "--proof")
    events = [n for n in _nodes(doc["tree"]) if n.get("seq") is not None]
    assert len(events) >= 10
    for node in events:
        proof = node["proof"]
        line = led.raw_at(node["seq"])
        assert line is not None and proof["seq"] == node["seq"]
        leaf = bytes.fromhex(proof["leaf_hash"])
        assert leaf == merkle.leaf_hash(line)
        path = [bytes.fromhex(p) for p in proof["path"]]
        root_hash = bytes.fromhex(proof["root"])
        assert merkle.verify_inclusion(leaf, node["seq"] - 1, proof["size"], path, root_hash)
        if node["seq"] <= checkpoint.size:  # against the checkpoint, signed
            assert proof["size"] == checkpoint.size and proof["root"] == checkpoint.root
            assert check_proof(proof, public_key, line=line).ok
        else:  # the decision came after it: against the head
            assert proof["size"] == led.head().seq and "checkpoint" not in proof
            assert node["seq"] == marks["decision"]
    tampered = json.loads(json.dumps(events[1]["proof"]))
    tampered["path"][0] = "0" * 64
    assert not check_proof(tampered).ok


def test_explain_prints_a_tree_on_a_terminal(
    study: tuple[Path, dict[str, Any]], capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, marks = study
    capsys.readouterr()
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "300")
    code, out, _ = run_main(capsys, "--root", str(root), "explain", "job:c2", "--proof")
    assert code == 0 and "\x1b[1m" in out  # styled for the terminal
    out = re.sub("\x1b\\[[0-9;]*m", "", out)
    assert f"outcome: trial.outcome seq {marks['t2']['outcome']}" in out
    assert "candidate: candidate.proposed" in out and "parent: candidate.proposed" in out
    assert hashlib.sha256(b"alpha").hexdigest() in out and GIT in out and MANIFEST_SHA in out
    assert "proof size" in out
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, out, _ = run_main(capsys, "--root", str(root), "explain", "job:c2", "--json")
    assert code == 0 and json.loads(out)["kind"] == "job"


def test_explain_off_a_terminal_prints_json(
    study: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    root, _ = study
    env = {k: v for k, v in os.environ.items() if k != "SWEEPLEDGER_ROOT"}
    env["PYTHONPATH"] = str(REPO)
    main = "import sys; from commands.cli import main; main(sys.argv[1:])"
    done = subprocess.run(
        [sys.executable, "-c", main, "--root", str(root), "explain", "promotion:mc/small"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tree"]["facts"]["tier"] == "small"


def test_explain_promotion_names_its_outcome(
    study: tuple[Path, dict[str, Any]], capsys: Any
) -> None:
    """A decision naming ``outcome_seq`` (as ``promote`` records it) rests on that outcome;
    ``hash_as_named`` tells whether its ``outcome_hash`` is that event's hash."""
    root, marks = study
    led = Ledger.open(root)
    named = marks["t0"]["outcome"]
    for tier, digest in (("named", led.hash_at(named)), ("forged", "f" * 64)):
        data = {
            "study": "mc",
            "tier": tier,
            "candidate_id": "c0",
            "trial_id": "c0",
            "candidate_hash": "0" * 64,
            "job_id": "c0",
            "outcome_seq": named,
            "outcome_hash": digest,
        }
        led.append([NewEvent(type="promotion.decided", data=data, cause=named)])
        (outcome,) = _child(_explain(capsys, root, f"promotion:mc/{tier}")["tree"], "outcome")
        assert outcome["seq"] == named and outcome["hash"] == led.hash_at(named)
        assert outcome["facts"]["hash_as_named"] is (tier == "named")
