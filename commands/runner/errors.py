"""Errors of ``sweepledger run`` that are the user's to fix (exit 2, nothing written).

RunRefused
 ├── BatchExists          ``--batch-id`` names a batch already in the ledger
 ├── BatchNotFound        ``--resume`` names a batch the ledger does not hold
 ├── BatchStillRunning    ``--resume`` of a batch whose driver is still alive
 ├── ResumeMismatch       the manifest's jobs differ from the batch's (``--force`` accepts)
 ├── ExecutorUnavailable  ``--executor ray`` without Ray installed, or Ray would not start
 └── StoppedBeforeStart   Ctrl-C while the workers were starting (exit 130)
"""

from __future__ import annotations

USER_ERROR = 2


class RunRefused(Exception):
    """A run was refused before anything was written to the ledger."""

    exit_code = USER_ERROR


class BatchExists(RunRefused):
    """The batch id is already used in this ledger."""


class BatchNotFound(RunRefused):
    """No ``batch.started`` event has this batch id."""


class BatchStillRunning(RunRefused):
    """The process that started the batch is still running on this host."""


class ResumeMismatch(RunRefused):
    """The manifest's expanded jobs differ from the ones the batch recorded."""


class ExecutorUnavailable(RunRefused):
    """The chosen executor cannot run here (e.g. Ray is not installed)."""


class StoppedBeforeStart(RunRefused):
    """Ctrl-C arrived before the batch was recorded; nothing was written."""

    exit_code = 130
