"""The Monte Carlo workload: pure simulation, the trial's evidence pack, and its command form."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from commands.runner.job import JobContext
from commands.workloads import montecarlo
from commands.workloads.market import BAND_UNIT, resolve_params
from commands.workloads.montecarlo import (
    PARAM_DEFAULTS,
    PARAM_SPACE,
    SUITE_RULES,
    main,
    simulate,
    suite_seed,
    trial,
)
from ledger import Ledger, verify_evidence

REPO = Path(__file__).resolve().parents[2]
PARAMS: dict[str, Any] = {"hedge_band_base": 0.25, "mm_size_eta": 1.2, "vol_ref": 0.6}
SEED = 47
METRICS = {
    "mean_pnl",
    "pnl_cvar",
    "drawdown_cvar",
    "kill_prob_point",
    "kills",
    "total_runs",
    "kill_prob_ci_upper",
}


def make_ctx(root: Path, seed: int = SEED, job_id: str = "job0") -> JobContext:
    Ledger.open(root, create=True)
    return JobContext(job_id, "t", 0, seed, "batch1", None, root)


def pack_bytes(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    env["PYTHONHASHSEED"] = "12345"  # a different string hashing than this process
    return env


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "commands.workloads.montecarlo", *args]
    return subprocess.run(
        argv, cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=120
    )


def cli_args(out: Path, params: dict[str, Any], seed: int = SEED) -> list[str]:
    args = ["--out", str(out), "--seed", str(seed), "--runs", "20", "--ticks", "100"]
    for name, value in params.items():
        args += ["--param", f"{name}={value}"]
    return args


@pytest.fixture
def trial_pack(tmp_path: Path) -> tuple[dict[str, Any], JobContext]:
    ctx = make_ctx(tmp_path / "root")
    return trial(dict(PARAMS), ctx), ctx


# --- simulate -------------------------------------------------------------------------------


def test_simulate_is_a_pure_function_of_its_arguments() -> None:
    a = simulate(PARAMS, 3, runs=30, ticks=80)
    b = simulate(PARAMS, 3, runs=30, ticks=80)
    c = simulate(PARAMS, 4, runs=30, ticks=80)
    assert a.equity.shape == (30, 80)
    assert np.array_equal(a.equity, b.equity) and a.metrics() == b.metrics()
    assert not np.array_equal(a.equity, c.equity)


def test_simulate_keeps_its_books_consistent() -> None:
    params = {**PARAMS, "kill_drawdown": 150.0}
    result = simulate(params, 11, runs=200, ticks=150)
    assert np.array_equal(result.final_pnl, result.equity[:, -1])
    peak = np.maximum.accumulate(np.maximum(result.equity, 0.0), axis=1)
    assert np.allclose(result.max_drawdown, (peak - result.equity).max(axis=1))
    assert result.killed.any() and not result.killed.all()
    assert (result.max_drawdown[result.killed] >= 150.0).all()
    assert (result.max_drawdown[~result.killed] < 150.0).all()
    for run in np.flatnonzero(result.killed):
        tick = result.kill_tick[run]
        frozen = result.equity[run, tick:]
        assert (frozen == frozen[0]).all() and result.final_inventory[run] == 0.0
    assert (result.kill_tick[~result.killed] == -1).all()
    band = params["hedge_band_base"] * BAND_UNIT
    assert (np.abs(result.final_inventory) <= band + 1e-9).all()
    assert (result.fills > 0).all()


def test_adversarial_market_is_harsher_than_research() -> None:
    research = simulate(PARAMS, 5, runs=300, ticks=200, scenario="research").metrics()
    adversarial = simulate(PARAMS, 5, runs=300, ticks=200, scenario="adversarial").metrics()
    assert adversarial["drawdown_cvar"] > research["drawdown_cvar"]
    assert adversarial["mean_pnl"] < research["mean_pnl"]
    assert adversarial["kills"] > research["kills"]


def test_bigger_hedge_band_carries_more_inventory_risk() -> None:
    tight = simulate({**PARAMS, "hedge_band_base": 0.05}, 9, runs=300, ticks=200)
    loose = simulate({**PARAMS, "hedge_band_base": 1.0}, 9, runs=300, ticks=200)
    assert loose.metrics()["drawdown_cvar"] > tight.metrics()["drawdown_cvar"]
    assert tight.hedged_qty.mean() > loose.hedged_qty.mean()


@pytest.mark.parametrize(
    "params",
    [
        {"nope": 1.0},
        {"vol_ref": 0.0},
        {"vol_ref": float("nan")},
        {"mm_size_eta": True},
        {"risk_aversion": "high"},
        {"hedge_band_base": -0.1},
        {"mc_runs": 0},
        {"mc_ticks": 2.5},
    ],
)
def test_bad_params_are_refused(params: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        resolve_params(params)


def test_param_space_is_sampleable() -> None:
    assert PARAM_SPACE.keys() <= PARAM_DEFAULTS.keys()
    for name, (low, high) in PARAM_SPACE.items():
        assert low < high and low <= PARAM_DEFAULTS[name] <= high
        simulate({name: low}, 1, runs=5, ticks=20)
        simulate({name: high}, 1, runs=5, ticks=20)


# --- trial and its pack ---------------------------------------------------------------------


def test_trial_returns_the_metrics_and_a_verified_pack(
    trial_pack: tuple[dict[str, Any], JobContext],
) -> None:
    returned, ctx = trial_pack
    metrics, result = returned["metrics"], returned["result"]
    assert set(metrics) == METRICS
    assert metrics["total_runs"] == 20 and 0 <= metrics["kills"] <= 20
    assert metrics["kill_prob_point"] == metrics["kills"] / 20
    assert metrics["kill_prob_point"] <= metrics["kill_prob_ci_upper"] <= 1.0
    assert metrics["pnl_cvar"] <= metrics["mean_pnl"]
    assert 0.0 <= metrics["drawdown_cvar"] < 10_000.0
    assert result["evidence_dir"] == "mc" and result["evidence_verified"] is True
    assert set(result["suites_passed"]) == {"research", "adversarial"}
    assert all(isinstance(flag, bool) for flag in result["suites_passed"].values())
    pack = ctx.work_dir / "mc"
    assert verify_evidence(pack).ok
    assert json.loads((pack / "mc_summary.json").read_text()) == metrics
    suites = json.loads((pack / "suites.json").read_text())
    assert {name: s["passed"] for name, s in suites.items()} == result["suites_passed"]
    assert {name: s["seed"] for name, s in suites.items()} == {
        name: suite_seed(SEED, name) for name in SUITE_RULES
    }


def test_trial_stores_every_pack_file_as_an_artifact(
    trial_pack: tuple[dict[str, Any], JobContext],
) -> None:
    _, ctx = trial_pack
    pack = ctx.work_dir / "mc"
    stored = {a["name"]: a["sha256"] for a in ctx.artifacts}
    on_disk = {f"mc/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest() for p in pack.iterdir()}
    assert stored == on_disk
    assert "mc/SHA256SUMS" in stored and "mc/manifest.json" in stored


def test_per_run_parquet_matches_the_summary(
    trial_pack: tuple[dict[str, Any], JobContext],
) -> None:
    returned, ctx = trial_pack
    table = pq.read_table(ctx.work_dir / "mc" / "runs.parquet")
    assert table.num_rows == 20
    assert sum(table.column("killed").to_pylist()) == returned["metrics"]["kills"]
    mean = sum(table.column("final_pnl").to_pylist()) / 20
    assert mean == pytest.approx(returned["metrics"]["mean_pnl"], rel=1e-12)


@pytest.mark.parametrize("victim", ["runs.parquet", "mc_summary.json", "manifest.json"])
def test_tampering_one_byte_fails_verification(
    trial_pack: tuple[dict[str, Any], JobContext], victim: str
) -> None:
    _, ctx = trial_pack
    path = ctx.work_dir / "mc" / victim
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    report = verify_evidence(ctx.work_dir / "mc")
    assert not report.ok and any(victim in problem for problem in report.problems)


def test_an_unlisted_file_fails_verification(
    trial_pack: tuple[dict[str, Any], JobContext],
) -> None:
    _, ctx = trial_pack
    (ctx.work_dir / "mc" / "extra.txt").write_text("x")
    assert not verify_evidence(ctx.work_dir / "mc").ok


def test_rerunning_a_trial_rebuilds_its_pack(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path / "root")
    first = trial(dict(PARAMS), ctx)
    (ctx.work_dir / "mc" / "stale.txt").write_text("left over")
    again = trial(dict(PARAMS), make_ctx(tmp_path / "root"))
    assert again["metrics"] == first["metrics"] and again["result"]["evidence_verified"]


def test_suite_flags_follow_the_candidate(tmp_path: Path) -> None:
    calm = {"vol_ref": 0.2, "hedge_band_base": 0.1, "risk_aversion": 1.5}
    doomed = {"kill_drawdown": 1.0}  # any drawdown at all kills the run
    calm_a = trial(calm, make_ctx(tmp_path / "a"))["result"]["suites_passed"]
    calm_b = trial(calm, make_ctx(tmp_path / "b"))["result"]["suites_passed"]
    doomed_out = trial(doomed, make_ctx(tmp_path / "c"))
    assert calm_a == calm_b == {"research": True, "adversarial": True}
    assert doomed_out["result"]["suites_passed"] == {"research": False, "adversarial": False}
    assert doomed_out["metrics"]["kill_prob_point"] == 1.0


def test_trial_takes_well_under_a_second(tmp_path: Path) -> None:
    best = float("inf")
    for i in range(3):
        ctx = make_ctx(tmp_path / "root", job_id=f"job{i}")
        start = time.perf_counter()
        trial(dict(PARAMS), ctx)
        best = min(best, time.perf_counter() - start)
    assert best < 0.5


# --- across processes, and the command form --------------------------------------------------

TRIAL_IN_SUBPROCESS = """
import json, sys
from pathlib import Path
from commands.runner.job import JobContext
from commands.workloads.montecarlo import trial
from ledger import Ledger
root = Path(sys.argv[1])
Ledger.open(root, create=True)
ctx = JobContext("job0", "t", 0, int(sys.argv[2]), "batch1", None, root)
print(json.dumps(trial(json.loads(sys.argv[3]), ctx)["metrics"], sort_keys=True))
"""


def test_same_params_and_seed_give_the_same_pack_in_every_process(
    tmp_path: Path, trial_pack: tuple[dict[str, Any], JobContext]
) -> None:
    returned, ctx = trial_pack
    here = pack_bytes(ctx.work_dir / "mc")
    root = tmp_path / "other"
    done = subprocess.run(
        [sys.executable, "-c", TRIAL_IN_SUBPROCESS, str(root), str(SEED), json.dumps(PARAMS)],
        cwd=REPO,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == returned["metrics"]
    assert pack_bytes(root / "work" / "batch1" / "job0" / "mc") == here


def test_command_form_writes_the_same_pack_as_trial(
    tmp_path: Path, trial_pack: tuple[dict[str, Any], JobContext]
) -> None:
    returned, ctx = trial_pack
    out = tmp_path / "cli"
    done = run_cli(*cli_args(out, PARAMS))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == returned["metrics"]
    assert pack_bytes(out) == pack_bytes(ctx.work_dir / "mc")
    assert verify_evidence(out).ok


def test_recorded_command_reproduces_the_pack(
    tmp_path: Path, trial_pack: tuple[dict[str, Any], JobContext]
) -> None:
    returned, ctx = trial_pack
    words = returned["result"]["command"].split()
    assert words[:3] == ["python", "-m", "commands.workloads.montecarlo"]
    out = tmp_path / "again"
    args = words[3:]
    args[args.index("--out") + 1] = str(out)
    assert run_cli(*args).returncode == 0
    assert pack_bytes(out) == pack_bytes(ctx.work_dir / "mc")


def test_a_different_seed_gives_different_metrics(tmp_path: Path) -> None:
    assert main(cli_args(tmp_path / "a", PARAMS, seed=1)) == 0
    assert main(cli_args(tmp_path / "b", PARAMS, seed=2)) == 0
    a = json.loads((tmp_path / "a" / "mc_summary.json").read_text())
    b = json.loads((tmp_path / "b" / "mc_summary.json").read_text())
    assert a != b


def test_command_refuses_a_used_directory_and_bad_params(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    assert main(["--out", str(used)]) == 2
    assert (used / "keep.txt").read_text() == "mine" and len(list(used.iterdir())) == 1
    assert main(["--out", str(tmp_path / "x"), "--param", "nope=1"]) == 2
    assert main(["--out", str(tmp_path / "y"), "--param", "mc_runs=5"]) == 2
    assert "nope" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path / "z"), "--param", "vol_ref"])
    assert exit_info.value.code == 2


def test_module_exports_the_study_interface() -> None:
    assert callable(montecarlo.trial) and callable(montecarlo.simulate)
    assert set(montecarlo.SUITE_RULES) == {"research", "adversarial"}
