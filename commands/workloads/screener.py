"""Synthetic hourly OHLCV per symbol and a vectorized SMA-cross screener over it.

Data: ``generate_bars`` builds seeded hourly bars that exist only in session hours
(``SESSION_BARS`` bars a weekday from ``SESSION_START_HOUR``), with an overnight price gap at
each session open, two volatility regimes, and occasional missing bars inside a session. The
same ``(symbol, seed)`` gives the same bars in every process, and asking for fewer bars gives
a prefix of the same series (each ingredient has its own generator drawing bar by bar).

Screen: a candidate at bar ``t`` is a cross of the fast SMA over the slow SMA between bars
``t-1`` and ``t``, kept only when bar ``t`` follows bar ``t-1`` without a break (see
``bar_breaks``), ATR over ``atr_bars`` stands at least ``regime_min`` times its own average
over ``atr_avg_bars``, and the score (SMA separation in ATRs) is at least ``min_score``.

No lookahead, by construction: every feature is a trailing window read from a cumulative sum
(``trailing_mean``) or a difference with the bar before (``true_range``, ``bar_breaks``,
``cross_sides``). A cumulative sum at ``t`` is a sequential sum of bars ``0..t``, so no value
at ``t`` can read bar ``t+1``; the tests alter every bar after ``t`` and check this.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal, TypedDict

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int8]

BAR_SECONDS = 3600
SESSION_START_HOUR = 9
SESSION_BARS = 8  # bars opening 09:00 .. 16:00
FIRST_DAY = np.datetime64("2024-01-01", "D")  # a Monday
CALENDAR_CHUNK_DAYS = 28
START_PRICE = 100.0
LONG, SHORT = 1, -1

Side = Literal["long", "short"]
SIDE_NAMES: dict[int, Side] = {LONG: "long", SHORT: "short"}


@dataclass(frozen=True)
class MarketSpec:
    """How synthetic bars are drawn: per-bar volatility by regime, gaps, regime switching."""

    calm_vol: float = 0.004
    stormy_vol: float = 0.012
    regime_switch_prob: float = 0.01
    overnight_gap_vol: float = 0.01
    missing_bar_prob: float = 0.02
    wick_scale: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.missing_bar_prob < 1.0:
            raise ValueError(f"missing_bar_prob must be in [0, 1), got {self.missing_bar_prob}")


@dataclass(frozen=True)
class Bars:
    """One symbol's hourly bars, oldest first; ``ts`` is the bar's open time (UTC)."""

    symbol: str
    ts: npt.NDArray[np.datetime64]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __len__(self) -> int:
        return int(self.ts.size)


@dataclass(frozen=True)
class ScreenConfig:
    """Screener knobs; window lengths are in bars."""

    fast: int = 10
    slow: int = 40
    atr_bars: int = 14
    atr_avg_bars: int = 100
    regime_min: float = 1.2
    min_score: float = 0.1

    def __post_init__(self) -> None:
        if not 1 <= self.fast < self.slow:
            raise ValueError(f"need 1 <= fast < slow, got fast={self.fast} slow={self.slow}")
        if self.atr_bars < 1 or self.atr_avg_bars < 1:
            raise ValueError("atr_bars and atr_avg_bars must be at least 1")


@dataclass(frozen=True)
class Features:
    """Per-bar screener features; NaN where a window is not yet full."""

    fast_sma: FloatArray
    slow_sma: FloatArray
    atr: FloatArray
    atr_avg: FloatArray
    breaks: BoolArray


class Candidate(TypedDict):
    """One screener signal: enter ``side`` after bar ``bar`` of ``symbol``."""

    symbol: str
    bar: int
    timestamp: str
    side: Side
    score: float
    reason: str


def symbol_rngs(symbol: str, seed: int, count: int) -> list[np.random.Generator]:
    """``count`` independent generators fixed by (symbol, seed).

    SHA-256 rather than ``hash()``, which is salted per process.
    """
    key = int.from_bytes(hashlib.sha256(symbol.encode("utf-8")).digest()[:8], "big")
    return [np.random.default_rng(s) for s in np.random.SeedSequence([seed, key]).spawn(count)]


def session_timestamps(
    n_bars: int, rng: np.random.Generator, spec: MarketSpec
) -> npt.NDArray[np.datetime64]:
    """The open times of ``n_bars`` in-session bars, weekdays only, some bars missing."""
    hours = ((SESSION_START_HOUR + np.arange(SESSION_BARS)) * BAR_SECONDS).astype("timedelta64[s]")
    kept: list[npt.NDArray[np.datetime64]] = []
    count, first_day = 0, FIRST_DAY
    while count < n_bars:  # a chunk of days at a time; the draws run in slot order regardless
        days = first_day + np.arange(CALENDAR_CHUNK_DAYS)
        slots = (days[np.is_busday(days)].astype("datetime64[s]")[:, None] + hours).ravel()
        chunk = slots[rng.random(slots.size) >= spec.missing_bar_prob]
        kept.append(chunk)
        count += chunk.size
        first_day = first_day + CALENDAR_CHUNK_DAYS
    out: npt.NDArray[np.datetime64] = np.concatenate(kept)[:n_bars]
    return out


def generate_bars(symbol: str, seed: int, n_bars: int, spec: MarketSpec | None = None) -> Bars:
    """Seeded synthetic hourly OHLCV bars for one symbol."""
    if n_bars < 2:
        raise ValueError(f"n_bars must be at least 2, got {n_bars}")
    spec = spec or MarketSpec()
    slots, regimes, gaps, bodies, wicks, volumes = symbol_rngs(symbol, seed, 6)
    ts = session_timestamps(n_bars, slots, spec)
    stormy = np.cumsum(regimes.random(n_bars) < spec.regime_switch_prob) % 2 == 1
    vol = np.where(stormy, spec.stormy_vol, spec.calm_vol)
    gap = np.where(bar_breaks(ts), gaps.normal(0.0, spec.overnight_gap_vol, n_bars), 0.0)
    gap[0] = 0.0
    body = bodies.normal(0.0, 1.0, n_bars) * vol
    log_close = np.log(START_PRICE) + np.cumsum(gap + body)
    open_, close = np.exp(log_close - body), np.exp(log_close)
    wick_up, wick_down = np.abs(wicks.normal(0.0, 1.0, (n_bars, 2)).T) * vol * spec.wick_scale
    high = np.maximum(open_, close) * np.exp(wick_up)
    low = np.minimum(open_, close) * np.exp(-wick_down)
    volume = volumes.lognormal(10.0, 0.5, n_bars) * np.where(stormy, 2.0, 1.0)
    return Bars(symbol, ts, open_, high, low, close, volume)


def bar_breaks(ts: npt.NDArray[np.datetime64]) -> BoolArray:
    """True at ``t`` when bar ``t`` does not follow bar ``t-1`` by exactly one bar.

    That is a session break (overnight, weekend) or a missing bar inside a session; bar 0 has
    no bar before it and counts as a break.
    """
    step = np.diff(ts.astype("datetime64[s]").astype(np.int64))
    return np.concatenate(([True], step != BAR_SECONDS))


def trailing_mean(values: FloatArray, window: int) -> FloatArray:
    """Mean of ``values[t-window+1 .. t]`` at each ``t``; NaN for ``t < window - 1``."""
    sums = np.concatenate(([0.0], np.cumsum(values)))
    out = np.full(values.size, np.nan)
    if values.size >= window:
        out[window - 1 :] = (sums[window:] - sums[:-window]) / window
    return out


def true_range(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    """Wilder's true range; bar 0 has no previous close and uses its own high - low."""
    prev_close = np.concatenate(([close[0]], close[:-1]))
    return np.maximum(high, prev_close) - np.minimum(low, prev_close)


