"""A bar-by-bar replay of screener candidates: one position at a time, trades out.

Rules, per symbol: the loop keeps its own ATR, the mean true range of the last ``atr_bars``
bars it walked. When flat at bar ``t`` and bar ``t-1`` holds a candidate, it enters at bar
``t``'s open on the candidate's side, with a stop ``stop_atr`` ATRs (as of bar ``t-1``)
against the entry and a target ``target_atr`` ATRs in favour. From the entry bar on, each bar
exits at its open if it opened through the stop or target (a gap), else at the stop if its
range reached it (before the target: when a bar reaches both, which came first is unknown and
the stop is the cautious guess), else at the target, else at its close once the position has
been held ``max_hold_bars`` bars, else at its close on the last bar of the data. Candidates
met while a position is open, or with fewer than ``atr_bars`` bars up to them, are skipped.
``pnl`` is per unit: ``side * (exit - entry)``.

Two modes walk the same per-bar loop (``walk_spans``) over different bars:

- ``full`` walks every bar;
- ``focused`` walks only ``[c - w, c + w]`` around each candidate bar ``c`` (clipped to the
  data, merged when they overlap or touch), ``w = window_bars``, starting each window afresh.

They give identical trades when ``w >= min_window_bars(config)``, that is
``w >= max_hold_bars`` and ``w >= atr_bars - 1``:

- after: a trade from the candidate at ``c`` enters at ``c + 1`` and is out by
  ``c + max_hold_bars``, inside ``c``'s window; a candidate met while it is open lies within
  ``max_hold_bars`` of ``c``, so its window overlaps and merges. So full is flat on every bar
  outside the windows, where nothing happens;
- before: the ATR for an entry after ``c`` needs the true ranges of bars
  ``c - atr_bars + 1 .. c``, all walked in the window's lower half: the warm-up any
  simulator with per-bar state needs before it can act on a candidate.

A window that is too short raises ``WindowTooShort`` rather than return different trades.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict

from commands.workloads.screener import (
    LONG,
    SIDE_NAMES,
    Bars,
    Candidate,
    Side,
    format_timestamp,
)

Mode = Literal["full", "focused"]
MODES: tuple[Mode, ...] = ("full", "focused")
SIDE_SIGNS: dict[str, int] = {name: sign for sign, name in SIDE_NAMES.items()}

ExitReason = Literal["stop", "target", "time", "end_of_data"]
Span = tuple[int, int]  # first and last bar, inclusive


class WindowTooShort(RuntimeError):
    """A focused window ended while a position was still open."""


@dataclass(frozen=True)
class ReplayConfig:
    """Exit rules: stop and target in ATRs of the signal bar, time limit in bars held."""

    stop_atr: float = 1.5
    target_atr: float = 3.0
    max_hold_bars: int = 12
    atr_bars: int = 14

    def __post_init__(self) -> None:
        if self.stop_atr <= 0 or self.target_atr <= 0:
            raise ValueError("stop_atr and target_atr must be positive")
        if self.max_hold_bars < 1:
            raise ValueError(f"max_hold_bars must be at least 1, got {self.max_hold_bars}")
        if self.atr_bars < 1:
            raise ValueError(f"atr_bars must be at least 1, got {self.atr_bars}")


class Trade(TypedDict):
    """One closed trade; ``timestamp`` is the entry bar's open time."""

    symbol: str
    entry_bar: int
    exit_bar: int
    timestamp: str
    side: Side
    entry_price: float
    exit_price: float
    pnl: float
    exit_reason: ExitReason


@dataclass(frozen=True)
class ReplayResult:
    """The trades of one symbol in entry order, and how many bars the loop walked."""

    trades: list[Trade]
    bars_processed: int


@dataclass
class _Position:
    side: int
    entry_bar: int
    entry_price: float
    stop: float
    target: float


def min_window_bars(config: ReplayConfig) -> int:
    """The smallest ``window_bars`` for which focused replay equals full replay."""
    return max(config.max_hold_bars, config.atr_bars - 1)


def candidate_windows(candidate_bars: Sequence[int], window_bars: int, n_bars: int) -> list[Span]:
    """``[c - window_bars, c + window_bars]`` per candidate, clipped, merged, in bar order."""
    spans: list[Span] = []
    for c in sorted(candidate_bars):
        first, last = max(0, c - window_bars), min(n_bars - 1, c + window_bars)
        if spans and first <= spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], max(spans[-1][1], last))
        else:
            spans.append((first, last))
    return spans


def _exit_fill(
    position: _Position, open_: float, high: float, low: float
) -> tuple[float, ExitReason | None]:
    """Where the stop or target filled on this bar, or ``(nan, None)`` if neither did."""
    side, stop, target = position.side, position.stop, position.target
    adverse, favourable = (low, high) if side == LONG else (high, low)
    if side * (open_ - stop) <= 0:
        return open_, "stop"
    if side * (open_ - target) >= 0:
        return open_, "target"
    if side * (adverse - stop) <= 0:
        return stop, "stop"
    if side * (favourable - target) >= 0:
        return target, "target"
    return float("nan"), None


