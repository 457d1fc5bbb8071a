"""Scan results for the hypothesis leaderboard (seed 000): ``hypothesis_candidates`` entries.

A scan's ``result.hypothesis_candidates`` is a list of ``HypothesisEntry``; a run root's
``hypothesis_candidates.json`` is a ``HypothesisCandidatesFile``. Extra fields are kept, since
these files come from the users' own scan tools.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Weighting = Literal["notional", "count"]


class Denominators(BaseModel):
    """How much an entry's metrics weigh: notional used and number of observations used."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    weight_used: float | None = None
    count_used: float | None = None


class HypothesisEntry(BaseModel):
    """One hypothesis segment's metrics for one user."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    segment_key: str = Field(min_length=1)
    weighting: Weighting
    denominators: Denominators = Field(default_factory=Denominators)
    metrics: dict[str, float | None] = Field(default_factory=dict)
    clv_stats: dict[str, Any] | None = None
    examples: list[Any] | None = None


class HypothesisCandidatesFile(BaseModel):
    """A run root's ``hypothesis_candidates.json``: the user (optional) and the entries."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    user: str | None = None
    candidates: list[HypothesisEntry] = Field(default_factory=list)
