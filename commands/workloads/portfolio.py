"""Long-only weight engines and return statistics for the tournament workload (numpy only).

Every engine takes a window of daily returns (days x assets) and returns weights that are
non-negative and sum to 1, or raises ``OptimizeError`` when its risk model cannot be built
(an asset with zero variance makes the covariance singular):

- ``equal_weight``: 1/k each.
- ``inverse_vol``: proportional to 1/sigma.
- ``min_variance``: the minimum-variance portfolio of the shrunk covariance, made long-only by
  a simple active-set loop: solve on the active assets, drop those given a negative weight,
  solve again until none is negative. Not the exact constrained optimum in every case, but
  long-only, deterministic and a handful of small solves.
- ``hrp``: hierarchical risk parity (Lopez de Prado): single-linkage clustering on the
  correlation distance sqrt((1 - rho) / 2), leaves in dendrogram order (quasi-diagonal), then
  recursive bisection of that order with inverse-variance cluster weights.

The covariance engines also report the portfolio volatility their model predicts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SHRINKAGE = 0.2
MIN_VARIANCE = 1e-12


class OptimizeError(ValueError):
    """An engine could not build its risk model (singular covariance or zero volatility)."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.column = column


@dataclass(frozen=True)
class Solved:
    """An engine's weights, and the daily volatility its risk model predicts (if it has one)."""

    weights: np.ndarray
    predicted_vol: float | None = None


def shrunk_covariance(window: np.ndarray) -> np.ndarray:
    """Sample covariance pulled towards its diagonal by ``SHRINKAGE``.

    Raises:
        OptimizeError: an asset has zero variance, so the covariance is singular.
    """
    cov = np.atleast_2d(np.cov(window, rowvar=False, ddof=1))
    variances = np.diag(cov)
    flat = np.flatnonzero(variances <= MIN_VARIANCE)
    if flat.size:
        raise OptimizeError("singular covariance: zero variance over the lookback", int(flat[0]))
    result: np.ndarray = (1.0 - SHRINKAGE) * cov + SHRINKAGE * np.diag(variances)
    return result


def equal_weight(window: np.ndarray) -> Solved:
    """1/k on each of the window's k assets."""
    k = window.shape[1]
    return Solved(np.full(k, 1.0 / k))


def inverse_vol(window: np.ndarray) -> Solved:
    """Weights proportional to the inverse of each asset's volatility."""
    vol = window.std(axis=0, ddof=1)
    flat = np.flatnonzero(vol <= math.sqrt(MIN_VARIANCE))
    if flat.size:
        raise OptimizeError("zero volatility over the lookback", int(flat[0]))
    inverse = 1.0 / vol
    return Solved(inverse / inverse.sum())


def min_variance(window: np.ndarray) -> Solved:
    """Long-only minimum variance of the shrunk covariance (active-set loop)."""
    cov = shrunk_covariance(window)
    active = np.arange(cov.shape[0])
    while True:
        sub = cov[np.ix_(active, active)]
        try:
            x = np.linalg.solve(sub, np.ones(active.size))
        except np.linalg.LinAlgError as e:
            raise OptimizeError(f"singular covariance: {e}", int(active[0])) from e
        w = x / x.sum()
        if (w >= 0.0).all():
            break
        active = active[w > 0.0]
    weights = np.zeros(cov.shape[0])
    weights[active] = w
    return Solved(weights, portfolio_vol(cov, weights))


def hrp(window: np.ndarray) -> Solved:
    """Hierarchical risk parity on the shrunk covariance."""
    cov = shrunk_covariance(window)
    weights = hrp_weights(cov)
    return Solved(weights, portfolio_vol(cov, weights))


def hrp_weights(cov: np.ndarray) -> np.ndarray:
    """HRP weights of a covariance matrix (positive variances)."""
    sd = np.sqrt(np.diag(cov))
    corr = np.clip(cov / np.outer(sd, sd), -1.0, 1.0)
    order = single_linkage_order(np.sqrt(0.5 * (1.0 - corr)))
    return recursive_bisection(cov, order)


