"""The catalog's names and payload versions, without pydantic (cheap to import).

The read side (projections) needs only these: which kinds and statuses exist, and whether any
type is past version 1 (then stored payloads of older versions are upgraded on read). The
models themselves live in ``schemas.payloads``; ``schemas.registry`` checks that both list the
same types.
"""

from __future__ import annotations

KINDS: tuple[str, ...] = ("scan", "trial", "optimize", "simulate", "job")
STATUSES: tuple[str, ...] = ("ok", "empty", "error", "timeout", "crashed", "interrupted", "skipped")
FREE_VERSION = 1

# Current payload version per type. Older versions are upgraded on read (registry.UPGRADERS).
VERSIONS: dict[str, int] = {
    "batch.started": 1,
    "batch.finished": 1,
    "batch.resumed": 1,
    "candidate.proposed": 1,
    "artifact.recorded": 1,
    "promotion.decided": 1,
    "ledger.recovered": 1,
    "ledger.sealed": 1,
    "ledger.checkpoint": 1,
    **{f"{kind}.intent": 1 for kind in KINDS},
    **{f"{kind}.outcome": 1 for kind in KINDS},
}


def stale_versions() -> dict[str, int]:
    """Types whose current version is past 1 (their older payloads need upgrading)."""
    return {name: version for name, version in VERSIONS.items() if version > 1}
