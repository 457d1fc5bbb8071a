"""A tournament cell: one seeded long-only backtest at a point of a 5-D grid.

Coordinates (the cell's params, all required, nothing else allowed):

- ``selection`` (from the raw pool, decided on each rebalance): ``all``; ``momentum_top``, the
  ``TOP_K`` best trailing returns among those that went up (a broad sell-off selects nothing);
  ``low_vol``, the ``TOP_K`` lowest trailing volatilities.
- ``rebalance``: ``monthly`` / ``weekly`` (every 21 / 5 days) or ``threshold`` (whenever the
  holdings have drifted more than ``THRESHOLD_BAND``, one-way, from the last target).
- ``engine``: the weight solve of ``portfolio.ENGINES`` (equal weight, inverse vol, minimum
  variance, HRP) on the selection's last ``VOL_LOOKBACK`` days.
- ``profile``: baselines use a fixed equal-weight rule and ignore the engine (``market``: the
  benchmark symbols; ``benchmark``: the selection; ``raw_pool_ew``: the whole raw pool);
  ``balanced`` runs the engine on the selection with a 20% cap per asset; ``aggressive`` on the
  stronger half of the selection by momentum with a 50% cap.
- ``simulator``: ``ideal`` (fills at the decision's close, free), ``costly`` (15 bp of traded
  value), ``slippage`` (fills one day late, 5 bp plus a vol-scaled impact with random noise).

Every cell sees the same synthetic market, generated from ``UNIVERSE_SEED``: ``N_ASSETS``
daily return series over ``N_DAYS`` driven by a market factor, three sector factors and noise,
under a two-state regime chain (calm / stressed: the factors' volatility rises much more than
the noise's, so correlations rise too). The first ``N_BENCHMARK`` assets are the benchmark
symbols (index-like, beta near 1; their equal-weight mean is the market index); the rest are
the raw pool. One raw-pool asset is halted for ``HALT_DAYS`` (zero returns), which makes the
covariance engines' risk model singular while it fills their lookback.

The backtest runs from ``WARMUP`` on; a solve that fails (``empty`` or ``error``) keeps the
current holdings. Metrics: ``sharpe`` (annualised, no risk-free rate), ``cvar`` (mean of the
worst 5% of daily returns, as a positive loss), ``max_drawdown`` (positive fraction),
``turnover`` (one-way per year, cash counted as an asset, first purchase included), ``beta``
(to the market index), ``hhi`` (mean over days of the sum of squared weights). Only where
defined: ``af_dist`` (tail asymmetry over the engine's predicted volatility: covariance engines
on non-baseline profiles) and ``stress_alpha`` (annualised mean excess return over the index on
stressed days: the slippage simulator only). The result holds the coordinates (``cell``) and
the optimize step (``optimize``: status ``success`` | ``empty`` | ``error``, the worst over
the cell's solves, a one-line detail and the counts). A cell where no solve succeeded has no
metrics. Only the slippage simulator uses the seed (its fill noise). When the manifest
declares ``steps: [optimize]``, the optimize step is also recorded as its own
``optimize.outcome`` (``ctx.substep``: success -> ``ok``, empty -> ``empty``, error ->
``error`` with the detail as message).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from commands.workloads.portfolio import (
    ENGINES,
    OptimizeError,
    cap_weights,
    cvar,
    max_drawdown,
    sharpe,
    tail_asymmetry,
)

UNIVERSE_SEED = 20_260_104
N_ASSETS = 30
N_DAYS = 750
N_BENCHMARK = 5
N_SECTORS = 3
HALTED_ASSET = N_ASSETS - 1
HALT_DAYS = (330, 410)
P_ENTER_STRESS = 0.01
P_LEAVE_STRESS = 0.04
CALM_DRIFT = 0.0011
STRESSED_DRIFT = -0.002
TRADING_DAYS = 252
VOL_LOOKBACK = 63
MOMENTUM_LOOKBACK = 63
WARMUP = 126
TOP_K = 8
REBALANCE_EVERY = {"monthly": 21, "weekly": 5}
THRESHOLD_BAND = 0.05
CVAR_LEVEL = 0.95

SELECTIONS = ("all", "momentum_top", "low_vol")
REBALANCES = ("monthly", "weekly", "threshold")
BASELINE_PROFILES = ("market", "benchmark", "raw_pool_ew")
PROFILES = (*BASELINE_PROFILES, "balanced", "aggressive")
# Largest single weight per non-baseline profile (aggressive also trims the selection).
PROFILE_CAPS = {"balanced": 0.20, "aggressive": 0.50}
SIMULATOR_NAMES = ("ideal", "costly", "slippage")
COORDINATES = ("selection", "rebalance", "engine", "profile", "simulator")
STRESS_ALPHA_SIMULATOR = "slippage"

SUCCESS, EMPTY, ERROR = "success", "empty", "error"
STATUSES = (SUCCESS, EMPTY, ERROR)
OPTIMIZE_STEP = "optimize"
STEP_STATUS = {SUCCESS: "ok", EMPTY: "empty", ERROR: "error"}  # optimize.outcome statuses


@dataclass(frozen=True)
class Market:
    """The shared synthetic market: returns (days x assets), regime flags and the index."""

    returns: np.ndarray
    stressed: np.ndarray
    index: np.ndarray


@dataclass(frozen=True)
class Simulator:
    """How trades fill: proportional cost, vol-scaled impact, days of delay, random noise."""

    cost_bps: float
    impact: float
    lag: int
    noisy: bool


SIMULATORS = {
    "ideal": Simulator(cost_bps=0.0, impact=0.0, lag=0, noisy=False),
    "costly": Simulator(cost_bps=15.0, impact=0.0, lag=0, noisy=False),
    "slippage": Simulator(cost_bps=5.0, impact=0.5, lag=1, noisy=True),
}


@functools.cache
def market() -> Market:
    """The market every cell sees (built once per process, from ``UNIVERSE_SEED`` only)."""
    rng = np.random.default_rng(UNIVERSE_SEED)
    stressed = _regimes(rng)
    betas = rng.uniform(0.6, 1.4, N_ASSETS)
    betas[:N_BENCHMARK] = rng.uniform(0.95, 1.05, N_BENCHMARK)
    noise_vol = rng.uniform(0.008, 0.022, N_ASSETS)
    noise_vol[:N_BENCHMARK] = 0.003
    drift = rng.normal(0.0002, 0.0004, N_ASSETS)
    factor_vol = np.where(stressed, 0.024, 0.008)
    factor = np.where(stressed, STRESSED_DRIFT, CALM_DRIFT) + factor_vol * rng.standard_normal(
        N_DAYS
    )
    sector = np.arange(N_ASSETS) % N_SECTORS
    sector_moves = 0.006 * rng.standard_normal((N_DAYS, N_SECTORS))
    noise_scale = np.where(stressed, 1.3, 1.0)[:, None]
    noise = noise_scale * noise_vol * rng.standard_normal((N_DAYS, N_ASSETS))
    returns = drift + factor[:, None] * betas + sector_moves[:, sector] + noise
    returns[HALT_DAYS[0] : HALT_DAYS[1], HALTED_ASSET] = 0.0
    returns = np.maximum(returns, -0.9)
    index = returns[:, :N_BENCHMARK].mean(axis=1)
    for array in (returns, stressed, index):
        array.setflags(write=False)
    return Market(returns=returns, stressed=stressed, index=index)


def _regimes(rng: np.random.Generator) -> np.ndarray:
    draws = rng.random(N_DAYS)
    stressed = np.zeros(N_DAYS, dtype=bool)
    state = False
    for day in range(N_DAYS):
        if draws[day] < (P_LEAVE_STRESS if state else P_ENTER_STRESS):
            state = not state
        stressed[day] = state
    return stressed


@dataclass(frozen=True)
class Coordinates:
    """A cell's position in the grid, validated."""

    selection: str
    rebalance: str
    engine: str
    profile: str
    simulator: str

    @classmethod
    def parse(cls, params: dict[str, Any]) -> Coordinates:
        """Read and check the five coordinates; any other key is refused."""
        extra = sorted(set(params) - set(COORDINATES))
        if extra:
            raise ValueError(f"unknown params: {', '.join(extra)} (expected {COORDINATES})")
        choices = {
            "selection": SELECTIONS,
            "rebalance": REBALANCES,
            "engine": tuple(ENGINES),
            "profile": PROFILES,
            "simulator": SIMULATOR_NAMES,
        }
        for key, allowed in choices.items():
            if key not in params:
                raise ValueError(f"missing param {key!r}")
            if params[key] not in allowed:
                raise ValueError(f"{key} {params[key]!r} is not one of {', '.join(allowed)}")
        return cls(**{key: str(params[key]) for key in COORDINATES})

    @property
    def baseline(self) -> bool:
        """Baseline profiles use a fixed equal-weight rule instead of the engine."""
        return self.profile in BASELINE_PROFILES


