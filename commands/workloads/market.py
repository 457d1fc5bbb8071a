"""The market-making model: parameters, market scenarios, and the vectorized simulation.

Vectorized over runs (arrays of shape ``(runs, ticks)``), one step per tick:

1. The market maker quotes ``BASE_QTY * mm_size_eta`` on each side at ``spread_mult * vol_ref``
   from a reservation price shifted against its inventory by ``risk_aversion``.
2. Each side fills with a probability that falls with the quote's size and distance, scales
   with the scenario's liquidity, and rises when the coming price move goes against the fill
   (adverse selection).
3. The mid price takes a random-walk step of ``vol_ref`` (times the scenario's shock
   multiplier), plus an occasional gap.
4. Inventory beyond ``hedge_band_base * BAND_UNIT`` is hedged at the mid, paying
   ``HEDGE_COST`` volatility units per unit hedged.
5. Equity is marked to the mid. A run whose drawdown from its running peak reaches
   ``kill_drawdown`` is killed: flattened at that tick and frozen.

``simulate(params, seed, runs, ticks, scenario)`` is pure: the same arguments give the same
arrays in every process (numpy's PCG64 stream, all draws made up front in a fixed order).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from projections.stats import cvar_lower, cvar_upper, wilson_upper

FloatArray = npt.NDArray[np.float64]

PARAM_DEFAULTS: dict[str, float] = {
    "hedge_band_base": 0.3,  # hedge band, in BAND_UNIT units of inventory
    "mm_size_eta": 1.0,  # quote size, in BASE_QTY units
    "vol_ref": 0.5,  # per-tick standard deviation of the mid price
    "risk_aversion": 0.5,  # reservation price shift per BAND_UNIT of inventory, in vol units
    "spread_mult": 0.6,  # quote half-spread, in vol units
    "kill_drawdown": 400.0,  # drawdown from the running peak that kills a run
}
# The box a study samples candidates from (the other parameters keep their defaults).
PARAM_SPACE: dict[str, tuple[float, float]] = {
    "hedge_band_base": (0.05, 1.0),
    "mm_size_eta": (0.2, 3.0),
    "vol_ref": (0.2, 1.5),
    "risk_aversion": (0.0, 2.0),
}
RUNS_PARAM, TICKS_PARAM = "mc_runs", "mc_ticks"
DEFAULT_RUNS, DEFAULT_TICKS = 20, 100
MAX_CELLS = 20_000_000  # runs * ticks: bounds the memory of one simulation

PRICE0 = 100.0
BASE_QTY = 10.0
BAND_UNIT = 100.0
FILL_BASE = 0.6  # fill probability of a unit-size quote at zero distance
SIZE_DECAY = 0.3  # larger quotes fill less often
DEPTH_DECAY = 0.8  # per vol unit of distance from the mid
ADVERSE = 0.5  # how much the coming move tilts fills against the market maker
HEDGE_COST = 0.25  # vol units paid per unit hedged or flattened
# The fixed constants of the model, recorded in every run configuration.
MODEL_CONSTANTS: dict[str, float] = {
    "price0": PRICE0,
    "base_qty": BASE_QTY,
    "band_unit": BAND_UNIT,
    "fill_base": FILL_BASE,
    "size_decay": SIZE_DECAY,
    "depth_decay": DEPTH_DECAY,
    "adverse": ADVERSE,
    "hedge_cost": HEDGE_COST,
}


@dataclass(frozen=True)
class Scenario:
    """Market conditions: liquidity, a volatility shock window, and price gaps."""

    name: str
    liquidity: float = 1.0  # scales every fill probability
    shock_mult: float = 1.0  # volatility multiplier inside the shock window
    shock_start: float = 0.0  # shock window, as fractions of the run's ticks
    shock_end: float = 0.0
    gap_prob: float = 0.0  # per-tick probability of a price gap
    gap_size: float = 0.0  # gap size, in vol units (sign at random)


BASELINE = "baseline"
SCENARIOS: dict[str, Scenario] = {
    BASELINE: Scenario(BASELINE),
    # The baseline market on an independent seed: an out-of-sample repeat.
    "research": Scenario("research"),
    "adversarial": Scenario(
        "adversarial",
        liquidity=0.5,
        shock_mult=2.0,
        shock_start=0.4,
        shock_end=0.6,
        gap_prob=0.01,
        gap_size=5.0,
    ),
}


@dataclass(frozen=True)
class SimResult:
    """Per-run outcomes of one simulation (arrays of length ``runs``) and the equity paths."""

    final_pnl: FloatArray
    max_drawdown: FloatArray
    killed: npt.NDArray[np.bool_]
    kill_tick: npt.NDArray[np.int32]  # -1 for runs never killed
    fills: npt.NDArray[np.int32]
    hedged_qty: FloatArray
    final_inventory: FloatArray
    equity: FloatArray  # (runs, ticks), marked at the end of each tick

    def metrics(self) -> dict[str, float]:
        """The trial metrics: mean PnL, CVaR95 of PnL and of drawdown, kill probability."""
        runs = int(self.final_pnl.size)
        kills = int(self.killed.sum())
        return {
            "mean_pnl": math.fsum(self.final_pnl.tolist()) / runs,
            "pnl_cvar": cvar_lower(self.final_pnl),
            "drawdown_cvar": cvar_upper(self.max_drawdown),
            "kill_prob_point": kills / runs,
            "kills": kills,
            "total_runs": runs,
            "kill_prob_ci_upper": wilson_upper(kills, runs),
        }

    def table(self) -> pa.Table:
        """The per-run results as an Arrow table, one row per run."""
        return pa.table(
            {
                "run": pa.array(np.arange(self.final_pnl.size, dtype=np.int32)),
                "final_pnl": pa.array(self.final_pnl),
                "max_drawdown": pa.array(self.max_drawdown),
                "killed": pa.array(self.killed),
                "kill_tick": pa.array(self.kill_tick),
                "fills": pa.array(self.fills),
                "hedged_qty": pa.array(self.hedged_qty),
                "final_inventory": pa.array(self.final_inventory),
            }
        )


def resolve_params(params: Mapping[str, Any]) -> tuple[dict[str, float], int, int]:
    """Model parameters over the defaults, plus runs and ticks.

    Raises:
        ValueError: an unknown name, a non-numeric or non-finite value, or one out of range.
    """
    unknown = sorted(set(params) - set(PARAM_DEFAULTS) - {RUNS_PARAM, TICKS_PARAM})
    if unknown:
        raise ValueError(f"unknown parameter(s): {', '.join(unknown)}")
    model = {
        name: _number(name, params.get(name, default)) for name, default in PARAM_DEFAULTS.items()
    }
    for name in ("mm_size_eta", "vol_ref", "kill_drawdown"):
        if model[name] <= 0:
            raise ValueError(f"{name} must be positive, got {model[name]}")
    for name in ("hedge_band_base", "risk_aversion", "spread_mult"):
        if model[name] < 0:
            raise ValueError(f"{name} must not be negative, got {model[name]}")
    runs = _count(RUNS_PARAM, params.get(RUNS_PARAM, DEFAULT_RUNS))
    ticks = _count(TICKS_PARAM, params.get(TICKS_PARAM, DEFAULT_TICKS))
    return model, runs, ticks


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _count(name: str, value: Any) -> int:
    number = _number(name, value)
    if not number.is_integer() or number < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(number)


def simulate(
    params: Mapping[str, Any],
    seed: int,
    runs: int = DEFAULT_RUNS,
    ticks: int = DEFAULT_TICKS,
    scenario: Scenario | str = BASELINE,
) -> SimResult:
    """Run ``runs`` independent market-making paths of ``ticks`` steps.

    Raises:
        ValueError: bad parameters, sizes, or an unknown scenario name.
    """
    model, _, _ = resolve_params({k: v for k, v in params.items() if k in PARAM_DEFAULTS})
    market = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
    runs, ticks = _count("runs", runs), _count("ticks", ticks)
    if runs * ticks > MAX_CELLS:
        raise ValueError(f"runs * ticks must be at most {MAX_CELLS}, got {runs * ticks}")
    rng = np.random.default_rng(seed)
    # Every draw is made up front in a fixed order, so a scenario never shifts the stream.
    shocks = rng.standard_normal((runs, ticks))
    uniforms = rng.random((4, runs, ticks))  # bid fill, ask fill, gap, gap sign
    vol = model["vol_ref"] * _vol_profile(market, ticks)
    gaps = np.where(uniforms[2] < market.gap_prob, market.gap_size * model["vol_ref"], 0.0)
    moves = vol * shocks + np.where(uniforms[3] < 0.5, -gaps, gaps)
    return _run_paths(model, market, moves, uniforms[0], uniforms[1])


def _vol_profile(market: Scenario, ticks: int) -> FloatArray:
    """Per-tick volatility multipliers: 1 outside the shock window, ``shock_mult`` inside."""
    position = np.arange(ticks) / ticks
    inside = (position >= market.shock_start) & (position < market.shock_end)
    return np.where(inside, market.shock_mult, 1.0)


def _run_paths(
    model: dict[str, float],
    market: Scenario,
    moves: FloatArray,
    u_bid: FloatArray,
    u_ask: FloatArray,
) -> SimResult:
    runs, ticks = moves.shape
    vol_ref = model["vol_ref"]
    qty = BASE_QTY * model["mm_size_eta"]
    band = model["hedge_band_base"] * BAND_UNIT
    half_spread = model["spread_mult"] * vol_ref
    unit_cost = HEDGE_COST * vol_ref
    fill_base = market.liquidity * FILL_BASE * math.exp(-SIZE_DECAY * (model["mm_size_eta"] - 1))
    mid = np.full(runs, PRICE0)
    cash, inventory = np.zeros(runs), np.zeros(runs)
    peak, max_dd, hedged = np.zeros(runs), np.zeros(runs), np.zeros(runs)
    alive = np.ones(runs, dtype=np.bool_)
    kill_tick = np.full(runs, -1, dtype=np.int32)
    fills = np.zeros(runs, dtype=np.int32)
    equity = np.empty((runs, ticks))
    for t in range(ticks):
        move = moves[:, t]
        skew = model["risk_aversion"] * vol_ref * inventory / BAND_UNIT
        tilt = ADVERSE * np.tanh(move / vol_ref)  # > 0: the price is about to rise
        bid_dist, ask_dist = half_spread + skew, half_spread - skew
        p_bid = fill_base * np.exp(-DEPTH_DECAY * bid_dist / vol_ref) * (1 - tilt)
        p_ask = fill_base * np.exp(-DEPTH_DECAY * ask_dist / vol_ref) * (1 + tilt)
        bought = alive & (u_bid[:, t] < p_bid)
        sold = alive & (u_ask[:, t] < p_ask)
        inventory += qty * (bought.astype(np.float64) - sold)
        cash += qty * (sold * (mid + ask_dist) - bought * (mid - bid_dist))
        fills += bought.astype(np.int32) + sold
        mid += np.where(alive, move, 0.0)
        excess = np.maximum(np.abs(inventory) - band, 0.0) * np.sign(inventory)
        cash += excess * mid - np.abs(excess) * unit_cost
        inventory -= excess
        hedged += np.abs(excess)
        value = cash + inventory * mid
        peak = np.maximum(peak, value)
        drawdown = peak - value
        max_dd = np.maximum(max_dd, drawdown)
        dying = alive & (drawdown >= model["kill_drawdown"])
        if dying.any():
            # Flatten the killed runs at this tick's mid: their equity is frozen from here on.
            cash += np.where(dying, inventory * mid - np.abs(inventory) * unit_cost, 0.0)
            hedged += np.where(dying, np.abs(inventory), 0.0)
            inventory = np.where(dying, 0.0, inventory)
            value = cash + inventory * mid
            max_dd = np.maximum(max_dd, peak - value)
            kill_tick[dying] = t
            alive &= ~dying
        equity[:, t] = value
    return SimResult(
        final_pnl=equity[:, -1].copy(),
        max_drawdown=max_dd,
        killed=~alive,
        kill_tick=kill_tick,
        fills=fills,
        hedged_qty=hedged,
        final_inventory=inventory,
        equity=equity,
    )
