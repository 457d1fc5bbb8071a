"""The scoreboard's reference rules on small hand-built grids with known answers."""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from projections.scoreboard_rules import FAIL, PASS, SKIPPED, Check, ScoreboardResult, evaluate
from schemas.gates import Gates, load_gates

EXAMPLE_GATES = Path(__file__).resolve().parents[2] / "examples" / "gates.yaml"
BASELINES = {"profile_values": ["market", "benchmark"]}


def make(job_id: str, params: dict[str, Any], **metrics: float | None) -> dict[str, Any]:
    return {"job_id": job_id, "name": f"cell-{job_id}", "params": params, "metrics": metrics}


def gates(data: dict[str, Any]) -> Gates:
    return load_gates(data)


def check(result: ScoreboardResult, job_id: str, name: str) -> Check:
    row = next(r for r in result.rows if r.job_id == job_id)
    return next(c for c in row.checks if c.name == name)


def row_of(result: ScoreboardResult, job_id: str) -> Any:
    return next(r for r in result.rows if r.job_id == job_id)


# --- gates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "status"),
    [(0.5, PASS), (0.4999999, FAIL), (1.5, PASS), (1.5000001, FAIL), (1.0, PASS), (-3.0, FAIL)],
)
def test_bounds_are_inclusive(value: float, status: str) -> None:
    g = gates({"gates": {"sharpe": {"min": 0.5, "max": 1.5}}})
    result = evaluate([make("a", {"profile": "p"}, sharpe=value)], g, allow_missing=False)
    assert check(result, "a", "sharpe").status == status
    assert result.rows[0].candidate is (status == PASS)


def test_a_one_sided_gate_has_no_other_bound() -> None:
    g = gates({"gates": {"turnover": {"max": 2.0}, "sharpe": {"min": 0.0}}})
    result = evaluate([make("a", {}, turnover=-1e9, sharpe=1e9)], g, allow_missing=False)
    assert result.rows[0].failed == ()
    assert result.rows[0].candidate


def test_checks_come_in_metric_order() -> None:
    g = gates({"gates": {"turnover": {"max": 2.0}, "beta": {"max": 1.0}}})
    result = evaluate([make("a", {}, turnover=1.0, beta=2.0)], g, allow_missing=False)
    assert [c.name for c in result.rows[0].checks] == ["beta", "turnover"]
    assert result.rows[0].failed == ("beta",)


# --- missing metrics -----------------------------------------------------------------------

MISSING_GATES = {"gates": {"sharpe": {"min": 0.0}, "af_dist": {"min": 0.0}}}


@pytest.mark.parametrize("absent", [{}, {"af_dist": None}, {"af_dist": math.nan}])
def test_missing_metric_fails_in_strict_mode(absent: dict[str, Any]) -> None:
    cell = make("a", {}, sharpe=1.0, **absent)
    result = evaluate([cell], gates(MISSING_GATES), allow_missing=False)
    af = check(result, "a", "af_dist")
    assert (af.status, af.missing, af.value) == (FAIL, True, None)
    assert not result.rows[0].candidate
    assert result.missing == {"af_dist": 1, "sharpe": 0}


def test_missing_metric_is_skipped_and_reported_with_allow_missing() -> None:
    cells = [make("a", {}, sharpe=1.0), make("b", {}, sharpe=1.0, af_dist=-1.0)]
    result = evaluate(cells, gates(MISSING_GATES), allow_missing=True)
    af = check(result, "a", "af_dist")
    assert (af.status, af.missing) == (SKIPPED, True)
    assert row_of(result, "a").skipped == ("af_dist",)
    assert row_of(result, "a").candidate
    assert not row_of(result, "b").candidate  # allow_missing never excuses a failure
    assert result.missing == {"af_dist": 1, "sharpe": 0}
    assert result.allow_missing is True


def test_a_gate_that_is_not_required_is_skipped_even_in_strict_mode() -> None:
    g = gates({"gates": {"af_dist": {"min": 0.0, "required": False}}})
    result = evaluate([make("a", {})], g, allow_missing=False)
    assert check(result, "a", "af_dist").status == SKIPPED
    assert result.rows[0].candidate