def compute_features(bars: Bars, config: ScreenConfig) -> Features:
    """Trailing SMAs, ATR and the ATR's own trailing average, plus the break mask."""
    atr = trailing_mean(true_range(bars.high, bars.low, bars.close), config.atr_bars)
    # The ATR average must skip the ATR's warm-up NaNs (a NaN would poison the cumulative sum):
    # average zeros there, then blank every bar whose window reached into the warm-up.
    atr_avg = trailing_mean(np.nan_to_num(atr, nan=0.0), config.atr_avg_bars)
    atr_avg[: config.atr_bars - 1 + config.atr_avg_bars - 1] = np.nan
    return Features(
        fast_sma=trailing_mean(bars.close, config.fast),
        slow_sma=trailing_mean(bars.close, config.slow),
        atr=atr,
        atr_avg=atr_avg,
        breaks=bar_breaks(bars.ts),
    )


def cross_sides(fast: FloatArray, slow: FloatArray) -> IntArray:
    """+1 where fast crosses above slow between ``t-1`` and ``t``, -1 below, else 0."""
    spread = fast - slow
    before = np.concatenate(([np.nan], spread[:-1]))
    # Comparisons with NaN are False, so a window that is not yet full never crosses.
    up = (before <= 0.0) & (spread > 0.0)
    down = (before >= 0.0) & (spread < 0.0)
    return (up.astype(np.int8) - down.astype(np.int8)).astype(np.int8)


def signal_sides(features: Features, config: ScreenConfig) -> IntArray:
    """The screener's decision per bar: the cross side where every filter passes, else 0."""
    sides = cross_sides(features.fast_sma, features.slow_sma)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = features.atr / features.atr_avg
        score = np.abs(features.fast_sma - features.slow_sma) / features.atr
    keep = (~features.breaks) & (ratio >= config.regime_min) & (score >= config.min_score)
    return np.where(keep, sides, 0).astype(np.int8)


def format_timestamp(ts: np.datetime64) -> str:
    """RFC 3339 UTC with seconds: ``2024-01-02T09:00:00Z``."""
    return f"{np.datetime_as_string(ts, unit='s')}Z"


def screen_bars(
    bars: Bars, config: ScreenConfig, features: Features | None = None
) -> list[Candidate]:
    """Every candidate of one symbol, in bar order."""
    features = features or compute_features(bars, config)
    sides = signal_sides(features, config)
    candidates: list[Candidate] = []
    for t in np.flatnonzero(sides).tolist():
        atr, ratio = float(features.atr[t]), float(features.atr[t] / features.atr_avg[t])
        spread = float(features.fast_sma[t] - features.slow_sma[t])
        direction = "up" if sides[t] == LONG else "down"
        candidates.append(
            {
                "symbol": bars.symbol,
                "bar": t,
                "timestamp": format_timestamp(bars.ts[t]),
                "side": SIDE_NAMES[int(sides[t])],
                "score": abs(spread) / atr,
                "reason": f"sma{config.fast}/{config.slow} cross {direction}, "
                f"atr{config.atr_bars}/avg{config.atr_avg_bars}={ratio:.3f}",
            }
        )
    return candidates
