"""Runner entry points for the screener and the replay, called as ``f(params, ctx)``.

``screen`` emits one ``candidate.proposed`` event per screener signal. ``replay`` regenerates
the same bars and candidates from the params alone (no ledger read) and replays them in
``mode`` ``full`` or ``focused``; run one batch per mode with the same job names and compare
their ``result.trades`` with ``projections.parity_rules.compare``.

Params (every key optional except ``symbol`` or ``symbols``; the same keys are accepted by
both jobs, so one ``params`` block can feed a screen and a replay batch):

- ``symbol`` (str) or ``symbols`` (list of str); ``seed`` (int, default 0); ``bars`` (int,
  default 2000): the synthetic data. The data seed is a param, not ``ctx.seed``: ``ctx.seed``
  derives from the job id, which hashes every param, ``mode`` included, so a full and a
  focused job would otherwise replay different data.
- ``fast``, ``slow``, ``atr_bars``, ``atr_avg_bars``, ``regime_min``, ``min_score``: the
  screener (``ScreenConfig``); ``atr_bars`` is also the replay's ATR length.
- ``stop_atr``, ``target_atr``, ``max_hold_bars``, ``mode``, ``window_bars``: the replay.
- ``study`` (str): the ``candidate.proposed`` study; default the batch id.

Wall time is not a metric: it differs run to run, and the outcome's ``duration_s`` already
records it. Every metric and result here is a function of the params.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from collections.abc import Mapping
from typing import Any

from commands.workloads.replay import MODES, ReplayConfig, replay_bars
from commands.workloads.screener import (
    Bars,
    Candidate,
    ScreenConfig,
    generate_bars,
    screen_bars,
)

DEFAULT_BARS = 2000
DEFAULT_SEED = 0
CANDIDATE_ID_HEX = 16
DATA_KEYS = frozenset({"symbol", "symbols", "seed", "bars", "study", "mode", "window_bars"})


@dataclasses.dataclass(frozen=True)
class JobSetup:
    """What a screen or replay job works on, parsed from its params."""

    symbols: tuple[str, ...]
    seed: int
    n_bars: int
    screen: ScreenConfig
    replay: ReplayConfig


def _config_fields(cls: type[Any]) -> dict[str, type[Any]]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _typed(key: str, value: Any, kind: type[Any]) -> Any:
    """``value`` as ``kind`` (int or float); bools and strings are refused, not coerced."""
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is float and numeric:
        return float(value)
    raise ValueError(f"param {key!r} must be {kind.__name__}, got {value!r}")


def _config(cls: type[Any], params: Mapping[str, Any]) -> Any:
    fields = _config_fields(cls)
    return cls(**{k: _typed(k, params[k], t) for k, t in fields.items() if k in params})


def _symbols(params: Mapping[str, Any]) -> tuple[str, ...]:
    if ("symbol" in params) == ("symbols" in params):
        raise ValueError("give exactly one of 'symbol' or 'symbols'")
    raw = [params["symbol"]] if "symbol" in params else params["symbols"]
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) and s for s in raw):
        raise ValueError("'symbols' must be a non-empty list of names ('symbol' a name)")
    return tuple(raw)


def parse_params(params: Mapping[str, Any]) -> JobSetup:
    """Check and parse a job's params.

    Raises:
        ValueError: an unknown key (a typo would otherwise be a silent default) or a bad value.
    """
    known = DATA_KEYS | _config_fields(ScreenConfig).keys() | _config_fields(ReplayConfig).keys()
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"unknown params: {', '.join(unknown)}")
    return JobSetup(
        symbols=_symbols(params),
        seed=_typed("seed", params.get("seed", DEFAULT_SEED), int),
        n_bars=_typed("bars", params.get("bars", DEFAULT_BARS), int),
        screen=_config(ScreenConfig, params),
        replay=_config(ReplayConfig, params),
    )


def candidate_id(candidate: Candidate, seed: int, config: ScreenConfig) -> str:
    """A stable id: the same signal from the same data and screener has the same id anywhere.

    The number of bars is left out: fewer bars are a prefix of the same series, and a
    candidate depends only on bars up to its own.
    """
    key = {
        "seed": seed,
        "symbol": candidate["symbol"],
        "bar": candidate["bar"],
        "side": candidate["side"],
        "screen": dataclasses.asdict(config),
    }
    canonical = json.dumps(key, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:CANDIDATE_ID_HEX]


def candidate_event(candidate: Candidate, study: str, setup: JobSetup) -> dict[str, Any]:
    """The ``candidate.proposed`` payload of one screener candidate."""
    return {
        "candidate_id": candidate_id(candidate, setup.seed, setup.screen),
        "study": study,
        "params": {
            "symbol": candidate["symbol"],
            "bar": candidate["bar"],
            "timestamp": candidate["timestamp"],
            "side": candidate["side"],
            "bars": setup.n_bars,
            "screen": dataclasses.asdict(setup.screen),
        },
        "origin": "screen",
        "seed": setup.seed,
        "score": candidate["score"],
        "reason": candidate["reason"],
    }


def _screened(setup: JobSetup) -> list[tuple[Bars, list[Candidate]]]:
    """Each symbol's bars and candidates, in the params' symbol order."""
    out = []
    for symbol in setup.symbols:
        bars = generate_bars(symbol, setup.seed, setup.n_bars)
        out.append((bars, screen_bars(bars, setup.screen)))
    return out


def screen(params: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Screen the params' symbols and emit every candidate as ``candidate.proposed``."""
    setup = parse_params(params)
    study = str(params.get("study") or ctx.batch)
    sides = {"long": 0, "short": 0}
    for _, candidates in _screened(setup):
        for candidate in candidates:
            ctx.emit("candidate.proposed", candidate_event(candidate, study, setup))
            sides[candidate["side"]] += 1
    return {
        "metrics": {
            "candidates": sides["long"] + sides["short"],
            "long": sides["long"],
            "short": sides["short"],
            "bars": setup.n_bars * len(setup.symbols),
        },
        "result": {"study": study, "symbols": list(setup.symbols)},
    }


def replay(params: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Replay the params' symbols in ``mode``; ``result.trades`` is what parity compares."""
    del ctx  # everything comes from the params, so both modes see the same data
    setup = parse_params(params)
    mode = params.get("mode", "full")
    if mode not in MODES:
        raise ValueError(f"param 'mode' must be one of {', '.join(MODES)}, got {mode!r}")
    window = params.get("window_bars")
    window_bars = None if window is None else _typed("window_bars", window, int)
    trades: list[dict[str, Any]] = []
    processed = candidates_seen = 0
    for bars, candidates in _screened(setup):
        result = replay_bars(bars, candidates, setup.replay, mode, window_bars)
        trades.extend(dict(t) for t in result.trades)
        processed += result.bars_processed
        candidates_seen += len(candidates)
    return {
        "metrics": {
            "trades": len(trades),
            "bars_processed": processed,
            "bars": setup.n_bars * len(setup.symbols),
            "candidates": candidates_seen,
            "pnl": sum(t["pnl"] for t in trades),
        },
        "result": {"trades": trades},
    }