def select(selection: str, history: np.ndarray) -> np.ndarray:
    """Raw-pool asset indices chosen from the returns before the decision (sorted)."""
    pool = np.arange(N_BENCHMARK, N_ASSETS)
    if selection == "all":
        return pool
    if selection == "momentum_top":
        momentum = np.prod(1.0 + history[-MOMENTUM_LOOKBACK:, pool], axis=0) - 1.0
        best = pool[np.argsort(-momentum, kind="stable")[:TOP_K]]
        # Only assets that went up qualify, so a broad sell-off leaves nothing to hold.
        return np.sort(best[momentum[best - N_BENCHMARK] > 0.0])
    vol = history[-VOL_LOOKBACK:, pool].std(axis=0)
    return np.sort(pool[np.argsort(vol, kind="stable")[:TOP_K]])


@dataclass(frozen=True)
class Decision:
    """One rebalance decision: target weights over all assets (None: keep holdings)."""

    target: np.ndarray | None
    status: str
    detail: str
    predicted_vol: float | None = None


def decide(coords: Coordinates, history: np.ndarray) -> Decision:
    """Target weights from the profile's rule: a fixed equal weight or the engine's solve."""
    target = np.zeros(N_ASSETS)
    if coords.profile == "market":
        target[:N_BENCHMARK] = 1.0 / N_BENCHMARK
        return Decision(target, SUCCESS, "")
    if coords.profile == "raw_pool_ew":
        target[N_BENCHMARK:] = 1.0 / (N_ASSETS - N_BENCHMARK)
        return Decision(target, SUCCESS, "")
    chosen = select(coords.selection, history)
    if chosen.size == 0:
        return Decision(None, EMPTY, f"selection {coords.selection} chose no asset")
    if coords.profile == "benchmark":
        target[chosen] = 1.0 / chosen.size
        return Decision(target, SUCCESS, "")
    if coords.profile == "aggressive":
        chosen = _stronger_half(chosen, history)
    window = history[-VOL_LOOKBACK:, chosen]
    try:
        solved = ENGINES[coords.engine](window)
    except OptimizeError as e:
        return Decision(None, ERROR, f"{e} (asset {int(chosen[e.column])})")
    target[chosen] = cap_weights(solved.weights, PROFILE_CAPS[coords.profile])
    return Decision(target, SUCCESS, "", solved.predicted_vol)


