"""Benchmark full against focused replay of the screener's candidates.

Generates the synthetic universe (default 20 symbols x 5,000 hourly bars), screens it once,
then times the replay of every symbol in each mode, best of ``--repeat`` runs, interleaved so
that a busy machine slows both alike. Both modes must produce identical trades (checked with
``projections.parity_rules.compare``) or the benchmark stops. Prints one table: bars
processed, trades, best wall time, and the speedup over full replay, with and without the
screen's own time.

Usage:
  .venv/bin/python bench/bench_replay.py
  .venv/bin/python bench/bench_replay.py --symbols 50 --bars 10000 --repeat 5
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from commands.workloads.replay import MODES, Mode, ReplayConfig, replay_bars
from commands.workloads.screener import (
    Bars,
    Candidate,
    ScreenConfig,
    generate_bars,
    screen_bars,
)
from projections.parity_rules import compare

Universe = list[tuple[Bars, list[Candidate]]]
EXACT = ("symbol", "side", "entry_bar", "exit_bar", "timestamp", "exit_reason")


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """The shortest of ``repeat`` timed calls, and the last call's return value."""
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def replay_all(universe: Universe, config: ReplayConfig, mode: Mode) -> tuple[dict[str, Any], int]:
    """Every symbol's trades by symbol, and the bars walked in total."""
    trades: dict[str, Any] = {}
    processed = 0
    for bars, candidates in universe:
        result = replay_bars(bars, candidates, config, mode)
        trades[bars.symbol] = result.trades
        processed += result.bars_processed
    return trades, processed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--bars", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    screen_config, replay_config = ScreenConfig(), ReplayConfig()
    symbols = [f"SYM{i:03d}" for i in range(args.symbols)]
    universe_bars = [generate_bars(s, args.seed, args.bars) for s in symbols]

    def screen_all() -> Universe:
        return [(bars, screen_bars(bars, screen_config)) for bars in universe_bars]

    screen_s, universe = best_of(args.repeat, screen_all)
    best = {mode: float("inf") for mode in MODES}
    runs: dict[str, tuple[dict[str, Any], int]] = {}
    for _ in range(args.repeat):  # interleaved: a slow spell hits both modes alike
        for mode in MODES:
            wall, runs[mode] = best_of(1, partial(replay_all, universe, replay_config, mode))
            best[mode] = min(best[mode], wall)
    parity = compare(runs["full"][0], runs["focused"][0], EXACT, 0.0)
    if not parity.identical:
        print(f"parity FAILED: {parity.total_mismatches} mismatches", file=sys.stderr)
        return 1
    candidates = sum(len(c) for _, c in universe)
    trades = sum(len(t) for t in runs["full"][0].values())
    print(
        f"{args.symbols} symbols x {args.bars} bars, {candidates} candidates, {trades} trades, "
        f"best of {args.repeat}; parity: identical"
    )
    header = f"{'mode':<16} {'bars processed':>15} {'wall s':>9} {'speedup':>8}"
    print(header)
    print("-" * len(header))
    rows = [
        ("full", runs["full"][1], best["full"]),
        ("focused", runs["focused"][1], best["focused"]),
        ("screen+focused", runs["focused"][1], screen_s + best["focused"]),
    ]
    for name, processed, wall in rows:
        print(f"{name:<16} {processed:>15,} {wall:>9.4f} {best['full'] / wall:>7.1f}x")
    print(
        f"(screen alone: {screen_s:.4f} s; bars ratio {runs['full'][1] / runs['focused'][1]:.1f}x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
