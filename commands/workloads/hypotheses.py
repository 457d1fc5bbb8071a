"""A seeded hypothesis scan per user: each user's betting history is synthesized from the
user's handle, and the scan reports, per market segment, the closing-line value (CLV) and the
beat-close rate of that user's bets, weighted by notional or by count -- the
``hypothesis_candidates`` a scan outcome carries to the leaderboard projection.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

SPORTS = ("nba", "nfl", "mlb", "nhl", "soccer")
ODDS = ("fav", "dog", "even")
MARKETS = ("moneyline", "spread", "total")
MIN_BETS = 5  # a segment with fewer of the user's bets is not a candidate


def _rng(user: str) -> np.random.Generator:
    """The user's own generator: the same handle always gives the same history."""
    seed = int.from_bytes(hashlib.sha256(user.encode()).digest()[:8], "big")
    return np.random.default_rng(seed)


def user_bets(user: str, bets: int = 400) -> dict[str, np.ndarray]:
    """A user's synthetic bets: segment indexes, stakes, CLV in percent, beat-close flags.

    Each user favours a few segments and has a skill per segment, so segments repeat across
    users with different strength.
    """
    rng = _rng(user)
    segments = len(SPORTS) * len(ODDS) * len(MARKETS)
    taste = rng.dirichlet(np.full(segments, 0.3))
    skill = rng.normal(0.0, 1.5, segments)
    segment = rng.choice(segments, size=bets, p=taste)
    stake = np.round(rng.lognormal(4.0, 0.8, bets), 2)
    clv = np.round(skill[segment] + rng.normal(0.0, 3.0, bets), 4)
    beat = clv > 0
    return {"segment": segment, "stake": stake, "clv": clv, "beat": beat}


def _segment_key(index: int) -> str:
    sport, rest = divmod(index, len(ODDS) * len(MARKETS))
    odds, market = divmod(rest, len(MARKETS))
    return f"sport={SPORTS[sport]}|odds={ODDS[odds]}|market={MARKETS[market]}"


def candidates(user: str) -> list[dict[str, Any]]:
    """The user's hypothesis candidates, one per segment with enough bets, in segment order.

    Segments of stakes above the user's median are weighted by notional, the others by count.
    """
    bets = user_bets(user)
    median_stake = float(np.median(bets["stake"]))
    found: list[dict[str, Any]] = []
    for index in np.unique(bets["segment"]):
        mask = bets["segment"] == index
        if int(mask.sum()) < MIN_BETS:
            continue
        stake, clv, beat = bets["stake"][mask], bets["clv"][mask], bets["beat"][mask]
        notional = float(np.median(stake)) > median_stake
        weights = stake if notional else np.ones_like(stake)
        found.append(
            {
                "segment_key": _segment_key(int(index)),
                "weighting": "notional" if notional else "count",
                "denominators": {
                    "weight_used": round(float(stake.sum()), 2) if notional else 0.0,
                    "count_used": int(mask.sum()),
                },
                "metrics": {
                    "avg_clv_pct": round(float(np.average(clv, weights=weights)), 4),
                    "beat_close_rate": round(float(np.average(beat, weights=weights)), 4),
                },
            }
        )
    return found


def scan(params: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """The runner's scan job: ``params.user`` -> its hypothesis candidates (kind ``scan``)."""
    user = str(params["user"])
    found = candidates(user)
    return {
        "metrics": {"candidates": float(len(found))},
        "result": {"user": user, "hypothesis_candidates": found},
    }
