"""The example sweep's callable: a toy moving-average strategy on a synthetic price series.

``load_prices`` runs once per worker (the manifest's ``setup``) and its return value is
``ctx.state`` for every job on that worker; ``evaluate`` is called as ``f(params, ctx)``.
"""

from __future__ import annotations

import csv
from typing import Any

import numpy as np

DAYS = 2_000


def load_prices() -> np.ndarray:
    """A seeded random-walk price series: the "data set" loaded once per worker."""
    rng = np.random.default_rng(2024)
    return np.asarray(100.0 * np.exp(np.cumsum(rng.normal(0.0002, 0.01, DAYS))))


def evaluate(params: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Hold the asset while the price is above its ``window``-day mean by ``threshold`` %."""
    prices: np.ndarray = ctx.state
    window = int(params["window"])
    threshold = float(params["threshold"]) / 100.0
    if window < 2:
        raise ValueError(f"window must be at least 2, got {window}")
    mean = np.convolve(prices, np.ones(window) / window, mode="valid")
    held = prices[window - 1 : -1] > mean[:-1] * (1.0 + threshold)
    returns = np.diff(np.log(prices[window - 1 :]))
    strategy = np.where(held, returns, 0.0)
    volatility = float(strategy.std())
    sharpe = float(strategy.mean() / volatility * np.sqrt(252)) if volatility > 0 else float("nan")
    equity = np.exp(np.cumsum(strategy))
    if params.get("save_curve"):
        path = ctx.work_dir / "equity.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["day", "equity"])
            writer.writerows((i, f"{v:.6f}") for i, v in enumerate(equity))
        ctx.artifact(path, name="equity.csv", media_type="text/csv")
    return {
        "metrics": {
            "total_return": float(equity[-1] - 1.0),
            "sharpe": sharpe,
            "time_in_market": float(held.mean()),
        },
        "result": {"days": int(returns.size), "trades": int(np.count_nonzero(np.diff(held)))},
    }