def test_missing_summary_counts_every_metric_the_file_reads() -> None:
    g = gates(
        {
            "gates": {"cvar": {"max": 1}},
            "parity": {"metric": "sharpe", "across": "sim", "max_abs_diff": 1},
            "baselines": {"profile_values": ["market"], "beat": {"metric": "calmar"}},
        }
    )
    cells = [make("a", {"sim": "x"}, cvar=0.1), make("b", {"sim": "y"}, sharpe=1.0)]
    result = evaluate(cells, g, allow_missing=True)
    assert result.missing == {"calmar": 2, "cvar": 1, "sharpe": 1}


# --- parity --------------------------------------------------------------------------------

PARITY = {"parity": {"metric": "sharpe", "across": "simulator", "max_abs_diff": 0.25}}
NAME = "parity:sharpe:simulator"


def sims(prefix: str, engine: str, values: list[float | None]) -> list[dict[str, Any]]:
    return [
        make(f"{prefix}{i}", {"engine": engine, "simulator": s}, sharpe=v)
        for i, (s, v) in enumerate(zip(["ideal", "costly", "slippage"], values, strict=False))
    ]


def test_parity_passes_at_the_tolerance_and_fails_above_it() -> None:
    cells = sims("a", "hrp", [0.75, 0.5, 0.6]) + sims("b", "ew", [0.75, 0.5, 0.4])
    result = evaluate(cells, gates(PARITY), allow_missing=False)
    for job in ("a0", "a1", "a2"):
        c = check(result, job, NAME)
        assert (c.status, c.reference) == (PASS, 0.25)
    for job in ("b0", "b1", "b2"):  # the whole group fails, not only the outlier
        c = check(result, job, NAME)
        assert c.status == FAIL and c.reference == pytest.approx(0.35)
    assert [r.candidate for r in result.rows if r.job_id.startswith("b")] == [False] * 3


def test_a_sibling_without_the_metric_makes_parity_missing_for_the_group() -> None:
    cells = sims("a", "hrp", [0.5, 0.5, None])
    strict = evaluate(cells, gates(PARITY), allow_missing=False)
    assert [check(strict, j, NAME).status for j in ("a0", "a1", "a2")] == [FAIL] * 3
    assert all(check(strict, j, NAME).missing for j in ("a0", "a1", "a2"))
    assert check(strict, "a0", NAME).value == 0.5
    lenient = evaluate(cells, gates(PARITY), allow_missing=True)
    assert [check(lenient, j, NAME).status for j in ("a0", "a1", "a2")] == [SKIPPED] * 3
    assert [r.candidate for r in lenient.rows] == [True, True, True]


def test_a_cell_without_siblings_cannot_show_parity() -> None:
    result = evaluate(sims("a", "hrp", [0.5]), gates(PARITY), allow_missing=False)
    c = check(result, "a0", NAME)
    assert (c.status, c.missing) == (FAIL, True)


def test_parity_groups_by_every_other_coordinate() -> None:
    cells = [
        make("x", {"engine": "hrp", "simulator": "ideal", "profile": "a"}, sharpe=1.0),
        make("y", {"engine": "hrp", "simulator": "costly", "profile": "a"}, sharpe=1.1),
        make("z", {"engine": "hrp", "simulator": "costly", "profile": "b"}, sharpe=9.0),
        make("w", {"engine": "hrp", "simulator": "ideal", "profile": "b"}, sharpe=9.1),
    ]
    result = evaluate(cells, gates(PARITY), allow_missing=False)
    assert [c.status for r in result.rows for c in r.checks] == [PASS] * 4


def test_several_parity_checks_each_give_a_check() -> None:
    g = gates(
        {
            "parity": [
                {"metric": "sharpe", "across": "simulator", "max_abs_diff": 0.0},
                {"metric": "sharpe", "across": "engine", "max_abs_diff": 10.0},
            ]
        }
    )
    cells = sims("a", "hrp", [0.5, 0.6]) + sims("b", "ew", [0.5, 0.6])
    result = evaluate(cells, g, allow_missing=False)
    assert result.rows[0].failed == ("parity:sharpe:simulator",)
    assert check(result, "a0", "parity:sharpe:engine").status == PASS


# --- baselines -----------------------------------------------------------------------------

