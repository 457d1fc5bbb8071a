"""The replay workload: trade rules, full vs focused parity, window bounds, the replay job and
the example manifests run end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from runner_fixtures import by_name, cli, no_runner_env

from commands.runner.job import JobRunner, WorkerSpec
from commands.workloads.replay import (
    MODES,
    Mode,
    ReplayConfig,
    WindowTooShort,
    candidate_windows,
    min_window_bars,
    replay_bars,
    walk_spans,
)
from commands.workloads.screener import (
    Bars,
    Candidate,
    ScreenConfig,
    Side,
    generate_bars,
    screen_bars,
)
from projections.parity_rules import compare

__all__ = ["no_runner_env"]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FLAT = (100.0, 101.0, 99.0, 100.0)  # true range 2 on a flat series
RULES = ReplayConfig(stop_atr=1.0, target_atr=2.0, max_hold_bars=5, atr_bars=2)
# With the flat bars above and RULES, a long entered at 100 has its stop at 98, target at 104.
EXACT = ("symbol", "side", "entry_bar", "exit_bar", "timestamp", "exit_reason")


def _bars(*rows: tuple[float, float, float, float]) -> Bars:
    """Bars from (open, high, low, close) rows, one hour apart."""
    data = np.array(rows, dtype=np.float64)
    ts = np.datetime64("2024-01-01T09:00:00") + np.arange(len(rows)) * np.timedelta64(3600, "s")
    return Bars("T", ts, data[:, 0], data[:, 1], data[:, 2], data[:, 3], np.ones(len(rows)))


def _candidate(bar: int, side: Side = "long") -> Candidate:
    return {"symbol": "T", "bar": bar, "timestamp": "", "side": side, "score": 1.0, "reason": ""}


def _both_modes(bars: Bars, candidates: list[Candidate], config: ReplayConfig) -> list[Any]:
    """The trades of both modes, checked equal."""
    full, focused = (replay_bars(bars, candidates, config, mode) for mode in MODES)
    assert full.trades == focused.trades
    return [(t["entry_bar"], t["exit_bar"], t["exit_price"], t["exit_reason"]) for t in full.trades]


def test_entry_at_next_open_and_the_stop_wins_when_a_bar_reaches_both() -> None:
    bars = _bars(FLAT, FLAT, FLAT, (100.0, 105.0, 97.0, 101.0), FLAT)
    assert _both_modes(bars, [_candidate(2)], RULES) == [(3, 3, 98.0, "stop")]


def test_a_gap_through_the_stop_fills_at_the_open() -> None:
    bars = _bars(FLAT, FLAT, FLAT, FLAT, (95.0, 96.0, 94.0, 95.0), FLAT)
    assert _both_modes(bars, [_candidate(2)], RULES) == [(3, 4, 95.0, "stop")]


def test_the_target_fills_at_its_price() -> None:
    bars = _bars(FLAT, FLAT, FLAT, FLAT, (100.0, 104.5, 99.5, 104.0), FLAT)
    trades = replay_bars(bars, [_candidate(2)], RULES).trades
    assert [(t["exit_bar"], t["exit_price"], t["exit_reason"], t["pnl"]) for t in trades] == [
        (4, 104.0, "target", 4.0)
    ]


def test_a_short_mirrors_stop_target_and_pnl() -> None:
    bars = _bars(FLAT, FLAT, FLAT, FLAT, (100.0, 100.5, 95.5, 96.0), FLAT)
    trades = replay_bars(bars, [_candidate(2, "short")], RULES).trades
    assert [(t["side"], t["exit_price"], t["exit_reason"], t["pnl"]) for t in trades] == [
        ("short", 96.0, "target", 4.0)
    ]


def test_time_limit_closes_after_max_hold_bars_and_data_end_closes_the_rest() -> None:
    bars = _bars(*[FLAT] * 12)
    assert _both_modes(bars, [_candidate(2)], RULES) == [(3, 7, 100.0, "time")]
    assert _both_modes(bars, [_candidate(8)], RULES) == [(9, 11, 100.0, "end_of_data")]
    assert _both_modes(bars, [_candidate(11)], RULES) == []  # no bar to enter on


def test_candidates_while_a_position_is_open_are_skipped() -> None:
    bars = _bars(*[FLAT] * 20)
    got = _both_modes(bars, [_candidate(2), _candidate(4), _candidate(7), _candidate(9)], RULES)
    assert got == [(3, 7, 100.0, "time"), (8, 12, 100.0, "time")]  # 4 and 9 fall inside trades


def test_candidates_before_a_full_atr_are_skipped_in_both_modes() -> None:
    bars = _bars(*[FLAT] * 10)
    assert _both_modes(bars, [_candidate(0), _candidate(4)], RULES) == [(5, 9, 100.0, "time")]


@pytest.mark.parametrize(
    ("candidate_bars", "window", "n", "spans"),
    [
        ([10, 30], 5, 100, [(5, 15), (25, 35)]),
        ([10, 16], 5, 100, [(5, 21)]),  # overlapping
        ([10, 21], 5, 100, [(5, 26)]),  # touching: 15 and 16
        ([10, 22], 5, 100, [(5, 15), (17, 27)]),  # one bar apart
        ([98, 2], 5, 100, [(0, 7), (93, 99)]),  # clipped, unsorted input
        ([], 5, 100, []),
    ],
)
def test_candidate_windows_merge_clip_and_sort(
    candidate_bars: list[int], window: int, n: int, spans: list[tuple[int, int]]
) -> None:
    assert candidate_windows(candidate_bars, window, n) == spans


CONFIGS = [
    ReplayConfig(),
    ReplayConfig(stop_atr=0.5, target_atr=0.8, max_hold_bars=3),
    ReplayConfig(stop_atr=4.0, target_atr=8.0, max_hold_bars=40, atr_bars=20),
    ReplayConfig(max_hold_bars=4, atr_bars=30),  # the lookback bound is the larger
]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_focused_gives_the_same_trades_as_full_on_far_fewer_bars(
    seed: int, config: ReplayConfig
) -> None:
    screen = ScreenConfig(atr_bars=config.atr_bars)
    trades = full_bars = focused_bars = 0
    for symbol in ("AAA", "BBB", "CCC"):
        bars = generate_bars(symbol, seed, 5000)
        candidates = screen_bars(bars, screen)
        full = replay_bars(bars, candidates, config, "full")
        focused = replay_bars(bars, candidates, config, "focused")
        assert focused.trades == full.trades
        trades += len(full.trades)
        full_bars += full.bars_processed
        focused_bars += focused.bars_processed
    assert trades > 10  # the comparison is not vacuous
    assert full_bars == 15_000
    assert focused_bars * 3 < full_bars


def _time_exit_only(max_hold: int, atr_bars: int) -> ReplayConfig:
    """Rules whose stop and target are out of reach, so every trade runs its time limit."""
    return ReplayConfig(stop_atr=1e6, target_atr=1e6, max_hold_bars=max_hold, atr_bars=atr_bars)


def _sample() -> tuple[Bars, list[Candidate]]:
    bars = generate_bars("BOUND", 3, 5000)
    return bars, screen_bars(bars, ScreenConfig())


def test_min_window_bars_is_the_larger_of_the_time_limit_and_the_atr_lookback() -> None:
    assert min_window_bars(ReplayConfig(max_hold_bars=12, atr_bars=14)) == 13
    assert min_window_bars(ReplayConfig(max_hold_bars=12, atr_bars=5)) == 12


def test_a_window_one_bar_short_of_the_time_limit_cannot_finish_a_trade() -> None:
    bars, candidates = _sample()
    config = _time_exit_only(max_hold=20, atr_bars=5)
    needed = min_window_bars(config)
    assert needed == 20
    full = replay_bars(bars, candidates, config, "full")
    assert full.trades and {t["exit_reason"] for t in full.trades} <= {"time", "end_of_data"}
    assert replay_bars(bars, candidates, config, "focused").trades == full.trades
    short = candidate_windows([c["bar"] for c in candidates], needed - 1, len(bars))
    with pytest.raises(WindowTooShort, match="still open"):
        walk_spans(bars, candidates, config, short)
    with pytest.raises(ValueError, match="window_bars"):
        replay_bars(bars, candidates, config, "focused", window_bars=needed - 1)


def test_a_window_one_bar_short_of_the_atr_lookback_cannot_enter() -> None:
    bars, candidates = _sample()
    config = ReplayConfig(max_hold_bars=3, atr_bars=30)
    needed = min_window_bars(config)
    assert needed == 29
    short = candidate_windows([c["bar"] for c in candidates], needed - 1, len(bars))
    with pytest.raises(WindowTooShort, match="too short"):
        walk_spans(bars, candidates, config, short)
    # Also when an earlier window left the indicator full: each window must start afresh.
    first, later = candidates[0]["bar"], candidates[-1]["bar"]
    spans = [(0, first + needed), (later - needed + 1, min(later + needed, len(bars) - 1))]
    with pytest.raises(WindowTooShort, match="too short"):
        walk_spans(bars, candidates, config, spans)


def test_a_wider_window_walks_more_bars_for_the_same_trades() -> None:
    bars, candidates = _sample()
    narrow = replay_bars(bars, candidates, ReplayConfig(), "focused")
    wide = replay_bars(bars, candidates, ReplayConfig(), "focused", window_bars=60)
    assert wide.trades == narrow.trades and wide.bars_processed > narrow.bars_processed


def test_an_unknown_mode_and_a_zero_time_limit_are_refused() -> None:
    bars, candidates = _sample()
    with pytest.raises(ValueError, match="mode"):
        replay_bars(bars, candidates, ReplayConfig(), "sparse")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_hold_bars"):
        ReplayConfig(max_hold_bars=0)


def _replay_job(tmp_path: Path, mode: Mode) -> dict[str, Any]:
    spec = WorkerSpec("commands.workloads.screen_jobs:replay", None, "simulate", "b", str(tmp_path))
    params = {"symbols": ["SYM00", "SYM01"], "seed": 7, "bars": 4000, "mode": mode}
    _, outcome, _, emitted = JobRunner(spec).run((0, "j", "n", params, 1))
    assert outcome["status"] == "ok", outcome.get("error")
    assert emitted == []
    return outcome


def test_replay_job_modes_agree_and_report_bars_processed(tmp_path: Path) -> None:
    full, focused = _replay_job(tmp_path, "full"), _replay_job(tmp_path, "focused")
    assert full["metrics"]["bars_processed"] == 8000 == full["metrics"]["bars"]
    assert focused["metrics"]["bars_processed"] * 5 < 8000
    assert full["metrics"]["trades"] == len(full["result"]["trades"]) > 0
    assert {k: v for k, v in full["metrics"].items() if k != "bars_processed"} == {
        k: v for k, v in focused["metrics"].items() if k != "bars_processed"
    }
    parity = compare(
        {"n": full["result"]["trades"]}, {"n": focused["result"]["trades"]}, EXACT, 0.0
    )
    assert parity.identical and parity.jobs[0].a_records == full["metrics"]["trades"]


def test_example_manifests_run_and_their_batches_match_job_by_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_runner_env: None
) -> None:
    root = tmp_path / "root"
    jobs = {}
    for mode in MODES:
        manifest = EXAMPLES / f"replay_{mode}.yaml"
        argv = ["--root", str(root), "run", str(manifest), "--batch-id", mode]
        code, _, err = cli([*argv, "--executor", "thread"], capsys)
        assert code == 0, err
        jobs[mode] = by_name(root, mode)
    assert set(jobs["full"]) == set(jobs["focused"]) and len(jobs["full"]) >= 2
    trades = {m: {n: o["result"]["trades"] for n, o in jobs[m].items()} for m in MODES}
    assert compare(trades["full"], trades["focused"], EXACT, 1e-12).identical
    processed = {m: sum(o["metrics"]["bars_processed"] for o in jobs[m].values()) for m in MODES}
    assert processed["focused"] * 5 < processed["full"]
