"""Errors of the runner that are the user's to fix (exit 2, nothing written): the
``RunRefused`` branch of the tree drawn in ``schemas.errors``. A batch id the ledger does not
hold is the ledger's ``BatchNotFound``.
"""

from __future__ import annotations

from schemas import SweepledgerError


class RunRefused(SweepledgerError):
    """A run was refused before anything was written to the ledger."""


class BatchExists(RunRefused):
    """The batch id is already used in this ledger."""


class BatchStillRunning(RunRefused):
    """The process that started the batch is still running on this host."""


class ResumeMismatch(RunRefused):
    """The manifest's expanded jobs differ from the ones the batch recorded."""


class ExecutorUnavailable(RunRefused):
    """The chosen executor cannot run here (e.g. Ray is not installed)."""


class UnknownSampler(RunRefused):
    """``study --sampler`` names no sampler sweepledger knows."""


class SamplerUnavailable(RunRefused):
    """The chosen sampler's optional package is not installed (e.g. optuna)."""


class StoppedBeforeStart(RunRefused):
    """Ctrl-C arrived before the batch was recorded; nothing was written."""

    exit_code = 130


class IngestError(RunRefused):
    """The run-roots source cannot be used (missing, empty, or a taken batch id)."""


class TierNotPromoted(RunRefused):
    """``reproduce`` of a tier the study has no promotion decision for."""


class ExamplesMissing(RunRefused):
    """The example files the demo runs are not next to the package (not a checkout)."""