class _Walker:
    """The per-bar state machine shared by both modes: its ATR, and flat or one position."""

    def __init__(self, bars: Bars, candidates: Sequence[Candidate], config: ReplayConfig) -> None:
        self.bars, self.config = bars, config
        self.signals = {c["bar"]: SIDE_SIGNS[c["side"]] for c in candidates}
        self.last_bar = len(bars) - 1
        self.true_ranges: deque[float] = deque(maxlen=config.atr_bars)
        self.span_first = 0
        self.position: _Position | None = None
        self.trades: list[Trade] = []

    def start_span(self, first: int) -> None:
        """Forget the indicator state: the bar before ``first`` may not have been walked."""
        self.true_ranges.clear()
        self.span_first = first

    def step(self, t: int) -> None:
        # Decide at the open of bar t from what bars < t showed, then let bar t play out.
        if self.position is None and (t - 1) in self.signals:
            self._enter(t, self.signals[t - 1])
        if self.position is not None:
            self._check_exit(t)
        self._record_true_range(t)

    def _record_true_range(self, t: int) -> None:
        bars = self.bars
        high, low = float(bars.high[t]), float(bars.low[t])
        prev_close = float(bars.close[t - 1]) if t > 0 else low
        self.true_ranges.append(max(high, prev_close) - min(low, prev_close))

    def _enter(self, t: int, side: int) -> None:
        if len(self.true_ranges) < self.config.atr_bars:
            if self.span_first > 0:
                raise WindowTooShort(
                    f"{self.bars.symbol}: window from bar {self.span_first} is too short "
                    f"for an ATR over {self.config.atr_bars} bars at bar {t - 1}"
                )
            return  # the data itself is too short before this candidate, in every mode
        atr = sum(self.true_ranges) / self.config.atr_bars
        price = float(self.bars.open[t])
        stop = price - side * self.config.stop_atr * atr
        target = price + side * self.config.target_atr * atr
        self.position = _Position(side, t, price, stop, target)

    def _check_exit(self, t: int) -> None:
        position = self.position
        assert position is not None
        bars = self.bars
        price, reason = _exit_fill(
            position, float(bars.open[t]), float(bars.high[t]), float(bars.low[t])
        )
        if reason is None and t - position.entry_bar + 1 >= self.config.max_hold_bars:
            price, reason = float(bars.close[t]), "time"
        if reason is None and t == self.last_bar:
            price, reason = float(bars.close[t]), "end_of_data"
        if reason is not None:
            self._close(position, t, price, reason)

    def _close(self, position: _Position, t: int, price: float, reason: ExitReason) -> None:
        self.trades.append(
            {
                "symbol": self.bars.symbol,
                "entry_bar": position.entry_bar,
                "exit_bar": t,
                "timestamp": format_timestamp(self.bars.ts[position.entry_bar]),
                "side": SIDE_NAMES[position.side],
                "entry_price": position.entry_price,
                "exit_price": price,
                "pnl": position.side * (price - position.entry_price),
                "exit_reason": reason,
            }
        )
        self.position = None


def walk_spans(
    bars: Bars, candidates: Sequence[Candidate], config: ReplayConfig, spans: Sequence[Span]
) -> ReplayResult:
    """Run the per-bar loop over each span in turn, starting each afresh.

    Raises:
        WindowTooShort: a span ended with a position open, or began too close to a candidate
            for the ATR its entry needs.
    """
    walker = _Walker(bars, candidates, config)
    processed = 0
    for first, last in spans:
        walker.start_span(first)
        for t in range(first, last + 1):
            walker.step(t)
        processed += last - first + 1
        if walker.position is not None:
            raise WindowTooShort(
                f"{bars.symbol}: position entered at bar {walker.position.entry_bar} "
                f"still open at the end of window [{first}, {last}]"
            )
    return ReplayResult(walker.trades, processed)


def replay_bars(
    bars: Bars,
    candidates: Sequence[Candidate],
    config: ReplayConfig,
    mode: Mode = "full",
    window_bars: int | None = None,
) -> ReplayResult:
    """Replay one symbol's candidates in ``mode``; ``window_bars`` defaults to the minimum.

    Raises:
        ValueError: an unknown mode, or ``window_bars`` below ``min_window_bars(config)``.
    """
    if mode == "full":
        return walk_spans(bars, candidates, config, [(0, len(bars) - 1)])
    if mode != "focused":
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    needed = min_window_bars(config)
    window = needed if window_bars is None else window_bars
    if window < needed:
        raise ValueError(f"window_bars {window} is below the {needed} bars trades need")
    spans = candidate_windows([c["bar"] for c in candidates], window, len(bars))
    return walk_spans(bars, candidates, config, spans)