BEAT = {"baselines": {**BASELINES, "beat": {"metric": "sharpe", "margin": 0.25}}}


def grid(engine: str, **sharpes: float | None) -> list[dict[str, Any]]:
    return [
        make(
            f"{engine}-{profile}", {"engine": engine, "profile": profile, "sim": "ideal"}, sharpe=v
        )
        for profile, v in sharpes.items()
    ]


def test_a_candidate_must_beat_the_best_baseline_by_more_than_the_margin() -> None:
    cells = grid("hrp", market=0.5, benchmark=0.25, good=1.0, edge=0.75, bad=0.6)
    result = evaluate(cells, gates(BEAT), allow_missing=False)
    assert check(result, "hrp-good", "beat:sharpe") == Check(
        "beat:sharpe", "sharpe", PASS, 1.0, 0.5
    )
    assert check(result, "hrp-edge", "beat:sharpe").status == FAIL  # 0.75 == 0.5 + 0.25
    assert check(result, "hrp-bad", "beat:sharpe").status == FAIL
    assert [r.job_id for r in result.candidates] == ["hrp-good"]


def test_a_tie_with_no_margin_does_not_beat() -> None:
    g = gates({"baselines": {**BASELINES, "beat": {"metric": "sharpe"}}})
    result = evaluate(grid("hrp", market=0.5, tie=0.5, above=0.5000001), g, allow_missing=False)
    assert check(result, "hrp-tie", "beat:sharpe").status == FAIL
    assert check(result, "hrp-above", "beat:sharpe").status == PASS


def test_baselines_are_shown_never_candidates_and_have_no_beat_check() -> None:
    g = gates({**BEAT, "gates": {"sharpe": {"min": 0.0}}})
    result = evaluate(grid("hrp", market=5.0, benchmark=4.0, mine=9.0), g, allow_missing=False)
    market = row_of(result, "hrp-market")
    assert market.baseline and not market.candidate
    assert [c.name for c in market.checks] == ["sharpe"]
    assert row_of(result, "hrp-mine").candidate


def test_only_baselines_with_the_same_other_coordinates_count() -> None:
    cells = grid("hrp", market=0.5, mine=1.0) + grid("ew", market=2.0, mine=1.0)
    result = evaluate(cells, gates(BEAT), allow_missing=False)
    assert check(result, "hrp-mine", "beat:sharpe").reference == 0.5
    assert check(result, "hrp-mine", "beat:sharpe").status == PASS
    assert check(result, "ew-mine", "beat:sharpe").reference == 2.0
    assert check(result, "ew-mine", "beat:sharpe").status == FAIL


def test_a_baseline_without_an_engine_serves_every_engine() -> None:
    cells = [
        make("base", {"profile": "market", "sim": "ideal"}, sharpe=0.5),
        make("other", {"profile": "market", "sim": "costly"}, sharpe=5.0),
        make("h", {"engine": "hrp", "profile": "mine", "sim": "ideal"}, sharpe=1.0),
        make("e", {"engine": "ew", "profile": "mine", "sim": "ideal"}, sharpe=0.6),
    ]
    result = evaluate(cells, gates(BEAT), allow_missing=False)
    assert check(result, "h", "beat:sharpe").reference == 0.5
    assert check(result, "h", "beat:sharpe").status == PASS
    assert check(result, "e", "beat:sharpe").status == FAIL


def test_a_baseline_with_a_coordinate_the_cell_lacks_does_not_count() -> None:
    cells = [
        make("base", {"profile": "market", "engine": "hrp"}, sharpe=9.0),
        make("c", {"profile": "mine"}, sharpe=1.0),
    ]
    result = evaluate(cells, gates(BEAT), allow_missing=True)
    beat = check(result, "c", "beat:sharpe")
    assert (beat.status, beat.reference, beat.missing) == (SKIPPED, None, True)


