"""The Pareto frontier mask against a brute-force reference and optuna's own cases."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.dominance import FIRST_BLOCK, lexicographic_order, nondominated

INF = float("inf")


def brute_force(points: npt.ArrayLike, maximize: Sequence[bool]) -> npt.NDArray[np.bool_]:
    """Every pair compared (O(n^2)), straight from the definition."""
    values = np.array(points, dtype=float).reshape(len(points), len(maximize))  # type: ignore[arg-type]
    values[:, np.asarray(maximize, dtype=bool)] *= -1
    valid = ~np.isnan(values).any(axis=1)
    # better_eq[i, j]: row j is at least as good as row i everywhere;
    # strictly[i, j]: row j is better than row i somewhere.
    better_eq = (values[None, :, :] <= values[:, None, :]).all(axis=2)
    strictly = (values[None, :, :] < values[:, None, :]).any(axis=2)
    dominated = (better_eq & strictly & valid[None, :]).any(axis=1)
    keep: npt.NDArray[np.bool_] = valid & ~dominated
    return keep


def ranks(points: npt.ArrayLike, maximize: Sequence[bool]) -> list[int]:
    """Non-domination ranks by peeling frontiers off one at a time."""
    values = np.asarray(points, dtype=float)
    rank = np.full(len(values), -1)
    level = 0
    while (rank < 0).any():
        left = np.flatnonzero(rank < 0)
        rank[left[nondominated(values[left], maximize)]] = level
        level += 1
    return rank.tolist()


cell = st.sampled_from([0.0, -0.0, 1.0, 2.0, 3.0, -1.0, INF, -INF, float("nan")])


@st.composite
def point_sets(draw: st.DrawFn) -> tuple[list[list[float]], list[bool]]:
    columns = draw(st.integers(1, 4))
    rows = draw(st.lists(st.lists(cell, min_size=columns, max_size=columns), max_size=40))
    maximize = draw(st.lists(st.booleans(), min_size=columns, max_size=columns))
    return rows, maximize


@settings(max_examples=400)
@given(point_sets())
def test_matches_brute_force_with_ties_duplicates_nan_and_inf(
    case: tuple[list[list[float]], list[bool]],
) -> None:
    rows, maximize = case
    points = np.array(rows, dtype=float).reshape(len(rows), len(maximize))
    assert nondominated(points, maximize).tolist() == brute_force(points, maximize).tolist()


@settings(max_examples=300)
@given(
    st.integers(1, 4).flatmap(
        lambda m: st.lists(
            st.lists(
                st.sampled_from([0.0, -0.0, 1.0, 2.0, -1.0, INF, -INF]), min_size=m, max_size=m
            ),
            min_size=1,
            max_size=60,
        )
    )
)
def test_lexicographic_order_sorts_rows_as_lexsort_does(rows: list[list[float]]) -> None:
    points = np.array(rows, dtype=float)
    order = lexicographic_order(points)
    assert sorted(order.tolist()) == list(range(len(rows)))  # a permutation
    # the same rows in the same places as np.lexsort's (equal rows may swap among themselves)
    expected = points[np.lexsort(points.T[::-1])]
    assert points[order].tolist() == expected.tolist()


@pytest.mark.parametrize("columns", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_brute_force_across_many_blocks(columns: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    points = rng.integers(0, 12, size=(40 * FIRST_BLOCK, columns)).astype(float)
    points[rng.random(len(points)) < 0.01, 0] = np.nan
    maximize = [bool(b) for b in rng.integers(0, 2, columns)]
    assert (nondominated(points, maximize) == brute_force(points, maximize)).all()


def test_a_large_frontier_is_found_whole() -> None:
    # Points on the plane x + y + z = 1 do not dominate each other; add dominated copies.
    rng = np.random.default_rng(7)
    front = rng.dirichlet(np.ones(3), size=3000)
    behind = front + rng.uniform(0.01, 0.5, size=front.shape)
    points = np.concatenate([behind[:1500], front, behind[1500:]])
    mask = nondominated(points, [False, False, False])
    assert mask[1500:4500].all() and not mask[:1500].any() and not mask[4500:].any()


def test_equal_points_are_both_on_the_frontier() -> None:
    points = [[1.0, 2.0], [1.0, 2.0], [2.0, 2.0]]
    assert nondominated(points, [False, False]).tolist() == [True, True, False]


def test_nan_rows_never_dominate_and_are_never_on_the_frontier() -> None:
    points = [[np.nan, 0.0], [5.0, 5.0], [0.0, np.nan]]
    assert nondominated(points, [False, False]).tolist() == [False, True, False]
    assert nondominated([[np.nan, np.nan]], [True, True]).tolist() == [False]


def test_directions_are_per_column() -> None:
    points = [[10.0, 0.1, 100.0], [12.0, 0.1, 100.0], [12.0, 0.2, 100.0], [12.0, 0.1, 90.0]]
    # maximize pnl, minimize kill probability, minimize drawdown
    assert nondominated(points, [True, False, False]).tolist() == [False, False, False, True]


def test_input_is_not_modified_and_empty_input_is_fine() -> None:
    points = np.array([[1.0, 2.0], [2.0, 1.0]])
    nondominated(points, [True, True])
    assert points.tolist() == [[1.0, 2.0], [2.0, 1.0]]
    assert nondominated(np.empty((0, 3)), [True, False, False]).tolist() == []


@pytest.mark.parametrize(
    ("points", "maximize"),
    [([1.0, 2.0], [True]), (np.empty((3, 0)), []), ([[1.0, 2.0]], [True])],
)
def test_refuses_bad_shapes(points: npt.ArrayLike, maximize: list[bool]) -> None:
    with pytest.raises(ValueError):
        nondominated(points, maximize)


def test_two_hundred_thousand_points_take_well_under_a_second() -> None:
    points = np.random.default_rng(3).standard_normal((200_000, 3))
    best = INF
    for _ in range(3):
        start = time.perf_counter()
        mask = nondominated(points, [True, False, False])
        best = min(best, time.perf_counter() - start)
    assert best < 1.0
    sample = np.random.default_rng(4).choice(len(points), 3000, replace=False)
    frontier = points[mask]
    # A sampled point is off the frontier exactly when some frontier point dominates it.
    for i in sample:
        p = points[i]
        beats = (frontier[:, 0] >= p[0]) & (frontier[:, 1:] <= p[1:]).all(axis=1)
        strict = (frontier[:, 0] > p[0]) | (frontier[:, 1:] < p[1:]).any(axis=1)
        assert mask[i] == (not (beats & strict).any())


# Cases from optuna's tests/study_tests/test_multi_objective.py (test_calculate_nondomination_rank,
# test_dominates_1d_*, test_dominates_2d), restated against this mask; all objectives minimized
# unless the case says otherwise.
OPTUNA_RANK_CASES = [
    ([[10], [20], [20], [30]], [0, 1, 1, 2]),
    ([[10, 30], [10, 10], [20, 20], [30, 10], [15, 15]], [1, 0, 2, 1, 1]),
    ([[5, 5, 4], [5, 5, 5], [9, 9, 0], [5, 7, 5], [0, 0, 9], [0, 9, 9]], [0, 1, 0, 2, 0, 1]),
    (
        [[-5, -5, -4], [-5, -5, 5], [-9, -9, 0], [5, 7, 5], [0, 0, -9], [0, -9, 9]],
        [0, 1, 0, 2, 0, 1],
    ),
    ([[1, 1], [1, INF], [INF, 1], [INF, INF]], [0, 1, 1, 2]),
    ([[1, 1], [1, -INF], [-INF, 1], [-INF, -INF]], [2, 1, 1, 0]),
]


@pytest.mark.parametrize(("points", "expected"), OPTUNA_RANK_CASES)
def test_optuna_nondomination_ranks(points: list[list[float]], expected: list[int]) -> None:
    assert ranks(points, [False] * len(points[0])) == expected


@pytest.mark.parametrize(("v1", "v2"), [(-1, 1), (-INF, 0), (0, INF), (-INF, INF)])
def test_optuna_1d_not_equal(v1: float, v2: float) -> None:
    assert nondominated([[v1], [v2]], [False]).tolist() == [True, False]
    assert nondominated([[v1], [v2]], [True]).tolist() == [False, True]


@pytest.mark.parametrize("v", [0, -INF, INF])
@pytest.mark.parametrize("maximize", [False, True])
def test_optuna_1d_equal(v: float, maximize: bool) -> None:
    assert nondominated([[v], [v]], [maximize]).tolist() == [True, True]


def test_optuna_2d_table_minimize_maximize() -> None:
    vals = [-INF, -1.0, 1.0, INF]  # ascending
    cells = [(i, j) for i in range(4) for j in range(4)]
    for ti, tj in cells:
        # (minimize, maximize): a cell dominates t when its value0 is <= and value1 is >=.
        dominating = {(di, dj) for di in range(ti + 1) for dj in range(tj, 4)} - {(ti, tj)}
        for di, dj in cells:
            if (di, dj) == (ti, tj):
                continue
            mask = nondominated([[vals[ti], vals[tj]], [vals[di], vals[dj]]], [False, True])
            assert mask[0] == ((di, dj) not in dominating), ((ti, tj), (di, dj))
