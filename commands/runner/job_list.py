"""How ``batch.started`` records a batch's job list: listed when it is small, a digest when not.

The expanded manifest in ``batch.started`` lists every job (``index``, ``name``, ``job_id``,
``params``). A large batch's list would not fit in one event (``ledger.MAX_EVENT_BYTES``,
16 MiB: a 10^6-job matrix is far past it), so when the list's canonical JSON exceeds
``JOBS_INLINE_MAX_BYTES`` the manifest records instead ``jobs_sha256``: the SHA-256 of that
canonical JSON (the same bytes a listed ``jobs`` would have held), and no ``jobs`` key. The
count stays in ``batch.started``'s ``jobs``; each job is listed by its own intent as it is
started. ``manifest_sha256`` is the digest of the manifest as recorded, so it covers the list
through ``jobs_sha256``.

``--resume`` checks a batch recorded either way (``commands.runner.resume.check_match``).
"""

from __future__ import annotations

import hashlib
from typing import Any

from commands.runner.manifest import canonical_json

# Leaves room under the 16 MiB event limit for the rest of the manifest and the envelope.
JOBS_INLINE_MAX_BYTES = 4 * 1024 * 1024
DIGEST_KEY = "jobs_sha256"


def jobs_digest(entries: list[dict[str, Any]]) -> str:
    """The SHA-256 (hex) of the canonical JSON of a job list (``expanded()["jobs"]``)."""
    return hashlib.sha256(canonical_json(entries).encode("utf-8")).hexdigest()


def as_recorded(expanded: dict[str, Any]) -> dict[str, Any]:
    """The expanded manifest as ``batch.started`` records it: unchanged when its job list's
    canonical JSON fits in ``JOBS_INLINE_MAX_BYTES``; else the list replaced by its digest."""
    text = canonical_json(expanded["jobs"]).encode("utf-8")
    if len(text) <= JOBS_INLINE_MAX_BYTES:
        return expanded
    recorded = {key: value for key, value in expanded.items() if key != "jobs"}
    recorded[DIGEST_KEY] = hashlib.sha256(text).hexdigest()
    return recorded
