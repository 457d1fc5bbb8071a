"""The pareto projection against brute force (ties, duplicates, null metrics), the Wilson
fallback against R, the validity rules, candidate ids, and byte-identical rebuilds."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from projection_fixtures import intent, job_id_of, outcome, start_batch

from commands.runner.promote import winner
from ledger import Ledger
from projections import StudyNotFound, pareto_document, rebuild, study_trials
from projections.stats import wilson_upper
from schemas import Tier

OBJ = ("mean_pnl", "kill_prob_ci_upper", "drawdown_cvar")


def record(root: Path, study: str, trials: list[dict[str, Any]]) -> list[str]:
    """Each trial (metrics, result, status) as an intent + outcome; returns the job ids."""
    led = Ledger.open(root, create=True)
    start_batch(led, study, len(trials))
    ids = []
    for i, t in enumerate(trials):
        params = {"i": i, **t.get("params", {})}
        cause = intent(led, study, i, f"j{i}", **params)
        job_id = job_id_of(f"j{i}", params)
        outcome(
            led,
            cause,
            study,
            job_id,
            status=t.get("status", "ok"),
            metrics=t["metrics"],
            result=t.get("result", {"evidence_verified": True}),
        )
        ids.append(job_id)
    return ids


def brute_frontier(points: list[tuple[float | None, ...]]) -> set[int]:
    """Indices no other point dominates (None never ranks)."""
    signs = (-1.0, 1.0, 1.0)  # minimize everything
    ok = [i for i, p in enumerate(points) if all(v is not None for v in p)]
    front = set()
    for i in ok:
        a = [s * float(v) for s, v in zip(signs, points[i], strict=True)]  # type: ignore[arg-type]
        dominated = False
        for j in ok:
            b = [s * float(v) for s, v in zip(signs, points[j], strict=True)]  # type: ignore[arg-type]
            if all(y <= x for x, y in zip(a, b, strict=True)) and any(
                y < x for x, y in zip(a, b, strict=True)
            ):
                dominated = True
                break
        if not dominated:
            front.add(i)
    return front


small = st.sampled_from([None, 0.0, 1.0, 2.0, 3.0])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(small, small, small, st.booleans()), min_size=1, max_size=12))
def test_frontier_and_winner_match_brute_force(tmp_path_factory: Any, rows: list[Any]) -> None:
    root = tmp_path_factory.mktemp("p")
    trials = []
    for pnl, kill, dd, verified in rows:
        metrics = {"mean_pnl": pnl, "kill_prob_ci_upper": kill, "drawdown_cvar": dd}
        result = {
            "evidence_verified": verified,
            "suites_passed": {"research": True, "adversarial": True},
        }
        trials.append({"metrics": metrics, "result": result})
    ids = record(root, "s", trials)
    rebuild(root, ["pareto"])  # only what this test reads: 25 examples
    valid = [i for i, r in enumerate(rows) if r[3]]
    points = [tuple(rows[i][:3]) for i in valid]
    expected = {ids[valid[k]] for k in brute_frontier(points)}
    doc = pareto_document(root, "s")
    assert {row["job_id"] for row in doc["frontier"]} == expected
    assert [r["candidate_id"] for r in doc["frontier"]] == sorted(
        r["candidate_id"] for r in doc["frontier"]
    )
    # The winner of a loose tier: mean_pnl desc, drawdown asc, kill asc, candidate_id asc.
    tier = Tier(max_kill_prob=1.0, max_drawdown_cvar=10.0, min_mean_pnl=-10.0)
    best, _ = winner(study_trials(root, "s"), tier)
    ranked = sorted(
        (
            (-float(r[0]), float(r[2]), float(r[1]), ids[i])
            for i, r in enumerate(rows)
            if r[3] and None not in r[:3] and r[1] <= 1.0
        )
    )
    assert (best["job_id"] if best else None) == (ranked[0][3] if ranked else None)


def test_duplicates_are_all_on_the_frontier_and_files_written(tmp_path: Path) -> None:
    same = {"mean_pnl": 5.0, "kill_prob_ci_upper": 0.1, "drawdown_cvar": 3.0}
    worse = {"mean_pnl": 4.0, "kill_prob_ci_upper": 0.1, "drawdown_cvar": 3.0}
    ids = record(tmp_path, "dup", [{"metrics": same}, {"metrics": same}, {"metrics": worse}])
    rebuild(tmp_path)
    doc = json.loads((tmp_path / "studies/dup/pareto.json").read_text())
    assert {r["job_id"] for r in doc["frontier"]} == set(ids[:2])
    assert doc["objectives"] == [
        {"name": "mean_pnl", "direction": "max"},
        {"name": "kill_prob_ci_upper", "direction": "min"},
        {"name": "drawdown_cvar", "direction": "min"},
    ]
    lines = (tmp_path / "studies/dup/trials.jsonl").read_text().splitlines()
    assert [json.loads(x)["index"] for x in lines] == [0, 1, 2]
    assert [json.loads(x)["on_frontier"] for x in lines] == [True, True, False]
    csv = (tmp_path / "studies/dup/pareto.csv").read_text().splitlines()
    assert csv[0] == "candidate_id,trial_id,job_id,mean_pnl,kill_prob_ci_upper,drawdown_cvar,i"


@pytest.mark.parametrize(
    ("kills", "total", "expected"),
    [(4, 20, 0.4160174322518935), (0, 30, 0.11351339), (30, 30, 1.0)],
)
def test_wilson_fallback_matches_r(tmp_path: Path, kills: int, total: int, expected: float) -> None:
    metrics = {"mean_pnl": 1.0, "drawdown_cvar": 1.0, "kills": kills, "total_runs": total}
    record(tmp_path, "w", [{"metrics": metrics}])
    [trial] = study_trials(tmp_path, "w")
    value = trial["metrics"]["kill_prob_ci_upper"]
    assert value == wilson_upper(kills, total)
    assert math.isclose(value, expected, rel_tol=1e-7)


def test_validity_and_candidate_ids(tmp_path: Path) -> None:
    m = {"mean_pnl": 1.0, "kill_prob_ci_upper": 0.1, "drawdown_cvar": 1.0}
    record(
        tmp_path,
        "v",
        [
            {"metrics": m, "result": {"evidence_verified": True, "candidate_id": "from-result"}},
            {"metrics": m, "params": {"candidate_id": "from-params"}},
            {"metrics": m, "result": {"evidence_verified": False}},
            {"metrics": m, "status": "error", "result": None},
        ],
    )
    trials = study_trials(tmp_path, "v")
    assert [t["valid"] for t in trials] == [True, True, False, False]
    assert trials[0]["candidate_id"] == "from-result"
    assert trials[1]["candidate_id"] == "from-params"
    assert trials[2]["candidate_id"] == trials[2]["job_id"]
    assert trials[0]["trial_id"] == "trial_0000_from-result"


def test_unknown_study_and_rebuild_is_byte_identical(tmp_path: Path) -> None:
    with pytest.raises(StudyNotFound):
        record(tmp_path, "x", [{"metrics": {"mean_pnl": 1.0}}])
        pareto_document(tmp_path, "nope")
    files = sorted((tmp_path / "studies").rglob("*"))
    before = {p: p.read_bytes() for p in files if p.is_file()}
    rebuild(tmp_path, full=True)
    assert before == {p: p.read_bytes() for p in files if p.is_file()}
