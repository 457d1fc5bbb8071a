"""Errors raised by the ledger layer: the ``LedgerError`` branch of the tree drawn in
``schemas.errors``. Each carries ``exit_code``: 2 for a problem with what the user asked or
supplied, 1 for a failed integrity check.
"""

from __future__ import annotations

from schemas import CHECK_FAILED, SweepledgerError


class LedgerError(SweepledgerError):
    """Base class of every ledger error."""


class LedgerNotFound(LedgerError):
    """There is no ledger at the given root."""


class BatchNotFound(LedgerError):
    """The ledger holds no batch with that id (or none the asking command can use)."""


class InvalidInput(LedgerError):
    """Input meant for the ledger cannot be read as events (e.g. a JSONL line that is not JSON)."""


class InputFileRefused(LedgerError):
    """A file named as input is not read: not a regular file (a FIFO, a device), larger than
    its limit, or refused by the OS; the message names it."""


class InvalidEvent(LedgerError):
    """An event handed to ``append`` is refused; nothing of the call was written.

    Attributes:
        detail: what is wrong, without the event's position.
        index: 0-based position of the refused event in the call, when known.
        field: the envelope field at fault (``type``, ``data``, ``cause``...), when known.
    """

    def __init__(self, detail: str, index: int | None = None, field: str | None = None) -> None:
        self.detail = detail
        self.index = index
        self.field = field
        super().__init__(detail if index is None else f"event {index + 1}: {detail}")

    @classmethod
    def at(cls, index: int, detail: str, field: str | None = None) -> InvalidEvent:
        """An error about the event at 0-based ``index`` of the call: ``event N: detail``."""
        return cls(detail, index, field)

    def moved(self, index: int, prefix: str = "") -> InvalidEvent:
        """The same error for the event at ``index`` of an enclosing call, ``prefix`` prepended."""
        return type(self)(prefix + self.detail, index, self.field)


class EventTooLarge(InvalidEvent):
    """An encoded event is larger than the documented limit."""


class BadAnchor(LedgerError):
    """An anchor is not of the form ``SEQ:HASH`` (64 lowercase hex digits)."""


class LockTimeout(LedgerError):
    """The ledger's append lock could not be taken in time."""


class BlobNotFound(LedgerError):
    """The blob store holds no blob with that digest."""


class StorageRefused(LedgerError):
    """The OS refused to write a ledger file (a read-only root, permissions, the file size
    limit, a full disk); the message names the file and the OS error."""


class LedgerDamaged(LedgerError):
    """A writer refuses a damaged ledger (commit log missing or failing its check, or not
    matching the live file) until the operator chooses; nothing is written."""


class ReadRaced(LedgerError):
    """Committed events moved (a concurrent seal) while a bulk reader read them; read again."""


class KeyFileError(LedgerError):
    """A signing key file cannot be read, is not an Ed25519 key, or would be overwritten."""


class CheckpointRefused(LedgerError):
    """No checkpoint can be made (the ledger holds no event to sign)."""


class ProofUnavailable(LedgerError):
    """No proof of that seq or size can be made from this ledger (beyond its head, say)."""


class LedgerCorrupt(LedgerError):
    """Committed bytes of the ledger are damaged; nothing is written until it is resolved."""

    exit_code = CHECK_FAILED