def single_linkage_order(dist: np.ndarray) -> list[int]:
    """Leaves in dendrogram order after single-linkage clustering of a distance matrix.

    Each step merges the closest pair of clusters (ties: lowest indices first); the merged
    cluster lists the lower-numbered cluster's leaves first.
    """
    d = np.array(dist, dtype=float)
    np.fill_diagonal(d, np.inf)
    members = [[i] for i in range(d.shape[0])]
    alive = list(range(d.shape[0]))
    while len(alive) > 1:
        sub = d[np.ix_(alive, alive)]
        a, b = divmod(int(np.argmin(sub)), len(alive))
        i, j = alive[min(a, b)], alive[max(a, b)]
        members[i] = members[i] + members[j]
        # Single linkage: a merged cluster is as close as its closest member.
        d[i, :] = np.minimum(d[i, :], d[j, :])
        d[:, i] = d[i, :]
        d[i, i] = np.inf
        alive.remove(j)
    return members[alive[0]]


def recursive_bisection(cov: np.ndarray, order: list[int]) -> np.ndarray:
    """Split ``order`` in halves recursively, sharing weight by inverse cluster variance."""
    weights = np.ones(cov.shape[0])
    clusters = [order]
    while clusters:
        halves = [
            part for c in clusters if len(c) > 1 for part in (c[: len(c) // 2], c[len(c) // 2 :])
        ]
        for left, right in zip(halves[::2], halves[1::2], strict=True):
            v_left, v_right = cluster_variance(cov, left), cluster_variance(cov, right)
            alpha = 1.0 - v_left / (v_left + v_right)
            weights[left] *= alpha
            weights[right] *= 1.0 - alpha
        clusters = halves
    return weights


def cluster_variance(cov: np.ndarray, members: list[int]) -> float:
    """Variance of the inverse-variance portfolio of ``members``."""
    sub = cov[np.ix_(members, members)]
    ivp = 1.0 / np.diag(sub)
    ivp /= ivp.sum()
    return float(ivp @ sub @ ivp)


def portfolio_vol(cov: np.ndarray, weights: np.ndarray) -> float:
    """sqrt(w' C w)."""
    return float(math.sqrt(max(float(weights @ cov @ weights), 0.0)))


ENGINES: dict[str, Callable[[np.ndarray], Solved]] = {
    "equal_weight": equal_weight,
    "inverse_vol": inverse_vol,
    "min_variance": min_variance,
    "hrp": hrp,
}


def cap_weights(weights: np.ndarray, cap: float) -> np.ndarray:
    """Limit each weight to ``cap`` (at least 1/k), handing the excess to the uncapped
    assets in proportion to their weights (equally if they all have none)."""
    k = weights.size
    cap = max(cap, 1.0 / k)
    w = weights.astype(float).copy()
    capped = np.zeros(k, dtype=bool)
    while True:
        over = (w > cap) & ~capped
        if not over.any():
            break
        capped |= over
        w[capped] = cap
        free = ~capped
        if not free.any():
            break
        room = 1.0 - cap * capped.sum()
        share = w[free].sum()
        w[free] = w[free] * (room / share) if share > 0 else room / free.sum()
    result: np.ndarray = w / w.sum()
    return result


def sharpe(returns: np.ndarray, periods: int) -> float:
    """Annualised mean over standard deviation (no risk-free rate); NaN when flat."""
    sd = float(returns.std(ddof=1))
    return float(returns.mean() / sd * math.sqrt(periods)) if sd > 0 else math.nan


def _tail_size(n: int, level: float) -> int:
    return max(1, math.ceil((1.0 - level) * n - 1e-9))


def cvar(returns: np.ndarray, level: float) -> float:
    """Expected shortfall: minus the mean of the worst (1 - level) share of returns."""
    worst = np.sort(returns)[: _tail_size(returns.size, level)]
    return float(-worst.mean())


def tail_asymmetry(returns: np.ndarray, level: float) -> float:
    """Mean of the best tail plus mean of the worst tail (positive: convex, antifragile)."""
    ordered = np.sort(returns)
    n = _tail_size(returns.size, level)
    return float(ordered[-n:].mean() + ordered[:n].mean())


def max_drawdown(returns: np.ndarray) -> float:
    """Largest fall from a running peak of the equity curve (starting at 1), as a fraction."""
    equity = np.concatenate(([1.0], np.cumprod(1.0 + returns)))
    peak = np.maximum.accumulate(equity)
    return float((1.0 - equity / peak).max())
