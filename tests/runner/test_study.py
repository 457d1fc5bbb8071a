"""``study``, ``promote`` and ``reproduce`` end to end: determinism across roots, worker
counts and executors; promotion idempotence and its files; evidence tampering; reproduction
passing and failing; kill -9 mid-study then resume."""

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

import yaml
from runner_fixtures import cli

from commands.runner.study import StudyRequest, run_study
from ledger import Ledger
from projections import study_trials
from schemas import Budgets, Tier

REPO = Path(__file__).resolve().parents[2]
LOOSE = Budgets(tiers={"loose": Tier(max_kill_prob=1.0, max_drawdown_cvar=1e9, min_mean_pnl=-1e9)})
SMALL = {"trials": 3, "generations": 2, "mc_runs": 10, "mc_ticks": 60, "seed": 7}


def fingerprint(root: Path, study: str) -> list[tuple[Any, ...]]:
    """Every candidate (generation, origin, parents, params) and its trial's metrics."""
    led = Ledger.open(root)
    proposed = [e.data for e in led.read(types=["candidate.proposed"], batch=study)]
    metrics = {t["candidate_id"]: t["metrics"] for t in study_trials(root, study)}
    return [
        (
            c["generation"],
            c["origin"],
            tuple(c["parents"]),
            c["candidate_id"],
            json.dumps(c["params"], sort_keys=True),
            json.dumps(metrics.get(c["candidate_id"]), sort_keys=True),
        )
        for c in proposed
    ]


def study_in(root: Path, **settings: Any) -> None:
    request = StudyRequest(
        root=root,
        study_id="s",
        budgets=LOOSE,
        cli_settings=settings,
        **SMALL,  # type: ignore[arg-type]
    )
    summary = run_study(request)
    assert summary.exit_code == 0


def test_same_seed_same_candidates_and_metrics_across_roots_workers_executors(
    tmp_path: Path,
) -> None:
    study_in(tmp_path / "a", workers=1, executor="process")
    study_in(tmp_path / "b", workers=2, executor="process")
    study_in(tmp_path / "c", workers=2, executor="thread")
    first = fingerprint(tmp_path / "a", "s")
    assert len(first) == 6 and {f[1] for f in first} == {"random", "mutation"}
    assert all(f[2] for f in first if f[0] == 1)  # mutations name their parents
    assert fingerprint(tmp_path / "b", "s") == first
    assert fingerprint(tmp_path / "c", "s") == first
    pareto = [(tmp_path / r / "studies/s/pareto.json").read_bytes() for r in "abc"]
    assert pareto[0] == pareto[1] == pareto[2]


def test_promotion_is_idempotent_and_its_files_match_the_decision(
    tmp_path: Path, capsys: Any
) -> None:
    study_in(tmp_path)
    led = Ledger.open(tmp_path)
    decisions = list(led.read(types=["promotion.decided"]))
    assert len(decisions) == 1
    head = led.head()
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(LOOSE.model_dump()["tiers"]))
    code, out, _ = cli(
        ["--root", str(tmp_path), "promote", "--study", "s", "--budgets", str(tmp_path / "b.yaml")],
        capsys,
    )
    assert code == 0 and Ledger.open(tmp_path).head() == head  # nothing appended
    record = json.loads((tmp_path / "promoted/loose/PROMOTION_RECORD.json").read_text())
    env = (tmp_path / "promoted/loose/s_loose.env").read_bytes()
    decision = decisions[0]
    assert record["candidate_hash"] == hashlib.sha256(env).hexdigest()
    assert record["promoted_at"] == decision.ts
    assert (record["decision_seq"], record["decision_hash"]) == (decision.seq, decision.hash)
    outcome = next(led.read(since=record["outcome_seq"] - 1))
    assert outcome.hash == record["outcome_hash"] and outcome.type == "trial.outcome"
    assert env.startswith(b"# Promoted configuration for loose tier\n# Study: s\n")
    assert b"export SWEEPLEDGER_RISK_PROFILE=loose\n" in env
    assert record["suites_passed"] == {"adversarial": True, "research": True}
    # Stricter budgets: nothing eligible, no record, the tier named.
    (tmp_path / "b.yaml").write_text(
        "strict:\n  max_kill_prob: 0.0\n  max_drawdown_cvar: 0\n  min_mean_pnl: 1.0e+9\n"
    )
    code, out, _ = cli(
        ["--root", str(tmp_path), "promote", "--study", "s", "--budgets", str(tmp_path / "b.yaml")],
        capsys,
    )
    assert "strict: no eligible trial" in out and not (tmp_path / "promoted/strict").exists()


