"""The tournament workload: determinism, metric ranges, where metrics exist, engines, statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from commands.workloads import portfolio as pf
from commands.workloads import tournament as t

ROOT = Path(__file__).resolve().parents[2]
SEED = 11


def params(**overrides: str) -> dict[str, Any]:
    base = {
        "selection": "low_vol",
        "rebalance": "monthly",
        "engine": "hrp",
        "profile": "balanced",
        "simulator": "ideal",
    }
    return {**base, **overrides}


GRID = [
    params(selection=s, rebalance=r, engine=e, profile=p, simulator=m)
    for s in t.SELECTIONS
    for r in ("monthly", "threshold")
    for e in pf.ENGINES
    for p in t.PROFILES
    for m in t.SIMULATOR_NAMES
]


@pytest.fixture(scope="module")
def grid() -> list[tuple[dict[str, Any], dict[str, float], dict[str, Any]]]:
    return [(p, *t.evaluate_cell(p, SEED)) for p in GRID]


def test_same_params_give_identical_metrics_in_another_process() -> None:
    cells = [params(simulator="slippage"), params(engine="min_variance", rebalance="weekly")]
    script = (
        "import json, sys\n"
        "from commands.workloads.tournament import evaluate_cell\n"
        "cells = json.loads(sys.argv[1])\n"
        "print(json.dumps([evaluate_cell(c, 11) for c in cells], sort_keys=True))\n"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", script, json.dumps(cells)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for _ in range(2)
    ]
    here = json.dumps([t.evaluate_cell(c, SEED) for c in cells], sort_keys=True)
    assert runs[0] == runs[1] == here + "\n"


def test_only_the_slippage_simulator_depends_on_the_seed() -> None:
    assert t.evaluate_cell(params(simulator="costly"), 1) == t.evaluate_cell(
        params(simulator="costly"), 2
    )
    assert (
        t.evaluate_cell(params(simulator="slippage"), 1)[0]
        != t.evaluate_cell(params(simulator="slippage"), 2)[0]
    )


def test_metrics_are_finite_and_in_range(grid: list[Any]) -> None:
    for _, metrics, _ in grid:
        assert all(np.isfinite(v) for v in metrics.values())
        assert 0.0 < metrics["cvar"] < 0.2
        assert 0.0 <= metrics["max_drawdown"] < 1.0
        assert metrics["turnover"] > 0.0
        assert 1.0 / t.N_ASSETS - 1e-12 <= metrics["hhi"] <= 1.0
        assert -5.0 < metrics["sharpe"] < 5.0
        assert 0.0 < metrics["beta"] < 2.0


def test_af_dist_only_for_covariance_engines_and_stress_alpha_only_for_slippage(
    grid: list[Any],
) -> None:
    core = {"sharpe", "cvar", "max_drawdown", "turnover", "beta", "hhi"}
    for p, metrics, _ in grid:
        expected = set(core)
        if p["engine"] in ("min_variance", "hrp") and p["profile"] not in t.BASELINE_PROFILES:
            expected.add("af_dist")
        if p["simulator"] == "slippage":
            expected.add("stress_alpha")
        assert set(metrics) == expected, p


def test_baselines_ignore_the_engine(grid: list[Any]) -> None:
    by_cell = {json.dumps(p, sort_keys=True): m for p, m, _ in grid}
    for p, metrics, _ in grid:
        if p["profile"] in t.BASELINE_PROFILES:
            other = {**p, "engine": "equal_weight"}
            assert by_cell[json.dumps(other, sort_keys=True)] == metrics


def test_market_baseline_has_beta_one_under_the_ideal_simulator() -> None:
    metrics, _ = t.evaluate_cell(params(profile="market"), SEED)
    assert metrics["beta"] == pytest.approx(1.0, abs=0.02)
    assert metrics["hhi"] == pytest.approx(1.0 / t.N_BENCHMARK, abs=0.01)


def test_costs_lower_the_sharpe_and_ideal_trades_for_free() -> None:
    ideal, _ = t.evaluate_cell(params(rebalance="weekly"), SEED)
    costly, _ = t.evaluate_cell(params(rebalance="weekly", simulator="costly"), SEED)
    assert costly["sharpe"] < ideal["sharpe"]
    assert costly["turnover"] == ideal["turnover"]


def test_result_holds_the_coordinates_and_the_optimize_step(grid: list[Any]) -> None:
    seen = set()
    for p, _, result in grid:
        assert result["cell"] == p
        optimize = result["optimize"]
        assert optimize["status"] in ("success", "empty", "error")
        assert optimize["detail"]
        assert optimize["solves"] == optimize["success"] + optimize["empty"] + optimize["error"]
        seen.add(optimize["status"])
    assert seen == {"success", "empty", "error"}


def test_the_halted_asset_makes_covariance_engines_error() -> None:
    _, result = t.evaluate_cell(params(selection="all", engine="min_variance"), SEED)
    assert result["optimize"]["status"] == "error"
    assert "singular covariance" in result["optimize"]["detail"]
    _, fine = t.evaluate_cell(params(selection="all", engine="equal_weight"), SEED)
    assert fine["optimize"]["status"] == "success"


def test_momentum_selection_can_come_back_empty() -> None:
    _, result = t.evaluate_cell(params(selection="momentum_top", profile="benchmark"), SEED)
    assert result["optimize"]["status"] == "empty"
    assert result["optimize"]["empty"] >= 1


def test_a_cell_that_never_holds_anything_is_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(t, "select", lambda selection, history: np.array([], dtype=int))
    returned = t.cell(params(), SimpleNamespace(seed=SEED))
    assert returned["status"] == "empty"
    assert returned["result"]["optimize"]["status"] == "empty"
    assert "metrics" not in returned


def test_cell_entry_point_returns_metrics_and_result() -> None:
    returned = t.cell(params(), SimpleNamespace(seed=SEED))
    assert set(returned) == {"metrics", "result"}
    assert returned["metrics"] == t.evaluate_cell(params(), SEED)[0]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (params(engine="nope"), "engine 'nope' is not one of"),
        ({**params(), "extra": 1}, "unknown params: extra"),
        ({k: v for k, v in params().items() if k != "profile"}, "missing param 'profile'"),
    ],
)
def test_bad_params_are_refused(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        t.evaluate_cell(bad, SEED)


@pytest.mark.parametrize("engine", sorted(pf.ENGINES))
def test_engines_are_long_only_and_sum_to_one(engine: str) -> None:
    window = t.market().returns[200:263, t.N_BENCHMARK : t.N_BENCHMARK + 12]
    weights = pf.ENGINES[engine](window).weights
    assert weights.shape == (12,)
    assert (weights >= 0.0).all()
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)


def test_min_variance_drops_assets_it_would_short() -> None:
    rng = np.random.default_rng(3)
    common = rng.standard_normal(200)
    # Asset 2 is asset 0 plus noise but riskier: an unconstrained solve would short it.
    window = np.column_stack(
        [
            common * 0.01,
            rng.standard_normal(200) * 0.01,
            common * 0.02 + rng.standard_normal(200) * 0.001,
        ]
    )
    solved = pf.min_variance(window)
    assert solved.weights[2] == 0.0
    assert (solved.weights >= 0).all() and solved.weights.sum() == pytest.approx(1.0)
    assert solved.predicted_vol is not None and solved.predicted_vol > 0


def test_hrp_on_a_known_block_covariance() -> None:
    # Assets 0 and 2 form one cluster (variance 1), 1 and 3 another (variance 4).
    cov = np.array(
        [
            [1.0, 0.0, 0.9, 0.0],
            [0.0, 4.0, 0.0, 3.6],
            [0.9, 0.0, 1.0, 0.0],
            [0.0, 3.6, 0.0, 4.0],
        ]
    )
    sd = np.sqrt(np.diag(cov))
    assert pf.single_linkage_order(np.sqrt(0.5 * (1 - cov / np.outer(sd, sd)))) == [0, 2, 1, 3]
    # Cluster variances 0.95 and 3.8 give the low-variance cluster 0.8; halves split evenly.
    assert pf.hrp_weights(cov) == pytest.approx([0.4, 0.1, 0.4, 0.1])


def test_hrp_of_two_uncorrelated_assets_is_inverse_variance() -> None:
    assert pf.hrp_weights(np.diag([1.0, 4.0])) == pytest.approx([0.8, 0.2])


def test_zero_variance_is_an_optimize_error() -> None:
    window = np.column_stack([np.linspace(-0.01, 0.01, 50), np.zeros(50)])
    for engine in ("inverse_vol", "min_variance", "hrp"):
        with pytest.raises(pf.OptimizeError) as caught:
            pf.ENGINES[engine](window)
        assert caught.value.column == 1


def test_cap_weights_moves_the_excess_to_the_others() -> None:
    capped = pf.cap_weights(np.array([0.7, 0.2, 0.1]), 0.5)
    assert capped == pytest.approx([0.5, 0.2 / 0.3 * 0.5, 0.1 / 0.3 * 0.5])
    assert pf.cap_weights(np.array([1.0, 0.0]), 0.2) == pytest.approx([0.5, 0.5])


def test_return_statistics_on_known_series() -> None:
    returns = np.array([0.1, -0.5, 0.2, 0.0] * 5)
    assert pf.max_drawdown(np.array([0.1, -0.5, 0.2])) == pytest.approx(0.5)
    assert pf.cvar(returns, 0.95) == pytest.approx(0.5)
    assert pf.tail_asymmetry(returns, 0.95) == pytest.approx(0.2 - 0.5)
    assert np.isnan(pf.sharpe(np.zeros(10), 252))


def test_single_linkage_chains_through_near_neighbours() -> None:
    # Points on a line at 0, 5, 1, 2.1, 3.3: single linkage grows one chain 0-1-2.1-3.3 and
    # adds the far point last (complete linkage would pair 2.1 with 3.3 first instead).
    points = np.array([0.0, 5.0, 1.0, 2.1, 3.3])
    assert pf.single_linkage_order(np.abs(points[:, None] - points[None, :])) == [0, 2, 3, 4, 1]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["success"], "success"),
        (["success", "empty"], "empty"),
        (["empty", "success", "error"], "error"),
        (["error", "empty", "success"], "error"),
    ],
)
def test_the_worst_solve_status_is_the_cells(
    monkeypatch: pytest.MonkeyPatch, statuses: list[str], expected: str
) -> None:
    calls = iter(range(10_000))
    target = np.zeros(t.N_ASSETS)
    target[0] = 1.0

    def decide(coords: t.Coordinates, history: np.ndarray) -> t.Decision:
        status = statuses[next(calls) % len(statuses)]
        return t.Decision(target if status == "success" else None, status, "because")

    monkeypatch.setattr(t, "decide", decide)
    _, result = t.evaluate_cell(params(), SEED)
    optimize = result["optimize"]
    assert optimize["status"] == expected
    assert optimize["solves"] == 30
    if expected != "success":
        assert (
            f"first {statuses[[s != 'success' for s in statuses].index(True)]}"
            in (optimize["detail"])
        )