def _stronger_half(chosen: np.ndarray, history: np.ndarray) -> np.ndarray:
    momentum = np.prod(1.0 + history[-MOMENTUM_LOOKBACK:, chosen], axis=0) - 1.0
    keep = max(1, (chosen.size + 1) // 2)
    return np.sort(chosen[np.argsort(-momentum, kind="stable")[:keep]])


@dataclass
class Book:
    """The running backtest: daily net returns, start-of-day weights, trades and solves."""

    returns: np.ndarray
    weights: np.ndarray
    turnover: float = 0.0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    first_problem: str = ""
    predicted_vols: list[float] = field(default_factory=list)

    def record(self, day: int, decision: Decision) -> None:
        """Count a solve's status and keep the first non-success for the detail line."""
        self.counts[decision.status] += 1
        if decision.status != SUCCESS and not self.first_problem:
            self.first_problem = f"first {decision.status} on day {day}: {decision.detail}"
        if decision.predicted_vol is not None:
            self.predicted_vols.append(decision.predicted_vol)


def run_backtest(coords: Coordinates, seed: int) -> Book:
    """Simulate the cell from ``WARMUP`` to the last day."""
    mkt = market()
    sim = SIMULATORS[coords.simulator]
    rng = np.random.default_rng(seed)
    days = N_DAYS - WARMUP
    book = Book(np.zeros(days), np.zeros((days, N_ASSETS)))
    held = np.zeros(N_ASSETS)
    target: np.ndarray | None = None
    pending: tuple[int, np.ndarray] | None = None
    for day in range(WARMUP, N_DAYS):
        if pending is None and _due(coords.rebalance, day, held, target):
            decision = decide(coords, mkt.returns[:day])
            book.record(day, decision)
            if decision.target is not None:
                target = decision.target
                pending = (day + sim.lag, target)
        cost = 0.0
        if pending is not None and pending[0] == day:
            cost, traded = _trade_cost(held, pending[1], sim, mkt.returns[:day], rng)
            book.turnover += traded
            held = pending[1].copy()
            pending = None
        row = mkt.returns[day]
        gross = float(held @ row)
        book.weights[day - WARMUP] = held
        book.returns[day - WARMUP] = (1.0 - cost) * (1.0 + gross) - 1.0
        # Holdings drift with prices until the next trade; cash earns nothing.
        values = held * (1.0 + row)
        total = values.sum() + (1.0 - held.sum())
        held = values / total if total > 0 else np.zeros(N_ASSETS)
    return book


def _due(rebalance: str, day: int, held: np.ndarray, target: np.ndarray | None) -> bool:
    if rebalance in REBALANCE_EVERY:
        return (day - WARMUP) % REBALANCE_EVERY[rebalance] == 0
    if target is None:
        return True
    return bool(0.5 * np.abs(held - target).sum() > THRESHOLD_BAND)


def _trade_cost(
    held: np.ndarray,
    target: np.ndarray,
    sim: Simulator,
    history: np.ndarray,
    rng: np.random.Generator,
) -> tuple[float, float]:
    """(cost as a fraction of the book, one-way turnover counting cash as an asset)."""
    delta = np.abs(target - held)
    traded = 0.5 * (delta.sum() + abs(held.sum() - target.sum()))
    cost = sim.cost_bps / 1e4 * delta.sum()
    if sim.impact > 0.0:
        vol = history[-VOL_LOOKBACK:].std(axis=0)
        impact = sim.impact * vol * delta**1.5
        if sim.noisy:
            impact = impact * rng.uniform(0.5, 1.5, N_ASSETS)
        cost += float(impact.sum())
    return cost, float(traded)


def evaluate_cell(params: dict[str, Any], seed: int) -> tuple[dict[str, float], dict[str, Any]]:
    """Backtest one cell; returns (metrics, result). Metrics are empty when no solve
    succeeded (nothing was ever held)."""
    coords = Coordinates.parse(params)
    book = run_backtest(coords, seed)
    result: dict[str, Any] = {
        "cell": {key: getattr(coords, key) for key in COORDINATES},
        "optimize": _optimize_summary(coords, book),
        "days": int(book.returns.size),
    }
    if book.counts[SUCCESS] == 0:
        return {}, result
    return _metrics(coords, book), result


def _optimize_summary(coords: Coordinates, book: Book) -> dict[str, Any]:
    counts = book.counts
    status = ERROR if counts[ERROR] else EMPTY if counts[EMPTY] else SUCCESS
    rule = "fixed equal weight (engine ignored)" if coords.baseline else f"engine {coords.engine}"
    solves = sum(counts.values())
    detail = f"{rule}: {solves} solves, {counts[SUCCESS]} success, {counts[EMPTY]} empty, "
    detail += f"{counts[ERROR]} error"
    if book.first_problem:
        detail += f"; {book.first_problem}"
    return {"status": status, "detail": detail, "solves": solves, **counts}


def _metrics(coords: Coordinates, book: Book) -> dict[str, float]:
    mkt = market()
    net = book.returns
    index = mkt.index[WARMUP:]
    metrics = {
        "sharpe": sharpe(net, TRADING_DAYS),
        "cvar": cvar(net, CVAR_LEVEL),
        "max_drawdown": max_drawdown(net),
        "turnover": book.turnover * TRADING_DAYS / net.size,
        "beta": float(np.cov(net, index)[0, 1] / np.var(index, ddof=1)),
        "hhi": float((book.weights**2).sum(axis=1).mean()),
    }
    # Tail asymmetry in units of the engine's own predicted risk: only engines with a
    # covariance model predict one (baselines never call the engine, so they have none).
    if book.predicted_vols:
        predicted = float(np.mean(book.predicted_vols))
        metrics["af_dist"] = tail_asymmetry(net, CVAR_LEVEL) / predicted
    # Only the slippage simulator attributes by regime (it prices fills by regime volatility).
    if coords.simulator == STRESS_ALPHA_SIMULATOR:
        stressed = mkt.stressed[WARMUP:]
        metrics["stress_alpha"] = float((net - index)[stressed].mean() * TRADING_DAYS)
    return metrics


def cell(params: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """The runner's entry point: ``f(params, ctx)``; status ``empty`` when nothing was held."""
    metrics, result = evaluate_cell(params, int(ctx.seed))
    optimize = result["optimize"]
    if OPTIMIZE_STEP in getattr(ctx, "steps", ()):
        ctx.substep(OPTIMIZE_STEP, STEP_STATUS[optimize["status"]], optimize["detail"])
    if not metrics:
        return {"status": "empty", "result": result}
    return {"metrics": metrics, "result": result}
