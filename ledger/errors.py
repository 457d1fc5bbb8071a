"""Errors raised by the ledger layer.

Each class carries ``exit_code``: 2 for a problem with what the user asked or supplied,
1 for a failed integrity check. The CLI translates them in one place.

LedgerError
 ├── LedgerNotFound     no ledger at the root (read commands)
 ├── InvalidEvent       an event to append is refused (type, payload, size, cause)
 │    └── EventTooLarge an encoded event exceeds MAX_EVENT_BYTES
 ├── BadAnchor          an anchor is not SEQ:HASH
 ├── LockTimeout        another process held the ledger lock too long
 ├── BlobNotFound       no blob with that digest
 └── LedgerCorrupt      committed bytes are damaged: refuse to write, verify fails
"""

from __future__ import annotations

USER_ERROR = 2
CHECK_FAILED = 1


class LedgerError(Exception):
    """Base class of every ledger error."""

    exit_code = USER_ERROR


class LedgerNotFound(LedgerError):
    """There is no ledger at the given root."""


class InvalidEvent(LedgerError):
    """An event handed to ``append`` is refused; nothing of the call was written."""

    index: int | None = None  # 0-based position of the refused event in the call

    @classmethod
    def at(cls, index: int, detail: str) -> InvalidEvent:
        """An error about the event at 0-based ``index`` of the call: ``event N: detail``."""
        error = cls(f"event {index + 1}: {detail}")
        error.index = index
        return error


class EventTooLarge(InvalidEvent):
    """An encoded event is larger than the documented limit."""


class BadAnchor(LedgerError):
    """An anchor is not of the form ``SEQ:HASH`` (64 lowercase hex digits)."""


class LockTimeout(LedgerError):
    """The ledger's append lock could not be taken in time."""


class BlobNotFound(LedgerError):
    """The blob store holds no blob with that digest."""


class LedgerCorrupt(LedgerError):
    """Committed bytes of the ledger are damaged; nothing is written until it is resolved."""

    exit_code = CHECK_FAILED
