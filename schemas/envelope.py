"""The event envelope: what a caller hands to ``append`` and what a reader gets back."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class NewEvent(BaseModel):
    """An event to append: its type, payload and optional batch, subject key and cause."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(min_length=1, max_length=200)
    data: Any = Field(default_factory=dict)
    batch: str | None = Field(default=None, max_length=500)
    key: str | None = Field(default=None, max_length=1000)
    cause: int | None = Field(default=None, ge=1)


class Event(BaseModel):
    """A stored event, as read back from the ledger."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int = Field(ge=1)
    ts: str
    type: str
    v: int = Field(ge=1)
    batch: str | None
    key: str | None
    cause: int | None
    data: dict[str, Any]
    prev: str = Field(pattern=r"^[0-9a-f]{64}$")
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")
