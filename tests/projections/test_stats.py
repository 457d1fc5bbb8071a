"""Wilson upper bounds against R's binom.confint and exact arithmetic; CVaR tail rules."""

from __future__ import annotations

import math
from decimal import Decimal, getcontext
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.stats import Z_95, cvar_lower, cvar_upper, tail_count, wilson_upper


def exact_wilson_upper(kills: int, total: int, z: float = Z_95) -> float:
    """The Wilson upper bound in 60-digit decimal arithmetic, rounded once to a float."""
    getcontext().prec = 60
    zd, x, n = Decimal(z), Decimal(kills), Decimal(total)
    p = x / n
    z2 = zd * zd
    root = (p * (1 - p) / n + z2 / (4 * n * n)).sqrt()
    return float((p + z2 / (2 * n) + zd * root) / (1 + z2 / n))


@pytest.mark.parametrize(
    ("kills", "total", "expected", "tolerance"),
    [
        (4, 20, 0.4160174322518935, 2e-16),  # R binom.confint(4, 20, method="wilson")
        (0, 30, 0.11351339, 5e-9),  # R, 8 digits
        (30, 30, 1.0, 0.0),
    ],
)
def test_wilson_upper_matches_r(kills: int, total: int, expected: float, tolerance: float) -> None:
    assert wilson_upper(kills, total) == pytest.approx(expected, abs=tolerance, rel=0)


@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_upper_within_an_ulp_of_exact(case: tuple[int, int]) -> None:
    kills, total = case
    got = wilson_upper(kills, total)
    exact = 1.0 if kills == total else exact_wilson_upper(kills, total)
    assert abs(got - exact) <= 2 * np.spacing(exact)
    assert kills / total <= got <= 1.0


@pytest.mark.parametrize("total", [1, 2, 20, 50, 1000])
def test_wilson_upper_with_no_kills_is_z2_over_n_plus_z2(total: int) -> None:
    # With x = 0 the bound reduces to z^2 / (n + z^2).
    assert wilson_upper(0, total) == pytest.approx(Z_95**2 / (total + Z_95**2), rel=1e-15)


def test_wilson_upper_is_monotone_in_kills() -> None:
    bounds = [wilson_upper(k, 40) for k in range(41)]
    assert bounds == sorted(bounds) and len(set(bounds)) == 41


def test_wilson_upper_with_no_runs_is_the_whole_interval() -> None:
    assert wilson_upper(0, 0) == 1.0


@pytest.mark.parametrize(("kills", "total"), [(-1, 5), (6, 5), (0, -1), (True, 3)])
def test_wilson_upper_refuses_bad_counts(kills: int, total: int) -> None:
    with pytest.raises(ValueError):
        wilson_upper(kills, total)


def test_wilson_upper_refuses_bad_z() -> None:
    with pytest.raises(ValueError):
        wilson_upper(1, 3, z=0.0)


@pytest.mark.parametrize(
    ("n", "k"), [(1, 1), (19, 1), (20, 1), (21, 2), (40, 2), (50, 3), (100, 5), (101, 6)]
)
def test_tail_count_is_exact_decimal_ceiling(n: int, k: int) -> None:
    assert tail_count(n) == k
    assert tail_count(n) == max(1, math.ceil(n * (1 - Fraction(95, 100))))


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 1.5])
def test_tail_count_refuses_alpha_outside_the_open_interval(alpha: float) -> None:
    with pytest.raises(ValueError):
        tail_count(10, alpha)


def test_cvar_of_twenty_values_is_the_single_extreme() -> None:
    values = np.arange(20, dtype=float)[::-1]
    assert cvar_lower(values) == 0.0
    assert cvar_upper(values) == 19.0


def test_cvar_of_a_hundred_values_averages_five() -> None:
    values = np.arange(100, dtype=float)
    assert cvar_lower(values) == 2.0  # mean of 0..4
    assert cvar_upper(values) == 97.0  # mean of 95..99


def test_cvar_ties_do_not_matter() -> None:
    values = [5.0, 1.0, 1.0, 1.0, 9.0] * 10  # 50 values: k = 3, all three worst are 1.0
    assert cvar_lower(values) == 1.0
    assert cvar_upper(values) == 9.0


@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), min_size=1, max_size=200),
    st.sampled_from([0.5, 0.9, 0.95, 0.99]),
    st.randoms(use_true_random=False),
)
def test_cvar_matches_sorted_reference_in_any_order(
    values: list[float], alpha: float, rnd: object
) -> None:
    k = max(1, math.ceil(len(values) * (1 - Fraction(str(alpha)))))
    ordered = sorted(values)
    shuffled = list(values)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert cvar_lower(shuffled, alpha) == math.fsum(ordered[:k]) / k
    assert cvar_upper(shuffled, alpha) == math.fsum(ordered[-k:]) / k
    assert cvar_lower(values, alpha) <= cvar_upper(values, alpha)


@pytest.mark.parametrize("values", [[], [1.0, float("nan")], [float("inf")]])
def test_cvar_refuses_empty_or_non_finite(values: list[float]) -> None:
    with pytest.raises(ValueError):
        cvar_lower(values)
    with pytest.raises(ValueError):
        cvar_upper(values)
