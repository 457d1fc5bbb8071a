"""The screener workload: session-shaped synthetic bars, no lookahead, breaks, determinism,
and the ``screen`` job's ``candidate.proposed`` events."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands.runner.job import JobRunner, WorkerSpec
from commands.workloads.screen_jobs import parse_params
from commands.workloads.screener import (
    BAR_SECONDS,
    SESSION_BARS,
    SESSION_START_HOUR,
    Bars,
    ScreenConfig,
    bar_breaks,
    compute_features,
    cross_sides,
    generate_bars,
    screen_bars,
    trailing_mean,
)

REPO = Path(__file__).resolve().parents[2]
# Loose filters so that every data set has many candidates to get wrong.
BUSY = ScreenConfig(fast=5, slow=20, atr_bars=10, atr_avg_bars=30, regime_min=0.0, min_score=0.0)
N_BARS = 1200


def _altered_after(bars: Bars, t: int, rng: np.random.Generator) -> Bars:
    """``bars`` with every bar after ``t`` replaced by something else entirely."""
    tail = bars.ts.size - t - 1
    scale = rng.uniform(0.3, 3.0, tail)

    def swap(values: np.ndarray, widen: float = 1.0) -> np.ndarray:
        out = values.copy()
        out[t + 1 :] = values[t + 1 :] * scale * widen
        return out

    ts = bars.ts.copy()
    ts[t + 1 :] = ts[t + 1 :] + np.timedelta64(7 * 24 * 3600, "s")  # and a week-long gap
    return dataclasses.replace(
        bars,
        ts=ts,
        open=swap(bars.open),
        high=swap(bars.high, 1.5),
        low=swap(bars.low, 0.5),
        close=swap(bars.close),
        volume=swap(bars.volume),
    )


def _prefix(bars: Bars, last: int) -> Bars:
    """Bars ``0..last`` only, as if the data ended there."""
    keep = slice(0, last + 1)
    return dataclasses.replace(
        bars,
        ts=bars.ts[keep],
        open=bars.open[keep],
        high=bars.high[keep],
        low=bars.low[keep],
        close=bars.close[keep],
        volume=bars.volume[keep],
    )


def _upto(candidates: list[Any], t: int) -> list[Any]:
    return [c for c in candidates if c["bar"] <= t]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    t=st.integers(50, N_BARS - 2),
    noise=st.integers(0, 2**31 - 1),
)
def test_altering_bars_after_t_leaves_every_candidate_up_to_t_unchanged(
    seed: int, t: int, noise: int
) -> None:
    bars = generate_bars("LOOK", seed, N_BARS)
    altered = _altered_after(bars, t, np.random.default_rng(noise))
    before = _upto(screen_bars(bars, BUSY), t)
    assert before == _upto(screen_bars(altered, BUSY), t)
    assert len(before) > 0 or t < 200  # the property is not vacuous


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_screening_a_prefix_finds_exactly_the_candidates_up_to_its_end(seed: int) -> None:
    bars = generate_bars("PREFIX", seed, 600)
    full = screen_bars(bars, BUSY)
    for end in range(40, 600, 37):
        assert screen_bars(_prefix(bars, end), BUSY) == _upto(full, end)


def test_trailing_mean_is_the_mean_of_the_window_ending_at_each_bar() -> None:
    values = np.random.default_rng(3).normal(100.0, 5.0, 300)
    got = trailing_mean(values, 7)
    assert np.isnan(got[:6]).all()
    want = np.array([values[t - 6 : t + 1].mean() for t in range(6, 300)])
    np.testing.assert_allclose(got[6:], want, rtol=1e-12)


def test_bars_exist_only_in_weekday_sessions_with_breaks_and_missing_bars() -> None:
    bars = generate_bars("SESS", 5, 3000)
    hours = (bars.ts.astype("datetime64[h]") - bars.ts.astype("datetime64[D]")).astype(int)
    assert hours.min() == SESSION_START_HOUR
    assert hours.max() == SESSION_START_HOUR + SESSION_BARS - 1
    assert np.is_busday(bars.ts.astype("datetime64[D]")).all()
    step = np.diff(bars.ts.astype("datetime64[s]").astype(np.int64))
    assert (step > 0).all()
    same_day = np.diff(bars.ts.astype("datetime64[D]").astype(np.int64)) == 0
    assert (step[same_day] > BAR_SECONDS).any()  # some bars missing inside a session
    assert (~same_day).sum() > 300  # many overnight and weekend breaks
    assert (bars.high >= np.maximum(bars.open, bars.close)).all()
    assert (bars.low <= np.minimum(bars.open, bars.close)).all()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_no_candidate_crosses_a_session_break_though_raw_crosses_do(seed: int) -> None:
    bars = generate_bars("BRK", seed, 3000)
    features = compute_features(bars, BUSY)
    breaks = bar_breaks(bars.ts)
    raw = cross_sides(features.fast_sma, features.slow_sma)
    assert (raw[breaks] != 0).any()  # the filter has crosses to remove
    candidates = screen_bars(bars, BUSY, features)
    assert candidates
    for c in candidates:
        t = c["bar"]
        assert not breaks[t]
        assert bars.ts[t] - bars.ts[t - 1] == np.timedelta64(BAR_SECONDS, "s")
        assert bars.ts[t].astype("datetime64[D]") == bars.ts[t - 1].astype("datetime64[D]")


def test_candidates_pass_every_filter_and_name_their_cross() -> None:
    config = ScreenConfig()
    bars = generate_bars("FILT", 11, 5000)
    features = compute_features(bars, config)
    candidates = screen_bars(bars, config, features)
    assert candidates
    for c in candidates:
        t = c["bar"]
        assert set(c) == {"symbol", "bar", "timestamp", "side", "score", "reason"}
        spread, before = (
            features.fast_sma[t] - features.slow_sma[t],
            features.fast_sma[t - 1] - features.slow_sma[t - 1],
        )
        assert (spread > 0 >= before) if c["side"] == "long" else (spread < 0 <= before)
        assert features.atr[t] / features.atr_avg[t] >= config.regime_min
        assert c["score"] == pytest.approx(abs(spread) / features.atr[t])
        assert c["score"] >= config.min_score
        assert c["timestamp"].endswith("Z") and c["timestamp"][:13] == str(bars.ts[t])[:13]


def test_the_regime_filter_removes_candidates() -> None:
    bars = generate_bars("REG", 2, 5000)
    loose = screen_bars(bars, dataclasses.replace(BUSY, regime_min=0.0))
    strict = screen_bars(bars, dataclasses.replace(BUSY, regime_min=1.3))
    assert 0 < len(strict) < len(loose)
    assert {c["bar"] for c in strict} <= {c["bar"] for c in loose}


def test_same_seed_same_bars_other_seed_other_bars_fewer_bars_a_prefix() -> None:
    a, b = generate_bars("DET", 4, 2000), generate_bars("DET", 4, 2000)
    for field in ("ts", "open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(a, field), getattr(b, field))
        assert np.array_equal(getattr(a, field)[:700], getattr(generate_bars("DET", 4, 700), field))
    assert not np.array_equal(a.close, generate_bars("DET", 5, 2000).close)
    assert not np.array_equal(a.close, generate_bars("DEU", 4, 2000).close)


def test_candidates_are_the_same_in_a_fresh_process_with_another_hash_seed() -> None:
    code = (
        "import json; from commands.workloads.screener import *; "
        "print(json.dumps(screen_bars(generate_bars('PROC', 9, 3000), ScreenConfig())))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=True, env=env, cwd=REPO
    )
    here = screen_bars(generate_bars("PROC", 9, 3000), ScreenConfig())
    assert here and json.loads(out.stdout) == json.loads(json.dumps(here))


def _run_job(tmp_path: Path, params: dict[str, Any], ref: str = "screen") -> Any:
    spec = WorkerSpec(f"commands.workloads.screen_jobs:{ref}", None, "scan", "b-1", str(tmp_path))
    return JobRunner(spec).run((0, "job0", "SYM", params, 99))


def test_screen_job_emits_one_valid_candidate_event_per_candidate(tmp_path: Path) -> None:
    symbols = ["SYM00", "SYM01"]
    params = {"symbols": symbols, "seed": 7, "bars": 3000}
    _, outcome, _, emitted = _run_job(tmp_path, params)
    assert outcome["status"] == "ok", outcome.get("error")
    expected = [
        c for symbol in symbols for c in screen_bars(generate_bars(symbol, 7, 3000), ScreenConfig())
    ]
    assert outcome["metrics"]["candidates"] == len(expected) == len(emitted) > 0
    assert {t for t, _ in emitted} == {"candidate.proposed"}
    payloads = [data for _, data in emitted]
    assert [(p["params"]["symbol"], p["params"]["bar"]) for p in payloads] == [
        (c["symbol"], c["bar"]) for c in expected
    ]
    assert {p["origin"] for p in payloads} == {"screen"}
    assert {p["study"] for p in payloads} == {"b-1"}  # the batch when no study param
    assert len({p["candidate_id"] for p in payloads}) == len(payloads)
    _, _, _, again = _run_job(tmp_path, {**params, "study": "s"})
    assert [d["candidate_id"] for _, d in again] == [p["candidate_id"] for p in payloads]
    assert {d["study"] for _, d in again} == {"s"}


def test_screen_job_refuses_unknown_and_mistyped_params(tmp_path: Path) -> None:
    for bad in ({"symbol": "A", "fsat": 3}, {"symbol": "A", "fast": 2.5}, {"seed": 1}):
        _, outcome, _, emitted = _run_job(tmp_path, bad)
        assert outcome["status"] == "error" and outcome["error"]["type"] == "ValueError"
        assert emitted == []
    assert parse_params({"symbol": "A", "regime_min": 1}).screen.regime_min == 1.0
