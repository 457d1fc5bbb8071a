"""Small, exact statistics for trial metrics: the Wilson score upper bound and tail CVaR.

Pure functions over numbers and numpy arrays (no I/O, no DuckDB), so a projection and a
workload computing the same metric get the same float.

- ``wilson_upper(kills, total)``: the upper end of the two-sided 95% Wilson score interval of
  a binomial proportion, equal to R's ``binom.confint(..., method="wilson")$upper``.
- ``cvar_lower(values)``: the mean of the worst (smallest) ``k`` values, ``k`` from the tail
  count rule below; the CVaR of a PnL.
- ``cvar_upper(values)``: the mean of the largest ``k`` values; the CVaR of a drawdown.

Tail count rule: ``k = ceil(n * (1 - alpha))``, at least 1, where ``n`` is the number of values
and ``1 - alpha`` is computed exactly from alpha's shortest decimal form (``0.95`` is 19/20, so
20 values give k = 1, 50 give k = 3, 100 give k = 5; binary rounding never adds a value).
Ties need no rule: the tail is the ``k`` smallest (or largest) values by value, and equal
values are interchangeable. The mean is ``math.fsum`` divided by ``k``, correctly rounded and
independent of the order the values arrive in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import numpy.typing as npt

Z_95 = 1.959963984540054  # the 0.975 quantile of the standard normal (R's qnorm(0.975))
CVAR_ALPHA = 0.95

ArrayLike = npt.NDArray[np.float64] | Sequence[float]


def wilson_upper(kills: int, total: int, z: float = Z_95) -> float:
    """The Wilson score interval's upper bound for ``kills`` successes in ``total`` trials.

    ``total == 0`` returns 1.0: with no runs nothing is known, and the whole interval [0, 1]
    is the honest answer (R returns NaN), so an empty trial can never pass a budget.
    ``kills == total`` returns exactly 1.0 (the formula's float value can fall a hair short).

    Raises:
        ValueError: a count is negative, ``kills > total``, or ``z`` is not a positive number.
    """
    if isinstance(kills, bool) or isinstance(total, bool):
        raise ValueError("kills and total must be integers, not booleans")
    if kills < 0 or total < 0 or kills > total:
        raise ValueError(f"need 0 <= kills <= total, got kills={kills}, total={total}")
    if not (math.isfinite(z) and z > 0):
        raise ValueError(f"z must be a positive finite number, got {z}")
    if total == 0 or kills == total:
        return 1.0
    # The count form (x + z^2/2 + z*sqrt(x(n-x)/n + z^2/4)) / (n + z^2) rounds less often than
    # the proportion form; it gives the correctly rounded bound on the reference cases.
    z2 = z * z
    spread = z * math.sqrt(kills * (total - kills) / total + z2 / 4)
    return min(1.0, (kills + z2 / 2 + spread) / (total + z2))


def tail_count(n: int, alpha: float = CVAR_ALPHA) -> int:
    """How many values the CVaR tail holds: ``ceil(n * (1 - alpha))``, at least 1.

    Raises:
        ValueError: ``n < 1`` or alpha is not strictly between 0 and 1.
    """
    if n < 1:
        raise ValueError("CVaR needs at least one value")
    if not (0.0 < alpha < 1.0):
        raise ValueError(f"alpha must be strictly between 0 and 1, got {alpha}")
    # Exact decimal arithmetic: 20 * (1 - 0.95) is 1.0000000000000009 in binary floats.
    tail = n * (1 - Fraction(repr(float(alpha))))
    return max(1, math.ceil(tail))


def _finite_values(values: ArrayLike) -> npt.NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 0:
        raise ValueError("CVaR needs at least one value")
    if not np.isfinite(array).all():
        raise ValueError("CVaR values must be finite (no NaN or infinity)")
    return array


def cvar_lower(values: ArrayLike, alpha: float = CVAR_ALPHA) -> float:
    """The mean of the ``tail_count(n, alpha)`` smallest values (the lower-tail CVaR).

    Raises:
        ValueError: no values, a non-finite value, or alpha outside (0, 1).
    """
    array = _finite_values(values)
    k = tail_count(array.size, alpha)
    worst = np.partition(array, k - 1)[:k] if k < array.size else array
    return math.fsum(worst.tolist()) / k


def cvar_upper(values: ArrayLike, alpha: float = CVAR_ALPHA) -> float:
    """The mean of the ``tail_count(n, alpha)`` largest values (the upper-tail CVaR).

    Raises:
        ValueError: no values, a non-finite value, or alpha outside (0, 1).
    """
    array = _finite_values(values)
    return -cvar_lower(-array, alpha)