def test_baselines_lacking_the_metric_are_passed_over_and_none_at_all_is_missing() -> None:
    cells = grid("hrp", market=None, benchmark=0.5, mine=1.0)
    result = evaluate(cells, gates(BEAT), allow_missing=False)
    assert check(result, "hrp-mine", "beat:sharpe").reference == 0.5
    none = evaluate(grid("hrp", market=None, mine=1.0), gates(BEAT), allow_missing=False)
    beat = check(none, "hrp-mine", "beat:sharpe")
    assert (beat.status, beat.missing) == (FAIL, True)
    lenient = evaluate(grid("hrp", market=None, mine=1.0), gates(BEAT), allow_missing=True)
    assert check(lenient, "hrp-mine", "beat:sharpe").status == SKIPPED


def test_a_candidate_without_the_metric_cannot_beat() -> None:
    result = evaluate(grid("hrp", market=0.5, mine=None), gates(BEAT), allow_missing=False)
    beat = check(result, "hrp-mine", "beat:sharpe")
    assert (beat.status, beat.missing, beat.reference) == (FAIL, True, 0.5)


def test_baseline_profiles_without_a_beat_rule_are_just_not_candidates() -> None:
    g = gates({"baselines": BASELINES})
    result = evaluate(grid("hrp", market=0.5, mine=0.1), g, allow_missing=False)
    assert [(r.job_id, r.baseline, r.candidate) for r in result.rows] == [
        ("hrp-market", True, False),
        ("hrp-mine", False, True),
    ]


# --- candidates and order ------------------------------------------------------------------


def test_a_job_that_did_not_end_ok_is_never_a_candidate() -> None:
    cell = {**make("a", {}), "status": "error"}
    result = evaluate([cell], gates({}), allow_missing=True)
    assert result.rows[0].status == "error"
    assert not result.rows[0].candidate
    assert evaluate([make("b", {})], gates({}), allow_missing=True).rows[0].candidate


def test_rows_are_in_coordinate_order_then_job_id_whatever_the_input_order() -> None:
    cells = [
        make("j3", {"a": "x", "n": 10}),
        make("j2", {"a": "x", "n": 9}),
        make("j1", {"a": "x", "n": 9}),
        make("j0", {"a": "b", "n": 100}),
        make("j4", {"n": 1}),
        make("j5", {"a": "x", "n": "text"}),
    ]
    expected = ["j4", "j0", "j1", "j2", "j3", "j5"]
    for seed in range(5):
        shuffled = cells[:]
        random.Random(seed).shuffle(shuffled)
        result = evaluate(shuffled, gates({}), allow_missing=False)
        assert [r.job_id for r in result.rows] == expected


def test_same_input_same_result() -> None:
    g = load_gates(yaml.safe_load(EXAMPLE_GATES.read_text(encoding="utf-8")))
    cells = grid("hrp", market=0.5, benchmark=0.7, mine=1.0, other=None)
    assert evaluate(cells, g, False) == evaluate(list(reversed(cells)), g, False)


# --- the example gates on real tournament cells --------------------------------------------


def test_example_gates_fail_strict_cells_on_af_dist_and_stress_alpha() -> None:
    from commands.workloads.tournament import evaluate_cell

    g = load_gates(yaml.safe_load(EXAMPLE_GATES.read_text(encoding="utf-8")))
    cells = []
    for engine, profile, simulator in itertools.product(
        ["equal_weight", "hrp"],
        ["market", "benchmark", "raw_pool_ew", "aggressive"],
        ["ideal", "costly", "slippage"],
    ):
        params = {
            "selection": "low_vol",
            "rebalance": "threshold",
            "engine": engine,
            "profile": profile,
            "simulator": simulator,
        }
        metrics, _ = evaluate_cell(params, 4)
        cells.append(make(f"{engine}-{profile}-{simulator}", params, **metrics))
    strict = evaluate(cells, g, allow_missing=False)
    failed = {name for row in strict.rows for name in row.failed}
    assert {"af_dist", "stress_alpha"} <= failed
    assert strict.missing["af_dist"] == 21 and strict.missing["stress_alpha"] == 16
    assert all(
        c.status == SKIPPED
        for row in evaluate(cells, g, allow_missing=True).rows
        for c in row.checks
        if c.missing
    )
    candidates = {r.job_id for r in evaluate(cells, g, allow_missing=True).candidates}
    assert {r.job_id for r in strict.candidates} <= candidates
    assert "hrp-aggressive-slippage" in {r.job_id for r in strict.candidates}