def _children(node: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [child for child in node["children"] if child["role"] == role]


def test_explain_a_real_promotion_down_to_its_facts(tmp_path: Path, capsys: Any) -> None:
    """``explain`` on what ``study`` and ``promote`` really recorded (not hand-made events):
    the decision, the outcome it rests on, the intent, the candidate and its parents, the
    batch's manifest, the artifacts' blobs."""
    study_in(tmp_path)
    capsys.readouterr()  # the study's own output
    led = Ledger.open(tmp_path)
    record = json.loads((tmp_path / "promoted/loose/PROMOTION_RECORD.json").read_text())
    code, out, err = cli(
        ["--root", str(tmp_path), "explain", "promotion:s/loose", "--json"], capsys
    )
    assert code == 0, err
    decision = json.loads(out)["tree"]
    assert (decision["seq"], decision["hash"]) == (record["decision_seq"], record["decision_hash"])
    (outcome,) = _children(decision, "outcome")
    assert (outcome["seq"], outcome["hash"]) == (record["outcome_seq"], record["outcome_hash"])
    assert outcome["facts"]["hash_as_named"] is True
    (intent,) = _children(outcome, "intent")
    assert intent["type"] == "trial.intent" and intent["facts"]["job_id"] == record["candidate_id"]
    (candidate,) = _children(intent, "candidate")
    proposed = {e.data["candidate_id"]: e for e in led.read(types=["candidate.proposed"])}
    chosen = proposed[record["candidate_id"]]
    assert (candidate["seq"], candidate["hash"]) == (chosen.seq, chosen.hash)
    parents = _children(candidate, "parent")
    assert [p["seq"] for p in parents] == [proposed[c].seq for c in chosen.data["parents"]]
    (batch,) = _children(intent, "batch")
    started = next(led.read(types=["batch.started"], batch="s"))
    assert batch["seq"] == started.seq
    assert batch["facts"]["manifest_sha256"] == started.data["manifest_sha256"]
    artifacts = _children(outcome, "artifact")
    assert {a["facts"]["sha256"] for a in artifacts} == set(outcome["facts"]["artifacts"])
    assert "mc/SHA256SUMS" in {a["facts"]["name"] for a in artifacts}
    for artifact in artifacts:
        blob = led.blobs.read(artifact["facts"]["sha256"])
        assert hashlib.sha256(blob).hexdigest() == artifact["facts"]["sha256"]


def test_reproduce_passes_then_fails_naming_fields(tmp_path: Path, capsys: Any) -> None:
    study_in(tmp_path)
    code, out, _ = cli(
        ["--root", str(tmp_path), "reproduce", "--study", "s", "--tier", "loose"], capsys
    )
    assert code == 0 and "reproduced identically" in out
    # A promoted trial whose workload changed since: the metrics differ.
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "drift.py").write_text(
        "from pathlib import Path\n"
        "def trial(params, ctx):\n"
        "    bump = float(Path(__file__).with_name('bump.txt').read_text())\n"
        "    return {'metrics': {'mean_pnl': params['x'] + bump, 'drawdown_cvar': 1.0,\n"
        "            'kill_prob_ci_upper': 0.0},\n"
        "            'result': {'evidence_verified': True,\n"
        "                       'suites_passed': {'research': True, 'adversarial': True}}}\n"
    )
    (folder / "bump.txt").write_text("0")
    manifest = {
        "name": "d",
        "callable": "drift:trial",
        "kind": "trial",
        "jobs": [{"name": "a", "params": {"x": 1.0}}],
    }
    (folder / "m.yaml").write_text(yaml.safe_dump(manifest))
    os.chdir(folder)
    try:
        root = str(tmp_path / "d")
        assert cli(["--root", root, "run", "m.yaml", "--batch-id", "d"], capsys)[0] == 0
        assert (
            cli(
                [
                    "--root",
                    root,
                    "promote",
                    "--study",
                    "d",
                    "--budgets",
                    str(_write(tmp_path / "b.yaml", LOOSE)),
                ],
                capsys,
            )[0]
            == 0
        )
        (folder / "bump.txt").write_text("0.5")
        code, out, _ = cli(["--root", root, "reproduce", "--study", "d", "--tier", "loose"], capsys)
    finally:
        os.chdir(REPO)
    assert code == 1 and "metrics.mean_pnl" in out
    code, _, err = cli(["--root", root, "reproduce", "--study", "d", "--tier", "nope"], capsys)
    assert code == 2 and "no promotion decision" in err


def _write(path: Path, budgets: Budgets) -> Path:
    path.write_text(yaml.safe_dump(budgets.model_dump()["tiers"]))
    return path


def test_tampered_evidence_makes_the_trial_invalid(tmp_path: Path, capsys: Any) -> None:
    script = (
        f"{sys.executable} -m commands.workloads.montecarlo --out {{work_dir}}/mc --seed {{seed}}"
        " --runs 10 --ticks 50 --param hedge_band_base={hedge_band_base}"
        " && {tamper} {work_dir}/mc/suites.json"
    )
    jobs = [
        {"name": "clean", "params": {"hedge_band_base": 0.3, "tamper": "true"}},
        {
            "name": "tampered",
            "params": {"hedge_band_base": 0.3, "tamper": "touch -m -d 2000-01-01"},
        },
        {"name": "rewritten", "params": {"hedge_band_base": 0.4, "tamper": "echo >>"}},
    ]
    manifest = {
        "name": "ev",
        "kind": "trial",
        "shell": True,
        "command": script,
        "env": {"PYTHONPATH": str(REPO)},
        "metrics_from": "mc/mc_summary.json",
        "verify_evidence": "mc",
        "jobs": jobs,
    }
    path = tmp_path / "ev.yaml"
    path.write_text(yaml.safe_dump(manifest))
    code, _, err = cli(
        ["--root", str(tmp_path / "r"), "run", str(path), "--batch-id", "ev"], capsys
    )
    assert code == 0, err
    trials = {t["name"]: t for t in study_trials(tmp_path / "r", "ev")}
    assert trials["clean"]["valid"] and trials["tampered"]["valid"]  # a new mtime is no change
    assert not trials["rewritten"]["valid"] and not trials["rewritten"]["on_frontier"]


def test_kill_9_mid_study_then_resume_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    argv = [
        "study",
        "--study-id",
        "k",
        "--trials",
        "6",
        "--mc-runs",
        "10",
        "--mc-ticks",
        "4000",
        "--seed",
        "3",
        "--workers",
        "1",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    victim = tmp_path / "victim"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from commands.cli import main; main()",
            "--root",
            str(victim),
            *argv,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        led = Ledger(victim)
        if led.exists() and any(True for _ in Ledger.open(victim).read(types=["trial.outcome"])):
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = [e for e in Ledger.open(victim).read(types=["trial.outcome"])]
    assert 1 <= len(done) < 6, "killed mid-study"
    for root in (victim, tmp_path / "clean"):
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from commands.cli import main; main()",
                "--root",
                str(root),
                *argv,
            ],
            env=env,
            check=True,
            capture_output=True,
        )
    assert fingerprint(victim, "k") == fingerprint(tmp_path / "clean", "k")
    statuses = [t["status"] for t in study_trials(victim, "k")]
    assert statuses == ["ok"] * 6
